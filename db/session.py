"""Engine and sessions.

``DATABASE_URL`` picks the database; without it the app uses one SQLite file under ``data/``.
SQLite connections get WAL, a busy timeout and foreign keys, so several Streamlit sessions and a CLI
command can share the file. PostgreSQL needs nothing special.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

from core import settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "data" / "innovation.db"


def database_url() -> str:
    return settings.load().database_url or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def _normalise(url: str) -> str:
    # Accept the plain postgresql:// form people copy from docs; we ship psycopg 3, not psycopg2.
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


SQLITE_MMAP_BYTES = 2**30


def _configure_sqlite(dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API callback
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Reads through a memory map of the file instead of a read() per page into the 2 MB page cache: a
    # score run walks hundreds of MB of values (writes still go through SQLite's own file writes).
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.close()


SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_sqlite_file(path: Path) -> None:
    """Create the database file mode 600 (and tighten an existing one and its -wal/-shm): it holds password
    hashes and evidence. SQLite gives -wal and -shm the mode of the database file, so they follow."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_SIDE_FILES)):
        try:
            if candidate.stat().st_mode & 0o077:
                candidate.chmod(0o600)
        except (FileNotFoundError, PermissionError):  # not there, or not ours to change (read-only mounts)
            pass


def make_engine(url: str | None = None) -> Engine:
    """A new engine for ``url`` (default: :func:`database_url`)."""
    url = _normalise(url or database_url())
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
        if path and path != ":memory:" and not path.startswith("file:"):
            private_sqlite_file(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    # Per process: up to pool_size + max_overflow connections (SQLAlchemy's 5 + 10 by default). N servers
    # behind nginx hold N × that at most, plus the CLI and the 动态积分 worker: keep it under the server's
    # max_connections (docs/deploy.md, "Connection pools").
    config = settings.load()
    return create_engine(
        url, pool_pre_ping=True, pool_size=config.db_pool_size, max_overflow=config.db_max_overflow
    )


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: DATABASE_URL as it is now; one pool per URL)."""
    return _engine_for(_normalise(url or database_url()))


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    return make_engine(url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
