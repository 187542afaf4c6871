"""Computing a run: read the year's current values, derive, score, store a draft run.

:func:`model_inputs` reads this and the previous year's current values (db.queries) and applies the
model's derivations; :func:`score_year` scores them (nothing written; 动态积分 uses it too);
:func:`compute_run` stores the draft ``ScoreRun`` with one ``Score`` row per enterprise (bulk insert)
and the run's breakdowns packed once (``RunBreakdown``, core.breakdown). The breakdown keeps every
input the engine read, so :func:`services.runs.verify.verify_run` can rescore the run exactly.
Timings of the last compute in this process are kept in :data:`LAST_TIMINGS` (benchmarks read them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import Session

from core import breakdown
from core.derive import derive_indicators, previous_columns
from core.engine import SUBTOTAL_PREFIX, score
from core.scoring_model import ScoringModel
from db.bulk import insert_columns
from db.models import RunBreakdown, Score, ScoreRun
from db.queries import enterprises_frame
from db.run_inputs import current_values
from services.actor import Actor, require_staff
from services.audit import Recorder
from services.errors import ValidationFailed
from services.model_versions import ensure_default_model, get_model
from services.runs import canonical

_record_run = Recorder("ScoreRun")

Progress = Callable[[float, str], None]
LAST_TIMINGS: dict[str, float] = {}  # step → wall seconds, step + "_cpu" → this process's CPU seconds
STEPS = (
    "read",
    "derive",
    "score",
    "fingerprint",
    "write",
)  # the fingerprint: its own thread, beside score and write


class _Laps:
    """Wall and CPU seconds of consecutive steps, into ``timings`` (``step`` and ``step_cpu``)."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self, step: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.timings[step], self.timings[step + "_cpu"] = wall - self.wall, cpu - self.cpu
        self.wall, self.cpu = wall, cpu


# ----------------------------------------------------------------------------- bulk Score rows
def _breakdowns(
    model: ScoringModel,
    tokens: dict[str, list[str]],
    scored: pd.DataFrame,
    sources: pd.DataFrame,
) -> list[str]:
    """One stored breakdown per row (core.breakdown): a %-template filled from column token lists."""

    def src(column: str) -> list[str]:
        if column not in sources.columns:
            return ["null"] * len(scored)
        # A handful of departments per column: token each distinct source once, then index.
        codes, uniques = pd.factorize(sources[column].to_numpy(dtype=object))
        table = np.array([canonical.token(u) for u in uniques] + ["null"], dtype=object)  # -1 (absent) → null
        return table[codes].tolist()

    parts = {
        "v": lambda column: tokens[column],
        "f": lambda code: canonical.tokens(scored["f_" + code], 4),
        "p": lambda code: canonical.tokens(scored["pts_" + code]),
        "s": src,
    }
    token_lists = [parts[part](column) for part, column in breakdown.token_order(model)]
    row_template = breakdown.template(model)
    return [row_template % row for row in zip(*token_lists, strict=True)]


def _ints_or_none(column: pd.Series) -> list[int | None]:
    """Python ints, None where missing (array-wise: pd.isna per cell cost 0.6 s at 100k rows)."""
    cells = column.to_numpy(dtype=np.int64, na_value=0).astype(object)  # Python ints
    cells[column.isna().to_numpy()] = None
    return cells.tolist()


def _floats_or_none(values: np.ndarray) -> list[float | None]:
    """Python floats, None where not finite."""
    cells = values.astype(object)
    cells[~np.isfinite(values)] = None
    return cells.tolist()


def _none_if(values: list, empty: Any) -> list:
    return [None if v == empty else v for v in values]


def _subtotal_texts(model: ScoringModel, scored: pd.DataFrame) -> pa.Array:
    """The ``subtotals`` JSON text of every row: ``{"<class code>": subtotal, …}`` in the model's class
    order, joined by Arrow from the subtotals' tokens (no Python str per row)."""
    pieces: list[pa.Array | pa.Scalar] = []
    for k, c in enumerate(model.scored_classes):
        pieces += [pa.scalar(("{" if k == 0 else ",") + json.dumps(c.code) + ":")]
        pieces.append(canonical.token_array(scored[SUBTOTAL_PREFIX + c.code]))
    if not pieces:
        return pa.array(["{}"] * len(scored), type=pa.string())
    return pc.binary_join_element_wise(*pieces, pa.scalar("}"), pa.scalar(""))


def _score_columns(model: ScoringModel, enterprise_ids: np.ndarray, scored: pd.DataFrame) -> dict[str, Any]:
    """The Score rows as column lists for the bulk insert (no per-row pandas access), all but their run
    (one value for every row, known once the run is stored); the breakdowns go into the run's
    RunBreakdown, packed once."""
    # numbers as numpy arrays: COPY renders them through Arrow, SQLite's executemany takes them as lists
    columns: dict[str, Any] = {
        "enterprise_id": enterprise_ids,
        "stage": scored["stage"].astype(str).tolist(),
        "subtotals": _subtotal_texts(model, scored),
    }
    for c in ("technology", "growth"):  # kept for the readers of these columns, when the model has them
        columns[c] = scored[c].to_numpy(dtype=float) if c in scored.columns else [None] * len(scored)
    for c in ("core", "bonus", "deduction", "total", "subsidy"):
        columns[c] = scored[c].to_numpy(dtype=float)
    columns["veto"] = scored["veto"].to_numpy(dtype=bool)
    columns["veto_reason"] = _none_if(scored["veto_reason"].astype(object).tolist(), "")
    columns["rank"] = _ints_or_none(scored["rank"])
    columns["percentile"] = _floats_or_none(scored["percentile"].to_numpy(dtype=float))
    columns["tier"] = _none_if(scored["tier"].astype(object).tolist(), "")
    columns["mujun"] = _none_if(scored["mujun"].astype(object).tolist(), "")
    columns["missing_count"] = scored["missing_count"].to_numpy(dtype=np.int64)
    return columns


# ----------------------------------------------------------------------------- compute
def _needed_codes(model: ScoringModel) -> tuple[list[str], list[str]]:
    """Codes to read for the year and for the previous year."""
    this_year = set(model.codes) | {b.code for b in model.base_fields}
    previous = set()
    for d in model.derivations:
        this_year |= {c for c in (d.numerator, d.denominator, d.of) if c}
        if d.kind == "growth" and d.of:
            previous.add(d.of)
    prefix = model.previous_prefix
    this_year |= {c for c in model.extra_columns() if not c.startswith(prefix)}
    previous |= {c.removeprefix(prefix) for c in previous_columns(model)}
    return sorted(this_year), sorted(previous)


def model_inputs(
    session: Session, *, model: ScoringModel, year: int
) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """(current values, the engine's input frame, the source of every cell) of ``year`` under ``model``:
    this and the previous year's values read, derivations applied, a column for everything the engine reads."""
    this_codes, prev_codes = _needed_codes(model)
    enterprises = enterprises_frame(session)  # once for both years
    current = current_values(session, year=year, codes=this_codes, enterprises=enterprises)
    if current.values.empty:
        raise ValidationFailed(f"{year} 年度没有任何企业数据，无法计算积分。")
    previous = (
        current_values(session, year=year - 1, codes=prev_codes, enterprises=enterprises).values
        if prev_codes
        else None
    )
    derived = derive_indicators(model, current.values, previous)
    columns = canonical.input_columns(model)
    for column in columns:
        if column not in derived.columns:
            derived[column] = np.nan
    inputs = derived[["credit_code", "name", *columns]]
    # Sources of derived cells and prev_ cells: name where they come from.
    sources = current.sources.copy()
    derived_targets = {d.target for d in model.derivations}
    for column in columns:
        if column in derived_targets:
            supplied = sources[column] if column in sources.columns else None
            fallback = np.where(inputs[column].notna().to_numpy(), "派生", None)
            cells = fallback if supplied is None else np.where(supplied.notna(), supplied, fallback)
            # object, as the read columns are: pandas would otherwise convert it to Arrow strings and back
            sources[column] = pd.Series(cells, index=sources.index, dtype=object)
        elif column.startswith(model.previous_prefix):
            cells = np.where(inputs[column].notna().to_numpy(), "上年", None)
            sources[column] = pd.Series(cells, index=sources.index, dtype=object)
    return current, inputs, sources


def _resolve_version(session: Session, model_version_id: int | None) -> int:
    return model_version_id if model_version_id is not None else ensure_default_model(session).id


@dataclass
class ScoredYear:
    """A year scored from its current values: what a run stores, and what 动态积分 stores."""

    model_version_id: int
    model: ScoringModel
    inputs: pd.DataFrame  # the value contract the engine read
    scored: pd.DataFrame  # core.engine.score's result, same row order
    enterprise_ids: np.ndarray
    sources: pd.DataFrame = field(repr=False)
    # worked out in a thread of its own from the inputs alone, while the year is scored and stored
    fingerprinting: Future[str] = field(repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        """The inputs' fingerprint (services.runs.canonical), once its thread has it."""
        return self.fingerprinting.result()

    @cached_property
    def tokens(self) -> dict[str, list[str]]:
        """The exact JSON token of every input cell, per column (services.runs.canonical)."""
        return {
            column: canonical.tokens(self.inputs[column]) for column in canonical.input_columns(self.model)
        }

    @property
    def breakdowns(self) -> list[str]:
        """The breakdown of every row as JSON text (core.breakdown), as 动态积分 stores it."""
        return _breakdowns(self.model, self.tokens, self.scored, self.sources)

    def packed_breakdowns(self) -> bytes:
        """Every row's breakdown in one blob (core.breakdown.pack), as a run stores it."""
        return breakdown.pack(
            self.model, ids=self.enterprise_ids, inputs=self.inputs, scored=self.scored, sources=self.sources
        )


def score_year(
    session: Session,
    *,
    year: int,
    model_version_id: int | None = None,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
) -> ScoredYear:
    """Read ``year``'s current values, derive, score (nothing written); ValidationFailed when empty."""
    report = progress or (lambda fraction, message: None)
    laps = _Laps(timings if timings is not None else {})

    version_id = _resolve_version(session, model_version_id)
    model = get_model(session, version_id)
    report(0.05, "读取数据并计算派生指标")
    current, inputs, sources = model_inputs(session, model=model, year=year)
    columns = canonical.input_columns(model)
    laps.lap("read")  # reading includes derivations
    laps.timings["derive"] = laps.timings["derive_cpu"] = 0.0

    # The fingerprint reads the inputs only: its thread works while they are scored and the rows stored
    # (numpy, pandas' hashing and sha256 let go of the GIL). The engine does not modify its inputs.
    def fingerprint() -> str:
        wall, cpu = time.perf_counter(), time.thread_time()
        text = canonical.fingerprint(version_id, inputs, columns)
        laps.timings["fingerprint"] = time.perf_counter() - wall  # its thread's: within score and write
        laps.timings["fingerprint_cpu"] = time.thread_time() - cpu
        return text

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fingerprint")
    fingerprinting = pool.submit(fingerprint)
    pool.shutdown(wait=False)  # its thread ends with the fingerprint
    report(0.5, "计算积分与排名")
    scored = score(model, inputs)
    laps.lap("score")
    return ScoredYear(
        model_version_id=version_id,
        model=model,
        inputs=inputs,
        scored=scored,
        enterprise_ids=current.values["enterprise_id"].to_numpy(),
        sources=sources,
        fingerprinting=fingerprinting,
    )


def compute_run(
    session: Session,
    *,
    actor: Actor,
    year: int,
    model_version_id: int | None = None,
    progress: Progress | None = None,
) -> ScoreRun:
    """Score every enterprise with values in ``year``; stores a draft ScoreRun with its Score rows."""
    require_staff(actor)
    report = progress or (lambda fraction, message: None)
    timings: dict[str, float] = {}
    year_scores = score_year(
        session, year=year, model_version_id=model_version_id, progress=progress, timings=timings
    )
    laps = _Laps(timings)
    report(0.7, "保存结果")
    version_id, scored, inputs = year_scores.model_version_id, year_scores.scored, year_scores.inputs
    # The breakdowns are packed in a thread of their own while the Score rows are made and written (and
    # the fingerprint's thread ends): numpy, pandas' hashing and zstd let go of the GIL, and so do
    # SQLite's steps and PostgreSQL's COPY round trips.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pack-breakdowns") as pool:
        packing = pool.submit(year_scores.packed_breakdowns)
        columns = _score_columns(year_scores.model, year_scores.enterprise_ids, scored)
        run = ScoreRun(
            year=year,
            model_version_id=version_id,
            input_fingerprint=year_scores.fingerprint,
            state="draft",
            enterprise_count=len(inputs),
            created_by=actor.username,
        )
        session.add(run)
        session.flush()
        insert_columns(session, Score.__table__, columns, constants={"run_id": run.id})
        session.add(RunBreakdown(run_id=run.id, data=packing.result()))
    _record_run(
        session,
        actor,
        "run.compute",
        run.id,
        after={
            "year": year,
            "model_version_id": version_id,
            "state": "draft",
            "enterprise_count": len(scored),
            "input_fingerprint": run.input_fingerprint,
        },
    )
    session.commit()
    laps.lap("write")
    LAST_TIMINGS.clear()
    LAST_TIMINGS.update(timings)
    report(1.0, "计算完成")
    return run
