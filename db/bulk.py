"""The one bulk INSERT: column lists through each driver's bulk path, for every hot write (a run's Score
rows, dynamic scores, loan outcomes, imported and approved values through ``db.values``).

* SQLite: ``executemany`` of tuples in the session's transaction, the constants written into the one
  INSERT statement; sqlite3 binds tuples in C (Core ``insert(table)`` with dicts: ~2 s per 100,000 rows).
* PostgreSQL: ``COPY … FROM STDIN`` through psycopg 3 on the session's connection (same transaction), the
  rows encoded as COPY text by Arrow a column at a time and joined there (no Python string per cell), in
  chunks that psycopg's writer thread sends while the next is encoded.

Values must be what the driver takes (numbers, str, bool, None, datetime; JSON as JSON text);
``constants`` (one value for every row) are bound through their column type once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
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


def _copy_tokens(values: list) -> list[str]:
    """COPY text tokens of a column Arrow does not type (dates, times, mixed kinds): each distinct value
    encoded once."""
    cache: dict[Any, str] = {}
    return [cache[v] if v in cache else cache.setdefault(v, _copy_token(v)) for v in values]


_ARROW_KINDS = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_string)
_COPY_SPECIALS = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))  # backslash first


def _copy_cells(values: Sequence | np.ndarray | pa.Array) -> pa.Array:
    """The COPY text of every cell of a column (NULL, and NaN, as \\N) as an Arrow string array: numbers
    through Arrow's shortest round-trip text (exact for PostgreSQL's float8 input), booleans t/f, text
    escaped only when it holds a backslash, tab or line break. No Python object per cell."""
    if isinstance(values, pa.Array):
        array = values
    else:
        if not (isinstance(values, np.ndarray) and values.dtype.kind in "fiub"):
            values = values.tolist() if isinstance(values, np.ndarray) else list(values)
        try:
            array = pa.array(values, from_pandas=True)  # NaN → null
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            return pa.array(_copy_tokens(list(values)), type=pa.string())
    if pa.types.is_null(array.type):
        return pa.array([COPY_NULL] * len(array), type=pa.string())
    if not any(kind(array.type) for kind in _ARROW_KINDS):
        return pa.array(_copy_tokens(array.to_pylist()), type=pa.string())
    if pa.types.is_boolean(array.type):
        texts = pc.if_else(array, "t", "f")
    elif pa.types.is_string(array.type):
        texts = array
        if pc.any(pc.match_substring_regex(texts, "[\\\\\t\n\r]")).as_py():
            for special, escaped in _COPY_SPECIALS:
                texts = pc.replace_substring(texts, special, escaped)
    else:
        texts = array.cast(pa.string())
    return pc.fill_null(texts, COPY_NULL)


def _copy_payload(cells: list[pa.Array | pa.Scalar]) -> memoryview:
    """A chunk's rows as COPY text: cells joined by tabs, a newline after each row, joined by Arrow and
    handed over as the joined array's own data buffer."""
    rows = pc.binary_join_element_wise(*cells, "\t")
    rows = pc.binary_join_element_wise(rows, pa.scalar(""), "\n")
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)[rows.offset : rows.offset + len(rows) + 1]
    return memoryview(rows.buffers()[2])[offsets[0] : offsets[-1]]


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
                cells: list[pa.Array | pa.Scalar] = [
                    _copy_cells(values[start:stop]) for values in columns.values()
                ]
                if fixed:
                    cells.append(pa.scalar(fixed))
                copy.write(_copy_payload(cells))
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
    columns: Mapping[str, Sequence | np.ndarray | pa.Array],
    constants: Mapping[str, Any] | None = None,
) -> int:
    """Insert the rows that ``columns`` (name → equal-length value lists, numpy or Arrow arrays) hold, plus
    ``constants`` (name → one value for every row), through the driver's bulk path; returns the count.

    Tuples zipped from column lists are the cheapest thing sqlite3 binds (no dict per row; design.md:
    2.8 s per 1M rows, against 16.6 s through dicts and Core); COPY is PostgreSQL's.
    """
    lists = {
        name: values if isinstance(values, np.ndarray | pa.Array) else list(values)
        for name, values in columns.items()
    }
    n = len(next(iter(lists.values()))) if lists else 0
    if not n:
        return 0
    if any(len(values) != n for values in lists.values()):
        raise ValueError("columns of unequal length")
    if session.connection().dialect.name == "postgresql":
        _copy(session, table, lists, constants or {}, n)
    else:
        plain = {
            name: v.tolist() if isinstance(v, np.ndarray) else v.to_pylist() if isinstance(v, pa.Array) else v
            for name, v in lists.items()
        }
        _executemany(session, table, plain, constants or {}, n)
    return n
