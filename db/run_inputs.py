"""The inputs of a score run: the current values of a year as the value-contract frame
(scoring-model.md §9), with the source department of every cell, on SQLite and PostgreSQL.

At 100k enterprises a year holds ~3M long-format rows, so nothing here builds ORM objects or
SQLAlchemy ``Row`` objects: one aggregate per code is read through the driver's cursor (SQLite a
statement ahead in a worker thread, PostgreSQL as binary 8-byte numbers) and pivoted with numpy.
Only current rows count (``is_current``); self-reported values are written to ``IndicatorValue`` only
when an officer approves the report, so the current rows are exactly the values a score run may use.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.pool import Pool, QueuePool
from sqlmodel import Session

from db.queries import ID_COLUMNS, UNIT_SEPARATOR, enterprises_frame, fetch_rows, number_array


@dataclass
class ValuesFrame:
    """The values of one year and, in the same shape, the source department of each cell.

    ``values``: ``credit_code, name, enterprise_id`` + one column per code (float64 for codes that only
    hold numbers, object — str, or float where a row has no text — for tier/flag/JSON codes).
    ``sources``: ``enterprise_id`` + one column per code holding the source (department or 自报), None
    where the value is absent; same row order as ``values``.
    """

    values: pd.DataFrame
    sources: pd.DataFrame


READERS = 2  # connections aggregating at once when the run reads on connections of its own (two cores)
_SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f-]+")


def _spare_connections(pool: Pool, wanted: int) -> bool:
    """Whether ``pool`` hands out ``wanted`` more connections without waiting for one to come back."""
    if not isinstance(pool, QueuePool):
        return False
    max_overflow = getattr(pool, "_max_overflow", 0)  # QueuePool's, -1 for no limit
    # idle connections, and the ones it may still open (its overflow counts from -size up)
    return max_overflow < 0 or pool.checkedin() + max_overflow - pool.overflow() >= wanted


@contextlib.contextmanager
def _reading_connections(session: Session) -> Iterator[tuple[list[Any], str]]:
    """DB-API connections that see what the session sees, and their placeholder.

    When the session's transaction has written nothing: :data:`READERS` pooled connections of their
    own, so the database aggregates on as many cores. On PostgreSQL they read the snapshot the session
    exports (REPEATABLE READ, ``SET TRANSACTION SNAPSHOT``): every statement of theirs sees one and the
    same state, the session's. On SQLite (a file; a memory database is the connection's own) each
    statement sees the last commit, as the session's own statements outside a write transaction do.
    Otherwise — uncommitted writes are the session's alone — the session's own connection."""
    connection = session.connection()
    driver = connection.connection.driver_connection
    placeholder = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    if connection.dialect.name == "postgresql":
        untouched, snapshot = fetch_rows(
            session, "SELECT pg_current_xact_id_if_assigned() IS NULL, pg_export_snapshot()"
        )[0]
        # in autocommit the exporting statement was a transaction of its own: its snapshot is gone
        own = untouched and not driver.autocommit and _SNAPSHOT_ID.fullmatch(snapshot) is not None
    else:
        own = not driver.in_transaction and bool(driver.execute("PRAGMA database_list").fetchone()[2])
    if not own or not _spare_connections(connection.engine.pool, READERS):
        yield [driver], placeholder
        return
    pooled: list[Any] = []
    try:
        for _ in range(READERS):
            pooled.append(connection.engine.raw_connection())
            reader = pooled[-1].driver_connection
            if connection.dialect.name == "postgresql":
                reader.autocommit = False  # as the pool hands them out, unless a borrower left it on
                reader.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                reader.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        yield [p.driver_connection for p in pooled], placeholder
    finally:
        for p in pooled:
            with contextlib.suppress(Exception):
                p.driver_connection.rollback()
            p.close()


def _first_rows_ahead(session: Session, sql: str, params: list[tuple]) -> Iterator[tuple]:
    """The first row of ``sql`` for each of ``params``, in order, read ahead by worker threads on the
    connections of :func:`_reading_connections` (the i-th statement on connection i mod their count):
    the drivers let go of the GIL while the database aggregates, so the caller's parsing of one result
    overlaps the database's work on the next ones. The caller must not use the session until the
    iterator is exhausted or closed."""
    if len(params) < 2:
        for values in params:
            yield fetch_rows(session, sql, values)[0]
        return
    with _reading_connections(session) as (drivers, placeholder):
        statement = sql.replace("?", placeholder)
        stop = threading.Event()
        # per connection: one result waiting, one in the making; (None, None) once its statements end
        results: list[queue.Queue[tuple[bool | None, Any]]] = [queue.Queue(maxsize=1) for _ in drivers]

        def run(k: int) -> None:
            cursor = drivers[k].cursor()
            try:
                for values in params[k :: len(drivers)]:
                    if stop.is_set():
                        break
                    cursor.execute(statement, values)
                    results[k].put((True, cursor.fetchall()[0]))
            except BaseException as exc:  # handed to the caller, raised there
                results[k].put((False, exc))
            finally:
                cursor.close()
                results[k].put((None, None))

        workers = [
            threading.Thread(target=run, args=(k,), name=f"first-rows-ahead-{k}", daemon=True)
            for k in range(len(drivers))
        ]
        for worker in workers:
            worker.start()
        try:
            for i in range(len(params)):
                ok, value = results[i % len(drivers)].get()
                if not ok:
                    raise value
                yield value
        finally:
            stop.set()  # an early exit: each worker ends after its current statement
            for k, worker in enumerate(workers):
                while results[k].get()[0] is not None:
                    pass
                worker.join()


# A SQLite number as text it renders fast and this side reads back bit for bit: a value that is a whole
# number of hundredths (amounts, percentages, counts) as that integer k (k / 100 is the value: the same
# IEEE division here as in the check), else printf's 17 digits marked with an x (SQLite's own real-to-text
# keeps 15). printf of every value cost a third of the year's read. Below 1e15, k fits an int64 exactly.
SQLITE_NUMBER = (
    "CASE WHEN abs(value_num) < 1e15 AND round(value_num * 100) / 100.0 = value_num "
    "THEN CAST(round(value_num * 100) AS INTEGER) ELSE 'x' || printf('%!.17g', value_num) END"
)


def _sqlite_numbers(joined: str) -> np.ndarray:
    """The numbers of a ``group_concat`` of :data:`SQLITE_NUMBER` (comma-joined)."""
    cells = pc.split_pattern(pa.array([joined], type=pa.large_string()), ",").flatten()
    marked = pc.starts_with(cells, "x")
    if not pc.any(marked).as_py():
        return cells.cast(pa.int64()).to_numpy() / 100.0
    mask = marked.to_numpy(zero_copy_only=False)
    numbers = np.empty(len(cells))
    numbers[~mask] = pc.filter(cells, pc.invert(marked)).cast(pa.int64()).to_numpy() / 100.0
    texts = pc.utf8_slice_codeunits(pc.filter(cells, marked), 1).to_pylist()
    numbers[mask] = number_array(",".join(texts), np.float64)
    return numbers


def _numeric_parts(session: Session, year: int, codes: list[str] | None) -> tuple[list[tuple], list[str]]:
    """(code, sources, ids, values) per code of the numeric values (sources: one str when every cell has
    the same, else an array), and the codes that also hold text.

    The database aggregates each column into one string that numpy parses: fetching the ~2.5M rows of a
    year at 100k enterprises as tuples costs seconds of Python objects; the aggregates hand over a few
    strings per code. One statement per code walks the (year, code) index — one GROUP BY over the year
    sorts every row (in a temporary B-tree on SQLite, on disk on PostgreSQL) and is slower. The same
    scan counts the code's text values, so only codes that have some are read again as rows.

    The numbers are exact: SQLite hands over hundredths as integers (:data:`SQLITE_NUMBER`) and the
    others as ``printf('%!.17g')`` text; PostgreSQL hands over their binary
    form (``float8send``), no text at all. A code holds one department's values as a rule: its sources
    come back as their least and greatest, and only a code whose sources differ is read again with them
    (ids, values and sources then from one scan, so their orders agree).
    """
    if codes is None:
        codes = [
            row[0]
            for row in fetch_rows(session, "SELECT DISTINCT code FROM indicatorvalue WHERE year = ?", (year,))
        ]
    numeric = "FILTER (WHERE value_text IS NULL AND value_num IS NOT NULL)"
    dialect = session.connection().dialect.name
    ids, joined = _joined_ids_and_text(dialect)
    ids, joined_sources = f"{ids} {numeric}", f"{joined.format('source')} {numeric}"
    if dialect == "sqlite":
        nums = f"group_concat({SQLITE_NUMBER}) {numeric}"
        low, high = f"min(source) {numeric}", f"max(source) {numeric}"
    else:
        # The numbers' own 8 bytes (big-endian, as float8send/int8send write them), concatenated: no
        # text formatting on the server nor parsing here, and exact by construction.
        nums = f"string_agg(float8send(value_num), ''::bytea) {numeric}"
        low, high = f'min(source COLLATE "C") {numeric}', f'max(source COLLATE "C") {numeric}'
    where = " FROM indicatorvalue WHERE year = ? AND code = ? AND is_current"
    parts, text_codes = [], []
    statement = f"SELECT {ids}, {nums}, {low}, {high}, count(value_text){where}"
    first_rows = _first_rows_ahead(session, statement, [(year, code) for code in codes])
    for code, (joined_ids, joined_nums, first, last, texts) in zip(codes, first_rows, strict=True):
        if texts:
            text_codes.append(code)
        if joined_ids is None:
            continue
        id_array = number_array(joined_ids, np.int64)
        if first == last:
            sources = first  # one department for every cell: assigned to the column as one value
        else:
            joined_ids, joined_nums, joined = fetch_rows(
                session, f"SELECT {ids}, {nums}, {joined_sources}{where}", (year, code)
            )[0]
            id_array = number_array(joined_ids, np.int64)
            sources = np.array(joined.split(UNIT_SEPARATOR), dtype=object)
        numbers = (
            _sqlite_numbers(joined_nums) if dialect == "sqlite" else number_array(joined_nums, np.float64)
        )
        parts.append((code, sources, id_array, numbers))
    return parts, text_codes


def _joined_ids_and_text(dialect: str) -> tuple[str, str]:
    """SQL joining a scan's enterprise ids into one value, and a ``{}`` text column into one string
    (cells separated by the unit separator), per dialect."""
    if dialect == "sqlite":
        return "group_concat(enterprise_id)", "group_concat({}, char(31))"
    return "string_agg(int8send(enterprise_id::bigint), ''::bytea)", "string_agg({}, chr(31))"


def _text_parts(session: Session, year: int, codes: list[str]) -> list[tuple]:
    """(code, sources, ids, texts) per code of the text values (tiers, flags, JSON lists).

    As the numbers, one aggregate per code: ids, texts and sources joined by the scan (so their orders
    agree) and split here, not a tuple per row. A text holding the separator splits into too many
    cells; that code is then read again as plain rows."""
    ids, joined = _joined_ids_and_text(session.connection().dialect.name)
    where = " FROM indicatorvalue WHERE year = ? AND code = ? AND is_current AND value_text IS NOT NULL"
    statement = f"SELECT count(*), {ids}, {joined.format('value_text')}, {joined.format('source')}{where}"
    parts = []
    first_rows = _first_rows_ahead(session, statement, [(year, code) for code in codes])
    for code, (count, joined_ids, joined_texts, joined_sources) in zip(codes, first_rows, strict=True):
        if not count:
            continue
        texts, sources = joined_texts.split(UNIT_SEPARATOR), joined_sources.split(UNIT_SEPARATOR)
        id_array = number_array(joined_ids, np.int64)
        if len(texts) != count or len(sources) != count:
            rows = fetch_rows(session, f"SELECT enterprise_id, value_text, source{where}", (year, code))
            id_array = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
            texts, sources = [row[1] for row in rows], [row[2] for row in rows]
        parts.append((code, np.array(sources, dtype=object), id_array, np.array(texts, dtype=object)))
    return parts


def _every_one(ids: np.ndarray, sorted_ids: np.ndarray) -> bool:
    """Whether ``ids`` are ``sorted_ids`` in their order: a code every enterprise has, read in id order
    (values loaded enterprise by enterprise), fills its column as it comes, without a search per cell
    (a binary search of each of 1M ids costs tens of milliseconds, some sixty times per run)."""
    return len(ids) == len(sorted_ids) and bool(np.array_equal(ids, sorted_ids))


def current_values(
    session: Session,
    *,
    year: int,
    codes: list[str] | None = None,
    all_enterprises: bool = False,
    enterprises: pd.DataFrame | None = None,
) -> ValuesFrame:
    """Current values of ``year`` in the value-contract shape, with their sources.

    ``codes``: the columns wanted (missing ones come back as all-NaN columns); None = every code stored
    for the year. Rows: enterprises with at least one current value in the year (``all_enterprises``:
    every enterprise), ordered by enterprise id. Columns of codes with any text value are object
    columns (str where text, float where a row only has a number, None where absent); the others float64.
    ``enterprises``: :func:`db.queries.enterprises_frame` when the caller already read it (a run reads
    two years).
    """
    if codes is not None and not codes:
        codes = ["__none__"]
    parts, text_codes = _numeric_parts(session, year, codes)
    if text_codes:
        parts += _text_parts(session, year, text_codes)

    if enterprises is None:
        enterprises = enterprises_frame(session)
    if not all_enterprises:
        # Enterprises with a value: marked through their sorted ids (a unique over every part's ids,
        # millions at 100k enterprises, sorted them all)
        all_ids = enterprises["enterprise_id"].to_numpy()
        present = np.zeros(len(all_ids), dtype=bool)
        for part in parts:
            ids = part[2]
            if _every_one(ids, all_ids):
                present[:] = True
                break
            rows = np.minimum(np.searchsorted(all_ids, ids), max(len(all_ids) - 1, 0))
            present[rows[all_ids[rows] == ids] if len(all_ids) else rows[:0]] = True
        enterprises = enterprises[present].reset_index(drop=True)
    enterprise_ids = enterprises["enterprise_id"].to_numpy()
    n = len(enterprises)

    by_code: dict[str, list[tuple]] = {}
    for code, source, ids, values in parts:
        by_code.setdefault(code, []).append((source, ids, values))
    wanted = [c for c in codes if c != "__none__"] if codes is not None else sorted(by_code)

    value_columns: dict[str, Any] = {}
    source_columns: dict[str, Any] = {}
    for code in wanted:
        pieces = by_code.get(code, [])
        textual = any(values.dtype == object for _, _, values in pieces)
        column = np.full(n, None, dtype=object) if textual else np.full(n, np.nan)
        source_column = np.full(n, None, dtype=object)
        for source, ids, values in pieces:
            rows = slice(None) if _every_one(ids, enterprise_ids) else np.searchsorted(enterprise_ids, ids)
            column[rows] = values
            source_column[rows] = source
        value_columns[code] = column
        source_columns[code] = source_column

    # Object columns stay object: pandas 3 would otherwise convert every text column to arrow strings
    # (0.8 s at 100k enterprises) only for the engine to read them back as Python objects.
    value_series = {
        code: pd.Series(column, index=enterprises.index, dtype=column.dtype, copy=False)
        for code, column in value_columns.items()
    }
    values = pd.concat([enterprises[ID_COLUMNS], pd.DataFrame(value_series, index=enterprises.index)], axis=1)
    sources_frame = pd.concat(
        [enterprises[["enterprise_id"]], pd.DataFrame(source_columns, index=enterprises.index, dtype=object)],
        axis=1,
    )
    return ValuesFrame(values=values, sources=sources_frame)


def current_values_frame(
    session: Session,
    *,
    year: int,
    codes: list[str] | None = None,
    approved_only: bool = True,
    all_enterprises: bool = False,
) -> pd.DataFrame:
    """The value-contract frame of ``year``: ``credit_code, name, enterprise_id`` + one column per code.

    ``approved_only`` is accepted for clarity: current ``IndicatorValue`` rows are always approved
    values (self-reports are written on approval only), so there is nothing else to filter. Sources per
    cell: :func:`current_values`.
    """
    del approved_only  # every current row is an approved value; see the module docstring
    return current_values(session, year=year, codes=codes, all_enterprises=all_enterprises).values


CURRENT_ROW_COLUMNS = ["id", "enterprise_id", "code", "value_num", "value_text"]
_NUMBER_ONLY = "FILTER (WHERE value_text IS NULL AND value_num IS NOT NULL)"
_CURRENT_OF_CODE = " FROM indicatorvalue WHERE year = ? AND code = ? AND is_current"


def _joined_row_ids(dialect: str) -> str:
    return "group_concat(id)" if dialect == "sqlite" else "string_agg(int8send(id::bigint), ''::bytea)"


def current_rows(session: Session, *, year: int, codes: list[str]) -> pd.DataFrame:
    """The current rows of ``codes`` in ``year``: id, enterprise_id, code, value_num (NaN for none),
    value_text (None for none) — what an import's diff compares a file with, grouped by code.

    As the run's read: one aggregate per code, read ahead on the run's reading connections; the numbers
    exact (:data:`SQLITE_NUMBER`, ``float8send``). Fetching the 2.1M rows of a 100,000-row file as tuples
    cost 2.9 s of Python objects on SQLite. Rows that hold a text or no number (tiers, flags, lists: a
    few per code) are read as rows after.
    """
    dialect = session.connection().dialect.name
    row_ids = _joined_row_ids(dialect)
    enterprise_ids, _ = _joined_ids_and_text(dialect)
    if dialect == "sqlite":
        numbers = f"group_concat({SQLITE_NUMBER})"
    else:
        numbers = "string_agg(float8send(value_num), ''::bytea)"
    statement = (
        f"SELECT {row_ids} {_NUMBER_ONLY}, {enterprise_ids} {_NUMBER_ONLY}, {numbers} {_NUMBER_ONLY}, "
        f"count(*) - count(*) {_NUMBER_ONLY}{_CURRENT_OF_CODE}"
    )
    parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
    others: list[str] = []
    first_rows = _first_rows_ahead(session, statement, [(year, code) for code in codes])
    for code, (joined_rows, joined_enterprises, joined_numbers, other) in zip(codes, first_rows, strict=True):
        if other:
            others.append(code)
        if joined_rows is None:
            continue
        values = (
            _sqlite_numbers(joined_numbers)
            if dialect == "sqlite"
            else number_array(joined_numbers, np.float64)
        )
        parts.append(
            (code, number_array(joined_rows, np.int64), number_array(joined_enterprises, np.int64), values)
        )
    counts = [len(part[1]) for part in parts]
    ids = [part[1] for part in parts]
    enterprises = [part[2] for part in parts]
    numbers_ = [part[3] for part in parts]
    texts = [np.full(sum(counts), None, dtype=object)]
    code_column = [np.repeat(np.array([part[0] for part in parts], dtype=object), counts)]
    for code in others:
        rows = fetch_rows(
            session,
            f"SELECT id, enterprise_id, value_num, value_text{_CURRENT_OF_CODE} AND NOT "
            "(value_text IS NULL AND value_num IS NOT NULL)",
            (year, code),
        )
        ids.append(np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows)))
        enterprises.append(np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows)))
        numbers_.append(np.array([np.nan if row[2] is None else row[2] for row in rows], dtype=float))
        texts.append(np.array([row[3] for row in rows], dtype=object))
        code_column.append(np.full(len(rows), code, dtype=object))
    if not ids:
        return pd.DataFrame({name: [] for name in CURRENT_ROW_COLUMNS})
    return pd.DataFrame(
        {
            "id": np.concatenate(ids),
            "enterprise_id": np.concatenate(enterprises),
            "code": pd.Series(np.concatenate(code_column), dtype=object),
            "value_num": np.concatenate(numbers_).astype(float),
            "value_text": pd.Series(np.concatenate(texts), dtype=object),
        },
        copy=False,
    )


def current_row_ids(session: Session, *, year: int, codes: list[str]) -> np.ndarray:
    """Sorted ids of the current rows of ``codes`` in ``year``, one aggregate per code."""
    statement = f"SELECT {_joined_row_ids(session.connection().dialect.name)}{_CURRENT_OF_CODE}"
    found = [
        number_array(joined, np.int64)
        for (joined,) in _first_rows_ahead(session, statement, [(year, code) for code in codes])
        if joined is not None
    ]
    return np.sort(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
