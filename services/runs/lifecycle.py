"""A run's life after its compute: 公示 (notice) → final, or superseded.

State rules (core.workflows.SCORE_RUN plus the decisions below):

* publish (draft → notice): any *other* run of the same year in notice is superseded by it — one run
  per year in 公示 at a time, the caller confirming the replacement (``replace=True``); drafts stay.
* finalize (notice → final): after the 公示 window's last day (earlier only by an admin stating a reason,
  audited), with no open objection; the year's previous final run becomes superseded.
* :func:`guard_transition` states these conditions once: the services enforce it, the page asks with it.
* a final run is immutable: no service changes its Score rows (:func:`assert_not_final`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from core import clock
from core.clock import day_end
from core.workflows import SCORE_RUN, TransitionError, transition
from db.models import Objection, ScoreRun, utcnow
from services.actor import Actor, require_staff
from services.audit import Recorder
from services.errors import Conflict, NotFound, ValidationFailed

_record_run = Recorder("ScoreRun")

NOTICE_DAYS = 7  # the default 公示 window: seven Beijing days, first and last included


def default_notice_window(start: date | None = None, *, days: int = NOTICE_DAYS) -> tuple[date, date]:
    """The 公示 window offered by default: from ``start`` (default today in Beijing, which at 16:00–24:00
    UTC is already the server's tomorrow) over ``days`` Beijing days, both ends included."""
    start = start or clock.today()
    return start, start + timedelta(days=days - 1)


def get_run(session: Session, run_id: int, *, lock: bool = False) -> ScoreRun:
    """The run ``run_id`` (locked for update with ``lock``); NotFound when there is none."""
    statement = select(ScoreRun).where(ScoreRun.id == run_id)
    if lock:
        statement = statement.with_for_update()
    run = session.exec(statement).first()
    if run is None:
        raise NotFound(f"积分计算批次 {run_id} 不存在。")
    return run


def _next(run: ScoreRun, action: str) -> str:
    try:
        return transition(SCORE_RUN, run.state, action)
    except TransitionError as exc:
        raise Conflict(str(exc)) from None


def _supersede_others(session: Session, *, actor: Actor, run: ScoreRun, states: tuple[str, ...]) -> list[int]:
    """Mark the other runs of ``run.year`` in ``states`` superseded by ``run``; returns their ids."""
    others = session.exec(
        select(ScoreRun).where(ScoreRun.year == run.year, ScoreRun.id != run.id, ScoreRun.state.in_(states))
    ).all()
    for other in others:
        before = other.state
        other.state = "superseded"
        session.add(other)
        _record_run(
            session,
            actor,
            "run.supersede",
            other.id,
            before={"state": before},
            after={"state": "superseded", "superseded_by": run.id},
        )
    if others and run.supersedes_id is None:
        run.supersedes_id = max(o.id for o in others)
    return [o.id for o in others]


@dataclass(frozen=True)
class TransitionGuard:
    """What a run transition needs before it may happen: the one publishing guard.

    ``publish_run`` and ``finalize_run`` enforce it; the page reads it to say, before anything happens,
    what the transition will do and what it still needs (:func:`guard_transition`).
    """

    action: str  # publish / finalize
    run_id: int
    year: int
    refusal: str | None = None  # why this actor cannot do it now (nothing to confirm)
    reason_required: bool = False  # an early 定稿: allowed to an admin who states a reason (audited)
    replaces: tuple[int, ...] = ()  # runs of the year in 公示 that 开始公示 replaces (asked first)
    notes: tuple[str, ...] = ()  # what the confirmation says besides the action itself

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def _window_still_open(run: ScoreRun, at: datetime) -> bool:
    """Whether ``run``'s 公示 window has not yet passed its last day's 24:00 (Beijing time)."""
    return bool(run.notice_end and at < day_end(run.notice_end))


def guard_transition(
    session: Session, *, actor: Actor, run_id: int, action: str, at: datetime | None = None
) -> TransitionGuard:
    """The conditions of ``action`` (``publish`` / ``finalize``) on run ``run_id`` for ``actor`` now.

    Rules (the programme's): 定稿 only after the 公示 window's last day — before it only an admin (or the
    command line) who states a reason, recorded in the audit log — and never while an objection on the run
    is open; 开始公示 over a run of the same year already in 公示 replaces it, so it is asked first.
    """
    require_staff(actor)
    run = get_run(session, run_id)
    _next(run, action)  # a transition the workflow does not allow is a Conflict, whoever asks
    now = at or clock.now()
    if action == "finalize":
        open_objections = session.exec(
            select(func.count())
            .select_from(Objection)
            .where(Objection.run_id == run.id, Objection.state == "open")
        ).one()
        if open_objections:
            return TransitionGuard(
                action,
                run.id,
                run.year,
                refusal=f"该批次还有 {open_objections} 条异议未处理，处理完毕后才能定稿。",
            )
        if _window_still_open(run, now):
            left = (run.notice_end - clock.beijing_day(now)).days + 1
            window = f"公示期至 {run.notice_end:%Y-%m-%d} 24:00（北京时间）结束，还剩 {left} 天"
            if actor.role not in ("admin", "system"):
                return TransitionGuard(
                    action,
                    run.id,
                    run.year,
                    refusal=(f"{window}：公示期满后才能定稿。如确需提前定稿，须由系统管理员填写理由后操作。"),
                )
            return TransitionGuard(
                action,
                run.id,
                run.year,
                reason_required=True,
                notes=(
                    f"{window}。提前定稿后，企业不能再对本批次提出异议。",
                    "提前定稿须填写理由，理由记入审计日志。",
                ),
            )
        return TransitionGuard(action, run.id, run.year)
    others = session.exec(
        select(ScoreRun)
        .where(ScoreRun.year == run.year, ScoreRun.id != run.id, ScoreRun.state == "notice")
        .order_by(ScoreRun.id)
    ).all()
    notes = tuple(
        f"{run.year} 年度批次 #{o.id} 正在公示（{o.notice_start:%Y-%m-%d} 至 {o.notice_end:%Y-%m-%d}）："
        f"开始公示后它将被本批次替代，企业看到的公示结果和异议入口随之改为本批次。"
        if o.notice_start and o.notice_end
        else f"{run.year} 年度批次 #{o.id} 正在公示：开始公示后它将被本批次替代。"
        for o in others
    )
    return TransitionGuard(action, run.id, run.year, replaces=tuple(o.id for o in others), notes=notes)


def _enforce(guard: TransitionGuard, *, reason: str | None = None, replace: bool = False) -> None:
    """Raise unless what ``guard`` asks for was given (the page asked; the CLI passes flags)."""
    if guard.refusal:
        raise Conflict(guard.refusal)
    if guard.reason_required and not (reason and reason.strip()):
        raise ValidationFailed("公示期尚未结束：提前定稿须填写理由。")
    if guard.replaces and not replace:
        ids = "、".join(f"#{i}" for i in guard.replaces)
        raise Conflict(f"{guard.year} 年度批次 {ids} 正在公示：请确认由本批次替代后再开始公示。")


def publish_run(
    session: Session,
    *,
    actor: Actor,
    run_id: int,
    notice_start: date,
    notice_end: date,
    replace: bool = False,
) -> ScoreRun:
    """Start 公示 (draft → notice) for the window [notice_start, notice_end].

    A run of the same year already in 公示 is replaced only when ``replace`` confirms it (the guard).
    """
    require_staff(actor)
    if not isinstance(notice_start, date) or not isinstance(notice_end, date):
        raise ValidationFailed("请填写公示开始和结束日期。")
    if notice_end < notice_start:
        raise ValidationFailed("公示结束日期不能早于开始日期。")
    run = get_run(session, run_id, lock=True)
    state = _next(run, "publish")
    _enforce(guard_transition(session, actor=actor, run_id=run.id, action="publish"), replace=replace)
    superseded = _supersede_others(session, actor=actor, run=run, states=("notice",))
    run.state, run.notice_start, run.notice_end, run.published_at = state, notice_start, notice_end, utcnow()
    session.add(run)
    _record_run(
        session,
        actor,
        "run.publish",
        run.id,
        before={"state": "draft"},
        after={
            "state": state,
            "notice_start": notice_start.isoformat(),
            "notice_end": notice_end.isoformat(),
            "superseded": superseded,
        },
    )
    session.commit()
    return run


def finalize_run(session: Session, *, actor: Actor, run_id: int, reason: str | None = None) -> ScoreRun:
    """Finalise (notice → final); the previous final run of the year becomes superseded.

    Refused while an objection on the run is still open, and before the 公示 window's last day has passed
    unless an admin states ``reason`` (recorded with the event as an early 定稿) — :func:`guard_transition`.
    """
    require_staff(actor)
    run = get_run(session, run_id, lock=True)
    state = _next(run, "finalize")
    guard = guard_transition(session, actor=actor, run_id=run.id, action="finalize")
    _enforce(guard, reason=reason)
    superseded = _supersede_others(session, actor=actor, run=run, states=("final",))
    run.state, run.finalized_at = state, utcnow()
    session.add(run)
    after: dict[str, Any] = {"state": state, "superseded": superseded}
    if guard.reason_required:
        after |= {"early": True, "notice_end": run.notice_end.isoformat()}
    _record_run(
        session,
        actor,
        "run.finalize",
        run.id,
        before={"state": "notice"},
        after=after,
        reason=reason.strip() if guard.reason_required and reason else None,
    )
    session.commit()
    return run


def supersede_run(session: Session, *, actor: Actor, run_id: int, reason: str | None = None) -> ScoreRun:
    """Withdraw a draft or a run in 公示 (e.g. after an upheld objection and a recompute)."""
    require_staff(actor)
    run = get_run(session, run_id, lock=True)
    before = run.state
    run.state = _next(run, "supersede")
    session.add(run)
    _record_run(
        session,
        actor,
        "run.supersede",
        run.id,
        before={"state": before},
        after={"state": run.state},
        reason=reason,
    )
    session.commit()
    return run


def assert_not_final(session: Session, *, run_id: int) -> None:
    """Guard for any service about to change a run's Score rows: a final run is immutable."""
    if get_run(session, run_id).state == "final":
        raise Conflict("该批次已定稿，积分结果不可修改。")
