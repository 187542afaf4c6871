"""Read-side queries that return pandas frames (no ORM objects on the hot paths): enterprises, a run's
scores and breakdowns, the latest run and score. The inputs of a run — the current values of a year —
are read in :mod:`db.run_inputs`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Row, Select, select
from sqlmodel import Session

from core import breakdown as codec
from core.lru import LRU
from core.scoring_model import ScoringModel
from db.models import Enterprise, Score, ScoreRun

ID_COLUMNS = ["credit_code", "name", "enterprise_id"]
UNIT_SEPARATOR = "\x1f"  # joins text cells in one aggregated string (char(31) / chr(31) in SQL)
PUBLISHED_STATES = ("notice", "final")  # 公示 or final: the runs anyone may see


def _raw_cursor(session: Session) -> tuple[Any, str]:
    """A DB-API cursor on the session's connection (same transaction) and its placeholder."""
    connection = session.connection()
    placeholder = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    return connection.connection.cursor(), placeholder


def fetch_rows(session: Session, sql: str, params: tuple = ()) -> list[tuple]:
    cursor, placeholder = _raw_cursor(session)
    try:
        cursor.execute(sql.replace("?", placeholder), params)
        return cursor.fetchall()
    finally:
        cursor.close()


def number_array(joined: str | bytes | memoryview, dtype: type) -> np.ndarray:
    """The numbers of an aggregate: comma-joined text (SQLite) or concatenated big-endian 8-byte values
    (PostgreSQL's int8send/float8send)."""
    if isinstance(joined, str):
        if dtype is np.float64:
            # Arrow's split and cast parse decimal text exactly (correctly rounded, as strtod) and six
            # times faster than np.fromstring; text Arrow refuses (e.g. SQLite's "Inf") goes the slow way.
            with contextlib.suppress(pa.ArrowInvalid):
                cells = pc.split_pattern(pa.array([joined], type=pa.large_string()), ",").flatten()
                return cells.cast(pa.float64()).to_numpy(zero_copy_only=False)
        # np.fromstring in text mode parses in C (10× faster than split + array) and exactly.
        return np.fromstring(joined, dtype=dtype, sep=",")
    return np.frombuffer(joined, dtype=np.dtype(dtype).newbyteorder(">")).astype(dtype)


def enterprises_frame(session: Session, *, ids: np.ndarray | None = None) -> pd.DataFrame:
    """``enterprise_id, credit_code, name`` of all enterprises (or of ``ids``), ordered by id.

    The database joins each column into one string (ids, then credit codes and names separated by the
    unit separator): three strings instead of a tuple per enterprise. A separator inside a name (the
    split then counts too many parts) falls back to plain rows.
    """
    if session.connection().dialect.name == "sqlite":
        sql = (
            "SELECT count(*), group_concat(id), group_concat(credit_code, char(31)), "
            "group_concat(name, char(31)) FROM (SELECT id, credit_code, name FROM enterprise ORDER BY id)"
        )
    else:
        sql = (
            "SELECT count(*), string_agg(int8send(id::bigint), ''::bytea ORDER BY id), "
            "string_agg(credit_code, chr(31) ORDER BY id), string_agg(name, chr(31) ORDER BY id) FROM enterprise"
        )
    count, joined_ids, joined_codes, joined_names = fetch_rows(session, sql)[0]
    codes = joined_codes.split(UNIT_SEPARATOR) if count else []
    names = joined_names.split(UNIT_SEPARATOR) if count else []
    if len(codes) == len(names) == count:
        enterprise_ids = number_array(joined_ids, np.int64) if count else np.empty(0, np.int64)
        frame = pd.DataFrame({"enterprise_id": enterprise_ids, "credit_code": codes, "name": names})
    else:
        rows = fetch_rows(session, "SELECT id, credit_code, name FROM enterprise ORDER BY id")
        frame = pd.DataFrame(rows, columns=["enterprise_id", "credit_code", "name"])
    frame["enterprise_id"] = frame["enterprise_id"].astype("int64")
    for column in ("credit_code", "name"):
        # object, as the value columns are: pandas 3 would keep them as Arrow strings, and every
        # reader (derivations matching years, the engine, the breakdowns) converts them back, at
        # 100k enterprises tens of milliseconds each time
        frame[column] = pd.Series(frame[column].to_numpy(dtype=object), index=frame.index, dtype=object)
    if ids is not None:
        frame = frame[frame["enterprise_id"].isin(ids)]
    return frame.reset_index(drop=True)


SCORE_COLUMNS = [
    "id", "run_id", "enterprise_id", "stage", "subtotals", "technology", "growth", "core", "bonus", "deduction",
    "total", "veto", "veto_reason", "rank", "percentile", "tier", "subsidy", "mujun", "missing_count",
]  # fmt: skip


SUBTOTAL_PREFIX = "sub_"  # core.engine's name for a class subtotal column


def json_cells(values: list) -> list:
    """JSON cells as Python objects: SQLite hands back text, PostgreSQL objects. One decoder call for a
    whole column (100k separate ``json.loads`` calls cost a second)."""
    texts = [i for i, v in enumerate(values) if isinstance(v, str)]
    if not texts:
        return values
    decoded = json.loads("[" + ",".join(values[i] for i in texts) + "]")
    if len(texts) == len(values):
        return decoded
    out = list(values)
    for i, value in zip(texts, decoded, strict=True):
        out[i] = value
    return out


def _expand_subtotals(frame: pd.DataFrame) -> None:
    """Replace the ``subtotals`` JSON column by one float column ``sub_<class code>`` per class."""
    if "subtotals" not in frame.columns:
        return
    dicts = [d if isinstance(d, dict) else {} for d in json_cells(frame.pop("subtotals").tolist())]
    table = pd.DataFrame.from_records(dicts, index=frame.index) if dicts else pd.DataFrame(index=frame.index)
    for code in table.columns:  # one run: one model, one key set
        frame[SUBTOTAL_PREFIX + code] = pd.to_numeric(table[code], errors="coerce").to_numpy(dtype=np.float64)


def subtotal_column(frame: pd.DataFrame, class_code: str) -> pd.Series:
    """A class subtotal of a scores frame (``scores_frame``), NaN when the run's model lacks the class."""
    column = SUBTOTAL_PREFIX + class_code
    if column in frame.columns:
        return frame[column]
    return pd.Series(np.nan, index=frame.index, dtype=np.float64)


def scores_frame(session: Session, *, run_id: int, include_breakdown: bool = False) -> pd.DataFrame:
    """Score rows of a run with ``credit_code`` and ``name``, ordered by stage and rank.

    ``breakdown`` (the per-indicator JSON) is only loaded with ``include_breakdown`` — it is the bulk of
    the row.
    """
    # raw DB-API rows: the ORM's Row objects cost seconds at 100k enterprises
    packed = packed_breakdowns(session, run_id=run_id) if include_breakdown else None
    columns = [*SCORE_COLUMNS, *(["breakdown"] if include_breakdown else [])]
    rows = fetch_rows(
        session,
        f"SELECT e.credit_code, e.name, {', '.join('s.' + c for c in columns)} FROM score s "
        "JOIN enterprise e ON e.id = s.enterprise_id WHERE s.run_id = ? "
        "ORDER BY s.stage, s.rank, e.credit_code",
        (run_id,),
    )
    frame = pd.DataFrame(rows, columns=["credit_code", "name", *columns])
    if packed is not None:
        rows_of = packed.rows_of(frame["enterprise_id"].to_numpy(dtype=np.int64))
        frame["breakdown"] = pd.Series(packed.raws(rows_of), index=frame.index, dtype=object)
    elif include_breakdown:
        frame["breakdown"] = pd.Series(
            json_cells(frame["breakdown"].tolist()), index=frame.index, dtype=object
        )
    _expand_subtotals(frame)
    frame["veto"] = frame["veto"].astype(bool)
    frame["rank"] = frame["rank"].astype("Int64")
    for column in ("tier", "mujun", "veto_reason"):
        frame[column] = frame[column].fillna("")
    return frame


def breakdown_column(
    session: Session, *, run_id: int, model: ScoringModel, column: str, part: str = "v"
) -> pd.Series:
    """One column of a run's stored breakdowns — ``part`` v (input), f (fraction), p (points) or s
    (source) — indexed by enterprise id (see :func:`breakdown_columns_frame`)."""
    return breakdown_columns_frame(session, run_id=run_id, model=model, columns=[column], part=part)[column]


def breakdown_columns_frame(
    session: Session, *, run_id: int, model: ScoringModel, columns: Sequence[str], part: str = "v"
) -> pd.DataFrame:
    """Some columns of a run's stored breakdowns (one ``part``), indexed by enterprise id, extracted by
    the database's JSON functions in one statement (no Python decoding of whole breakdowns: at 100k
    enterprises that is seconds; several columns cost about what one does). Rows stored in the keyed
    form are decoded in Python."""
    packed = packed_breakdowns(session, run_id=run_id)
    if packed is not None:
        index = pd.Index(packed.ids, name="enterprise_id")
        return pd.DataFrame(
            {
                column: pd.Series(packed.part_column(part, column), index=index, dtype=object)
                for column in columns
            },
            index=index,
        )
    names = codec.breakdown_columns(model) if part in "vs" else model.codes
    indexes = [names.index(column) for column in columns]
    if session.connection().dialect.name == "postgresql":
        picks = ", ".join(f"breakdown->'{part}'->>{i}" for i in indexes)
        sql = f"SELECT enterprise_id, {picks}, (breakdown->'v') IS NULL FROM score WHERE run_id = ?"
    else:
        picks = ", ".join(f"json_extract(breakdown, '$.{part}[{i}]')" for i in indexes)
        sql = (
            f"SELECT enterprise_id, {picks}, json_type(breakdown, '$.v') IS NULL FROM score WHERE run_id = ?"
        )
    rows = fetch_rows(session, sql, (run_id,))
    if not rows:
        return pd.DataFrame(
            {c: pd.Series([], dtype=object) for c in columns},
            index=pd.Index([], dtype="int64", name="enterprise_id"),
        )
    ids, *values, keyed = (list(c) for c in zip(*rows, strict=True))
    if any(keyed):
        stored = dict(
            session.execute(select(Score.enterprise_id, Score.breakdown).where(Score.run_id == run_id)).all()
        )
        for i, is_keyed in enumerate(keyed):
            if is_keyed:
                for column, cells in zip(columns, values, strict=True):
                    cells[i] = codec.column_values(model, [stored[ids[i]]], column, part)[0]
    index = pd.Index(np.asarray(ids, dtype=np.int64), name="enterprise_id")
    return pd.DataFrame(
        {
            column: pd.Series(cells, index=index, dtype=object)
            for column, cells in zip(columns, values, strict=True)
        },
        index=index,
    )


def breakdown_parts(
    session: Session, *, run_id: int, model: ScoringModel, parts: Sequence[str] = ("v", "p")
) -> tuple[np.ndarray, dict[str, list[list[Any]]]]:
    """Whole parts of a run's stored breakdowns — each a list of rows aligned with the part's columns
    (breakdown_columns for v/s, indicator codes for f/p) — and the enterprise id of each row.

    The database extracts the parts (the other parts, the sources' text above all, never leave it) and
    each part is decoded with one JSON call. Rows stored in the keyed form are decoded in Python.
    """
    packed = packed_breakdowns(session, run_id=run_id)
    if packed is not None:
        return packed.ids.copy(), {part: packed.part_rows(part) for part in parts}
    if session.connection().dialect.name == "postgresql":
        extracted = ", ".join(f"breakdown->'{p}'" for p in parts)
        sql = (
            f"SELECT enterprise_id, {extracted}, CASE WHEN breakdown->'v' IS NULL THEN breakdown END "
            "FROM score WHERE run_id = ? ORDER BY enterprise_id"
        )
    else:
        extracted = ", ".join(f"json_extract(breakdown, '$.{p}')" for p in parts)
        sql = (
            f"SELECT enterprise_id, {extracted}, CASE WHEN json_type(breakdown, '$.v') IS NULL "
            "THEN breakdown END FROM score WHERE run_id = ? ORDER BY enterprise_id"
        )
    rows = fetch_rows(session, sql, (run_id,))
    columns = list(zip(*rows, strict=True)) if rows else [()] * (len(parts) + 2)
    ids = np.asarray(columns[0], dtype=np.int64)
    keyed = [i for i, raw in enumerate(columns[-1]) if raw is not None]
    out: dict[str, list[list[Any]]] = {}
    for k, part in enumerate(parts, start=1):
        cells = json_cells(list(columns[k]))
        for i in keyed:  # the old keyed form: {code: {"value", "f", "pts", "source"}}
            decoded = codec.parts_frame(model, [columns[-1][i]], part)
            cells[i] = [values[0] for values in decoded.values()]
        out[part] = cells
    return ids, out


def latest_run(
    session: Session, *, states: Sequence[str] = PUBLISHED_STATES, year: int | None = None
) -> ScoreRun | None:
    """The newest run in one of ``states`` (highest year, then newest), optionally of one year."""
    statement = select(ScoreRun).where(ScoreRun.state.in_(states))  # type: ignore[attr-defined]
    if year is not None:
        statement = statement.where(ScoreRun.year == year)
    statement = statement.order_by(ScoreRun.year.desc(), ScoreRun.id.desc()).limit(1)  # type: ignore[attr-defined]
    return session.execute(statement).scalars().first()


def enterprise_score(
    session: Session, *, run_id: int, enterprise_id: int, columns: Sequence[Any] = ()
) -> Row | None:
    """One enterprise's ``Score`` row in a run: ``columns`` (default: every column), or None if not scored."""
    statement = select(*(columns or Score.__table__.columns))  # type: ignore[attr-defined]
    return session.execute(
        statement.where(Score.run_id == run_id, Score.enterprise_id == enterprise_id)
    ).first()


def latest_score(
    session: Session,
    *,
    enterprise_id: int,
    states: Sequence[str] = PUBLISHED_STATES,
    year: int | None = None,
    columns: Sequence[Any] = (),
) -> tuple[ScoreRun, Row] | None:
    """An enterprise's ``Score`` row (``columns``) in the ``latest_run`` of ``states`` and that run;
    None when there is no such run or the enterprise is not scored in it."""
    run = latest_run(session, states=states, year=year)
    if run is None:
        return None
    row = enterprise_score(session, run_id=run.id, enterprise_id=enterprise_id, columns=columns)
    return None if row is None else (run, row)


def with_enterprise(
    table: Any,
    *columns: Any,
    leading: Sequence[Any] = (),
    name: str = "name",
    enterprise_id: int | None = None,
) -> Select:
    """A listing of ``table``'s rows with their enterprise: the ``leading`` columns, ``enterprise_id``,
    the enterprise's ``credit_code`` and name (labelled ``name``), then ``columns``; one enterprise's
    rows when ``enterprise_id`` is given. No authorisation: the calling service decides that scope."""
    statement = select(
        *leading, table.enterprise_id, Enterprise.credit_code, Enterprise.name.label(name), *columns
    ).join(Enterprise, Enterprise.id == table.enterprise_id)
    if enterprise_id is not None:
        statement = statement.where(table.enterprise_id == enterprise_id)
    return statement


RUN_TOTAL_COLUMNS = ["id", "enterprise_id", "stage", "total", "veto", "rank", "tier", "subsidy"]


def run_totals(session: Session, *, run_id: int, width: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A run's results without the inputs: ``RUN_TOTAL_COLUMNS`` per Score row (ordered by id), and
    the points of every indicator (the breakdown's ``p`` array, model order) as a rows × ``width`` matrix.

    One scan: a Score row is mostly its breakdown, so reading the totals and the points in two queries
    reads the table twice. The database extracts the small ``p`` array (SQLite ``json_extract``,
    PostgreSQL ``->``) — decoding whole breakdowns in Python costs ~85 µs a row. Rows stored in the
    older keyed form (no ``p`` array) come back as NaN rows.
    """
    packed = packed_breakdowns(session, run_id=run_id)
    if packed is not None:
        points = "NULL"
    elif session.connection().dialect.name == "sqlite":
        points = "json_extract(breakdown, '$.p')"
    else:
        points = "(breakdown::json -> 'p')::text"
    sql = (
        f"SELECT id, enterprise_id, stage, total, veto, rank, tier, subsidy, {points} FROM score "
        "WHERE run_id = ? ORDER BY id"
    )
    rows = fetch_rows(session, sql, (run_id,))
    frame = pd.DataFrame([r[:-1] for r in rows], columns=RUN_TOTAL_COLUMNS)
    frame["total"] = frame["total"].astype(float)
    frame["veto"] = frame["veto"].astype(bool)
    frame["tier"] = frame["tier"].fillna("").astype(object)
    frame["subsidy"] = frame["subsidy"].fillna(0.0).astype(float)
    if packed is not None:
        if packed.p.shape[1] != width:
            raise ValueError("stored breakdowns do not match the run's model")
        rows_of = packed.rows_of(frame["enterprise_id"].to_numpy(dtype=np.int64))
        matrix = np.where((rows_of >= 0)[:, None], packed.p[np.maximum(rows_of, 0)], np.nan)
        return frame, np.where(np.isfinite(matrix), matrix, np.nan)
    texts = [r[-1] for r in rows]
    filler = "[" + ",".join(["nan"] * width) + "]"
    joined = ",".join((t if t is not None else filler)[1:-1] for t in texts).replace("null", "nan")
    values = np.fromstring(joined, dtype=np.float64, sep=",") if joined else np.empty(0)
    if values.size != len(rows) * width:
        raise ValueError("stored breakdowns do not match the run's model")
    return frame, values.reshape(len(rows), width)


# ----------------------------------------------------------------------------- packed run breakdowns
# Unpacked breakdowns of the last runs read in this process (every session shares them: a run's
# breakdowns never change). Keyed by database, run id, fingerprint and creation time: run ids repeat
# across databases at one URL (a test database emptied and refilled, a restored backup).
PACKED_KEEP = 2
_PACKED: LRU[codec.Packed] = LRU(PACKED_KEEP)


def packed_breakdowns(session: Session, *, run_id: int) -> codec.Packed | None:
    """The run's breakdowns when the run stores them packed (``RunBreakdown``), else None (an older run:
    read ``Score.breakdown``). Decoded once per process and run."""
    found = fetch_rows(
        session,
        "SELECT r.created_at, r.input_fingerprint FROM scorerun r JOIN runbreakdown b "
        "ON b.run_id = r.id WHERE r.id = ?",
        (run_id,),
    )
    if not found:
        return None
    key = (str(session.get_bind().url), run_id, str(found[0][0]), found[0][1])
    cached = _PACKED.get(key)
    if cached is not None:
        return cached
    blob = fetch_rows(session, "SELECT data FROM runbreakdown WHERE run_id = ?", (run_id,))[0][0]
    return _PACKED.put(key, codec.unpack(blob))


def breakdown_raws(session: Session, *, run_id: int, enterprise_ids: Sequence[int]) -> list[Any]:
    """The stored breakdown (core.breakdown's array form, or an older run's JSON) of each of
    ``enterprise_ids`` in run ``run_id`` — None where the run has no such enterprise. Feed to
    :func:`core.breakdown.decode` or :func:`core.breakdown.column_values`."""
    ids = [int(i) for i in enterprise_ids]
    packed = packed_breakdowns(session, run_id=run_id)
    if packed is not None:
        rows_of = packed.rows_of(np.asarray(ids, dtype=np.int64))
        found = packed.raws(rows_of[rows_of >= 0])
        it = iter(found)
        return [next(it) if r >= 0 else None for r in rows_of.tolist()]
    stored: dict[int, Any] = {}
    for start in range(0, len(ids), 20_000):
        chunk = ids[start : start + 20_000]
        stored.update(
            session.execute(
                select(Score.enterprise_id, Score.breakdown).where(
                    Score.run_id == run_id, Score.enterprise_id.in_(chunk)
                )
            ).all()
        )  # type: ignore[attr-defined]
    return [stored.get(i) for i in ids]
