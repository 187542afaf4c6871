"""填报审核: the review queue, one submission with its evidence and diff, approve / return / unapprove.

Optimistic locking: every decision names the ``version`` the officer saw, and the state change is one
``UPDATE submission … WHERE id = ? AND version = ?``. Zero rows means someone else acted first: the
caller gets ``Conflict("已被他人处理…")`` and nothing is written (the values are written only after the
guarded update succeeded, in the same transaction). The UPDATE takes the row (PostgreSQL) or database
(SQLite) write lock first, so two officers racing serialise there and the second sees the new version.

Approval writes the items to ``IndicatorValue`` (source 自报, ``submission_id`` set; the previous current
row of each code becomes history) through ``db.values.replace_values``, the write path imports use.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from core import clock, engine, listtext
from core.workflows import SUBMISSION, TransitionError, transition
from db.models import (
    SELF_REPORT_SOURCE,
    Attachment,
    Carrier,
    Enterprise,
    Submission,
    utcnow,
)
from db.queries import with_enterprise
from db.values import code_history, current_code_values, replace_values
from services import audit
from services.actor import Actor, require_enterprise_access, require_staff
from services.dynamic import mark_changed
from services.errors import Conflict, NotFound, ValidationFailed
from services.model_versions import current_model

TAKEN = "已被他人处理：该填报已被其他工作人员审核或已被企业修改，请刷新后查看最新状态。"


@dataclass
class ReviewDetail:
    submission: Submission
    credit_code: str
    enterprise_name: str
    items: pd.DataFrame  # code, name, unit, value, last_approved, current, current_source, changed, comment
    attachments: list[dict]
    allowed_actions: list[str]


@dataclass
class BulkResult:
    approved: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # submission id → Chinese message

    @property
    def message(self) -> str:
        text = f"已通过 {len(self.approved)} 条"
        if self.failed:
            text += f"，{len(self.failed)} 条未处理（已被他人处理或状态已变化）"
        return text


# --------------------------------------------------------------------------- queue
def list_reviews(
    session: Session,
    *,
    actor: Actor,
    states: tuple[str, ...] | list[str] | None = ("submitted",),
    year: int | None = None,
    stage: str | None = None,
    carrier_id: int | None = None,
    submitted_from: date | None = None,
    submitted_to: date | None = None,
    search: str | None = None,
) -> pd.DataFrame:
    """The review queue, oldest submission first.

    Columns: id, enterprise_id, credit_code, name, carrier, stage, stage_name, year, state, state_label,
    submitted_at, reviewer, reviewed_at, version, item_count. ``stage`` is the stage of the current
    stage-indicator value of that year (empty when unknown).
    """
    require_staff(actor)
    stmt = (
        with_enterprise(
            Submission,
            Carrier.name.label("carrier"),
            Submission.year,
            Submission.state,
            Submission.submitted_at,
            Submission.reviewer,
            Submission.reviewed_at,
            Submission.version,
            Submission.items,
            leading=(Submission.id,),
        )
        .outerjoin(Carrier, Carrier.id == Enterprise.carrier_id)
        .order_by(Submission.submitted_at, Submission.id)
    )
    if states:
        stmt = stmt.where(Submission.state.in_(list(states)))
    else:
        stmt = stmt.where(Submission.state != "draft")
    if year is not None:
        stmt = stmt.where(Submission.year == year)
    if carrier_id is not None:
        stmt = stmt.where(Enterprise.carrier_id == carrier_id)
    if submitted_from is not None:
        stmt = stmt.where(Submission.submitted_at >= clock.day_start(submitted_from))
    if submitted_to is not None:
        stmt = stmt.where(Submission.submitted_at < clock.day_end(submitted_to))
    if search and search.strip():
        term = f"%{search.strip().upper()}%"
        stmt = stmt.where(Enterprise.name.ilike(f"%{search.strip()}%") | Enterprise.credit_code.like(term))
    columns = [
        "id",
        "enterprise_id",
        "credit_code",
        "name",
        "carrier",
        "year",
        "state",
        "submitted_at",
        "reviewer",
        "reviewed_at",
        "version",
        "items",
    ]
    frame = pd.DataFrame([tuple(r) for r in session.execute(stmt).all()], columns=columns)
    frame["item_count"] = (
        frame["items"].map(lambda d: sum(v is not None for v in (d or {}).values())).astype("int64")
    )
    frame = frame.drop(columns="items")
    frame["state_label"] = frame["state"].map(SUBMISSION.labels)
    frame["carrier"] = frame["carrier"].fillna("")
    model = current_model(session)
    frame["stage"] = _stages(session, model, frame)
    names = {s.code: s.name for s in model.stages}
    frame["stage_name"] = frame["stage"].map(names).fillna("")
    if stage:
        frame = frame[frame["stage"] == stage]
    return frame.reset_index(drop=True)


def _stages(session: Session, model: Any, frame: pd.DataFrame) -> pd.Series:
    if frame.empty:
        return pd.Series([], dtype=object)
    ids = frame["enterprise_id"].astype("int64").unique().tolist()
    years = frame["year"].unique().tolist()
    rows = current_code_values(session, code=model.stage_indicator, years=years, enterprise_ids=ids)
    revenue = pd.Series(
        rows["value_num"].to_numpy(dtype=float),
        index=pd.MultiIndex.from_arrays([rows["enterprise_id"], rows["year"]]),
        dtype=float,
    )
    keys = pd.MultiIndex.from_arrays([frame["enterprise_id"], frame["year"]])
    rev = revenue.reindex(keys) if len(revenue) else pd.Series(np.nan, index=keys)
    return pd.Series(engine.stage_codes(model, rev.to_numpy(), unknown=""), index=frame.index)


# --------------------------------------------------------------------------- one submission
def _fresh(session: Session, submission_id: int) -> Submission:
    sub = session.execute(
        select(Submission).where(Submission.id == submission_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if sub is None:
        raise NotFound(f"填报记录 #{submission_id} 不存在")
    return sub


def _canon(v: Any) -> Any:
    """Comparable form of a value: float for numbers, sorted JSON for structures, stripped text."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    text = str(v).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, sort_keys=True)
    except ValueError:
        return text


def display_value(v: Any, indicator: Any = None) -> str:
    """Short text for a table cell; lists and structured values as readable text (core.listtext)."""
    c = _canon(v)
    if c is None:
        return ""
    if isinstance(c, float):
        return f"{c:g}"
    readable = listtext.value_text(c, indicator)
    return readable if readable is not None else c


def get_review(session: Session, *, actor: Actor, submission_id: int) -> ReviewDetail:
    """A submission with its items next to the last approved and the current values, and its evidence."""
    sub = _fresh(session, submission_id)
    require_enterprise_access(actor, sub.enterprise_id)
    ent = session.get(Enterprise, sub.enterprise_id)
    items = {k: v for k, v in (sub.items or {}).items()}
    codes = list(items)
    rows = code_history(session, enterprise_id=sub.enterprise_id, year=sub.year, codes=codes)
    current: dict[str, tuple[Any, str]] = {}
    approved: dict[str, Any] = {}
    for code, num, text, source, is_current in rows:
        value = text if text is not None else num
        if is_current:
            current[code] = (value, source)
        if source == SELF_REPORT_SOURCE:
            approved[code] = value  # ordered by id: the last one wins
    model = current_model(session)
    names = {i.code: (i.name, i.unit) for i in model.indicators}
    indicators = {i.code: i for i in model.indicators}
    names.update({b.code: (b.name, b.unit) for b in model.base_fields})
    comments = sub.field_comments or {}
    records = []
    for code, value in items.items():
        name, unit = names.get(code, (code, ""))
        last = approved.get(code)
        cur, src = current.get(code, (None, ""))
        baseline = last if code in approved else cur
        records.append(
            {
                "code": code,
                "name": name,
                "unit": unit,
                "value": display_value(value, indicators.get(code)),
                "last_approved": display_value(last, indicators.get(code)),
                "current": display_value(cur, indicators.get(code)),
                "current_source": src or "",
                "changed": _canon(value) != _canon(baseline),
                "comment": comments.get(code, ""),
            }
        )
    frame = pd.DataFrame(
        records,
        columns=[
            "code",
            "name",
            "unit",
            "value",
            "last_approved",
            "current",
            "current_source",
            "changed",
            "comment",
        ],
    )
    attachments = [
        {
            "id": a.id,
            "file_name": a.file_name,
            "content_type": a.content_type,
            "size": a.size,
            "item_code": a.item_code,
            "created_at": a.created_at,
        }
        for a in session.execute(
            select(Attachment).where(Attachment.submission_id == sub.id).order_by(Attachment.id)
        ).scalars()
    ]
    return ReviewDetail(
        submission=sub,
        credit_code=ent.credit_code if ent else "",
        enterprise_name=ent.name if ent else "",
        items=frame,
        attachments=attachments,
        allowed_actions=SUBMISSION.allowed_actions(sub.state),
    )


def get_attachment(session: Session, *, actor: Actor, attachment_id: int) -> Attachment:
    """One evidence file (staff, or the owning enterprise)."""
    att = session.get(Attachment, attachment_id)
    if att is None:
        raise NotFound(f"附件 #{attachment_id} 不存在")
    require_enterprise_access(actor, att.enterprise_id)
    return att


# --------------------------------------------------------------------------- decisions
@dataclass(frozen=True)
class _Decision:
    """A decision taken: the submission as it now is, its state before and after, and the version the
    reviewer decided on."""

    sub: Submission
    states: tuple[str, str]
    expected_version: int


def _decide(
    session: Session,
    actor: Actor,
    submission_id: int,
    expected_version: int,
    action: str,
    *,
    reason: str | None = None,
    extra: dict | None = None,
) -> _Decision:
    """Check state and version, then the guarded UPDATE."""
    require_staff(actor)
    if action in SUBMISSION.reason_required and not (reason and reason.strip()):
        raise ValidationFailed(f"「{SUBMISSION.action_labels[action]}」必须填写理由。")
    sub = _fresh(session, submission_id)
    if sub.version != expected_version:
        raise Conflict(TAKEN)
    try:
        new_state = transition(SUBMISSION, sub.state, action, reason=reason)
    except TransitionError as exc:
        raise Conflict(str(exc)) from None
    now = utcnow()
    values = {
        "state": new_state,
        "version": Submission.version + 1,
        "reviewer": actor.username,
        "reviewed_at": now,
        "updated_at": now,
        **(extra or {}),
    }
    try:
        result = session.execute(
            update(Submission)
            .where(Submission.id == submission_id, Submission.version == expected_version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    except OperationalError as exc:
        # SQLite under heavy contention: the other writer held the lock past the busy timeout.
        if "locked" in str(exc).lower():
            raise Conflict(TAKEN) from None
        raise
    if result.rowcount != 1:
        raise Conflict(TAKEN)
    states = (sub.state, new_state)  # before the re-read: ``sub`` is the same object _fresh refreshes
    return _Decision(_fresh(session, submission_id), states, expected_version)


def _audit_decision(
    session: Session,
    actor: Actor,
    decision: _Decision,
    action: str,
    *,
    reason: str | None = None,
    **after: Any,
) -> None:
    """Audit a review decision: the state and version before and after, then what else it did."""
    (before, state), sub = decision.states, decision.sub
    audit.record(
        session,
        actor=actor,
        action=action,
        entity="Submission",
        entity_id=sub.id,
        before={"state": before, "version": decision.expected_version},
        after={"state": state, "version": sub.version, **after},
        reason=reason,
    )


def _value_rows(items: dict, enterprise_id: int) -> pd.DataFrame:
    records = []
    for code, value in items.items():
        c = _canon(value)
        if c is None:
            continue
        if isinstance(c, float):
            records.append((enterprise_id, code, c, None))
        else:
            records.append((enterprise_id, code, np.nan, c))
    frame = pd.DataFrame(records, columns=["enterprise_id", "code", "value_num", "value_text"])
    frame["source"] = SELF_REPORT_SOURCE
    frame["flagged"] = False
    return frame


def approve(session: Session, *, actor: Actor, submission_id: int, expected_version: int) -> Submission:
    """Approve: lock the submission and write its items as current values (source 自报)."""
    sub = _approve(session, actor=actor, submission_id=submission_id, expected_version=expected_version)
    session.commit()
    return sub


def _approve(session: Session, *, actor: Actor, submission_id: int, expected_version: int) -> Submission:
    decision = _decide(session, actor, submission_id, expected_version, "approve", extra={"reason": None})
    sub = decision.sub
    rows = _value_rows(sub.items or {}, sub.enterprise_id)
    written = replace_values(
        session, year=sub.year, rows=rows, submission_id=sub.id, created_by=actor.username
    )
    mark_changed(session, year=sub.year)  # 动态积分 of the year is recomputed in the background
    _audit_decision(
        session,
        actor,
        decision,
        "submission.approve",
        values_written=written,
        enterprise_id=sub.enterprise_id,
        year=sub.year,
    )
    session.flush()
    return sub


def return_submission(
    session: Session,
    *,
    actor: Actor,
    submission_id: int,
    expected_version: int,
    reason: str,
    field_comments: dict[str, str] | None = None,
) -> Submission:
    """Return to the enterprise with a required reason and optional per-field comments."""
    comments = {k: v.strip() for k, v in (field_comments or {}).items() if v and v.strip()} or None
    extra = {"reason": reason.strip(), "field_comments": comments}
    decision = _decide(session, actor, submission_id, expected_version, "return", reason=reason, extra=extra)
    _audit_decision(
        session, actor, decision, "submission.return", reason=reason.strip(), field_comments=comments
    )
    session.commit()
    return decision.sub


def unapprove(
    session: Session, *, actor: Actor, submission_id: int, expected_version: int, reason: str
) -> Submission:
    """Reopen an approved report (reason required); the written values stay until replaced."""
    extra = {"reason": reason.strip()}
    decision = _decide(
        session, actor, submission_id, expected_version, "unapprove", reason=reason, extra=extra
    )
    _audit_decision(session, actor, decision, "submission.unapprove", reason=reason.strip())
    session.commit()
    return decision.sub


def bulk_approve(session: Session, *, actor: Actor, items: list[tuple[int, int]]) -> BulkResult:
    """Approve each (submission id, version) in its own SAVEPOINT: one conflict does not stop the rest."""
    require_staff(actor)
    result = BulkResult()
    for submission_id, version in items:
        try:
            with session.begin_nested():
                _approve(
                    session, actor=actor, submission_id=int(submission_id), expected_version=int(version)
                )
            result.approved.append(int(submission_id))
        except (Conflict, NotFound, ValidationFailed) as exc:
            result.failed[int(submission_id)] = str(exc)
    session.commit()
    return result


def next_waiting(queue: pd.DataFrame, current_id: int) -> int | None:
    """The report to open after deciding ``current_id``: the next one still waiting (submitted) in the
    queue's order, wrapping round to the start; None when no other report waits."""
    if queue.empty:
        return None
    ids = queue["id"].astype("int64").to_numpy()
    waiting = (queue["state"] == "submitted").to_numpy() & (ids != current_id)
    if not waiting.any():
        return None
    here = np.flatnonzero(ids == current_id)
    start = int(here[0]) + 1 if len(here) else 0
    order = np.r_[np.arange(start, len(ids)), np.arange(0, start)]
    return int(ids[order[waiting[order]][0]])


QUEUE_DAYS = 365  # a date filter the officer switches on opens on a year of submissions


def default_filters(session: Session, *, actor: Actor) -> dict[str, Any]:
    """The queue's default filters: every report waiting for a decision, whatever its dates.

    No date bound by default: an app server's clock can lag the database's (replicas), and a report
    submitted "after now" or years ago still waits. 工作台 counts with the same filters.
    """
    require_staff(actor)
    return {"states": ("submitted",), "submitted_from": None, "submitted_to": None}


def date_filter_default(session: Session, *, actor: Actor) -> tuple[date, date]:
    """The range a date filter opens on, in Beijing days: from a year ago (or the oldest waiting report's
    day, if older) to today (or the newest waiting report's day, if a clock put it after today)."""
    require_staff(actor)
    today = clock.today()
    oldest, newest = session.execute(
        select(func.min(Submission.submitted_at), func.max(Submission.submitted_at)).where(
            Submission.state == "submitted"
        )
    ).one()
    start, end = today - timedelta(days=QUEUE_DAYS), today
    if oldest is not None:
        start = min(start, clock.beijing_day(oldest))
    if newest is not None:
        end = max(end, clock.beijing_day(newest))
    return start, end


def waiting_hidden_by_dates(
    session: Session, *, actor: Actor, submitted_from: date | None, submitted_to: date | None, **filters: Any
) -> int:
    """How many reports waiting for a decision (and matching the other ``filters``) a date range hides."""
    states = filters.pop("states", None)
    if (submitted_from is None and submitted_to is None) or (states and "submitted" not in states):
        return 0  # no date bound, or the state filter hides waiting reports anyway
    waiting = list_reviews(session, actor=actor, states=("submitted",), **filters)
    if waiting.empty:
        return 0
    at = pd.to_datetime(waiting["submitted_at"], utc=True)
    inside = pd.Series(True, index=waiting.index)
    if submitted_from is not None:
        inside &= at >= pd.Timestamp(clock.day_start(submitted_from))
    if submitted_to is not None:
        inside &= at < pd.Timestamp(clock.day_end(submitted_to))
    return int((~inside).sum())


def pending_queue(session: Session, *, actor: Actor) -> pd.DataFrame:
    """The default review queue, exactly as 填报审核 opens it (工作台's count is its length)."""
    return list_reviews(session, actor=actor, **default_filters(session, actor=actor))


def filter_options(session: Session, *, actor: Actor) -> dict[str, Any]:
    """Choices for the queue filters: carriers (id → name), stages (code → name), years."""
    require_staff(actor)
    carriers = dict(session.execute(select(Carrier.id, Carrier.name).order_by(Carrier.name)).all())
    years = sorted(session.execute(select(Submission.year).distinct()).scalars().all(), reverse=True)
    model = current_model(session)
    return {"carriers": carriers, "stages": {s.code: s.name for s in model.stages}, "years": years}
