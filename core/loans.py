"""Loan outcomes (pure): the *outcome in* contract, its file template and the per-row checks.

A bank reports, per enterprise, a product and a decision — 授信 (a credit line), 放款 (a loan made) or
拒绝 (with a reason) — with amount (万元), yearly rate (%), term (months) and dates. The same rows come
from the app's form, an uploaded file (the published template) or the API's JSON; all go through
:func:`check_outcomes`, which checks every column of every row at once and returns the accepted rows
and a per-row report ``[{row, column, value, problem}]``. One bad row refuses the whole set (the
service writes nothing then): a bank fixes the file and sends it again.

Dates are Beijing calendar dates; "today" is the caller's (``core.clock.today()``), never the server's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from core import credit_code as cc
from core.spreadsheet import ROW_COLUMN, header_key, parse_number_series

DECISIONS: dict[str, str] = {"credit": "授信", "loan": "放款", "reject": "拒绝"}
DECISION_CODES: dict[str, str] = {**{v: k for k, v in DECISIONS.items()}, **{k: k for k in DECISIONS}}
SOURCES: dict[str, str] = {"app": "页面录入", "file": "文件导入", "api": "接口报送"}
MAX_PRODUCT = 100
MAX_REASON = 500
MAX_AMOUNT = 999_999.0  # 万元: about 100 亿元 for one enterprise is beyond any loan this programme sees (and prints without an exponent)
MAX_RATE = 36.0  # % a year: above the legal ceiling of lending in China
MAX_TERM = 600  # months
MAX_ROWS = 50_000

# key → (file header, JSON field, what it holds) — the *outcome in* contract (docs/bank-contracts.md).
FIELDS: dict[str, tuple[str, str]] = {
    "credit_code": ("统一社会信用代码", "必填，18 位"),
    "product": ("产品名称", "必填，如“科创积分贷”"),
    "decision": ("决定", "必填：授信、放款或拒绝"),
    "reason": ("拒绝理由", "决定为拒绝时必填"),
    "amount": ("金额（万元）", "授信、放款时必填，大于 0"),
    "rate": ("年利率（%）", "选填，0 – 36"),
    "term_months": ("期限（月）", "选填，1 – 600 的整数"),
    "decided_on": ("决定日期", "必填，如 2026-11-20，不晚于今天"),
    "start_on": ("起始日期", "选填（放款日或授信起始日），不晚于今天"),
    "end_on": ("到期日期", "选填，不早于起始日期"),
}
HEADERS: dict[str, str] = {key: header for key, (header, _) in FIELDS.items()}
# Columns a bank may keep in its file that carry nothing we store (read, then ignored).
IGNORED_HEADERS = ("序号", "企业名称")
HEADER_ALIASES: dict[str, str] = {
    **{header_key(h): k for k, h in HEADERS.items()},
    **{header_key(k): k for k in HEADERS},  # the JSON names work as headers too
    header_key("信用代码"): "credit_code",
    header_key("产品"): "product",
    header_key("金额"): "amount",
    header_key("年利率"): "rate",
    header_key("利率（%）"): "rate",
    header_key("期限"): "term_months",
    header_key("理由"): "reason",
}

_DATE = re.compile(
    r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]00:00(?::00(?:\.0+)?)?)?\s*$"
)


def template_frame() -> pd.DataFrame:
    """The empty upload template: 企业名称 (for the reader, ignored on import) and the contract's columns."""
    return pd.DataFrame(columns=["企业名称", *HEADERS.values()])


def template_notes() -> list[str]:
    """The instructions sheet of the template."""
    lines = ["贷款结果报送模板（每行一家企业的一项决定；同一企业可有多行）", ""]
    lines += [f"{header}：{meaning}" for header, meaning in FIELDS.values()]
    lines += [
        "",
        "企业名称列仅供核对，导入时不读取；只能报送推荐名单中同意推荐的企业。",
        "上传后先预检：任何一行有错，整份文件都不写入，请按提示修改后重新上传。",
    ]
    return lines


def map_columns(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """An uploaded table (``core.spreadsheet.apply_header`` output) with contract keys as column names,
    and the headers no key matches (never dropped quietly: the caller refuses the file)."""
    renamed: dict[str, str] = {}
    unknown: list[str] = []
    for column in frame.columns:
        if column == ROW_COLUMN:
            continue
        key = HEADER_ALIASES.get(header_key(column))
        if key is not None and key not in renamed.values():
            renamed[column] = key
        elif header_key(column) not in {header_key(h) for h in IGNORED_HEADERS}:
            unknown.append(str(column))
    out = frame.rename(columns=renamed)
    keep = [c for c in [*HEADERS, ROW_COLUMN] if c in out.columns]
    return out[keep], unknown


def rows_frame(items: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """JSON rows (the API's ``outcomes`` list) as a table of the contract's keys; ``__row__`` = 1-based
    position in the list. Values keep their JSON types (numbers stay numbers)."""
    frame = pd.DataFrame.from_records(
        [{k: item.get(k) for k in HEADERS} for item in items], columns=list(HEADERS)
    )
    frame[ROW_COLUMN] = np.arange(1, len(frame) + 1, dtype=np.int64)
    return frame


def _text(s: pd.Series) -> pd.Series:
    return s.astype("object").where(s.notna(), "").astype(str).str.strip()


def parse_dates(s: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """``(dates as object: date | None, invalid mask, the same as datetime64[D] with NaT)``; accepts
    2026-11-20, 2026/11/20, 2026年11月20日 (an Excel date cell reads as "2026-11-20 00:00:00"). Empty →
    None, not invalid. ISO dates (nearly all rows) are read in one vectorised call."""
    text = _text(s)
    n = len(text)
    empty = text.eq("").to_numpy()
    days = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    iso = pd.to_datetime(text.where(~empty, None), format="%Y-%m-%d", errors="coerce")
    iso_ok = iso.notna().to_numpy()
    days[iso_ok] = iso.to_numpy()[iso_ok].astype("datetime64[D]")
    bad = np.zeros(n, dtype=bool)
    rest = np.flatnonzero(~empty & ~iso_ok)
    if len(rest):
        parts = text.iloc[rest].str.extract(_DATE)
        matched = parts[0].notna().to_numpy()
        bad[rest[~matched]] = True
        found = rest[matched]
        if len(found):
            parsed = pd.to_datetime(
                pd.DataFrame(
                    {
                        "year": parts[0][matched].astype(int).to_numpy(),
                        "month": parts[1][matched].astype(int).to_numpy(),
                        "day": parts[2][matched].astype(int).to_numpy(),
                    }
                ),
                errors="coerce",
            )
            invalid = parsed.isna().to_numpy()
            bad[found[invalid]] = True
            days[found[~invalid]] = parsed.to_numpy()[~invalid].astype("datetime64[D]")
    out = np.full(n, None, dtype=object)
    good = ~np.isnat(days)
    out[good] = days[good].astype(object)  # datetime.date objects
    return pd.Series(out, index=s.index, dtype=object), bad, days


def check_outcomes(
    frame: pd.DataFrame, *, today: date, known_codes: Mapping[str, int]
) -> tuple[pd.DataFrame, list[dict]]:
    """Check outcome rows (contract keys as columns, ``__row__`` the row a bank sees).

    ``known_codes``: credit code → enterprise id of the enterprises this bank may report on (consenting
    ones); any other code is refused with one message whether the firm exists or not (an error must
    not tell a bank which firms are registered). Returns ``(accepted, problems)``: ``accepted`` has
    ``enterprise_id, product, decision, reason, amount, rate, term_months, decided_on, start_on,
    end_on`` (empty when any problem exists) and ``problems`` one dict per bad cell, in row order.
    """
    frame = frame.reset_index(drop=True)
    for key in HEADERS:
        if key not in frame.columns:
            frame[key] = None
    rows = frame[ROW_COLUMN].to_numpy() if ROW_COLUMN in frame.columns else np.arange(1, len(frame) + 1)
    problems: list[tuple[int, int, str, str, str]] = []  # (position, column order, column, value, problem)
    order = {k: i for i, k in enumerate(HEADERS)}

    def flag(
        mask: np.ndarray, key: str, problem: str | Sequence[str], values: pd.Series | None = None
    ) -> None:
        shown = _text(frame[key]) if values is None else values
        for i in np.flatnonzero(mask).tolist():
            text = problem if isinstance(problem, str) else problem[i]
            problems.append((int(i), order[key], HEADERS[key], str(shown.iloc[i])[:60], text))

    codes = cc.normalize_series(_text(frame["credit_code"]))
    empty_code = codes.eq("").to_numpy()
    flag(empty_code, "credit_code", "未填写统一社会信用代码")
    explained = cc.validate_series(codes).to_numpy()
    malformed = ~empty_code & pd.notna(explained)
    flag(malformed, "credit_code", [f"统一社会信用代码有误：{e}" if e else "" for e in explained])
    enterprise_ids = codes.map(known_codes)
    unknown = ~empty_code & ~malformed & enterprise_ids.isna().to_numpy()
    flag(unknown, "credit_code", "该企业不在本行可见的推荐名单中（企业未同意向银行推荐或代码有误）")

    product = _text(frame["product"])
    flag(product.eq("").to_numpy(), "product", "未填写产品名称")
    flag(product.str.len().gt(MAX_PRODUCT).to_numpy(), "product", f"产品名称不能超过 {MAX_PRODUCT} 字")

    decision_text = _text(frame["decision"])
    decision = decision_text.str.lower().map(DECISION_CODES)
    flag(decision.isna().to_numpy(), "decision", "决定应为 授信、放款 或 拒绝")
    rejected = decision.eq("reject").to_numpy()
    granted = decision.isin(["credit", "loan"]).to_numpy()

    reason = _text(frame["reason"])
    flag(rejected & reason.eq("").to_numpy(), "reason", "决定为拒绝时须填写拒绝理由")
    flag(reason.str.len().gt(MAX_REASON).to_numpy(), "reason", f"拒绝理由不能超过 {MAX_REASON} 字")

    numbers: dict[str, pd.Series] = {}
    for key, low, high, what in (
        ("amount", 0.0, MAX_AMOUNT, "金额"),
        ("rate", 0.0, MAX_RATE, "年利率"),
        ("term_months", 1.0, float(MAX_TERM), "期限"),
    ):
        values, invalid = parse_number_series(frame[key].astype("object").where(frame[key].notna(), ""))
        v = values.to_numpy(dtype=float)
        flag(invalid.to_numpy(), key, f"{what}不是数字")
        with np.errstate(invalid="ignore"):
            flag(v < 0, key, f"{what}不能为负数")
            flag((v > high), key, f"{what}超出合理范围（最大 {high:g}）")
            if key == "term_months":
                flag((v >= 0) & ((v < low) | (v != np.round(v))), key, "期限应为不小于 1 的整数（月）")
        numbers[key] = values
    amount = numbers["amount"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        flag(
            granted & (np.isnan(amount) | (amount == 0)) & ~(amount < 0),
            "amount",
            "决定为授信或放款时须填写大于 0 的金额",
        )

    dates: dict[str, pd.Series] = {}
    days: dict[str, np.ndarray] = {}
    today_day = np.datetime64(today, "D")
    for key, what in (("decided_on", "决定日期"), ("start_on", "起始日期"), ("end_on", "到期日期")):
        parsed, bad, days[key] = parse_dates(frame[key])
        flag(bad, key, f"{what}无法识别，请写成 2026-11-20 的形式")
        if key != "end_on":
            flag(days[key] > today_day, key, f"{what}晚于今天（{today.isoformat()}），不能报送未来的日期")
        dates[key] = parsed
    flag(
        dates["decided_on"].isna().to_numpy() & _text(frame["decided_on"]).eq("").to_numpy(),
        "decided_on",
        "未填写决定日期",
    )
    flag(days["end_on"] < days["start_on"], "end_on", "到期日期早于起始日期")

    report = [
        {"row": int(rows[i]), "column": column, "value": value, "problem": problem}
        for i, _, column, value, problem in sorted(problems, key=lambda p: (p[0], p[1]))
    ]
    if report:
        return pd.DataFrame(columns=["enterprise_id", *list(HEADERS)[1:]]), report
    accepted = pd.DataFrame(
        {
            "enterprise_id": enterprise_ids.astype("int64").to_numpy(),
            "product": product.to_numpy(),
            "decision": decision.to_numpy(),
            "reason": reason.where(reason.ne(""), None).to_numpy(),
            "amount": numbers["amount"].to_numpy(dtype=float),
            "rate": numbers["rate"].to_numpy(dtype=float),
            "term_months": numbers["term_months"].to_numpy(dtype=float),
            "decided_on": dates["decided_on"].to_numpy(),
            "start_on": dates["start_on"].to_numpy(),
            "end_on": dates["end_on"].to_numpy(),
        }
    )
    return accepted, report


# What makes two reports the same event: a bank re-sending a file or retrying an API call must not count
# a loan twice in 金融推荐, 监测报告 and 展示大屏.
SAME_EVENT = ("enterprise_id", "product", "decision", "decided_on", "amount")


def event_keys(frame: pd.DataFrame) -> pd.Series:
    """One text per outcome row from :data:`SAME_EVENT` (dates as ISO days, amounts to 0.0001 万元)."""
    day = pd.to_datetime(frame["decided_on"], errors="coerce").dt.strftime("%Y-%m-%d").fillna("")
    amount = pd.to_numeric(frame["amount"], errors="coerce").astype(float).round(4).astype(str)
    return (
        frame["enterprise_id"].astype("int64").astype(str)
        + "|"
        + frame["product"].astype(str)
        + "|"
        + frame["decision"].astype(str)
        + "|"
        + day
        + "|"
        + amount
    )


def already_reported(accepted: pd.DataFrame, reported: pd.DataFrame) -> np.ndarray:
    """Rows of ``accepted`` the same bank has already reported (``reported``: its stored outcomes)."""
    if accepted.empty or reported.empty:
        return np.zeros(len(accepted), dtype=bool)
    return event_keys(accepted).isin(set(event_keys(reported))).to_numpy()
