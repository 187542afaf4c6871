"""The database-side versions that in-process caches (core.lru) key on when another server process may
have changed what they hold."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import select, text
from sqlmodel import Session

from core.lru import LRU

V = TypeVar("V")


# ------------------------------------------------------------------ versions of the database
# Several server processes share one database: a cache one process holds must notice writes made through
# another. Two versions live in the database itself, each read with one index lookup.
def data_version(session: Session) -> tuple[int, str]:
    """The newest event of the audit chain that changed data: (its id, its hash), one read of the partial
    index ``ix_auditevent_data_change``; (0, "") before any.

    Every write of the application records an audit event in its own transaction, so this moves with
    every committed change, whichever server made it — but not with events that record an access
    (logins, exports: core.audit_chain.ACCESS_ACTIONS), which hundreds of people make on a deadline day.
    The hash chains the whole history: a database restored from a backup, or emptied and filled again,
    reads as another version even at the same id. Caches of shared state (the public pages, a session's
    portrait, :class:`KeptPerDataVersion`) key on it, read once per page load."""
    from db.models import DATA_CHANGE_EVENTS

    row = session.execute(
        text(f"SELECT id, hash FROM auditevent WHERE {DATA_CHANGE_EVENTS} ORDER BY id DESC LIMIT 1")
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, "")


def change_generation(session: Session, topic: str) -> int:
    """How often ``topic`` changed (``changecounter``, bumped in the changing transaction): for caches
    that are costly to rebuild and depend on one kind of change only (the search index on renames)."""
    from db.models import ChangeCounter

    return int(
        session.execute(select(ChangeCounter.generation).where(ChangeCounter.topic == topic)).scalar() or 0
    )


def published_version(session: Session) -> tuple:
    """What the published lists show can have changed: the published runs (id, state, notice window,
    model version: a publish, 定稿 or supersession on any server) and the renames of enterprises.

    Narrower than :func:`data_version`, which every audited action moves — each login, each portrait
    viewed — so a cache keyed on it (积分榜单's) was rebuilt on nearly every page load. A run's scores
    never change once computed; what names them (a rename) is counted by ``NAMES_TOPIC``."""
    from db.models import NAMES_TOPIC, ScoreRun
    from db.queries import PUBLISHED_STATES

    runs = session.execute(
        select(
            ScoreRun.id, ScoreRun.state, ScoreRun.notice_start, ScoreRun.notice_end, ScoreRun.model_version_id
        )
        .where(ScoreRun.state.in_(PUBLISHED_STATES))  # type: ignore[attr-defined]
        .order_by(ScoreRun.id)
    ).all()
    # the database first: a cache keyed on this holds no other database's lists (tests, several databases)
    url = str(session.get_bind().url)
    return url, tuple(tuple(run) for run in runs), change_generation(session, NAMES_TOPIC)


class KeptPerDataVersion(Generic[V]):
    """``build(session)``'s value kept per database and data version (:func:`data_version`): built again
    after any audited write, on whichever server, and never served to another database. For values read from
    rows that change only in audited writes (enterprise attributes, the filters' choices). ``size``
    versions are kept (the newest as a write lands while another session still reads the older one).
    A caller arriving while another builds the same version waits for that build (the warm-up and a page
    reading every enterprise's attributes at once, ~1 s each at 520,000). Callers never write into the
    value."""

    def __init__(self, build: Callable[[Session], V], size: int = 2) -> None:
        self._build = build
        self._kept: LRU[V] = LRU(size)
        self._lock = threading.Lock()
        self._building: dict[tuple, threading.Lock] = {}

    def __call__(self, session: Session) -> V:
        key = (str(session.get_bind().url), data_version(session))
        kept = self._kept.get(key)
        if kept is not None:
            return kept
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        try:
            with building:
                kept = self._kept.get(key)
                return kept if kept is not None else self._kept.put(key, self._build(session))
        finally:
            with self._lock:
                self._building.pop(key, None)


# ------------------------------------------------------------------ warm-ups after a server start
WARM_EVERY = 60.0  # seconds: at most one warm-up of a kind per database in this time (asked on every page)
_WARM_STARTED: dict[tuple[str, str], float] = {}
_WARM_THREADS: list[threading.Thread] = []
_WARM_LOCK = threading.Lock()


def warm_up(session: Session, *, name: str, work: Callable[[Session], None], delay: float) -> bool:
    """Run ``work`` on a session of its own in a background thread (named ``{name}-warm``) ``delay``
    seconds from now, at most once per ``name`` and database every WARM_EVERY seconds: cheap to ask on
    every page. A warm-up only fills caches: should it fail (the database went away, nothing published
    yet), each page reads what it needs itself and reports any error there. True when one was started."""
    engine = session.get_bind()
    key, now = (name, str(engine.url)), time.monotonic()
    with _WARM_LOCK:
        if now - _WARM_STARTED.get(key, -WARM_EVERY) < WARM_EVERY:
            return False
        _WARM_STARTED[key] = now

    def warm() -> None:
        time.sleep(delay)
        with contextlib.suppress(Exception), Session(engine) as own:
            work(own)

    thread = threading.Thread(target=warm, name=f"{name}-warm", daemon=True)
    with _WARM_LOCK:
        _WARM_THREADS[:] = [t for t in _WARM_THREADS if t.is_alive()]
        _WARM_THREADS.append(thread)
    thread.start()
    return True


def join_warm_ups() -> None:
    """Wait until every warm-up started so far has finished (each ends: a failing one stops at its error)."""
    with _WARM_LOCK:
        running = list(_WARM_THREADS)
    for thread in running:
        thread.join()


def forget_warm_ups(name: str) -> None:
    """Let the next request start a ``name`` warm-up at once, as after a server start."""
    with _WARM_LOCK:
        for key in [k for k in _WARM_STARTED if k[0] == name]:
            del _WARM_STARTED[key]
