"""A benchmark's own database, emptied before it is filled: a SQLite file (``--db``, with its -wal and -shm
companions) or a PostgreSQL database named by ``--url`` (its public schema dropped and made again)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy.engine import Engine, make_url

from db.session import make_engine


def add_database_options(parser: argparse.ArgumentParser, *, db: str) -> None:
    """``--db`` (the SQLite file, default ``db``) and ``--url`` (a database of the benchmark's own)."""
    parser.add_argument("--db", default=db, help="the SQLite file, when no --url")
    parser.add_argument(
        "--url",
        help="a PostgreSQL (or SQLite) database of the benchmark's own (every table in it is dropped)",
    )


def database_url(args: argparse.Namespace) -> str:
    """``--url``, else the ``--db`` SQLite file."""
    return args.url or f"sqlite:///{args.db}"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for any other database."""
    parsed = make_url(url)
    return Path(parsed.database) if parsed.get_backend_name() == "sqlite" and parsed.database else None


def remove_sqlite(path: Path) -> None:
    """Delete a SQLite file and its -wal and -shm companions (those missing are fine)."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def empty_database(url: str) -> None:
    """Drop everything ``url`` holds: the SQLite file goes, a PostgreSQL public schema is made again."""
    path = sqlite_file(url)
    if path is not None:
        remove_sqlite(path)
        return
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()


def emptied_engine(url: str | None, folder: Path) -> Engine:
    """An engine on ``url`` emptied first (``--url``), else on a new SQLite file in ``folder``."""
    if not url:
        return make_engine(f"sqlite:///{folder / 'bench.db'}")
    empty_database(url)
    return make_engine(url)
