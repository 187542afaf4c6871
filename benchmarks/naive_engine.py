"""A deliberately naive per-row implementation of the same model — the baseline for the benchmark.

Reads the same TOML through `core.scoring_model`, takes the same prepared measures
(`core.measures.prepare_inputs`), then loops over enterprises in Python: per-row rule evaluation,
percentiles by bisect over per-stage sorted lists, ranking with `sorted` on a key tuple. It is written
independently of the vectorised engine (only the cell parsing is shared) and must give the same totals,
ranks, lists and subsidies; it also serves as a cross-check in the unit tests.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np
import pandas as pd

from core.measures import prepare_inputs
from core.scoring_model import Indicator, ScoringModel


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _bands(bands, direction: str, v: float) -> float:
    if _nan(v):
        return 0.0
    for b in bands:
        if (v >= b.at) if direction == "higher" else (v <= b.at):
            return b.f
    return 0.0


def _f(ind: Indicator, row: dict, stage: str, pct: dict) -> float:
    r = ind.rule
    v = row[ind.code]
    t = r.type
    if t == "percentile":
        return pct.get((ind.code, row["_i"]), 0.0)
    if t == "bands":
        f = _bands(r.bands, r.direction, v)
        a = r.alternative
        if a is not None:
            g, den, num = row[a.field], row[a.denominator], row[a.numerator]
            if not _nan(g) and g < a.below and not _nan(den) and den > 0 and not _nan(num):
                f = _bands(a.bands, "higher", num / den * a.scale)
        z = r.zero_base
        if z is not None and row[z.field] == 0 and not _nan(row[z.current]) and row[z.current] > 0:
            f = z.f
        c = r.cap_below
        if c is not None and not _nan(row[c.field]) and row[c.field] < c.below:
            f = min(f, c.max_f)
        return f
    if t == "linear_cap":
        if _nan(v):
            return 0.0
        cap = r.caps[stage] if r.caps else r.cap
        return min(1.0, max(0.0, v / cap))
    div = 1.0
    if (t == "items" and r.weights_in_points) or (t == "flag" and r.components):
        div = ind.max_points
    return 0.0 if _nan(v) else min(1.0, max(0.0, v / div))


def _missing(ind: Indicator, row: dict) -> bool:
    if ind.rule.type not in ("bands", "linear_cap", "percentile") or not _nan(row[ind.code]):
        return False
    r = ind.rule
    if r.type == "bands":
        a = r.alternative
        if a is not None:
            g, den, num = row[a.field], row[a.denominator], row[a.numerator]
            if not _nan(g) and g < a.below and not _nan(den) and den > 0 and not _nan(num):
                return False
        z = r.zero_base
        if z is not None and row[z.field] == 0 and not _nan(row[z.current]) and row[z.current] > 0:
            return False
    return True


def naive_score(model: ScoringModel, inputs: pd.DataFrame) -> pd.DataFrame:
    """Same result columns as core.engine.score for the headline fields (no f_/pts_ columns)."""
    X = prepare_inputs(model, inputs)
    rows = X.to_dict("records")
    stages = model.stages
    for i, row in enumerate(rows):
        row["_i"] = i
        g = row[model.stage_indicator]
        stage = stages[0].code
        if not _nan(g):
            for s in stages:
                if g >= s.min_revenue and (s.max_revenue is None or g < s.max_revenue):
                    stage = s.code
        row["_stage"] = stage

    # percentiles: per stage and indicator, a sorted list of the positive values, bisect per row
    pct: dict[tuple[str, int], float] = {}
    for ind in model.indicators:
        if ind.rule.type != "percentile":
            continue
        for s in stages:
            vals = sorted(
                row[ind.code]
                for row in rows
                if row["_stage"] == s.code and not _nan(row[ind.code]) and row[ind.code] > 0
            )
            m = len(vals)
            for row in rows:
                v = row[ind.code]
                if row["_stage"] != s.code or _nan(v) or v <= 0:
                    continue
                below = bisect.bisect_left(vals, v)
                equal = bisect.bisect_right(vals, v) - below
                pct[(ind.code, row["_i"])] = 1.0 if m == 1 else (below + 0.5 * (equal - 1)) / (m - 1)

    out = []
    for row in rows:
        stage = row["_stage"]
        sub = {"technology": 0.0, "growth": 0.0, "bonus": 0.0, "deduction": 0.0}
        veto, missing = [], []
        for ind in model.indicators:
            f = _f(ind, row, stage, pct)
            if ind.cls == "veto":
                if f > 0:
                    veto.append(ind.name)
                continue
            pts = f * (ind.points[stage] if ind.is_core else ind.max_points)
            sub[ind.cls] += pts
            if ind.is_core and _missing(ind, row):
                missing.append(ind.code)
        core = sub["technology"] + sub["growth"]
        bonus = min(model.bonus_cap, sub["bonus"])
        total = max(0.0, core + bonus - sub["deduction"])
        out.append(
            {
                "credit_code": row["credit_code"],
                "stage": stage,
                "technology": float(np.round(sub["technology"], 2)),
                "growth": float(np.round(sub["growth"], 2)),
                "core": float(np.round(core, 2)),
                "bonus": float(np.round(bonus, 2)),
                "deduction": float(np.round(sub["deduction"], 2)),
                "total": float(np.round(total, 2)),
                "veto": bool(veto),
                "veto_reason": "；".join(veto),
                "missing": ",".join(missing),
            }
        )

    # ranking by the model's tie-break order, within stage, among non-vetoed
    def key(o: dict) -> tuple:
        parts: list[Any] = []
        for tb in model.tie_break:
            v = o[tb.key] if tb.key in o else rows[o["_row"]][tb.key]
            if tb.key == "credit_code":
                parts.append(str(v))
            elif _nan(v):
                parts.append((1, 0.0))
            else:
                parts.append((0, -v if tb.order == "desc" else v))
        return tuple(parts)

    for i, o in enumerate(out):
        o["_row"] = i
        o["rank"], o["percentile"], o["tier"], o["subsidy"], o["mujun"] = None, math.nan, "", 0.0, ""
    for s in stages:
        members = sorted((o for o in out if o["stage"] == s.code and not o["veto"]), key=key)
        n = len(members)
        sub = next((x for x in model.subsidies if x.stage == s.code), None)
        for r, o in enumerate(members, start=1):
            o["rank"] = r
            o["percentile"] = 100.0 if n == 1 else round(100.0 * (n - r) / (n - 1), 4)
            for t in model.tiers:
                if r <= math.ceil(round(t.share * n, 9)):
                    o["tier"] = t.code
                    break
            for mj in model.mujun:
                if r <= math.ceil(round(mj.share * n, 9)):
                    o["mujun"] = mj.code
                    break
            if sub is not None and r <= min(sub.max_count, math.ceil(round(sub.share * n, 9))):
                o["subsidy"] = sub.amount
    df = pd.DataFrame(out).drop(columns=["_row"])
    df["rank"] = df["rank"].astype("Int64")
    return df
