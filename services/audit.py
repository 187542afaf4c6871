"""The audit trail, write, read and verify: the one place that touches ``AuditEvent``.

* write — :func:`record` adds an event in the caller's transaction; every state transition and value
  change goes through it (directly or through a :class:`Recorder` bound to one kind of object). At
  flush, :func:`_chain_events` links each new event to the one before it (``prev_hash``/``hash``) and
  moves the anchor row (``AuditChainHead``) under a lock, so appends queue.
* read — :func:`query_events`, :func:`display_frame` (Chinese words, core.audit_labels) and
  :func:`export_events` for staff (审计日志). Nothing here or anywhere updates or deletes an event; the
  database refuses it too (triggers from the migrations).
* verify — :func:`verify_chain` (``manage.py verify-audit``) walks the chain and compares its end with the
  anchor. The hash arithmetic itself is pure and lives in core.audit_chain, which the migration that
  introduced the chain (0004, below services/) uses as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, TypedDict, TypeVar, Unpack

import pandas as pd
from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, SQLModel

from core import audit_chain, audit_labels, clock
from core.clock import display_time
from core.spreadsheet import write_csv, write_xlsx
from db.models import AuditChainHead, AuditEvent, utcnow
from services.actor import Actor, require_live, require_role, require_staff

Row = TypeVar("Row", bound=SQLModel)


class AuditChainHeadMissing(RuntimeError):
    """The anchor row is gone: the audit trail was tampered with, nothing more is appended to it."""


# ------------------------------------------------------------------------------------------ write
def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: Any = None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str | None = None,
    check_actor: bool = True,
) -> AuditEvent:
    """Add an event in the caller's transaction (it commits or rolls back with the change it records).

    Every write records an event, so this is where each write re-checks that its actor may still act
    (:func:`services.actor.require_live`: session live, account active, role unchanged). ``check_actor``
    False is for services.auth, which checks before it revokes the actor's own sessions.
    """
    if check_actor:
        require_live(session, actor)
    audit_event = AuditEvent(
        actor=actor.username,
        actor_role=actor.role,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=before,
        after=after,
        reason=reason,
    )
    session.add(audit_event)
    return audit_event


class Change(TypedDict, total=False):
    """What an event says besides who did what to which object (the rest of :func:`record`)."""

    before: dict | None
    after: dict | None
    reason: str | None


@dataclass(frozen=True)
class Recorder:
    """:func:`record` bound to one kind of object, for a service that audits many actions on it:
    ``_record_run = Recorder("ScoreRun")``, then ``_record_run(session, actor, "run.publish", run.id,
    before=..., after=...)``. ``check_actor`` as in :func:`record`."""

    entity: str
    check_actor: bool = True

    def __call__(
        self, session: Session, actor: Actor, action: str, entity_id: Any = None, **change: Unpack[Change]
    ) -> AuditEvent:
        return record(
            session,
            actor=actor,
            action=action,
            entity=self.entity,
            entity_id=entity_id,
            check_actor=self.check_actor,
            **change,
        )

    def add(self, session: Session, actor: Actor, action: str, row: Row, *, after: dict) -> Row:
        """Store a new ``row`` and record its creation (flushed first: the event names the row's id)."""
        session.add(row)
        session.flush()
        self(session, actor, action, row.id, after=after)
        return row


@event.listens_for(OrmSession, "before_flush")
def _chain_events(session: OrmSession, _context: Any, _instances: Any) -> None:
    """Fill ``prev_hash``/``hash`` of the audit events this flush inserts, in insertion order.

    The tail comes from the anchor row, locked first: ``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite a
    (no-op) UPDATE of the row, which takes the database's write lock before anything is read (a plain
    read first would let two writers chain onto the same predecessor). The lock is held until the
    transaction ends, so concurrent appenders queue. Earlier flushes of the same transaction count and
    rolled-back savepoints roll the anchor back with their events. Every event is added by
    :func:`record` (tests/unit/test_layering.py checks that nothing else builds one), so every event
    passes here.
    """
    new = [obj for obj in session.new if isinstance(obj, AuditEvent) and obj.hash is None]
    if not new:
        return
    new.sort(key=lambda obj: inspect(obj).insert_order)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        head = connection.execute(
            text("SELECT count, hash FROM auditchainhead WHERE id = 1 FOR UPDATE")
        ).first()
    else:
        connection.execute(text("UPDATE auditchainhead SET count = count WHERE id = 1"))
        head = connection.execute(text("SELECT count, hash FROM auditchainhead WHERE id = 1")).first()
    if head is None:
        raise AuditChainHeadMissing("审计日志的锚点记录缺失（可能被删除或清空），已停止写入审计日志。")
    prev = head.hash
    for obj in new:
        obj.before = audit_chain.normalise_json(obj.before)
        obj.after = audit_chain.normalise_json(obj.after)
        if obj.at is None:
            obj.at = utcnow()
        obj.prev_hash = prev
        obj.hash = prev = audit_chain.event_hash(obj.model_dump(), prev)
    connection.execute(
        text("UPDATE auditchainhead SET count = count + :n, hash = :h WHERE id = 1"),
        {"n": len(new), "h": prev},
    )


# ------------------------------------------------------------------------------------------- read
COLUMNS = ["id", "at", "actor", "actor_role", "action", "entity", "entity_id", "before", "after", "reason"]
LABELS = {
    "id": "编号",
    "at": "时间",
    "actor": "操作人",
    "actor_role": "角色",
    "action": "操作",
    "entity": "对象",
    "entity_id": "对象编号",
    "before": "变更前",
    "after": "变更后",
    "reason": "理由",
}
MAX_ROWS = 50_000
DEFAULT_DAYS = 30  # the page opens on the last 30 days, today included


def query_events(
    session: Session,
    *,
    actor: Actor,
    date_from: date | None = None,
    date_to: date | None = None,
    actor_name: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: str | int | None = None,
    text: str | None = None,
    limit: int = MAX_ROWS,
) -> pd.DataFrame:
    """Events, newest first. ``action`` matches a prefix (``submission`` finds every submission action);
    ``text`` searches the reason (case-insensitive)."""
    require_staff(actor)
    stmt = select(*(getattr(AuditEvent, c) for c in COLUMNS)).order_by(AuditEvent.id.desc()).limit(limit)
    if date_from:
        stmt = stmt.where(AuditEvent.at >= clock.day_start(date_from))
    if date_to:
        stmt = stmt.where(AuditEvent.at < clock.day_end(date_to))
    if actor_name:
        stmt = stmt.where(AuditEvent.actor == actor_name.strip().lower())
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action.strip()))
    if entity:
        stmt = stmt.where(AuditEvent.entity == entity)
    if entity_id not in (None, ""):
        stmt = stmt.where(AuditEvent.entity_id == str(entity_id))
    if text:
        stmt = stmt.where(AuditEvent.reason.ilike(f"%{text.strip()}%"))
    return pd.DataFrame([tuple(r) for r in session.execute(stmt).all()], columns=COLUMNS)


def distinct_values(session: Session, *, actor: Actor) -> dict[str, list[str]]:
    """Filter choices: actions and entities that occur."""
    require_staff(actor)
    actions = (
        session.execute(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).scalars().all()
    )
    entities = (
        session.execute(select(AuditEvent.entity).distinct().order_by(AuditEvent.entity)).scalars().all()
    )
    return {"action": list(actions), "entity": list(entities)}


def code_names(session: Session, *, actor: Actor) -> dict[str, str]:
    """Names of the codes audit records hold: service items, and the current model's classes and
    indicators (``business_model`` → its service name, ``technology`` → 技术创新)."""
    require_staff(actor)
    from core.model_loading import load_model
    from db.models import ServiceItem
    from services.model_versions import current_model

    try:
        model = current_model(session)
    except Exception:  # noqa: BLE001 - no model stored yet: the shipped one names the same codes
        model = load_model()
    names = {c.code: c.name for c in model.ordered_classes}
    names |= {i.code: f"{i.code} {i.name}" for i in model.indicators}
    names |= dict(session.execute(select(ServiceItem.code, ServiceItem.name)).all())
    return names


def display_frame(events: pd.DataFrame, names: dict[str, str] | None = None) -> pd.DataFrame:
    """Chinese headers and words throughout (core.audit_labels): actions, objects, roles, before/after
    as "状态 公示中；公示开始 2026-12-06" (never JSON), times in Beijing time; ``names`` from
    :func:`code_names`."""
    out = events.copy()
    for col in ("before", "after"):
        out[col] = out[col].map(lambda record: audit_labels.record_text(record, names))
    out["action"] = out["action"].map(audit_labels.action_label)
    out["entity"] = out["entity"].map(audit_labels.entity_label)
    out["actor_role"] = out["actor_role"].map(audit_labels.role_label)
    out["actor"] = out["actor"].map(audit_labels.actor_label)
    out["at"] = out["at"].map(lambda v: display_time(v, seconds=True))
    out["reason"] = out["reason"].fillna("")
    out["entity_id"] = out["entity_id"].fillna("")
    return out.rename(columns=LABELS)


def export_events(session: Session, *, actor: Actor, fmt: str = "xlsx", **filters) -> bytes:
    """The filtered events as xlsx or csv, sanitised against formula injection (reasons are user text)."""
    events = query_events(session, actor=actor, **filters)
    frame = display_frame(events, code_names(session, actor=actor))
    if fmt == "csv":
        return write_csv(frame)
    return write_xlsx({"审计日志": frame})


# ----------------------------------------------------------------------------------------- verify
def verify_chain(session: Session, *, actor: Actor) -> audit_chain.ChainReport:
    """Recompute the hash chain over every event in id order and compare its end with the anchor row;
    the report names the first broken link, or what is missing at the end.

    The events and the anchor come from one statement (one snapshot on both stores): an append
    committing while the walk runs cannot make the two disagree.
    """
    require_role(actor, "admin")
    columns = ["id", *audit_chain.FIELDS, "prev_hash", "hash"]
    stmt = (
        select(
            *(getattr(AuditEvent, c) for c in columns),
            AuditChainHead.count.label("anchor_count"),
            AuditChainHead.hash.label("anchor_hash"),
        )
        .select_from(AuditEvent)
        .outerjoin(AuditChainHead, AuditChainHead.id == 1)
        .order_by(AuditEvent.id)
        .execution_options(yield_per=5000)
    )
    anchor: list[tuple[int, str] | None] = []

    def rows():  # noqa: ANN202 - generator of event dicts
        for row in session.execute(stmt):
            if not anchor:
                anchor.append(None if row.anchor_count is None else (int(row.anchor_count), row.anchor_hash))
            yield dict(zip(columns, row[: len(columns)], strict=True))

    report = audit_chain.verify(rows())
    if report.broken_id is not None:
        return report
    if not anchor:  # no events at all: the anchor must say so
        head = session.execute(
            select(AuditChainHead.count, AuditChainHead.hash).where(AuditChainHead.id == 1)
        ).first()
        anchor.append(None if head is None else (int(head.count), head.hash))
    return audit_chain.check_anchor(report, anchor[0])
