"""The one in-process cache helper: the ``size`` most recently used values, least recently used out first.

Every cache of derived data in the services and the read path is one of these (decoded runs, search
columns, the big screen's figures, pools). Reading a value counts as a use, so what a page keeps asking
for stays; a lock makes it safe from several sessions' threads at once. The keys carry what makes a
value stale (database URL, run id and fingerprint, a data version): nothing is invalidated in place.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LRU(Generic[V]):
    """The ``size`` most recently used values (``None`` is never stored: ``get`` returns it for a miss)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The value stored under ``key`` (now the most recently used), else None."""
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

    def values(self) -> list[V]:
        """The values held, least recently used first."""
        with self._lock:
            return list(self._items.values())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
