"""扶持资金, pure: the state machine, the payment record's checks, the Chinese line table."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from core import audit_labels, subsidies
from core.model_loading import load_model
from core.workflows import SUBSIDY, TransitionError, transition


def test_the_subsidy_workflow() -> None:
    assert transition(SUBSIDY, "pending", "confirm") == "confirmed"
    assert transition(SUBSIDY, "confirmed", "pay") == "paid"
    assert transition(SUBSIDY, "confirmed", "refuse", reason="企业已注销") == "refused"
    with pytest.raises(TransitionError, match="待确认.*登记拨付"):
        transition(SUBSIDY, "pending", "pay")
    with pytest.raises(TransitionError, match="理由"):
        transition(SUBSIDY, "confirmed", "refuse", reason=" ")
    for final in ("paid", "refused"):
        assert SUBSIDY.allowed_actions(final) == []
    assert list(SUBSIDY.labels.values()) == ["待确认", "企业已确认", "已拨付", "不予拨付"]
    # every step reads in Chinese in the audit trail
    for action in SUBSIDY.action_labels:
        assert audit_labels.action_label(f"subsidy.{action}") != "其他操作"
    assert audit_labels.record_text({"state": "confirmed"}) == "状态 企业已确认"


def test_payment_checks() -> None:
    today, final = date(2026, 6, 1), date(2026, 4, 1)
    assert subsidies.check_payment(date(2026, 5, 2), " 财付-12 ", today=today, finalized_on=final) == (
        date(2026, 5, 2),
        "财付-12",
    )
    for paid_on, voucher, message in (
        (None, "x", "拨付日期"),
        (date(2026, 6, 2), "x", "晚于今天"),
        (date(2026, 3, 31), "x", "早于积分批次定稿日期"),
        (today, "", "凭证号"),
        (today, "a\nb", "一行"),
        (today, "x" * 51, "50"),
    ):
        with pytest.raises(subsidies.PaymentError, match=message):
            subsidies.check_payment(paid_on, voucher, today=today, finalized_on=final)
    with pytest.raises(subsidies.PaymentError, match="理由"):
        subsidies.check_reason("  ")


def test_line_table_and_summary_speak_chinese() -> None:
    model = load_model()
    stages = model.stage_codes
    lines = pd.DataFrame(
        {
            "run_id": [3, 3, 3],
            "year": [2025, 2025, 2025],
            "enterprise_id": [1, 2, 3],
            "credit_code": ["B", "A", "C"],
            "name": ["乙", "甲", "丙"],
            "stage": [stages[1], stages[0], stages[0]],
            "rank": pd.array([1, 2, 1], dtype="Int64"),
            "total": [80.0, 70.0, 75.0],
            "amount": [20.0, 10.0, 10.0],
            "state": ["paid", None, "refused"],
            "confirmed_at": [datetime(2026, 5, 1, 2, tzinfo=UTC), None, None],
            "paid_on": [date(2026, 5, 3), None, None],
            "voucher": ["付-1", None, None],
            "reason": [None, None, "已注销"],
        }
    )
    table = subsidies.line_table(model, lines)
    assert table.columns.tolist() == subsidies.LINE_COLUMNS
    assert table["企业名称"].tolist() == ["丙", "甲", "乙"]  # stage order, then rank
    assert table["拨付状态"].tolist() == ["不予拨付", "待确认", "已拨付"]
    assert table["企业确认时间"].tolist()[2] == "2026-05-01 10:00"
    assert (
        table["拨付凭证号"].tolist() == ["—", "—", "付-1"] and table["不予拨付理由"].tolist()[0] == "已注销"
    )
    summary = subsidies.state_summary(lines)
    assert summary.values.tolist() == [
        ["待确认", 1, 10.0],
        ["企业已确认", 0, 0.0],
        ["已拨付", 1, 20.0],
        ["不予拨付", 1, 10.0],
    ]
