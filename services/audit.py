"""Append-only audit trail: every state transition and value change goes through :func:`record`."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from db.models import AuditEvent
from services.actor import Actor


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
) -> AuditEvent:
    """Add an event to the caller's transaction (it commits or rolls back with the change it records)."""
    event = AuditEvent(
        actor=actor.username,
        actor_role=actor.role,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=before,
        after=after,
        reason=reason,
    )
    session.add(event)
    return event
