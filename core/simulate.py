"""What-if: re-score one enterprise with changed inputs, against the stored stage distribution.

The engine scores the changed row together with synthetic rows that carry the *other* enterprises'
stored values of the percentile-rule indicators (their only cross-enterprise dependence), so the
percentile points are exactly what the engine would give in the run; every other rule only looks at the
row itself. The rank is estimated against the stored totals of the other ranked enterprises of the
stage, and the list tier from the model's cumulative shares. Nothing is saved.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core import engine
from core.explain import is_missing, list_size
from core.scoring_model import PercentileRule, ScoringModel


@dataclass(frozen=True)
class StageContext:
    """What the simulator needs of a stage: the stage's percentile-indicator values (all enterprises),
    the totals of its ranked enterprises, and — when the simulated enterprise belongs to it — its own
    stored values and total, so they can be taken out."""

    distributions: Mapping[str, np.ndarray]
    ranked_totals: np.ndarray
    own_values: Mapping[str, Any] | None = None
    own_total: float | None = None
    own_ranked: bool = False


@dataclass(frozen=True)
class SimResult:
    stage: str
    total: float
    technology: float | None  # the default model's classes (None under a model without them)
    growth: float | None
    bonus: float
    deduction: float
    veto: bool
    rank: int | None
    ranked: int  # enterprises ranked in the stage, including this one
    tier: str
    points: dict[str, float]


def _rederive(model: ScoringModel, row: dict[str, Any]) -> dict[str, Any]:
    """Recompute derived indicators whose inputs are present (so a changed base value flows through)."""
    out = dict(row)
    prefix = model.previous_prefix
    for d in model.derivations:
        if d.kind == "ratio":
            numerator, denominator = d.ratio_codes
            num, den = out.get(numerator), out.get(denominator)
            if num is None or den is None or is_missing(num) or is_missing(den):
                continue
            num, den = float(num), float(den)
            out[d.target] = num / den * d.scale if den > 0 else None
        else:
            cur, prev = out.get(d.growth_code), out.get(prefix + d.growth_code)
            if cur is None or prev is None or is_missing(cur) or is_missing(prev):
                continue
            cur, prev = float(cur), float(prev)
            out[d.target] = (cur - prev) / abs(prev) * 100 if prev != 0 else None
    return out


def _without_own(values: np.ndarray, own: Any) -> np.ndarray:
    """``values`` minus one occurrence of the enterprise's own stored value."""
    arr = np.asarray(values, dtype=float)
    try:
        own_f = float(own)
    except (TypeError, ValueError):
        own_f = math.nan
    idx = np.flatnonzero(np.isnan(arr)) if math.isnan(own_f) else np.flatnonzero(np.isclose(arr, own_f))
    return np.delete(arr, idx[0]) if len(idx) else arr


def estimate_rank(model: ScoringModel, total: float, other_totals: np.ndarray) -> tuple[int, int, str]:
    """(rank, ranked count, tier) for ``total`` among the other ranked totals of the stage."""
    others = np.asarray(other_totals, dtype=float)
    rank = int(np.sum(others > total + 1e-9)) + 1
    n = len(others) + 1
    tier = ""
    for t in model.tiers:  # cumulative shares, best list first
        if rank <= list_size(t.share, n):
            tier = t.code
            break
    return rank, n, tier


def simulate(
    model: ScoringModel,
    base_row: Mapping[str, Any],
    changes: Mapping[str, Any],
    context_for: Callable[[str], StageContext],
) -> SimResult:
    """Score ``base_row`` (value contract, one enterprise) with ``changes`` applied; nothing is stored.

    ``context_for(stage)`` supplies the stored context of the stage the changed row falls into.
    """
    row = _rederive(model, {**base_row, **changes})
    row.setdefault("credit_code", "SIMULATED")
    stage = str(engine.stage_codes(model, [row.get(model.stage_indicator)])[0])
    ctx = context_for(stage)
    own = ctx.own_values or {}

    perc_codes = [i.code for i in model.indicators if isinstance(i.rule, PercentileRule)]
    columns: dict[str, np.ndarray] = {}
    for code in perc_codes:
        dist = ctx.distributions.get(code)
        dist = np.empty(0) if dist is None else np.asarray(dist, dtype=float)
        columns[code] = _without_own(dist, own.get(code)) if ctx.own_values is not None else dist
    n_syn = min((len(v) for v in columns.values()), default=0)
    synthetic = pd.DataFrame({c: v[:n_syn] for c, v in columns.items()})
    # Synthetic rows must fall in the simulated stage to share its percentile pool (a missing stage
    # value only occurs in the first stage, whose floor is where a missing value lands anyway).
    floor = next(s.min_revenue for s in model.stages if s.code == stage)
    if model.stage_indicator not in synthetic.columns:
        synthetic[model.stage_indicator] = floor
    else:
        synthetic[model.stage_indicator] = synthetic[model.stage_indicator].fillna(floor)
    synthetic["credit_code"] = [f"~{i:07d}" for i in range(n_syn)]
    frame = pd.concat([pd.DataFrame([row]), synthetic], ignore_index=True)
    scored = engine.score(model, frame)
    me = scored.iloc[0]

    others = np.asarray(ctx.ranked_totals, dtype=float)
    if ctx.own_ranked and ctx.own_total is not None:
        others = _without_own(others, ctx.own_total)
    veto = bool(me["veto"])
    total = float(me["total"])
    if veto:
        rank, n, tier = None, len(others), ""
    else:
        rank, n, tier = estimate_rank(model, total, others)
    return SimResult(
        stage=stage,
        total=total,
        technology=float(me["technology"]) if "technology" in scored.columns else None,
        growth=float(me["growth"]) if "growth" in scored.columns else None,
        bonus=float(me["bonus"]),
        deduction=float(me["deduction"]),
        veto=veto,
        rank=rank,
        ranked=n,
        tier=tier,
        points={i.code: float(me["pts_" + i.code]) for i in model.indicators},
    )
