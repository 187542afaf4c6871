"""Optimistic locking, the one way a form's save detects that someone else saved first.

A row that two people may edit at once carries ``version``. A save names the version its form was read
at and claims the row with one ``UPDATE … SET version = version + 1 WHERE id = ? AND version = ?``:
zero rows means another save came first, and the caller is refused with its Chinese message and nothing
written. The UPDATE takes the row lock (PostgreSQL) or the database write lock (SQLite) before anything
else is read, so two savers queue there and the second one sees the first one's version.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from services.errors import Conflict


def guarded_update(session: Session, stmt: Any, refusal: str) -> int:
    """Run a claiming UPDATE and return its row count; a writer that held the SQLite lock past the busy
    timeout counts as a race (``Conflict(refusal)``, rolled back)."""
    try:
        return session.execute(stmt.execution_options(synchronize_session=False)).rowcount
    except OperationalError as exc:
        if "locked" in str(exc).lower():
            session.rollback()
            raise Conflict(refusal) from None
        raise


def claim_version(session: Session, table: Any, row_id: int, version: int, refusal: str) -> None:
    """Move row ``row_id`` of ``table`` from ``version`` to ``version + 1``, or roll back and raise
    ``Conflict(refusal)``. The caller re-reads the row (``session.refresh``) to write on what is stored."""
    claimed = guarded_update(
        session,
        update(table).where(table.id == row_id, table.version == version).values(version=table.version + 1),
        refusal,
    )
    if claimed != 1:
        session.rollback()
        raise Conflict(refusal)
