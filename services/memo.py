"""Small in-process caches of derived frames (per database URL and run), shared by the services, and the
database-side versions they key on when another server process may have changed what they hold."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import TYPE_CHECKING, Generic, TypeVar

from sqlalchemy import select

if TYPE_CHECKING:
    from sqlmodel import Session

V = TypeVar("V")


class Recent(Generic[V]):
    """The ``size`` most recently stored values, safe to use from several sessions' threads at once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> V:
        """Store ``value`` (dropping the least recently used beyond ``size``) and return it."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


# ------------------------------------------------------------------ versions of the database (issue 21 · 3)
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
