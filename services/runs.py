"""Score runs: compute → 公示 (notice) → final, supersede, verify.

A run scores one year under one stored model version. It keeps, per enterprise, the breakdown
(core.breakdown: inputs, fractions, points and sources of every indicator, plus the extra inputs the
rules read such as ``total_cost`` and ``prev_T01``) — enough to rebuild the exact input frame and rescore
it (:func:`verify_run`). The breakdowns are packed once per run (``RunBreakdown``, column by column;
runs computed before it carry one JSON per ``Score`` row); readers go through db.queries, which reads
either form. ``input_fingerprint`` is a sha256 over the model version id
and a canonical text of that input frame (rows in credit-code order, cells as exact JSON tokens).

State rules (core.workflows.SCORE_RUN plus the decisions below):

* publish (draft → notice): any *other* run of the same year in notice is superseded by it — only one
  run per year is in 公示 at a time; the caller confirms that replacement (``replace=True``). Other
  drafts stay (officers may compare them).
* finalize (notice → final): only after the 公示 window's last day (earlier only by an admin stating a
  reason, audited) and with no open objection; the previous final run of the same year becomes
  superseded (the one transition the workflow table has no entry for: final → superseded happens only here).
* :func:`guard_transition` states these conditions once: the services enforce it, the page asks with it.
* a final run is immutable: no service changes its Score rows; publishing, finalizing or superseding it
  raises Conflict.

Timings of the last compute in this process are kept in :data:`LAST_TIMINGS` (benchmarks read them).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, select

from core import breakdown, clock
from core.clock import day_end
from core.derive import derive_indicators, previous_columns
from core.engine import SUBTOTAL_PREFIX, score
from core.reports import overall_average, ranked_mask, stage_average
from core.scoring_model import ScoringModel
from core.workflows import SCORE_RUN, TransitionError, transition
from db.bulk import insert_columns
from db.models import Objection, RunBreakdown, Score, ScoreRun, utcnow
from db.queries import current_values, latest_run, scores_frame
from services.actor import Actor, require_staff
from services.audit import record
from services.errors import Conflict, NotFound, ValidationFailed
from services.model_versions import ensure_default_model, get_model

Progress = Callable[[float, str], None]
LAST_TIMINGS: dict[str, float] = {}

NOTICE_DAYS = 7  # the default 公示 window: seven Beijing days, first and last included


def default_notice_window(start: date | None = None, *, days: int = NOTICE_DAYS) -> tuple[date, date]:
    """The 公示 window offered by default: from ``start`` (default today in Beijing, which at 16:00–24:00
    UTC is already the server's tomorrow) over ``days`` Beijing days, both ends included."""
    start = start or clock.today()
    return start, start + timedelta(days=days - 1)


# Columns compared by verify_run (besides each class subtotal and each indicator's points).
RESULT_COLUMNS = ["stage", "core", "bonus", "deduction", "total", "veto", "rank",
                  "percentile", "tier", "subsidy", "mujun", "missing_count"]  # fmt: skip
_NUMERIC_RESULTS = {"core", "bonus", "deduction", "total", "percentile", "subsidy"}


# ----------------------------------------------------------------------------- canonical cells
def _token(value: Any) -> str:
    """The exact JSON text of a cell: float repr (round-trips), JSON string, or null."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    number = float(value)
    return repr(number) if math.isfinite(number) else "null"


def _tokens(column: pd.Series | np.ndarray, decimals: int | None = None) -> list[str]:
    """``_token`` of every cell. Float columns go through one C-level ``repr`` of the whole list."""
    array = column.to_numpy() if isinstance(column, pd.Series) else column
    if array.dtype.kind in "fiub":
        values = array.astype(np.float64)
        if decimals is not None:
            values = np.round(values, decimals)
        if len(values) == 0:
            return []
        # Fractions, points and many inputs repeat (bands, flags, zeros): repr each distinct value once.
        unique, inverse = np.unique(values, return_inverse=True)
        tokens = np.asarray(repr(unique.tolist())[1:-1].split(", "), dtype=object)
        tokens[~np.isfinite(unique)] = "null"
        return tokens[inverse].tolist()
    # Text columns repeat too (tiers, flags as text, absent cells): token each distinct value once.
    codes, uniques = pd.factorize(np.asarray(array, dtype=object), use_na_sentinel=True)
    table = np.array([*(_token(u) for u in uniques.tolist()), "null"], dtype=object)  # -1 (absent) → null
    return table[codes].tolist()


def _input_columns(model: ScoringModel) -> list[str]:
    """What the engine reads: every indicator, then the extra fields its rules name."""
    return [*model.codes, *model.extra_columns()]


def _fingerprint(
    model_version_id: int,
    inputs: pd.DataFrame,
    columns: list[str],
    tokens: dict[str, list[str]] | None = None,
) -> str:
    """sha256 over the model version id and the input cells, rows in credit-code order, column by column."""
    credit_codes = inputs["credit_code"].to_numpy(dtype=str)
    order = np.argsort(credit_codes, kind="stable")
    digest = hashlib.sha256(f"model_version={model_version_id}\n".encode())
    digest.update(("\t".join(credit_codes[order].tolist()) + "\n").encode())
    for column in columns:
        cells = tokens[column] if tokens is not None else _tokens(inputs[column])
        ordered = np.asarray(cells, dtype=object)[order].tolist()
        digest.update((column + "=" + "\t".join(ordered) + "\n").encode())
    return digest.hexdigest()


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
        table = np.array([_token(u) for u in uniques] + ["null"], dtype=object)  # code -1 (absent) → null
        return table[codes].tolist()

    parts = {
        "v": lambda column: tokens[column],
        "f": lambda code: _tokens(scored["f_" + code], 4),
        "p": lambda code: _tokens(scored["pts_" + code]),
        "s": src,
    }
    token_lists = [parts[part](column) for part, column in breakdown.token_order(model)]
    row_template = breakdown.template(model)
    return [row_template % row for row in zip(*token_lists, strict=True)]


def _none_if(values: list, empty: Any) -> list:
    return [None if v == empty else v for v in values]


def _subtotal_texts(model: ScoringModel, scored: pd.DataFrame) -> list[str]:
    """The ``subtotals`` JSON text of every row: ``{"<class code>": subtotal, …}`` in the model's class order."""
    classes = model.scored_classes
    if not classes:
        return ["{}"] * len(scored)
    template = "{" + ",".join(json.dumps(c.code) + ":%s" for c in classes) + "}"
    token_lists = [_tokens(scored[SUBTOTAL_PREFIX + c.code]) for c in classes]
    return [template % row for row in zip(*token_lists, strict=True)]


def _score_columns(
    model: ScoringModel, run_id: int, enterprise_ids: np.ndarray, scored: pd.DataFrame
) -> dict[str, list]:
    """The Score rows as column lists for the bulk insert (no per-row pandas access); the breakdowns go
    into the run's RunBreakdown, packed once."""
    columns: dict[str, list] = {
        "run_id": [run_id] * len(scored),
        "enterprise_id": enterprise_ids.tolist(),
        "stage": scored["stage"].astype(str).tolist(),
        "subtotals": _subtotal_texts(model, scored),
    }
    for c in ("technology", "growth"):  # kept for the readers of these columns, when the model has them
        columns[c] = scored[c].to_numpy(dtype=float).tolist() if c in scored.columns else [None] * len(scored)
    for c in ("core", "bonus", "deduction", "total", "subsidy"):
        columns[c] = scored[c].to_numpy(dtype=float).tolist()
    columns["veto"] = scored["veto"].to_numpy(dtype=bool).tolist()
    columns["veto_reason"] = _none_if(scored["veto_reason"].astype(object).tolist(), "")
    columns["rank"] = [None if pd.isna(r) else int(r) for r in scored["rank"].astype(object).tolist()]
    columns["percentile"] = [
        None if not math.isfinite(p) else p for p in scored["percentile"].to_numpy(dtype=float).tolist()
    ]
    columns["tier"] = _none_if(scored["tier"].astype(object).tolist(), "")
    columns["mujun"] = _none_if(scored["mujun"].astype(object).tolist(), "")
    columns["missing_count"] = scored["missing_count"].to_numpy(dtype=np.int64).tolist()
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
    current = current_values(session, year=year, codes=this_codes)
    if current.values.empty:
        raise ValidationFailed(f"{year} 年度没有任何企业数据，无法计算积分。")
    previous = current_values(session, year=year - 1, codes=prev_codes).values if prev_codes else None
    derived = derive_indicators(model, current.values, previous)
    columns = _input_columns(model)
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
    fingerprint: str
    tokens: dict[str, list[str]] = field(repr=False)
    sources: pd.DataFrame = field(repr=False)

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
    timings = timings if timings is not None else {}
    clock = time.perf_counter()

    version_id = _resolve_version(session, model_version_id)
    model = get_model(session, version_id)
    report(0.05, "读取数据并计算派生指标")
    current, inputs, sources = model_inputs(session, model=model, year=year)
    columns = _input_columns(model)
    timings["read"], clock = time.perf_counter() - clock, time.perf_counter()  # reading includes derivations
    timings["derive"] = 0.0

    report(0.5, "计算积分与排名")
    scored = score(model, inputs)
    timings["score"], clock = time.perf_counter() - clock, time.perf_counter()
    tokens = {column: _tokens(inputs[column]) for column in columns}
    return ScoredYear(
        model_version_id=version_id,
        model=model,
        inputs=inputs,
        scored=scored,
        enterprise_ids=current.values["enterprise_id"].to_numpy(),
        fingerprint=_fingerprint(version_id, inputs, columns, tokens),
        tokens=tokens,
        sources=sources,
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
    clock = time.perf_counter()
    report(0.7, "保存结果")
    version_id, scored, inputs = year_scores.model_version_id, year_scores.scored, year_scores.inputs
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
    columns = _score_columns(year_scores.model, run.id, year_scores.enterprise_ids, scored)
    insert_columns(session, Score.__table__, columns)
    session.add(RunBreakdown(run_id=run.id, data=year_scores.packed_breakdowns()))
    record(
        session,
        actor=actor,
        action="run.compute",
        entity="ScoreRun",
        entity_id=run.id,
        after={
            "year": year,
            "model_version_id": version_id,
            "state": "draft",
            "enterprise_count": len(scored),
            "input_fingerprint": run.input_fingerprint,
        },
    )
    session.commit()
    timings["write"] = time.perf_counter() - clock
    LAST_TIMINGS.clear()
    LAST_TIMINGS.update(timings)
    report(1.0, "计算完成")
    return run


# ----------------------------------------------------------------------------- transitions
def _get_run(session: Session, run_id: int, *, lock: bool = False) -> ScoreRun:
    statement = select(ScoreRun).where(ScoreRun.id == run_id)
    if lock:
        statement = statement.with_for_update()
    run = session.exec(statement).first()
    if run is None:
        raise NotFound(f"积分计算批次 {run_id} 不存在。")
    return run


def _next(run: ScoreRun, action: str) -> str:
    try:
        return transition(SCORE_RUN, run.state, action)
    except TransitionError as exc:
        raise Conflict(str(exc)) from None


def _supersede_others(session: Session, *, actor: Actor, run: ScoreRun, states: tuple[str, ...]) -> list[int]:
    """Mark the other runs of ``run.year`` in ``states`` superseded by ``run``; returns their ids."""
    others = session.exec(
        select(ScoreRun).where(ScoreRun.year == run.year, ScoreRun.id != run.id, ScoreRun.state.in_(states))
    ).all()
    for other in others:
        before = other.state
        other.state = "superseded"
        session.add(other)
        record(
            session,
            actor=actor,
            action="run.supersede",
            entity="ScoreRun",
            entity_id=other.id,
            before={"state": before},
            after={"state": "superseded", "superseded_by": run.id},
        )
    if others and run.supersedes_id is None:
        run.supersedes_id = max(o.id for o in others)
    return [o.id for o in others]


@dataclass(frozen=True)
class TransitionGuard:
    """What a run transition needs before it may happen: the one publishing guard.

    ``publish_run`` and ``finalize_run`` enforce it; the page reads it to say, before anything happens,
    what the transition will do and what it still needs (:func:`guard_transition`).
    """

    action: str  # publish / finalize
    run_id: int
    year: int
    refusal: str | None = None  # why this actor cannot do it now (nothing to confirm)
    reason_required: bool = False  # an early 定稿: allowed to an admin who states a reason (audited)
    replaces: tuple[int, ...] = ()  # runs of the year in 公示 that 开始公示 replaces (asked first)
    notes: tuple[str, ...] = ()  # what the confirmation says besides the action itself

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def _window_still_open(run: ScoreRun, at: datetime) -> bool:
    """Whether ``run``'s 公示 window has not yet passed its last day's 24:00 (Beijing time)."""
    return bool(run.notice_end and at < day_end(run.notice_end))


def guard_transition(
    session: Session, *, actor: Actor, run_id: int, action: str, at: datetime | None = None
) -> TransitionGuard:
    """The conditions of ``action`` (``publish`` / ``finalize``) on run ``run_id`` for ``actor`` now.

    Rules (the programme's): 定稿 only after the 公示 window's last day — before it only an admin (or the
    command line) who states a reason, recorded in the audit log — and never while an objection on the run
    is open; 开始公示 over a run of the same year already in 公示 replaces it, so it is asked first.
    """
    require_staff(actor)
    run = _get_run(session, run_id)
    _next(run, action)  # a transition the workflow does not allow is a Conflict, whoever asks
    now = at or clock.now()
    if action == "finalize":
        open_objections = session.exec(
            select(func.count())
            .select_from(Objection)
            .where(Objection.run_id == run.id, Objection.state == "open")
        ).one()
        if open_objections:
            return TransitionGuard(
                action,
                run.id,
                run.year,
                refusal=f"该批次还有 {open_objections} 条异议未处理，处理完毕后才能定稿。",
            )
        if _window_still_open(run, now):
            left = (run.notice_end - clock.beijing_day(now)).days + 1
            window = f"公示期至 {run.notice_end:%Y-%m-%d} 24:00（北京时间）结束，还剩 {left} 天"
            if actor.role not in ("admin", "system"):
                return TransitionGuard(
                    action,
                    run.id,
                    run.year,
                    refusal=(f"{window}：公示期满后才能定稿。如确需提前定稿，须由系统管理员填写理由后操作。"),
                )
            return TransitionGuard(
                action,
                run.id,
                run.year,
                reason_required=True,
                notes=(
                    f"{window}。提前定稿后，企业不能再对本批次提出异议。",
                    "提前定稿须填写理由，理由记入审计日志。",
                ),
            )
        return TransitionGuard(action, run.id, run.year)
    others = session.exec(
        select(ScoreRun)
        .where(ScoreRun.year == run.year, ScoreRun.id != run.id, ScoreRun.state == "notice")
        .order_by(ScoreRun.id)
    ).all()
    notes = tuple(
        f"{run.year} 年度批次 #{o.id} 正在公示（{o.notice_start:%Y-%m-%d} 至 {o.notice_end:%Y-%m-%d}）："
        f"开始公示后它将被本批次替代，企业看到的公示结果和异议入口随之改为本批次。"
        if o.notice_start and o.notice_end
        else f"{run.year} 年度批次 #{o.id} 正在公示：开始公示后它将被本批次替代。"
        for o in others
    )
    return TransitionGuard(action, run.id, run.year, replaces=tuple(o.id for o in others), notes=notes)


def _enforce(guard: TransitionGuard, *, reason: str | None = None, replace: bool = False) -> None:
    """Raise unless what ``guard`` asks for was given (the page asked; the CLI passes flags)."""
    if guard.refusal:
        raise Conflict(guard.refusal)
    if guard.reason_required and not (reason and reason.strip()):
        raise ValidationFailed("公示期尚未结束：提前定稿须填写理由。")
    if guard.replaces and not replace:
        ids = "、".join(f"#{i}" for i in guard.replaces)
        raise Conflict(f"{guard.year} 年度批次 {ids} 正在公示：请确认由本批次替代后再开始公示。")


def publish_run(
    session: Session,
    *,
    actor: Actor,
    run_id: int,
    notice_start: date,
    notice_end: date,
    replace: bool = False,
) -> ScoreRun:
    """Start 公示 (draft → notice) for the window [notice_start, notice_end].

    A run of the same year already in 公示 is replaced only when ``replace`` confirms it (the guard).
    """
    require_staff(actor)
    if not isinstance(notice_start, date) or not isinstance(notice_end, date):
        raise ValidationFailed("请填写公示开始和结束日期。")
    if notice_end < notice_start:
        raise ValidationFailed("公示结束日期不能早于开始日期。")
    run = _get_run(session, run_id, lock=True)
    state = _next(run, "publish")
    _enforce(guard_transition(session, actor=actor, run_id=run.id, action="publish"), replace=replace)
    superseded = _supersede_others(session, actor=actor, run=run, states=("notice",))
    run.state, run.notice_start, run.notice_end, run.published_at = state, notice_start, notice_end, utcnow()
    session.add(run)
    record(
        session,
        actor=actor,
        action="run.publish",
        entity="ScoreRun",
        entity_id=run.id,
        before={"state": "draft"},
        after={
            "state": state,
            "notice_start": notice_start.isoformat(),
            "notice_end": notice_end.isoformat(),
            "superseded": superseded,
        },
    )
    session.commit()
    return run


def finalize_run(session: Session, *, actor: Actor, run_id: int, reason: str | None = None) -> ScoreRun:
    """Finalise (notice → final); the previous final run of the year becomes superseded.

    Refused while an objection on the run is still open, and before the 公示 window's last day has passed
    unless an admin states ``reason`` (recorded with the event as an early 定稿) — :func:`guard_transition`.
    """
    require_staff(actor)
    run = _get_run(session, run_id, lock=True)
    state = _next(run, "finalize")
    guard = guard_transition(session, actor=actor, run_id=run.id, action="finalize")
    _enforce(guard, reason=reason)
    superseded = _supersede_others(session, actor=actor, run=run, states=("final",))
    run.state, run.finalized_at = state, utcnow()
    session.add(run)
    after: dict[str, Any] = {"state": state, "superseded": superseded}
    if guard.reason_required:
        after |= {"early": True, "notice_end": run.notice_end.isoformat()}
    record(
        session,
        actor=actor,
        action="run.finalize",
        entity="ScoreRun",
        entity_id=run.id,
        before={"state": "notice"},
        after=after,
        reason=reason.strip() if guard.reason_required and reason else None,
    )
    session.commit()
    return run


def supersede_run(session: Session, *, actor: Actor, run_id: int, reason: str | None = None) -> ScoreRun:
    """Withdraw a draft or a run in 公示 (e.g. after an upheld objection and a recompute)."""
    require_staff(actor)
    run = _get_run(session, run_id, lock=True)
    before = run.state
    run.state = _next(run, "supersede")
    session.add(run)
    record(
        session,
        actor=actor,
        action="run.supersede",
        entity="ScoreRun",
        entity_id=run.id,
        before={"state": before},
        after={"state": run.state},
        reason=reason,
    )
    session.commit()
    return run


# ----------------------------------------------------------------------------- reading
def run_summary(session: Session, *, actor: Actor, run_id: int) -> pd.DataFrame:
    """Per stage: enterprises, vetoed, ranked, mean/max total, list sizes per tier, subsidies (staff).

    Index: stage code in model order; a final ``all`` row sums the counts.
    """
    require_staff(actor)
    run = _get_run(session, run_id)
    model = get_model(session, run.model_version_id)
    frame = scores_frame(session, run_id=run_id)
    stages = model.stage_codes
    grouped = frame.groupby("stage", sort=False)
    summary = pd.DataFrame(index=pd.Index(stages, name="stage"))
    summary["stage_name"] = [model.stage_name(s) for s in stages]
    summary["enterprises"] = grouped.size().reindex(stages, fill_value=0)
    summary["vetoed"] = grouped["veto"].sum().reindex(stages, fill_value=0).astype(int)
    summary["ranked"] = summary["enterprises"] - summary["vetoed"]
    summary["mean_total"] = stage_average(model, frame)  # the one definition (core.reports)
    ranked = frame[ranked_mask(frame)]
    summary["max_total"] = ranked.groupby("stage")["total"].max().reindex(stages)
    for tier in model.tiers:
        summary[f"tier_{tier.code}"] = (
            frame[frame["tier"] == tier.code].groupby("stage").size().reindex(stages, fill_value=0)
        )
    paid = frame[frame["subsidy"] > 0]
    summary["subsidy_count"] = paid.groupby("stage").size().reindex(stages, fill_value=0)
    summary["subsidy_total"] = paid.groupby("stage")["subsidy"].sum().reindex(stages, fill_value=0.0)
    totals = summary.drop(columns=["stage_name", "mean_total", "max_total"]).sum()
    all_row = pd.DataFrame(
        [
            {
                **totals.to_dict(),
                "stage_name": "合计",
                "mean_total": overall_average(frame),
                "max_total": ranked["total"].max() if len(ranked) else np.nan,
            }
        ],
        index=pd.Index(["all"], name="stage"),
    )
    out = pd.concat([summary, all_row[summary.columns]])
    out.attrs["tier_names"] = {f"tier_{t.code}": t.name for t in model.tiers}  # the run's own list names
    return out


# ----------------------------------------------------------------------------- verify
@dataclass
class VerifyReport:
    run_id: int
    identical: bool
    fingerprint_matches: bool
    enterprise_count: int
    differing_enterprises: list[str] = field(default_factory=list)  # credit codes
    differing_columns: list[str] = field(default_factory=list)
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)  # credit_code, column, stored, recomputed


def _same(a: np.ndarray, b: np.ndarray, numeric: bool) -> np.ndarray:
    if numeric:
        a, b = a.astype(float), b.astype(float)
        both_nan = np.isnan(a) & np.isnan(b)
        with np.errstate(invalid="ignore"):
            return both_nan | (np.abs(a - b) <= 1e-9)
    return np.array([x == y for x, y in zip(a.tolist(), b.tolist(), strict=True)], dtype=bool)


def verify_run(session: Session, *, actor: Actor, run_id: int) -> VerifyReport:
    """Rebuild the run's inputs from its stored breakdowns, rescore with its model version, compare."""
    require_staff(actor)
    run = _get_run(session, run_id)
    model = get_model(session, run.model_version_id)
    stored = scores_frame(session, run_id=run_id, include_breakdown=True)
    columns = _input_columns(model)
    raws = [b if isinstance(b, dict) else json.loads(b or "{}") for b in stored["breakdown"].tolist()]
    data: dict[str, Any] = {
        "credit_code": stored["credit_code"].to_numpy(dtype=object),
        "name": stored["name"].to_numpy(dtype=object),
    }
    for column in columns:
        data[column] = np.array(breakdown.column_values(model, raws, column), dtype=object)
    inputs = pd.DataFrame(data)
    for column in columns:  # a column of numbers only is float64 again, as when it was computed
        values = inputs[column]
        if all(
            v is None or (isinstance(v, float | int) and not isinstance(v, bool)) for v in values.tolist()
        ):
            inputs[column] = values.astype("float64")
    fingerprint_ok = _fingerprint(run.model_version_id, inputs, columns) == run.input_fingerprint
    rescored = score(model, inputs)

    records = []
    checks: list[tuple[str, np.ndarray, np.ndarray, bool]] = []
    for column in RESULT_COLUMNS:
        a = stored[column].to_numpy(dtype=object)
        b = rescored[column].to_numpy(dtype=object)
        if column in ("tier", "mujun"):
            a = np.array(["" if x is None else x for x in a], dtype=object)
        if column == "rank":
            a = np.array([np.nan if pd.isna(x) else float(x) for x in a])
            b = np.array([np.nan if pd.isna(x) else float(x) for x in b])
        checks.append((column, a, b, column in _NUMERIC_RESULTS or column == "rank"))
    for cls in model.scored_classes:
        column = SUBTOTAL_PREFIX + cls.code
        checks.append(
            (column, stored[column].to_numpy(dtype=float), rescored[column].to_numpy(dtype=float), True)
        )
    for code in model.codes:
        a = np.array(
            [np.nan if p is None else p for p in breakdown.column_values(model, raws, code, "p")], dtype=float
        )
        checks.append(("pts_" + code, a, rescored["pts_" + code].to_numpy(dtype=float), True))
    codes = stored["credit_code"].to_numpy(dtype=object)
    for column, a, b, numeric in checks:
        bad = np.flatnonzero(~_same(a, b, numeric))
        for i in bad.tolist():
            records.append({"credit_code": codes[i], "column": column, "stored": a[i], "recomputed": b[i]})
    differences = pd.DataFrame(records, columns=["credit_code", "column", "stored", "recomputed"])
    report = VerifyReport(
        run_id=run_id,
        identical=differences.empty and fingerprint_ok,
        fingerprint_matches=fingerprint_ok,
        enterprise_count=len(stored),
        differing_enterprises=sorted(differences["credit_code"].unique().tolist()),
        differing_columns=sorted(differences["column"].unique().tolist()),
        differences=differences,
    )
    record(
        session,
        actor=actor,
        action="run.verify",
        entity="ScoreRun",
        entity_id=run_id,
        after={
            "identical": report.identical,
            "fingerprint_matches": fingerprint_ok,
            "differing_enterprises": len(report.differing_enterprises),
        },
    )
    session.commit()
    return report


def assert_not_final(session: Session, *, run_id: int) -> None:
    """Guard for any service about to change a run's Score rows: a final run is immutable."""
    if _get_run(session, run_id).state == "final":
        raise Conflict("该批次已定稿，积分结果不可修改。")


__all__ = [
    "LAST_TIMINGS", "ScoredYear", "TransitionGuard", "VerifyReport", "assert_not_final", "compute_run", "finalize_run", "guard_transition",
    "latest_run",
    "publish_run", "run_summary", "score_year", "scores_frame", "supersede_run", "verify_run",
]  # fmt: skip
