"""扶持资金拨付 (pure): the subsidy lines of a final run, their states, the payment record's checks and the
tables screens and exports show.

A line is one enterprise of a final run with 扶持金额 > 0 (not vetoed): its amount and the cap that applied
are the run's (core.lists), never retyped. Its state follows :data:`core.workflows.SUBSIDY`: 待确认 →
企业已确认 → 已拨付 (date and voucher number) or 不予拨付 (reason).

Input ``lines``: one row per line with ``run_id, year, enterprise_id, credit_code, name, stage, rank,
total, amount, state`` (a workflow state code), ``confirmed_at, paid_on, voucher, reason``.
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd

from core.clock import display_time
from core.reports import stage_label
from core.scoring_model import ScoringModel
from core.workflows import SUBSIDY

PENDING, CONFIRMED, PAID, REFUSED = "pending", "confirmed", "paid", "refused"
STATE_LABELS = SUBSIDY.labels
VOUCHER_MAX = 50
REASON_MAX = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

LINE_COLUMNS = [
    "序号",
    "年度",
    "企业名称",
    "统一社会信用代码",
    "所属阶段",
    "阶段排名",
    "积分",
    "扶持金额（万元）",
    "拨付状态",
    "企业确认时间",
    "拨付日期",
    "拨付凭证号",
    "不予拨付理由",
]


class PaymentError(ValueError):
    """A payment record that cannot be accepted (Chinese message naming the field and the fix)."""


def check_payment(
    paid_on: date | None, voucher: str | None, *, today: date, finalized_on: date | None
) -> tuple[date, str]:
    """The payment date and voucher number as recorded, or :class:`PaymentError`.

    The date is a Beijing calendar day, not after today and not before the run was finalised (no money is
    paid on a list that did not exist yet); the voucher number is 1–50 characters of one line.
    """
    if paid_on is None:
        raise PaymentError("请填写拨付日期。")
    if paid_on > today:
        raise PaymentError(
            f"拨付日期 {paid_on.isoformat()} 晚于今天（{today.isoformat()}）：请填写实际拨付的日期。"
        )
    if finalized_on is not None and paid_on < finalized_on:
        raise PaymentError(
            f"拨付日期 {paid_on.isoformat()} 早于积分批次定稿日期 {finalized_on.isoformat()}：请核对日期。"
        )
    text = (voucher or "").strip()
    if not text:
        raise PaymentError("请填写拨付凭证号。")
    if len(text) > VOUCHER_MAX or _CONTROL.search(text):
        raise PaymentError(f"拨付凭证号应为一行、不超过 {VOUCHER_MAX} 个字符。")
    return paid_on, text


def check_reason(reason: str | None) -> str:
    """The reason a line is declined: required, at most 500 characters."""
    text = (reason or "").strip()
    if not text:
        raise PaymentError("「不予拨付」必须填写理由。")
    if len(text) > REASON_MAX:
        raise PaymentError(f"理由不超过 {REASON_MAX} 字。")
    return text


def state_text(states: pd.Series) -> pd.Series:
    """State codes as their Chinese labels (a missing state is 待确认: no one has acted on the line)."""
    return states.fillna(PENDING).map(STATE_LABELS).fillna(STATE_LABELS[PENDING])


def line_table(model: ScoringModel, lines: pd.DataFrame) -> pd.DataFrame:
    """The lines as screens and exports show them (:data:`LINE_COLUMNS`, every state in Chinese): model
    stage order, then rank, then credit code."""
    position = {s.code: i for i, s in enumerate(model.stages)}
    ordered = lines.assign(
        _y=-pd.to_numeric(lines["year"]),
        _s=lines["stage"].map(position).fillna(len(position)),
        _r=pd.to_numeric(lines["rank"]),
    ).sort_values(["_y", "_s", "_r", "credit_code"], kind="stable")

    def text(column: str) -> np.ndarray:
        return ordered[column].map(lambda v: v if isinstance(v, str) and v else "—").to_numpy(dtype=object)

    return pd.DataFrame(
        {
            "序号": np.arange(1, len(ordered) + 1, dtype=np.int64),
            "年度": pd.to_numeric(ordered["year"]).astype("int64").to_numpy(),
            "企业名称": ordered["name"].astype(str).to_numpy(),
            "统一社会信用代码": ordered["credit_code"].astype(str).to_numpy(),
            "所属阶段": stage_label(model, ordered["stage"]).to_numpy(),
            "阶段排名": ordered["rank"]
            .map(lambda r: "—" if pd.isna(r) else str(int(r)))
            .to_numpy(dtype=object),
            "积分": pd.to_numeric(ordered["total"]).round(2).to_numpy(),
            "扶持金额（万元）": pd.to_numeric(ordered["amount"]).to_numpy(dtype=float),
            "拨付状态": state_text(ordered["state"]).to_numpy(dtype=object),
            "企业确认时间": ordered["confirmed_at"]
            .map(lambda v: display_time(v) or "—" if v is not None and not pd.isna(v) else "—")
            .to_numpy(dtype=object),
            "拨付日期": ordered["paid_on"]
            .map(lambda v: v.isoformat() if isinstance(v, date) else "—")
            .to_numpy(dtype=object),
            "拨付凭证号": text("voucher"),
            "不予拨付理由": text("reason"),
        },
        columns=LINE_COLUMNS,
    )


def state_summary(lines: pd.DataFrame) -> pd.DataFrame:
    """拨付状态, 家数, 金额（万元） — every state in workflow order, zeros included."""
    states = lines["state"].fillna(PENDING) if len(lines) else pd.Series(dtype=object)
    amount = pd.to_numeric(lines["amount"]).fillna(0.0) if len(lines) else pd.Series(dtype=float)
    count = states.value_counts()
    total = amount.groupby(states.to_numpy()).sum() if len(lines) else pd.Series(dtype=float)
    codes = list(STATE_LABELS)
    return pd.DataFrame(
        {
            "拨付状态": [STATE_LABELS[c] for c in codes],
            "家数": [int(count.get(c, 0)) for c in codes],
            "金额（万元）": [round(float(total.get(c, 0.0)), 2) for c in codes],
        }
    )
