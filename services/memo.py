"""The database-side versions that in-process caches (core.lru) key on when another server process may
have changed what they hold."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

if TYPE_CHECKING:
    from sqlmodel import Session


# ------------------------------------------------------------------ versions of the database
# Several server processes share one database: a cache one process holds must notice writes made through
# another. Two counters live in the database itself, each read with one primary-key lookup.
def data_version(session: Session) -> int:
    """How many changes the database has seen: the audit chain's length (``auditchainhead.count``).

    Every write of the application records an audit event in its own transaction, so this number moves
    with every committed change, whichever server made it. Cheap caches of shared state (the public
    pages, a session's portrait) key on it, read once per page load."""
    from db.models import AuditChainHead

    return int(session.execute(select(AuditChainHead.count).where(AuditChainHead.id == 1)).scalar() or 0)


def change_generation(session: Session, topic: str) -> int:
    """How often ``topic`` changed (``changecounter``, bumped in the changing transaction): for caches
    that are costly to rebuild and depend on one kind of change only (the search index on renames)."""
    from db.models import ChangeCounter

    return int(
        session.execute(select(ChangeCounter.generation).where(ChangeCounter.topic == topic)).scalar() or 0
    )
