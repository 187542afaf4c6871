"""我的积分: an enterprise's portrait from the latest published (公示 or final) run.

Numbers come from the stored ``Score`` row (they are the engine's numbers for that run); the stage
context — ranked totals, class averages, the stage's values of percentile indicators — comes from the
run's other ``Score`` rows of the same stage. Scores of a run never change once written (a recompute
makes a new run), so that stage context is cached per (database, run, stage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core import breakdown as breakdown_codec
from core import explain
from core.lru import LRU
from core.pools import qualifications
from core.scoring_model import PercentileRule, ScoringModel
from db.models import Enterprise, Score, ScoreRun, score_subtotal
from db.queries import (
    PUBLISHED_STATES,
    breakdown_columns_frame,
    breakdown_raws,
    enterprise_score,
    latest_score,
)
from db.values import enterprise_current_values
from services.actor import Actor, accessible_enterprise, require_enterprise_access
from services.errors import NotFound, PermissionDenied
from services.model_versions import RunView
from services.public import latest_published_run


@dataclass
class StageStats:
    """The context of one stage in one run (anonymous aggregates plus value distributions)."""

    stage: str
    count: int  # enterprises in the stage
    ranked_totals: np.ndarray  # totals of ranked enterprises, rank order
    class_means: dict[str, float]  # radar axis → mean fraction
    distributions: dict[str, np.ndarray]  # percentile-rule code → values in the stage
    enterprise_ids: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


@dataclass
class Portrait(RunView):
    enterprise_id: int
    enterprise_name: str
    credit_code: str
    notice_start: Any
    notice_end: Any
    stage: str
    stage_name: str
    total: float
    subtotals: dict[str, float]  # class code → subtotal, every scored class of the run's model
    technology: float | None  # the default model's classes (None under a model without them)
    growth: float | None
    core: float
    bonus: float
    bonus_raw: float
    deduction: float
    veto: bool
    veto_reason: str
    rank: int | None
    ranked_in_stage: int
    stage_count: int
    percentile: float | None
    tier: str
    tier_name: str
    subsidy: float
    mujun: str
    missing_count: int
    indicators: (
        pd.DataFrame
    )  # code, name, class, unit, value, value_text, source, points, max, fraction, missing
    radar: pd.DataFrame  # axis, mine, stage_average
    explanations: list[str]
    gap: explain.Gap | None
    moves: list[explain.Move]
    previous: dict | None  # {year, total, rank, tier, stage}
    states: list[explain.IndicatorState] = field(repr=False, default_factory=list)
    extras: dict[str, Any] = field(repr=False, default_factory=dict)  # stored extra inputs (prev_…, bases)
    pools: list = field(
        default_factory=list
    )  # core.pools.PoolResult: what the enterprise lacks (none if vetoed)
    report_year: int | None = None  # the 数据填报 year the advice to report a value refers to

    @property
    def total_change(self) -> float | None:
        return None if self.previous is None else round(self.total - self.previous["total"], 2)


# ------------------------------------------------------------------ model and run lookup
_STAGE_CACHE: LRU[StageStats] = LRU(32)


def _db_key(session: Session) -> str:
    return str(session.get_bind().url)


def model_for_run(session: Session, run: ScoreRun) -> ScoringModel:
    """The scoring model a run was computed with (services.model_versions caches the parse)."""
    from services.model_versions import get_model

    return get_model(session, run.model_version_id)


def radar_axes(model: ScoringModel) -> dict[str, str]:
    """Radar axis per scored class of the model (class code → label): core and bonus classes by their
    share of the class maximum; a deduction class as compliance (1 − its share)."""
    deductions = model.classes_of_kind("deduction")
    axes = {}
    for c in model.scored_classes:
        if c.kind == "deduction":
            axes[c.code] = "合规经营" if len(deductions) == 1 else f"合规（{c.name}）"
        else:
            axes[c.code] = c.name
    return axes


def class_fractions(model: ScoringModel, stage: str, subtotals: dict[str, Any]) -> dict[str, Any]:
    """Radar values per class code (arrays or numbers, like the subtotals given)."""
    out = {}
    for c in model.scored_classes:
        top = model.class_max(c.code, stage)
        if c.kind == "bonus":
            top = min(top, model.bonus_cap)
        x = np.asarray(subtotals.get(c.code, 0.0), dtype=float)
        x = np.nan_to_num(x)
        frac = np.clip(x / top, 0, 1) if top > 0 else np.zeros_like(x)
        out[c.code] = 1 - frac if c.kind == "deduction" else frac
    return out


def _breakdown_value(entry: Any) -> Any:
    return entry.get("value") if isinstance(entry, dict) else None


def stage_stats(
    session: Session, *, run: ScoreRun, stage: str, model: ScoringModel | None = None
) -> StageStats:
    """Ranked totals, class means and percentile-indicator distributions of a stage (cached)."""
    # Run ids repeat across databases at one URL (a test database emptied and refilled, a restored
    # backup): the fingerprint and creation time make the key name this run's scores, not just its id.
    key = (_db_key(session), run.id, run.input_fingerprint, run.created_at, stage)
    cached = _STAGE_CACHE.get(key)
    if cached is not None:
        return cached
    model = model or model_for_run(session, run)
    perc_codes = [i.code for i in model.indicators if isinstance(i.rule, PercentileRule)]
    rows = session.execute(
        select(Score.enterprise_id, Score.total, Score.subtotals, Score.veto, Score.rank).where(
            Score.run_id == run.id, Score.stage == stage
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["enterprise_id", "total", "subtotals", "veto", "rank"])
    ranked = frame[frame["rank"].notna() & ~frame["veto"].astype(bool)].sort_values("rank")
    subtotals = {
        c.code: np.array([score_subtotal(v, c.code) or 0.0 for v in frame["subtotals"].tolist()], dtype=float)
        for c in model.scored_classes
    }
    fr = class_fractions(model, stage, subtotals)
    means = {axis: float(np.mean(v)) if len(frame) else 0.0 for axis, v in fr.items()}
    distributions: dict[str, np.ndarray] = {}
    if perc_codes:
        inputs = breakdown_columns_frame(session, run_id=run.id, model=model, columns=perc_codes, part="v")
        inputs = inputs.reindex(frame["enterprise_id"].to_numpy(dtype=np.int64))
    for code in perc_codes:
        values = [explain.as_number(v) for v in inputs[code].tolist()]
        distributions[code] = np.array([np.nan if v is None else v for v in values], dtype=float)
    stats = StageStats(
        stage=stage,
        count=len(frame),
        ranked_totals=ranked["total"].to_numpy(dtype=float),
        class_means=means,
        distributions=distributions,
        enterprise_ids=frame["enterprise_id"].to_numpy(dtype=np.int64),
    )
    return _STAGE_CACHE.put(key, stats)


# ------------------------------------------------------------------ portrait
def get_portrait(
    session: Session, *, actor: Actor, enterprise_id: int, year: int | None = None, run_id: int | None = None
) -> Portrait:
    """The enterprise's portrait from the latest 公示/final run (of ``year``), or — staff only — from
    run ``run_id`` in any state; NotFound when none."""
    enterprise = accessible_enterprise(session, actor, enterprise_id)
    if run_id is not None:
        run = session.get(ScoreRun, run_id)
        if run is None or (run.state not in PUBLISHED_STATES and not actor.is_staff):
            raise NotFound(f"积分批次 #{run_id} 不存在或尚未发布。")
    else:
        run = latest_published_run(session, year=year)
    if run is None:
        raise NotFound("暂无已发布的积分结果：积分计算完成并进入公示后即可查看。")
    row = enterprise_score(session, run_id=run.id, enterprise_id=enterprise_id)
    if row is None:
        raise NotFound(f"{run.year} 年度积分批次中没有本企业的积分（可能未纳入本次评价）。")
    model = model_for_run(session, run)
    stage = row.stage
    stats = stage_stats(session, run=run, stage=stage, model=model)
    stored = (
        row.breakdown
        if row.breakdown is not None
        else breakdown_raws(session, run_id=run.id, enterprise_ids=[enterprise_id])[0]
    )
    breakdown = breakdown_codec.decode(model, stored)

    states: list[explain.IndicatorState] = []
    table_rows = []
    bonus_raw = 0.0
    for ind in model.indicators:
        entry = breakdown.get(ind.code) or {}
        value = entry.get("value")
        f = float(entry.get("f") or 0.0)
        pts = float(entry.get("pts") or 0.0)
        if ind.kind == "bonus":
            bonus_raw += pts
        state = explain.IndicatorState(
            ind.code, value, f, pts, entry.get("source"), stats.distributions.get(ind.code)
        )
        states.append(state)
        top = explain.max_points(ind, stage)
        missing = (
            explain.is_missing(value)
            and ind.rule.type in ("bands", "linear_cap", "percentile")
            and ind.is_core
        )
        table_rows.append(
            {
                "code": ind.code,
                "name": ind.name,
                "class": ind.cls,
                "class_name": model.class_name(ind.cls),
                "kind": ind.kind,
                "unit": ind.unit,
                "value_text": explain.fmt_value(value, ind.unit, ind),
                "source": entry.get("source") or ind.source,
                "points": round(pts, 2),
                "max": top,
                "fraction": f,
                "missing": bool(missing),
            }
        )
    indicators = pd.DataFrame(table_rows)

    subtotals = {c.code: score_subtotal(row.subtotals, c.code) or 0.0 for c in model.scored_classes}
    mine = class_fractions(model, stage, subtotals)
    axes = radar_axes(model)
    radar = pd.DataFrame(
        {
            "axis": list(axes.values()),
            "mine": [float(mine[a]) for a in axes],
            "stage_average": [stats.class_means[a] for a in axes],
        }
    )
    tier = row.tier or ""
    gap = explain.gap_to_next_list(
        model, total=row.total, tier=tier, ranked_totals=stats.ranked_totals, veto=row.veto
    )
    moves: list[explain.Move] = []  # computed below, once the pools say what the enterprise lacks
    explanations = explain.explain_all(
        model, stage, [s for s in states if model.indicator(s.code).kind != "veto"]
    )

    previous = None
    prev = latest_score(
        session,
        enterprise_id=enterprise_id,
        year=run.year - 1,
        columns=(Score.total, Score.rank, Score.tier, Score.stage),
    )
    if prev is not None:
        prev_run, prev_row = prev
        previous = {
            "year": prev_run.year,
            "total": float(prev_row.total),
            "rank": prev_row.rank,
            "tier": prev_row.tier or "",
            "stage": prev_row.stage,
        }

    model_codes = set(model.codes)
    portrait = Portrait(
        **RunView.of(run, model),
        enterprise_id=enterprise_id,
        enterprise_name=enterprise.name,
        credit_code=enterprise.credit_code,
        notice_start=run.notice_start,
        notice_end=run.notice_end,
        stage=stage,
        stage_name=model.stage_name(stage),
        total=float(row.total),
        subtotals=subtotals,
        technology=subtotals.get("technology"),
        growth=subtotals.get("growth"),
        core=float(row.core),
        bonus=float(row.bonus),
        bonus_raw=bonus_raw,
        deduction=float(row.deduction),
        veto=bool(row.veto),
        veto_reason=row.veto_reason or "",
        rank=row.rank,
        ranked_in_stage=len(stats.ranked_totals),
        stage_count=stats.count,
        percentile=row.percentile,
        tier=tier,
        tier_name=explain.list_name(model, tier),
        subsidy=float(row.subsidy or 0.0),
        mujun=row.mujun or "",
        missing_count=int(row.missing_count or 0),
        indicators=indicators,
        radar=radar,
        explanations=explanations,
        gap=gap,
        moves=moves,
        previous=previous,
        states=states,
        extras={k: _breakdown_value(v) for k, v in breakdown.items() if k not in model_codes},
    )
    # One answer to "what does this enterprise lack" (core.pools) for the advice, 政策与服务 and 培育库.
    from services.self_report import current_year

    portrait.report_year = current_year(session)
    if not portrait.veto:
        portrait.pools = pool_results(session, actor=actor, portrait=portrait)
        portrait.moves = explain.cheapest_moves(
            model,
            stage,
            states,
            bonus_raw=bonus_raw,
            qualifications=qualifications(model, portrait.pools),
            report_year=portrait.report_year,
        )
    return portrait


def pool_facts(session: Session, *, actor: Actor, portrait: Portrait) -> dict[str, Any]:
    """The facts the cultivation pools test: the run's inputs, base fields, registration age, veto."""
    from core.pools import facts_for

    facts = simulation_base(session, actor=actor, portrait=portrait)
    enterprise = session.get(Enterprise, portrait.enterprise_id)
    if enterprise is not None and enterprise.registered_on is not None:
        facts["registered_years"] = (date(portrait.year, 12, 31) - enterprise.registered_on).days / 365.25
    facts["veto"] = portrait.veto
    facts["percentile"] = portrait.percentile
    return facts_for(portrait.model, facts)


def pool_results(session: Session, *, actor: Actor, portrait: Portrait) -> list:
    """Every cultivation pool for the portrait's enterprise (core.pools.evaluate_pools), nearest first."""
    from core.pools import evaluate_pools

    require_enterprise_access(actor, portrait.enterprise_id)
    return evaluate_pools(portrait.model, pool_facts(session, actor=actor, portrait=portrait))


# ------------------------------------------------------------------ what-if
def _own_values(session: Session, enterprise_id: int, year: int) -> dict[str, Any]:
    """Current values of one enterprise for ``year`` (base fields included) — one small query."""
    return enterprise_current_values(session, enterprise_id=enterprise_id, year=year)


def simulation_base(session: Session, *, actor: Actor, portrait: Portrait) -> dict[str, Any]:
    """The value-contract row the simulator starts from: the run's stored inputs, plus base fields and
    previous-year values (for derivations and special cases) from the database."""
    require_enterprise_access(actor, portrait.enterprise_id)
    model = portrait.model
    row: dict[str, Any] = {"credit_code": portrait.credit_code, "name": portrait.enterprise_name}
    current = _own_values(session, portrait.enterprise_id, portrait.year)
    previous = _own_values(session, portrait.enterprise_id, portrait.year - 1)
    for base in model.base_fields:
        row[base.code] = current.get(base.code)
    for code in {*(b.code for b in model.base_fields), *model.codes}:
        if code in previous:
            row[model.previous_prefix + code] = previous[code]
    row.update({k: v for k, v in portrait.extras.items() if v is not None})
    for state in portrait.states:
        row[state.code] = state.value
    return row


def simulate_changes(
    session: Session, *, actor: Actor, portrait: Portrait, base_row: dict[str, Any], changes: dict[str, Any]
) -> Any:
    """Re-score the portrait's enterprise with ``changes`` (nothing saved); returns core.simulate.SimResult."""
    from core.simulate import StageContext, simulate

    require_enterprise_access(actor, portrait.enterprise_id)
    run = session.get(ScoreRun, portrait.run_id)
    if run is None or (not actor.is_staff and run.state not in PUBLISHED_STATES):
        # A portrait object can be built by hand: an enterprise never measures itself against a draft run.
        raise PermissionDenied("只能基于已公示或已定稿的积分批次测算。")
    own = {s.code: explain.as_number(s.value) for s in portrait.states}

    def context_for(stage: str) -> StageContext:
        stats = stage_stats(session, run=run, stage=stage, model=portrait.model)
        mine = stage == portrait.stage
        return StageContext(
            distributions=stats.distributions,
            ranked_totals=stats.ranked_totals,
            own_values=own if mine else None,
            own_total=portrait.total if mine else None,
            own_ranked=mine and portrait.rank is not None,
        )

    return simulate(portrait.model, base_row, changes, context_for)
