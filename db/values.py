"""The value store: every read and write of ``IndicatorValue`` goes through this module (and the run's
bulk read, ``db.run_inputs``) — services ask it questions by name, never query the table themselves,
so the storage can change under them (tests/unit/test_layering.py keeps it so).

One current row per enterprise·year·code (``is_current``); a write never updates a value in place: the
row it replaces stops being current and the new row is inserted, so the history stays and an import
can be undone by flipping ``is_current`` back. Imports (services/imports.py), approved self-reports
(services/review.py) and undo all write through here; the rows go in through the one bulk insert,
``db.bulk.insert_columns`` (COPY on PostgreSQL, executemany of tuples on SQLite).

Bulk reads go through the driver (100,000s of rows; no ORM objects). Nothing here commits: the work is
part of the calling use case's transaction, which commits it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Row, func, insert, select, text, update
from sqlmodel import Session

from db.bulk import bound, insert_columns
from db.models import Enterprise, IndicatorValue, utcnow
from db.run_inputs import current_row_ids, current_rows

IN_CHUNK = 20_000
SQLITE_CACHE_KIB = 256 * 1024
VALUES = IndicatorValue.__table__


def _flag(session: Session, column: str, value: bool) -> object:
    """A flag bound through its column type (raw executemany skips the type's bind processing)."""
    return bound(VALUES, session.connection().dialect, column, value)


def current_values(session: Session, year: int, values: pd.DataFrame) -> pd.DataFrame:
    """Current values (id, enterprise_id, code, value_num, value_text) of the year for the codes in ``values``
    (:func:`db.run_inputs.current_rows`: one aggregate per code).

    Never an IN-list of 100,000 enterprise ids (it costs more to compile than the rows cost to read):
    rows of other enterprises are read too and dropped afterwards.
    """
    codes = pd.unique(values["code"].to_numpy(dtype=object)).tolist()
    return current_rows(session, year=year, codes=codes)


def current_ids(session: Session, year: int, codes: list[str]) -> np.ndarray:
    """Sorted ids of the current rows of the year for ``codes`` (ids only: a fraction of the values)."""
    return current_row_ids(session, year=year, codes=codes)


def retire_current(session: Session, year: int, values: pd.DataFrame) -> int:
    """Mark the current rows that the new values replace as not current (bulk, per code)."""
    retired = 0
    for code, ids in values.groupby("code", sort=False)["enterprise_id"]:
        id_list = ids.astype("int64").tolist()
        for start in range(0, len(id_list), IN_CHUNK):
            chunk = id_list[start : start + IN_CHUNK]
            result = session.execute(
                update(IndicatorValue)
                .where(
                    IndicatorValue.year == year,
                    IndicatorValue.code == code,
                    IndicatorValue.is_current.is_(True),
                    IndicatorValue.enterprise_id.in_(chunk),
                )
                .values(is_current=False)
                .execution_options(synchronize_session=False)
            )
            retired += result.rowcount or 0
    return retired


def retire_ids(session: Session, ids: np.ndarray) -> int:
    """Mark rows not current by primary key: one ``BETWEEN`` per run of consecutive ids (exactly the
    ids given — every id of a run is one of them), through the driver's executemany.

    The rows a file replaces were mostly written together by one earlier import, so their ids come in
    long runs: 2M rows of one batch are one statement, 2.5× faster than an UPDATE per id.
    """
    if not len(ids):
        return 0
    ids = np.unique(np.asarray(ids, dtype=np.int64))
    breaks = np.flatnonzero(np.diff(ids) != 1) + 1
    starts = ids[np.concatenate([[0], breaks])].tolist()
    ends = ids[np.concatenate([breaks - 1, [len(ids) - 1]])].tolist()
    connection = session.connection()
    dialect = connection.dialect
    ph = "?" if dialect.paramstyle == "qmark" else "%s"
    false_ = _flag(session, "is_current", False)
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(
            f"UPDATE indicatorvalue SET is_current = {ph} WHERE id BETWEEN {ph} AND {ph}",
            [(false_, a, b) for a, b in zip(starts, ends, strict=True)],
        )
    finally:
        cursor.close()
    return len(ids)


def insert_values(
    session: Session,
    rows: pd.DataFrame,
    *,
    year: int,
    batch_id: int | None,
    submission_id: int | None,
    created_by: str,
) -> int:
    """Bulk insert through the driver's bulk path (db.bulk: COPY on PostgreSQL, executemany of tuples on
    SQLite — 10× faster than dicts through Core).

    Rows go in by enterprise, then code, so the inserts walk the (enterprise, year, code) index in order.
    What is the same for the whole batch (year, batch, user, time) is a constant of the insert: only the
    six values that vary travel with each row.
    """
    if rows.empty:
        return 0
    connection = session.connection()
    dialect = connection.dialect
    codes = rows["code"].to_numpy(dtype=object)
    enterprise = rows["enterprise_id"].to_numpy(dtype=np.int64)
    code_rank, _ = pd.factorize(codes, sort=True)
    order = np.lexsort((code_rank, enterprise))  # stable, like sort_values(kind="stable")
    nums = rows["value_num"].to_numpy(dtype=float)[order]
    text = rows["value_text"].to_numpy(dtype=object)[order]
    # The two bound forms of the flag, picked per row (binding each of 2M values costs seconds).
    flag_bound = np.array([_flag(session, "flagged", False), _flag(session, "flagged", True)], dtype=object)
    columns = {
        "enterprise_id": enterprise[order],
        "code": codes[order].tolist(),
        "value_num": np.where(np.isnan(nums), None, nums).tolist() if dialect.name == "sqlite" else nums,
        "value_text": np.where(pd.isna(text), None, text).tolist(),
        "source": rows["source"].to_numpy(dtype=object)[order].tolist(),
        "flagged": flag_bound[rows["flagged"].to_numpy(dtype=bool)[order].astype(np.intp)].tolist(),
    }
    constants = {
        "year": year,
        "is_current": True,
        "batch_id": batch_id,
        "submission_id": submission_id,
        "created_by": created_by,
        "created_at": utcnow(),
    }
    if dialect.name == "sqlite":
        # The default 2 MB page cache spills the four index B-trees to the WAL mid-transaction; a
        # larger cache for this connection halves a 2M-row import (memory is returned on close).
        connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    return insert_columns(session, VALUES, columns, constants)


def replace_values(
    session: Session,
    *,
    year: int,
    rows: pd.DataFrame,
    batch_id: int | None = None,
    submission_id: int | None = None,
    created_by: str,
) -> int:
    """Retire the current rows of (enterprise, code) in ``rows`` and insert ``rows`` as current.

    ``rows``: enterprise_id, code, value_num, value_text, source, flagged. Shared with the review
    service (approval writes self-reported values the same way).
    """
    retire_current(session, year, rows)
    return insert_values(
        session, rows, year=year, batch_id=batch_id, submission_id=submission_id, created_by=created_by
    )


def set_current(session: Session, ids: list[int], current: bool) -> None:
    """Mark the rows ``ids`` current or not (an undo: the batch's rows retired, their predecessors back)."""
    for start in range(0, len(ids), IN_CHUNK):
        session.execute(
            update(IndicatorValue)
            .where(IndicatorValue.id.in_(ids[start : start + IN_CHUNK]))
            .values(is_current=current)
            .execution_options(synchronize_session=False)
        )


HISTORY_COLUMNS = ["id", "enterprise_id", "code", "batch_id", "submission_id", "source", "is_current"]


def batch_rows(session: Session, batch_id: int) -> pd.DataFrame:
    """The rows a batch wrote: id, enterprise_id, code, is_current."""
    return pd.DataFrame(
        session.execute(
            select(
                IndicatorValue.id,
                IndicatorValue.enterprise_id,
                IndicatorValue.code,
                IndicatorValue.is_current,
            ).where(IndicatorValue.batch_id == batch_id)
        ).all(),
        columns=["id", "enterprise_id", "code", "is_current"],
    )


def key_history(session: Session, year: int, own: pd.DataFrame) -> pd.DataFrame:
    """Every row of the year, current or not, of the (enterprise, code) keys in ``own``, by id."""
    history = []
    for code, ids in own.groupby("code", sort=False)["enterprise_id"]:
        id_list = ids.astype("int64").tolist()
        for start in range(0, len(id_list), IN_CHUNK):
            chunk = id_list[start : start + IN_CHUNK]
            part = session.execute(
                select(
                    IndicatorValue.id,
                    IndicatorValue.enterprise_id,
                    IndicatorValue.code,
                    IndicatorValue.batch_id,
                    IndicatorValue.submission_id,
                    IndicatorValue.source,
                    IndicatorValue.is_current,
                ).where(
                    IndicatorValue.year == year,
                    IndicatorValue.code == code,
                    IndicatorValue.enterprise_id.in_(chunk),
                )
            ).all()
            history += part
    return pd.DataFrame(history, columns=HISTORY_COLUMNS).sort_values("id", kind="stable")


def insert_seeded(session: Session, rows: list[dict], *, chunk: int = 20_000) -> int:
    """Rows that carry every column themselves (year, source, batch or submission, time, author,
    ``is_current``): the demo seed writes several years and departments at once."""
    connection = session.connection()
    for start in range(0, len(rows), chunk):
        connection.execute(insert(VALUES), rows[start : start + chunk])
    return len(rows)


# ----------------------------------------------------------------------------- reads by name
# What the services ask of the stored values. Each answers one question; none returns ORM objects.


def _rows_frame(rows: Sequence[Any], columns: list[str]) -> pd.DataFrame:
    """A frame of result rows, built column by column: handed SQLAlchemy ``Row`` objects, pandas asks
    each for ``_fields`` (an AttributeError per row: 1.4 s for the stage revenue of 100,000 enterprises)."""
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(dict(zip(columns, map(list, zip(*rows, strict=True)), strict=True)))


def values_as_of(session: Session, *, enterprise_id: int, year: int, at: datetime) -> dict[str, Row]:
    """Per code, the newest value of the enterprise's year written at or before ``at`` — what a run
    computed at ``at`` read. Rows: code, value_num, value_text, source, batch_id, submission_id,
    created_by, created_at."""
    rows = session.execute(
        select(
            IndicatorValue.code,
            IndicatorValue.value_num,
            IndicatorValue.value_text,
            IndicatorValue.source,
            IndicatorValue.batch_id,
            IndicatorValue.submission_id,
            IndicatorValue.created_by,
            IndicatorValue.created_at,
        )
        .where(
            IndicatorValue.enterprise_id == enterprise_id,
            IndicatorValue.year == year,
            IndicatorValue.created_at <= at,
        )
        .order_by(IndicatorValue.code, IndicatorValue.created_at.desc(), IndicatorValue.id.desc())  # type: ignore[attr-defined]
    ).all()
    newest: dict[str, Row] = {}
    for row in rows:
        newest.setdefault(row.code, row)
    return newest


def current_code_values(
    session: Session, *, code: str, years: Sequence[int], enterprise_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """The current values of one code (the stage indicator, say): enterprise_id, year, value_num —
    of every enterprise, or of ``enterprise_ids``."""
    statement = select(IndicatorValue.enterprise_id, IndicatorValue.year, IndicatorValue.value_num).where(
        IndicatorValue.code == code,
        IndicatorValue.is_current.is_(True),
        IndicatorValue.year.in_(list(years)),  # type: ignore[attr-defined]
    )
    if enterprise_ids is not None:
        statement = statement.where(IndicatorValue.enterprise_id.in_(list(enterprise_ids)))  # type: ignore[attr-defined]
    return _rows_frame(session.execute(statement).all(), ["enterprise_id", "year", "value_num"])


def current_code_values_by_credit_code(session: Session, *, code: str, year: int) -> pd.DataFrame:
    """The current values of one code in a year, by the enterprises' credit codes: credit_code, value_num."""
    rows = session.execute(
        select(Enterprise.credit_code, IndicatorValue.value_num)
        .join(Enterprise, Enterprise.id == IndicatorValue.enterprise_id)
        .where(
            IndicatorValue.year == year,
            IndicatorValue.code == code,
            IndicatorValue.is_current.is_(True),
        )
    ).all()
    return _rows_frame(rows, ["credit_code", "value_num"])


def current_number_sample(
    session: Session, *, years: Sequence[int], codes: Sequence[str], every: int, also: Sequence[int]
) -> pd.DataFrame:
    """Current numbers of ``codes`` in ``years`` for a deterministic sample of enterprises (ids divisible
    by ``every``) and the enterprises ``also``: enterprise_id, year, code, value."""
    statement = select(
        IndicatorValue.enterprise_id, IndicatorValue.year, IndicatorValue.code, IndicatorValue.value_num
    ).where(
        IndicatorValue.is_current.is_(True),
        IndicatorValue.year.in_(list(years)),  # type: ignore[attr-defined]
        IndicatorValue.code.in_(list(codes)),  # type: ignore[attr-defined]
        IndicatorValue.value_num.is_not(None),  # type: ignore[union-attr]
    )
    if every > 1:
        statement = statement.where(
            (IndicatorValue.enterprise_id % every == 0) | IndicatorValue.enterprise_id.in_(list(also))  # type: ignore[attr-defined]
        )
    return _rows_frame(session.execute(statement).all(), ["enterprise_id", "year", "code", "value"])


def newest_current_year(session: Session) -> int | None:
    """The newest year holding a current value."""
    year = session.execute(
        select(func.max(IndicatorValue.year)).where(IndicatorValue.is_current.is_(True))
    ).scalar()
    return None if year is None else int(year)


def newest_year_up_to(session: Session, *, year: int) -> int | None:
    """The newest year ≤ ``year`` that any value was ever written for."""
    latest = session.execute(
        select(func.max(IndicatorValue.year)).where(IndicatorValue.year <= year)
    ).scalar()
    return None if latest is None else int(latest)


def enterprises_per_year(session: Session) -> pd.DataFrame:
    """Years with current values and how many enterprises each has: year, enterprises (unordered)."""
    rows = session.execute(
        select(IndicatorValue.year, func.count(func.distinct(IndicatorValue.enterprise_id)))
        .where(IndicatorValue.is_current.is_(True))
        .group_by(IndicatorValue.year)
    ).all()
    return _rows_frame(rows, ["year", "enterprises"])


def enterprise_current_values(session: Session, *, enterprise_id: int, year: int) -> dict[str, Any]:
    """The current values of one enterprise's year (base fields included): {code: text or number}."""
    # The bare column, as the partial index uq_indicatorvalue_current says it (WHERE is_current): SQLite
    # only uses that index for exactly this term ("is_current IS 1" scanned the whole year: 40–200 ms
    # at 3,000 enterprises, 0.2 ms with the index).
    rows = session.execute(
        select(IndicatorValue.code, IndicatorValue.value_num, IndicatorValue.value_text).where(
            IndicatorValue.enterprise_id == enterprise_id,
            IndicatorValue.year == year,
            text("indicatorvalue.is_current"),
        )
    ).all()
    return {code: (value_text if value_text is not None else num) for code, num, value_text in rows}


def code_history(session: Session, *, enterprise_id: int, year: int, codes: Iterable[str]) -> list[Row]:
    """Every value ever written for ``codes`` of the enterprise's year, oldest first: code, value_num,
    value_text, source, is_current."""
    codes = list(codes)
    if not codes:
        return []
    return list(
        session.execute(
            select(
                IndicatorValue.code,
                IndicatorValue.value_num,
                IndicatorValue.value_text,
                IndicatorValue.source,
                IndicatorValue.is_current,
            )
            .where(
                IndicatorValue.enterprise_id == enterprise_id,
                IndicatorValue.year == year,
                IndicatorValue.code.in_(codes),  # type: ignore[attr-defined]
            )
            .order_by(IndicatorValue.id)
        ).all()
    )


def current_values_up_to(
    session: Session, *, enterprise_id: int, year: int, codes: Iterable[str], except_source: str
) -> list[Row]:
    """The enterprise's current values of ``codes`` in years ≤ ``year`` not from ``except_source``,
    newest year first: code, year, value_num, value_text, source."""
    return list(
        session.execute(
            select(
                IndicatorValue.code,
                IndicatorValue.year,
                IndicatorValue.value_num,
                IndicatorValue.value_text,
                IndicatorValue.source,
            )
            .where(
                IndicatorValue.enterprise_id == enterprise_id,
                IndicatorValue.is_current.is_(True),  # type: ignore[attr-defined]
                IndicatorValue.year <= year,
                IndicatorValue.code.in_(list(codes)),  # type: ignore[attr-defined]
                IndicatorValue.source != except_source,
            )
            .order_by(IndicatorValue.year.desc())  # type: ignore[attr-defined]
        ).all()
    )


def submission_texts(session: Session, *, submission_id: int) -> list[tuple[str, str]]:
    """(code, value_text) of the text values an approved submission wrote."""
    rows = session.execute(
        select(IndicatorValue.code, IndicatorValue.value_text).where(
            IndicatorValue.submission_id == submission_id,
            IndicatorValue.value_text.is_not(None),  # type: ignore[union-attr]
        )
    ).all()
    return [(code, value_text) for code, value_text in rows]


def newest_value_id(session: Session) -> int | None:
    """The id of the newest value row: it moves with every value written (the primary key read
    backwards, no table scan)."""
    return session.execute(select(func.max(IndicatorValue.id))).scalar()


# ----------------------------------------------------------------------------- inspection

STORED_COLUMNS = [
    "id",
    "enterprise_id",
    "year",
    "code",
    "value_num",
    "value_text",
    "source",
    "is_current",
    "flagged",
    "batch_id",
    "submission_id",
    "created_by",
    "created_at",
]


def stored_values(
    session: Session,
    *,
    enterprise_id: int | None = None,
    year: int | None = None,
    code: str | Sequence[str] | None = None,
    current: bool | None = None,
    batch_id: int | None = None,
    submission_id: int | None = None,
) -> pd.DataFrame:
    """The stored rows, current or not, that match every filter given, by id — for inspection (tests,
    verification tools), not for the services' questions. ``code``: one code or several.

    value_num is float (NULL → NaN); batch_id, submission_id, value_text, created_by hold None for NULL.
    """
    statement = select(*(VALUES.c[name] for name in STORED_COLUMNS)).order_by(VALUES.c.id)
    if enterprise_id is not None:
        statement = statement.where(VALUES.c.enterprise_id == enterprise_id)
    if year is not None:
        statement = statement.where(VALUES.c.year == year)
    if isinstance(code, str):
        statement = statement.where(VALUES.c.code == code)
    elif code is not None:
        statement = statement.where(VALUES.c.code.in_(list(code)))
    if current is not None:
        statement = statement.where(VALUES.c.is_current.is_(current))
    if batch_id is not None:
        statement = statement.where(VALUES.c.batch_id == batch_id)
    if submission_id is not None:
        statement = statement.where(VALUES.c.submission_id == submission_id)
    rows = session.execute(statement).all()
    frame = pd.DataFrame(
        {name: pd.Series([row[i] for row in rows], dtype=object) for i, name in enumerate(STORED_COLUMNS)}
    )
    # NULL stays None in the object columns (a NaN in an id column would turn the ids into floats).
    return frame.astype(
        {"id": np.int64, "enterprise_id": np.int64, "year": np.int64, "value_num": float}
        | {"is_current": bool, "flagged": bool}
    )
