"""The one bulk INSERT: column lists through each driver's bulk path, for every hot write (a run's Score
rows, dynamic scores, loan outcomes, imported and approved values through ``db.values``).

* SQLite: ``executemany`` of tuples in the session's transaction, the constants written into the one
  INSERT statement; sqlite3 binds tuples in C (Core ``insert(table)`` with dicts: ~2 s per 100,000 rows).
* PostgreSQL: ``COPY … FROM STDIN`` through psycopg 3 on the session's connection (same transaction), the
  rows encoded as COPY text here a column at a time (a third of ``write_row``'s time), in chunks that
  psycopg's writer thread sends while the next is encoded.

Values must be what the driver takes (numbers, str, bool, None, datetime; JSON as JSON text);
``constants`` (one value for every row) are bound through their column type once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import Table
from sqlmodel import Session

COPY_NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
SQLITE_CHUNK = 50_000  # tuples per executemany: bounds the driver's transient memory
COPY_CHUNK = 20_000  # rows per COPY buffer: sent by psycopg's writer thread while the next is encoded


def _copy_token(value: Any) -> str:
    """The COPY text form of one value."""
    if value is None:
        return COPY_NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else COPY_NULL if math.isnan(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _copy_tokens(values: Sequence | np.ndarray) -> list[str]:
    """COPY text tokens of a column (NULL for None and NaN), by the kind of its first non-null value."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        array = values
    else:
        values = values.tolist() if isinstance(values, np.ndarray) else list(values)
        first = next((v for v in values if v is not None), None)
        if first is None:
            return [COPY_NULL] * len(values)
        if isinstance(first, bool):
            return [COPY_NULL if v is None else ("t" if v else "f") for v in values]
        if isinstance(first, float | int) and not isinstance(first, bool):
            if all(
                v is None or type(v) is int for v in values
            ):  # integers, possibly NULL: digits as they are
                tokens = repr(values)[1:-1].split(", ")
                return [COPY_NULL if t == "None" else t for t in tokens]
            array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        elif isinstance(first, str):
            text = "\x00".join(v for v in values if v is not None)
            escape = any(c in text for c in "\\\t\n\r")
            if escape:
                return [COPY_NULL if v is None else v.translate(_COPY_ESCAPES) for v in values]
            return [COPY_NULL if v is None else v for v in values]
        else:  # dates, times and anything else: each distinct value encoded once
            cache: dict[Any, str] = {}
            return [cache[v] if v in cache else cache.setdefault(v, _copy_token(v)) for v in values]
    if array.dtype.kind in "iu":
        return repr(array.tolist())[1:-1].split(", ") if len(array) else []
    if not len(array):
        return []
    tokens = np.asarray(repr(array.tolist())[1:-1].split(", "), dtype=object)
    tokens[np.isnan(array)] = COPY_NULL
    return tokens.tolist()


def _copy(
    session: Session, table: Table, columns: Mapping[str, Sequence], constants: Mapping[str, Any], n: int
) -> None:
    names = [*columns, *constants]
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    fixed = "\t".join(_copy_token(v) for v in constants.values())
    from psycopg.copy import QueuedLibpqWriter  # PostgreSQL only

    cursor = session.connection().connection.driver_connection.cursor()
    try:
        # The queued writer sends each buffer from a thread of its own, so the server stores one chunk
        # while this thread encodes the next (the default writer sends in this thread: one after the other).
        with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
            for start in range(0, n, COPY_CHUNK):
                stop = min(n, start + COPY_CHUNK)
                token_lists = [_copy_tokens(values[start:stop]) for values in columns.values()]
                if fixed:
                    token_lists.append([fixed] * (stop - start))
                copy.write(("\n".join(map("\t".join, zip(*token_lists, strict=True))) + "\n").encode())
    finally:
        cursor.close()


def bound(table: Table, dialect: Any, name: str, value: Any) -> Any:
    """A constant through its column type's bind processing (a raw executemany skips it)."""
    processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
    return processor(value) if processor and value is not None else value


def _sql_literal(value: Any) -> str:
    """A constant written into the statement (SQLite): numbers as digits, text quoted with its quotes doubled."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float) and math.isfinite(value):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _executemany(
    session: Session, table: Table, columns: Mapping[str, Sequence], constants: Mapping[str, Any], n: int
) -> None:
    """executemany of tuples of the varying columns; the constants are part of the statement (binding
    six more values for each of 2M rows costs a third more)."""
    connection = session.connection()
    dialect = connection.dialect
    names = [*columns, *constants]
    literals = [_sql_literal(bound(table, dialect, name, value)) for name, value in constants.items()]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(['?'] * len(columns) + literals)})"
    )
    ordered = list(columns.values())
    cursor = connection.connection.cursor()
    try:
        for start in range(0, n, SQLITE_CHUNK):
            cursor.executemany(
                sql, list(zip(*(c[start : start + SQLITE_CHUNK] for c in ordered), strict=True))
            )
    finally:
        cursor.close()


def insert_columns(
    session: Session,
    table: Table,
    columns: Mapping[str, Sequence],
    constants: Mapping[str, Any] | None = None,
) -> int:
    """Insert the rows that ``columns`` (name → equal-length value lists or numpy arrays) hold, plus
    ``constants`` (name → one value for every row), through the driver's bulk path; returns the count.

    Tuples zipped from column lists are the cheapest thing sqlite3 binds (no dict per row; design.md:
    2.8 s per 1M rows, against 16.6 s through dicts and Core); COPY is PostgreSQL's.
    """
    lists = {
        name: values if isinstance(values, np.ndarray) else list(values) for name, values in columns.items()
    }
    n = len(next(iter(lists.values()))) if lists else 0
    if not n:
        return 0
    if any(len(values) != n for values in lists.values()):
        raise ValueError("columns of unequal length")
    if session.connection().dialect.name == "postgresql":
        _copy(session, table, lists, constants or {}, n)
    else:
        plain = {name: v.tolist() if isinstance(v, np.ndarray) else v for name, v in lists.items()}
        _executemany(session, table, plain, constants or {}, n)
    return n
