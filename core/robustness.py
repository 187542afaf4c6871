"""Rank robustness of a run: how much do ranks and lists depend on the exact point values?

Every point value of the model (each core indicator's points per stage, each auxiliary indicator's
maximum) is multiplied by an independent factor drawn uniformly from [1 − spread, 1 + spread]; the
fractions f of the run stay as they are (they depend on the data, not on the points). For every draw
the totals are rebuilt exactly as the engine does (class caps, bonus cap, deductions, floor at 0),
enterprises are re-ranked within their stage (vetoed ones stay out) and the lists re-cut.

Vectorised: per stage and class one matrix product (enterprises × indicators) · (indicators × draws),
one argsort per stage over all draws at once. Nothing loops over enterprises.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.scoring_model import ScoringModel

DRAWS = 200
SPREAD = 0.2
SEED = 20241
FRAGILE_BELOW = 0.9  # a list member keeping its list in fewer draws than this is fragile
_BLOCK = 50  # draws per block: bounds the (enterprises × draws) temporaries


def _ceil_share(share: float, n: int) -> int:
    return int(np.ceil(np.round(share * n, 9)))


def _tier_index(model: ScoringModel, ranks: np.ndarray, n_ranked: int) -> np.ndarray:
    """List position per rank (0 = first list …, len(tiers) = none), ranks 1-based."""
    out = np.full(ranks.shape, len(model.tiers), dtype=np.int16)
    for j in range(len(model.tiers) - 1, -1, -1):
        out[ranks <= _ceil_share(model.tiers[j].share, n_ranked)] = j
    return out


def _totals(
    model: ScoringModel, cols: dict[str, np.ndarray], points: np.ndarray, FT: np.ndarray, U: np.ndarray
) -> np.ndarray:
    """(draws × enterprises) totals of one stage for the factor rows of U (draws × indicators), added up as
    the engine does: class caps, the bonus cap, deductions, the floor at 0, cents."""
    core = np.zeros((U.shape[0], FT.shape[1]))
    bonus = np.zeros_like(core)
    deduction = np.zeros_like(core)
    agg = {"core": core, "bonus": bonus, "deduction": deduction}
    for c in model.scored_classes:
        j = cols[c.code]
        if len(j) == 0:
            continue
        sub = (points[j][None, :] * U[:, j]) @ FT[j]
        if c.cap is not None:
            np.minimum(sub, c.cap, out=sub)
        agg[c.kind] += sub
    np.minimum(bonus, model.bonus_cap, out=bonus)
    total = core + bonus - deduction
    np.maximum(total, 0.0, out=total)
    return np.round(total, 2)  # the engine ranks cent-rounded totals


def _ranks(total: np.ndarray) -> np.ndarray:
    """1-based ranks along each row (a draw); the stable sort keeps the tie-break order of the columns."""
    pos = np.argsort(-total, axis=1, kind="stable")
    r = np.empty_like(pos)
    np.put_along_axis(r, pos, np.arange(1, total.shape[1] + 1)[None, :], axis=1)
    return r


def rank_robustness(
    model: ScoringModel,
    *,
    stage: np.ndarray,
    fractions: np.ndarray,
    veto: np.ndarray,
    order: np.ndarray | None = None,
    draws: int = DRAWS,
    spread: float = SPREAD,
    seed: int = SEED,
    fragile_below: float = FRAGILE_BELOW,
) -> pd.DataFrame:
    """Per enterprise (row order kept): baseline ``rank`` and ``tier``, the 5–95 % rank interval
    (``rank_low``, ``rank_high``), the extremes (``rank_best``, ``rank_worst``), ``p_keep`` (share of
    draws with the same list as the baseline; for enterprises on no list, the share staying off) and
    ``fragile`` (on a list, p_keep < fragile_below). Vetoed rows get NaN ranks.

    stage: stage code per row; fractions: rows × model.indicators (f of the run); order: tie-break
    position per row (lower first; default row order) — ties in a draw keep the run's order.
    """
    n, m = fractions.shape
    assert m == len(model.indicators)
    stage_codes = model.stage_codes
    st = pd.Series(stage).map({c: k for k, c in enumerate(stage_codes)}).to_numpy(dtype=np.int64)
    veto = np.asarray(veto, dtype=bool)
    order = np.arange(n) if order is None else np.asarray(order)
    rng = np.random.default_rng(seed)
    S = len(stage_codes)
    # points[s, j]: the model's point value of indicator j in stage s
    points = np.array([[ind.max_for(s) for ind in model.indicators] for s in stage_codes], dtype=np.float64)
    factors = rng.uniform(1 - spread, 1 + spread, size=(draws, S, m))
    cols = {
        c.code: np.array([k for k, i in enumerate(model.indicators) if i.cls == c.code], dtype=np.int64)
        for c in model.scored_classes
    }

    rank_low = np.full(n, np.nan)
    rank_high = np.full(n, np.nan)
    rank_best = np.full(n, np.nan)
    rank_worst = np.full(n, np.nan)
    base_rank = np.full(n, np.nan)
    base_tier = np.full(n, len(model.tiers), dtype=np.int16)
    p_keep = np.full(n, np.nan)

    for s in range(S):
        rows = np.flatnonzero((st == s) & ~veto)
        if len(rows) == 0:
            continue
        rows = rows[np.argsort(order[rows], kind="stable")]  # ties keep the run's order
        n_s = len(rows)
        F = fractions[rows]

        FT = np.ascontiguousarray(F.T)  # indicators × enterprises
        base = _ranks(_totals(model, cols, points[s], FT, np.ones((1, m))))[0]
        tier0 = _tier_index(model, base, n_s)
        all_ranks = np.empty((draws, n_s), dtype=np.int64)
        for b in range(0, draws, _BLOCK):
            all_ranks[b : b + _BLOCK] = _ranks(
                _totals(model, cols, points[s], FT, factors[b : b + _BLOCK, s, :])
            )
        keep = (_tier_index(model, all_ranks, n_s) == tier0[None, :]).mean(axis=0)
        by_row = np.sort(all_ranks.T, axis=1)  # enterprises × draws, each row's ranks ascending
        base_rank[rows] = base
        base_tier[rows] = tier0
        rank_low[rows] = by_row[:, int(np.floor(0.05 * (draws - 1)))]
        rank_high[rows] = by_row[:, int(np.ceil(0.95 * (draws - 1)))]
        rank_best[rows] = by_row[:, 0]
        rank_worst[rows] = by_row[:, -1]
        p_keep[rows] = keep

    labels = np.array([t.code for t in model.tiers] + [""], dtype=object)
    on_list = (base_tier < len(model.tiers)) & ~veto
    return pd.DataFrame(
        {
            "stage": stage,
            "rank": pd.array(np.where(np.isnan(base_rank), np.nan, base_rank), dtype="Float64").astype(
                "Int64"
            ),
            "tier": labels[base_tier],
            "rank_low": rank_low,
            "rank_high": rank_high,
            "rank_best": rank_best,
            "rank_worst": rank_worst,
            "p_keep": p_keep,
            "fragile": on_list & (p_keep < fragile_below),
        }
    )
