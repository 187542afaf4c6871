"""Append-only audit trail: every state transition and value change goes through :func:`record`."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from db.models import AuditEvent
from services.actor import Actor, require_live


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
