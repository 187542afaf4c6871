"""Bulk INSERT of many dicts, for the hot write paths (score rows, imported values, demo data).

SQLAlchemy compiles ``insert(table)`` once for the dialect with named parameters, and the DB-API driver
binds the list of dicts itself (sqlite3 and psycopg both do it in C). Going through
``session.execute(insert(table), rows)`` instead costs SQLAlchemy's per-row parameter processing: about
2 s per 100,000 score rows, a seventh of a whole score run. Values must already be what the driver
takes (numbers, str, bool, None; JSON columns as JSON text).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, insert
from sqlmodel import Session


def insert_rows(session: Session, table: Table, rows: Sequence[dict]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.paramstyle not in ("named", "pyformat"):  # SQLite's default is qmark: positional only
        dialect = type(dialect)(paramstyle="named")
    statement = insert(table).compile(dialect=dialect, column_keys=list(rows[0]))
    connection.exec_driver_sql(str(statement), list(rows))
