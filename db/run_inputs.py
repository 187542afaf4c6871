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
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
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


def _first_rows_ahead(session: Session, sql: str, params: list[tuple]) -> Iterator[tuple]:
    """The first row of ``sql`` for each of ``params``, in order. On SQLite the statements run one
    after the other in a worker thread on the session's own connection (so in its transaction), a
    statement ahead of the caller: sqlite3 lets go of the GIL while SQLite aggregates, so the caller's
    parsing of one result overlaps the database's work on the next. The caller must not use the
    session until the iterator is exhausted."""
    connection = session.connection()
    if connection.dialect.name != "sqlite" or len(params) < 2:
        for values in params:
            yield fetch_rows(session, sql, values)[0]
        return
    driver = connection.connection.driver_connection
    results: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)  # one result waiting, one in the making

    def run() -> None:
        cursor = driver.cursor()
        try:
            for values in params:
                results.put((True, cursor.execute(sql, values).fetchall()[0]))
        except BaseException as exc:  # handed to the caller, raised there
            results.put((False, exc))
        finally:
            cursor.close()

    worker = threading.Thread(target=run, name="first-rows-ahead", daemon=True)
    worker.start()
    try:
        for _ in params:
            ok, value = results.get()
            if not ok:
                raise value
            yield value
    finally:
        while worker.is_alive():  # an early exit: let the worker finish its statements
            with contextlib.suppress(queue.Empty):
                results.get(timeout=0.05)
        worker.join()


def _numeric_parts(session: Session, year: int, codes: list[str] | None) -> tuple[list[tuple], list[str]]:
    """(code, sources, ids, values) per code of the numeric values (sources: one str when every cell has
    the same, else an array), and the codes that also hold text.

    The database aggregates each column into one string that numpy parses: fetching the ~2.5M rows of a
    year at 100k enterprises as tuples costs seconds of Python objects; the aggregates hand over a few
    strings per code. One statement per code walks the (year, code) index — one GROUP BY over the year
    sorts every row (in a temporary B-tree on SQLite, on disk on PostgreSQL) and is slower. The same
    scan counts the code's text values, so only codes that have some are read again as rows.

    The numbers are exact: SQLite renders whole numbers as integers and the others with
    ``printf('%!.17g')`` (its own real-to-text keeps 15 digits); PostgreSQL hands over their binary
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
    if session.connection().dialect.name == "sqlite":
        # An integer renders in a third of printf's time; past 2**63 the CAST saturates and differs.
        number = (
            "CASE WHEN value_num = CAST(value_num AS INTEGER) THEN CAST(value_num AS INTEGER) "
            "ELSE printf('%!.17g', value_num) END"
        )
        ids, nums = f"group_concat(enterprise_id) {numeric}", f"group_concat({number}) {numeric}"
        low, high = f"min(source) {numeric}", f"max(source) {numeric}"
        joined_sources = f"group_concat(source, char(31)) {numeric}"
    else:
        # The numbers' own 8 bytes (big-endian, as float8send/int8send write them), concatenated: no
        # text formatting on the server nor parsing here, and exact by construction.
        ids, nums = (
            f"string_agg(int8send(enterprise_id::bigint), ''::bytea) {numeric}",
            f"string_agg(float8send(value_num), ''::bytea) {numeric}",
        )
        low, high = f'min(source COLLATE "C") {numeric}', f'max(source COLLATE "C") {numeric}'
        joined_sources = f"string_agg(source, chr(31)) {numeric}"
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
        parts.append((code, sources, id_array, number_array(joined_nums, np.float64)))
    return parts, text_codes


def _row_parts(session: Session, year: int, codes: list[str] | None, *, text_only: bool) -> list[tuple]:
    """(code, sources, ids, values) per code from plain rows (text values, or everything off SQLite)."""
    sql = "SELECT code, source, enterprise_id, value_num, value_text FROM indicatorvalue WHERE year = ? AND is_current"
    if text_only:
        sql += " AND value_text IS NOT NULL"
    params: tuple = (year,)
    if codes is not None:
        sql += " AND code IN (" + ", ".join("?" * len(codes)) + ")"
        params += tuple(codes)
    rows = fetch_rows(session, sql, params)
    if not rows:
        return []
    code_col, source_col, ent_col, num_col, text_col = zip(*rows, strict=True)
    codes_arr = np.asarray(code_col, dtype=object)
    sources = np.asarray(source_col, dtype=object)
    ids = np.fromiter(ent_col, dtype=np.int64, count=len(rows))
    texts = np.asarray(text_col, dtype=object)
    nums = np.asarray(num_col, dtype=object)
    # Text wins; a row with only a number keeps the number (as float).
    values = np.where(np.not_equal(texts, None), texts, nums)  # object
    parts = []
    has_text = np.not_equal(texts, None)
    # Group rows by code with one factorize and one stable sort (a boolean mask per code compares every
    # row once per code: seconds at ~3M rows); rows keep their order within a code.
    code_index, code_names = pd.factorize(codes_arr)
    order = np.argsort(code_index, kind="stable")
    for code, rows_of in zip(
        code_names, np.split(order, np.cumsum(np.bincount(code_index))[:-1]), strict=True
    ):
        if has_text[rows_of].any():
            parts.append((code, sources[rows_of], ids[rows_of], values[rows_of]))
        else:  # numbers only: a float64 column, like the SQLite path gives
            parts.append((code, sources[rows_of], ids[rows_of], np.array(nums[rows_of], dtype=np.float64)))
    return parts


def current_values(
    session: Session, *, year: int, codes: list[str] | None = None, all_enterprises: bool = False
) -> ValuesFrame:
    """Current values of ``year`` in the value-contract shape, with their sources.

    ``codes``: the columns wanted (missing ones come back as all-NaN columns); None = every code stored
    for the year. Rows: enterprises with at least one current value in the year (``all_enterprises``:
    every enterprise), ordered by enterprise id. Columns of codes with any text value are object
    columns (str where text, float where a row only has a number, None where absent); the others float64.
    """
    if codes is not None and not codes:
        codes = ["__none__"]
    parts, text_codes = _numeric_parts(session, year, codes)
    if text_codes:
        parts += _row_parts(session, year, text_codes, text_only=True)

    enterprises = enterprises_frame(session)
    if not all_enterprises:
        # Enterprises with a value: marked through their sorted ids (a unique over every part's ids,
        # millions at 100k enterprises, sorted them all)
        all_ids = enterprises["enterprise_id"].to_numpy()
        present = np.zeros(len(all_ids), dtype=bool)
        for part in parts:
            ids = part[2]
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
            rows = np.searchsorted(enterprise_ids, ids)
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
