"""Loan outcomes a partner bank reports back: one at a time from its page, a file, or the API.

A bank reports what it decided for a recommended enterprise (decision, product, amount, date); only
enterprises that consent to be recommended now can be reported (core.loans checks the rows), and a row
the bank already reported (same enterprise, product, decision, day and amount) is counted and skipped, so
a retried call or a re-sent file never counts a loan twice. A file is checked whole before anything is
written (`import_outcomes_file(dry_run=True)`); rows go in through db.bulk. Officers and admins read every
bank's outcomes and their summary (金融推荐).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from adapters.reader_worker import read_upload
from core import clock, loans
from core.spreadsheet import (
    SpreadsheetError,
    header_table,
    write_xlsx,
)
from db.bulk import insert_columns
from db.models import Enterprise, LoanOutcome, utcnow
from db.queries import fetch_rows
from services.actor import Actor, require_bank, require_staff
from services.audit import record
from services.bank_portal import final_run
from services.errors import ValidationFailed

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def _visible_codes(session: Session) -> dict[str, int]:
    """Credit code → id of the enterprises a bank may report on: those consenting now."""
    rows = fetch_rows(session, "SELECT credit_code, id FROM enterprise WHERE bank_consent = ?", (True,))
    return dict(rows)


@dataclass
class OutcomeCheck:
    """``accepted``: the rows to write; ``duplicates``: rows already reported by this bank (never written twice)."""

    rows: int
    accepted: pd.DataFrame
    problems: list[dict]
    committed: bool = False
    duplicates: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and self.rows > 0


def _check(session: Session, frame: pd.DataFrame, *, bank_name: str) -> OutcomeCheck:
    if len(frame) > loans.MAX_ROWS:
        raise ValidationFailed(f"一次最多报送 {loans.MAX_ROWS} 行，请拆分后分批报送。")
    accepted, problems = loans.check_outcomes(frame, today=clock.today(), known_codes=_visible_codes(session))
    duplicates = 0
    if not accepted.empty:
        reported = pd.DataFrame(
            fetch_rows(
                session,
                f"SELECT {', '.join(loans.SAME_EVENT)} FROM loanoutcome WHERE bank_name = ?",
                (bank_name,),
            ),
            columns=list(loans.SAME_EVENT),
        )
        seen = loans.already_reported(accepted, reported)
        duplicates = int(seen.sum())
        accepted = accepted[~seen].reset_index(drop=True)
    return OutcomeCheck(rows=len(frame), accepted=accepted, problems=problems, duplicates=duplicates)


def _write(
    session: Session, *, actor: Actor, check: OutcomeCheck, source: str, run_id: int | None, detail: dict
) -> OutcomeCheck:
    """All rows in one statement of the caller's transaction, audited; nothing when any row is bad."""
    bank_name = require_bank(actor)
    if not check.ok:
        return check
    if run_id is not None:
        final_run(session, run_id)
    now = utcnow()
    frame = check.accepted
    columns = {key: frame[key].tolist() for key in frame.columns}
    for key in ("amount", "rate"):
        columns[key] = [None if v is None or v != v else float(v) for v in columns[key]]
    columns["term_months"] = [None if v is None or v != v else int(v) for v in columns["term_months"]]
    columns["enterprise_id"] = [int(v) for v in columns["enterprise_id"]]
    for key in ("decided_on", "start_on", "end_on"):
        columns[key] = [v if isinstance(v, date) else None for v in columns[key]]
    columns["reason"] = [v if isinstance(v, str) and v else None for v in columns["reason"]]
    fixed = {
        "bank_name": bank_name,
        "run_id": run_id,
        "source": source,
        "recorded_by": actor.username,
        "recorded_at": now,
    }
    if len(frame):
        insert_columns(session, LoanOutcome.__table__, columns, fixed)  # type: ignore[arg-type]  # COPY on PostgreSQL
    record(
        session,
        actor=actor,
        action=f"loan_outcome.{source}",
        entity="LoanOutcome",
        after={
            "bank": bank_name,
            "rows": len(frame),
            "duplicates": check.duplicates,
            "run_id": run_id,
            **detail,
        },
    )
    check.committed = True
    return check


def record_outcome(
    session: Session,
    *,
    actor: Actor,
    credit_code: str,
    product: str,
    decision: str,
    decided_on: date | str,
    amount: float | None = None,
    rate: float | None = None,
    term_months: int | None = None,
    reason: str | None = None,
    start_on: date | str | None = None,
    end_on: date | str | None = None,
    run_id: int | None = None,
) -> OutcomeCheck:
    """One outcome typed on the bank's page (the same checks as a file row)."""
    require_bank(actor)
    item = {
        "credit_code": credit_code,
        "product": product,
        "decision": decision,
        "reason": reason,
        "amount": amount,
        "rate": rate,
        "term_months": term_months,
        "decided_on": decided_on.isoformat() if isinstance(decided_on, date) else decided_on,
        "start_on": start_on.isoformat() if isinstance(start_on, date) else start_on,
        "end_on": end_on.isoformat() if isinstance(end_on, date) else end_on,
    }
    check = _check(session, loans.rows_frame([item]), bank_name=require_bank(actor))
    check = _write(
        session,
        actor=actor,
        check=check,
        source="app",
        run_id=run_id,
        detail={"credit_code": str(credit_code).strip().upper(), "decision": decision},
    )
    session.commit()
    return check


def outcome_template() -> bytes:
    """The published upload template (xlsx: the data sheet, then the instructions)."""
    return write_xlsx({"贷款结果": loans.template_frame(), "填写说明": loans.template_notes()})


def _read_file(data: bytes, filename: str) -> pd.DataFrame:
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed("文件过大（上限 10 MB），请拆分后分批上传。")
    try:
        raw = read_upload(data, filename, expected=list(loans.HEADERS.values()), exclude=("填写说明",)).frame
        table = header_table(raw, list(loans.HEADERS.values()))
    except SpreadsheetError as exc:
        raise ValidationFailed(str(exc)) from None
    mapped, unknown = loans.map_columns(table)
    if unknown:
        raise ValidationFailed(
            "文件中有无法识别的列：" + "、".join(unknown) + "。请使用贷款结果报送模板的列名。"
        )
    missing = [
        loans.HEADERS[k] for k in ("credit_code", "product", "decision", "decided_on") if k not in mapped
    ]
    if missing:
        raise ValidationFailed("文件缺少必填列：" + "、".join(missing) + "。请使用贷款结果报送模板。")
    if mapped.empty:
        raise ValidationFailed("文件中没有数据行。")
    return mapped


def import_outcomes_file(
    session: Session,
    *,
    actor: Actor,
    data: bytes,
    filename: str,
    dry_run: bool = True,
    run_id: int | None = None,
) -> OutcomeCheck:
    """An outcomes file: checked first (``dry_run``), written only when every row is right."""
    require_bank(actor)
    check = _check(session, _read_file(data, filename), bank_name=require_bank(actor))
    if dry_run:
        return check
    check = _write(
        session, actor=actor, check=check, source="file", run_id=run_id, detail={"file_name": filename[:200]}
    )
    session.commit()
    return check


def import_outcomes_json(
    session: Session, *, actor: Actor, items: list, run_id: int | None = None, dry_run: bool = False
) -> OutcomeCheck:
    """The API's outcome rows (list of objects, the *outcome in* contract); all or nothing."""
    require_bank(actor)
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValidationFailed("outcomes 应为对象数组（见 docs/bank-contracts.md）。")
    if not items:
        raise ValidationFailed("outcomes 为空。")
    check = _check(session, loans.rows_frame(items), bank_name=require_bank(actor))
    if dry_run:
        return check
    check = _write(session, actor=actor, check=check, source="api", run_id=run_id, detail={})
    session.commit()
    return check


OUTCOME_COLUMNS = [
    "报送时间",
    "合作银行",
    "企业名称",
    "统一社会信用代码",
    "产品",
    "决定",
    "金额（万元）",
    "年利率（%）",
    "期限（月）",
    "决定日期",
    "起始日期",
    "到期日期",
    "拒绝理由",
    "来源",
]


def list_outcomes(session: Session, *, actor: Actor, limit: int = 500) -> pd.DataFrame:
    """Recorded outcomes, newest first: a bank sees its own institution's, staff every bank's."""
    if actor.role == "bank":
        bank_name = require_bank(actor)
    else:
        require_staff(actor)
        bank_name = None
    stmt = (
        select(LoanOutcome, Enterprise.name, Enterprise.credit_code)
        .join(Enterprise, Enterprise.id == LoanOutcome.enterprise_id)
        .order_by(LoanOutcome.id.desc())
        .limit(limit)
    )  # type: ignore[attr-defined]
    if bank_name is not None:
        stmt = stmt.where(LoanOutcome.bank_name == bank_name)
    rows = session.execute(stmt).all()

    def cell(v: object) -> object:
        return "—" if v is None else v

    return pd.DataFrame(
        [
            {
                "报送时间": o.recorded_at,
                "合作银行": o.bank_name,
                "企业名称": name,
                "统一社会信用代码": code,
                "产品": o.product,
                "决定": loans.DECISIONS.get(o.decision, o.decision),
                "金额（万元）": cell(o.amount),
                "年利率（%）": cell(o.rate),
                "期限（月）": cell(o.term_months),
                "决定日期": o.decided_on.isoformat(),
                "起始日期": o.start_on.isoformat() if o.start_on else "—",
                "到期日期": o.end_on.isoformat() if o.end_on else "—",
                "拒绝理由": o.reason or "—",
                "来源": loans.SOURCES.get(o.source, o.source),
            }
            for o, name, code in rows
        ],
        columns=OUTCOME_COLUMNS,
    )


def outcome_summary(session: Session, *, actor: Actor) -> pd.DataFrame:
    """Per bank: 授信/放款 counts and amounts and 拒绝 counts (officers' 金融推荐)."""
    require_staff(actor)
    rows = fetch_rows(
        session,
        "SELECT bank_name, decision, COUNT(*), COALESCE(SUM(amount), 0) FROM loanoutcome "
        "GROUP BY bank_name, decision",
    )
    frame = pd.DataFrame(rows, columns=["bank", "decision", "n", "amount"])
    banks = sorted(frame["bank"].unique().tolist())
    out = pd.DataFrame({"合作银行": banks})
    for code, label in loans.DECISIONS.items():
        part = frame[frame["decision"] == code].set_index("bank")
        out[f"{label}（笔）"] = [int(part["n"].get(b, 0)) for b in banks]
        if code != "reject":
            out[f"{label}金额（万元）"] = [round(float(part["amount"].get(b, 0.0)), 2) for b in banks]
    return out
