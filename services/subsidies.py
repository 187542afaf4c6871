"""扶持资金拨付: the subsidy lines of final runs move 待确认 → 企业已确认 → 已拨付 / 不予拨付.

The lines are the run's own (Score.subsidy > 0, not vetoed, run final): amounts and caps are never typed
in again. An enterprise confirms only its own line; only staff record a payment or decline a line. Every
transition is checked by core.workflows.SUBSIDY and audited in the same transaction as the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core import clock
from core import subsidies as core_subsidies
from core.spreadsheet import write_csv, write_xlsx
from core.subsidies import PENDING, PaymentError
from core.workflows import SUBSIDY, TransitionError, transition
from db.models import Score, ScoreRun, SubsidyPayment, utcnow
from db.queries import with_enterprise
from services.actor import Actor, require_enterprise_access, require_staff
from services.audit import record
from services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from services.model_versions import get_model

LINE_FIELDS = [
    "run_id",
    "year",
    "enterprise_id",
    "credit_code",
    "name",
    "stage",
    "rank",
    "total",
    "amount",
    "state",
    "confirmed_at",
    "paid_on",
    "voucher",
    "reason",
]


def _lines_query(*, run_id: int | None = None, enterprise_id: int | None = None):  # noqa: ANN202
    query = (
        with_enterprise(
            Score,
            Score.stage,
            Score.rank,
            Score.total,
            Score.subsidy,
            SubsidyPayment.state,
            SubsidyPayment.confirmed_at,
            SubsidyPayment.paid_on,
            SubsidyPayment.voucher,
            SubsidyPayment.reason,
            leading=(Score.run_id, ScoreRun.year),
            enterprise_id=enterprise_id,
        )
        .join(ScoreRun, ScoreRun.id == Score.run_id)
        .outerjoin(
            SubsidyPayment,
            (SubsidyPayment.run_id == Score.run_id) & (SubsidyPayment.enterprise_id == Score.enterprise_id),
        )
        .where(ScoreRun.state == "final", Score.subsidy > 0, Score.veto.is_(False))  # type: ignore[attr-defined]
    )
    if run_id is not None:
        query = query.where(Score.run_id == run_id)
    return query


def lines_frame(
    session: Session, *, run_id: int | None = None, enterprise_id: int | None = None
) -> pd.DataFrame:
    """The subsidy lines of final runs (``LINE_FIELDS``; a line no one acted on has state ``pending``).
    No authorisation: callers in services/ check the actor (monitoring reads it as published data)."""
    rows = session.execute(_lines_query(run_id=run_id, enterprise_id=enterprise_id)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=LINE_FIELDS)
    frame["state"] = frame["state"].fillna(PENDING)
    frame["amount"] = pd.to_numeric(frame["amount"]).astype(float)
    return frame


def latest_final_run(session: Session) -> ScoreRun | None:
    return (
        session.execute(
            select(ScoreRun)
            .where(ScoreRun.state == "final")
            .order_by(ScoreRun.year.desc(), ScoreRun.id.desc())
            .limit(1)  # type: ignore[attr-defined]
        )
        .scalars()
        .first()
    )


def payment_run(session: Session, *, actor: Actor, run_id: int | None) -> ScoreRun | None:
    """The run whose lines 资金拨付 shows: ``run_id`` when it is final, else the latest final run (staff)."""
    require_staff(actor)
    chosen = session.get(ScoreRun, run_id) if run_id is not None else None
    return chosen if chosen is not None and chosen.state == "final" else latest_final_run(session)


def _final_run(session: Session, run_id: int | None) -> ScoreRun:
    run = latest_final_run(session) if run_id is None else session.get(ScoreRun, run_id)
    if run is None:
        raise NotFound(
            "暂无已定稿的积分批次：扶持资金只按已定稿批次拨付。"
            if run_id is None
            else f"积分批次 #{run_id} 不存在。"
        )
    if run.state != "final":
        raise ValidationFailed(f"积分批次 #{run.id} 尚未定稿：扶持资金只按已定稿批次确认和拨付。")
    return run


@dataclass
class SubsidyLines:
    run: ScoreRun | None
    lines: pd.DataFrame  # LINE_FIELDS
    table: pd.DataFrame  # core.subsidies.line_table: every column in Chinese
    summary: pd.DataFrame  # core.subsidies.state_summary


def subsidy_lines(session: Session, *, actor: Actor, run_id: int | None = None) -> SubsidyLines:
    """Every line of one final run (default: the latest), with its state (staff)."""
    require_staff(actor)
    run = _final_run(session, run_id)
    lines = lines_frame(session, run_id=run.id)
    model = get_model(session, run.model_version_id)
    return SubsidyLines(
        run, lines, core_subsidies.line_table(model, lines), core_subsidies.state_summary(lines)
    )


def my_subsidy_lines(session: Session, *, actor: Actor, enterprise_id: int) -> SubsidyLines:
    """The enterprise's own lines of every final run, newest year first (its own user, or staff)."""
    require_enterprise_access(actor, enterprise_id)
    lines = lines_frame(session, enterprise_id=enterprise_id)
    run = latest_final_run(session)
    if run is None:
        empty = lines.iloc[0:0]
        return SubsidyLines(
            None,
            empty,
            pd.DataFrame(columns=core_subsidies.LINE_COLUMNS),
            core_subsidies.state_summary(empty),
        )
    model = get_model(session, run.model_version_id)
    lines = lines.sort_values(["year", "run_id"], ascending=False, kind="stable").reset_index(drop=True)
    return SubsidyLines(
        run, lines, core_subsidies.line_table(model, lines), core_subsidies.state_summary(lines)
    )


def _line(session: Session, run: ScoreRun, enterprise_id: int) -> tuple[Score, SubsidyPayment | None]:
    score = (
        session.execute(select(Score).where(Score.run_id == run.id, Score.enterprise_id == enterprise_id))
        .scalars()
        .first()
    )
    if score is None or not score.subsidy or score.subsidy <= 0 or score.veto:
        raise NotFound(f"积分批次 #{run.id} 中没有该企业的扶持资金。")
    payment = (
        session.execute(
            select(SubsidyPayment)
            .where(SubsidyPayment.run_id == run.id, SubsidyPayment.enterprise_id == enterprise_id)
            .with_for_update()
        )
        .scalars()
        .first()
    )
    return score, payment


def _move(
    session: Session,
    *,
    actor: Actor,
    run: ScoreRun,
    enterprise_id: int,
    action: str,
    reason: str | None = None,
) -> tuple[SubsidyPayment, str]:
    """The line's row after ``action`` (not yet audited or committed) and its state before."""
    score, payment = _line(session, run, enterprise_id)
    before = payment.state if payment is not None else PENDING
    try:
        after = transition(SUBSIDY, before, action, reason=reason)
    except TransitionError as exc:
        raise Conflict(str(exc)) from None
    if payment is None:
        payment = SubsidyPayment(run_id=run.id, enterprise_id=enterprise_id, amount=float(score.subsidy))
    payment.state = after
    return payment, before


def _save(
    session: Session, *, actor: Actor, payment: SubsidyPayment, before: str, reason: str | None = None
) -> None:
    """Write the line's new state and audit the transition (``subsidy.<action>``) in the caller's transaction."""
    session.add(payment)
    try:
        session.flush()
    except IntegrityError:  # two first transitions of one line at once: the other one won
        session.rollback()
        raise Conflict("该扶持资金刚刚已被处理，请刷新后查看。") from None
    after = {
        "state": payment.state,
        "run_id": payment.run_id,
        "enterprise_id": payment.enterprise_id,
        "amount": payment.amount,
    }
    if payment.paid_on is not None:
        after |= {"paid_on": payment.paid_on.isoformat(), "voucher": payment.voucher}
    action = {"confirmed": "confirm", "paid": "pay", "refused": "refuse"}[payment.state]
    record(
        session,
        actor=actor,
        action=f"subsidy.{action}",
        entity="subsidy_payment",
        entity_id=payment.id,
        before={"state": before},
        after=after,
        reason=reason,
    )


def confirm_line(session: Session, *, actor: Actor, run_id: int, enterprise_id: int) -> SubsidyPayment | None:
    """The enterprise's confirmation of its own line, in the caller's transaction (no commit); None when
    the line is already past 待确认 (confirming twice changes nothing)."""
    if actor.role != "enterprise":
        raise PermissionDenied("扶持资金只能由企业本身确认。")
    require_enterprise_access(actor, enterprise_id)
    run = _final_run(session, run_id)
    _, existing = _line(session, run, enterprise_id)
    if existing is not None and existing.state != PENDING:
        return None
    payment, before = _move(session, actor=actor, run=run, enterprise_id=enterprise_id, action="confirm")
    payment.confirmed_by, payment.confirmed_at = actor.username, utcnow()
    _save(session, actor=actor, payment=payment, before=before)
    return payment


def confirm_subsidy(session: Session, *, actor: Actor, run_id: int, enterprise_id: int) -> SubsidyPayment:
    """The enterprise confirms its line of a final run: 待确认 → 企业已确认 (audited)."""
    payment = confirm_line(session, actor=actor, run_id=run_id, enterprise_id=enterprise_id)
    if payment is None:
        raise Conflict("该扶持资金已确认，无需重复确认。")
    session.commit()
    return payment


def record_payment(
    session: Session,
    *,
    actor: Actor,
    run_id: int,
    enterprise_id: int,
    paid_on: date | None,
    voucher: str | None,
) -> SubsidyPayment:
    """Staff record the payment of a confirmed line: date (not in the future, not before the run was
    finalised) and voucher number; 企业已确认 → 已拨付 (audited)."""
    require_staff(actor)
    run = _final_run(session, run_id)
    finalized_on = clock.beijing_day(run.finalized_at) if run.finalized_at else None
    try:
        paid_on, voucher = core_subsidies.check_payment(
            paid_on, voucher, today=clock.today(), finalized_on=finalized_on
        )
    except PaymentError as exc:
        raise ValidationFailed(str(exc)) from None
    payment, before = _move(session, actor=actor, run=run, enterprise_id=enterprise_id, action="pay")
    payment.paid_on, payment.voucher = paid_on, voucher
    payment.handled_by, payment.handled_at = actor.username, utcnow()
    _save(session, actor=actor, payment=payment, before=before)
    session.commit()
    return payment


def refuse_subsidy(
    session: Session, *, actor: Actor, run_id: int, enterprise_id: int, reason: str | None
) -> SubsidyPayment:
    """Staff decline a line with a reason: 待确认 or 企业已确认 → 不予拨付 (audited)."""
    require_staff(actor)
    run = _final_run(session, run_id)
    try:
        reason = core_subsidies.check_reason(reason)
    except PaymentError as exc:
        raise ValidationFailed(str(exc)) from None
    payment, before = _move(
        session, actor=actor, run=run, enterprise_id=enterprise_id, action="refuse", reason=reason
    )
    payment.reason = reason
    payment.handled_by, payment.handled_at = actor.username, utcnow()
    _save(session, actor=actor, payment=payment, before=before, reason=reason)
    session.commit()
    return payment


def export_subsidy_lines(
    session: Session, *, actor: Actor, run_id: int | None = None, fmt: str = "xlsx"
) -> bytes:
    """The lines of a final run with their states (xlsx: 扶持资金拨付 + 拨付汇总; csv: the lines), through
    the formula-injection sanitiser of core.spreadsheet."""
    view = subsidy_lines(session, actor=actor, run_id=run_id)
    if fmt == "csv":
        return write_csv(view.table)
    if fmt != "xlsx":
        raise ValidationFailed("导出格式无效。")
    return write_xlsx({"扶持资金拨付": view.table, "拨付汇总": view.summary})


def confirmed_subsidy_runs(session: Session, *, enterprise_id: int) -> set[int]:
    """Runs whose line of this enterprise is past 待确认 (the 免申即享 list shows them as confirmed)."""
    return set(
        session.execute(
            select(SubsidyPayment.run_id).where(
                SubsidyPayment.enterprise_id == enterprise_id, SubsidyPayment.state != PENDING
            )
        ).scalars()
    )


__all__ = [
    "subsidy_lines",
    "my_subsidy_lines",
    "confirm_subsidy",
    "record_payment",
    "refuse_subsidy",
    "export_subsidy_lines",
    "lines_frame",
    "SubsidyLines",
]
