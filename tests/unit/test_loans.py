"""core.loans: the *outcome in* contract's checks, without a database."""

from __future__ import annotations

from datetime import date

import pandas as pd

from core import loans
from core.credit_code import make_code

TODAY = date(2026, 12, 6)
A, B = make_code("12345678"), make_code("87654321")
KNOWN = {A: 1, B: 2}


def _check(items: list[dict]) -> tuple[pd.DataFrame, list[dict]]:
    return loans.check_outcomes(loans.rows_frame(items), today=TODAY, known_codes=KNOWN)


def test_good_rows_are_accepted_with_their_types() -> None:
    accepted, problems = _check(
        [
            {
                "credit_code": A.lower(),
                "product": "科创积分贷",
                "decision": "授信",
                "amount": "1,200",
                "rate": 3.5,
                "term_months": 36,
                "decided_on": "2026/12/06",
                "start_on": "2026年12月1日",
                "end_on": "2029-11-30",
            },
            {
                "credit_code": B,
                "product": "人才贷",
                "decision": "reject",
                "reason": "担保不足",
                "decided_on": "2026-01-31",
            },
        ]
    )
    assert problems == []
    assert accepted["enterprise_id"].tolist() == [1, 2]
    assert accepted["decision"].tolist() == ["credit", "reject"]
    assert accepted["amount"].iloc[0] == 1200.0 and pd.isna(accepted["amount"].iloc[1])
    assert accepted["start_on"].iloc[0] == date(2026, 12, 1) and accepted["start_on"].iloc[1] is None


def test_each_bad_cell_is_named_and_nothing_is_accepted() -> None:
    accepted, problems = _check(
        [
            {
                "credit_code": "123",
                "product": "p",
                "decision": "放款",
                "amount": 1,
                "decided_on": "2026-12-01",
            },
            {"credit_code": A, "product": "", "decision": "批准", "amount": -3, "decided_on": "2026-12-07"},
            {"credit_code": A, "product": "p", "decision": "拒绝", "decided_on": "2026-02-30"},
            {
                "credit_code": A,
                "product": "p",
                "decision": "放款",
                "amount": 0,
                "term_months": 2.5,
                "decided_on": "2026-12-01",
                "start_on": "2026-12-02",
                "end_on": "2026-12-01",
            },
        ]
    )
    assert accepted.empty
    found = {(p["row"], p["column"]): p["problem"] for p in problems}
    assert "有误" in found[(1, "统一社会信用代码")]
    assert found[(2, "产品名称")] == "未填写产品名称"
    assert found[(2, "决定")].startswith("决定应为")
    assert found[(2, "金额（万元）")] == "金额不能为负数"
    assert "晚于今天" in found[(2, "决定日期")]
    assert "拒绝理由" in found[(3, "拒绝理由")] and "无法识别" in found[(3, "决定日期")]
    assert "大于 0" in found[(4, "金额（万元）")] and "整数" in found[(4, "期限（月）")]
    assert found[(4, "到期日期")] == "到期日期早于起始日期"
    assert [p["row"] for p in problems] == sorted(p["row"] for p in problems)


def test_unknown_columns_are_returned_not_dropped() -> None:
    frame = pd.DataFrame({"统一社会信用代码": [A], "企业名称": ["x"], "担保方式": ["信用"], "金额": ["1"]})
    mapped, unknown = loans.map_columns(frame)
    assert unknown == ["担保方式"] and list(mapped.columns) == ["credit_code", "amount"]


def test_the_audit_trail_reads_decisions_as_the_contract_names_them() -> None:
    from core import audit_labels

    assert audit_labels.DECISIONS == loans.DECISIONS
    assert audit_labels.record_text({"decision": "loan"}) == "决定 放款"
