"""Plain-Chinese explanations of an enterprise's points, the gap to the next list, and the cheapest moves.

Everything is read from the `ScoringModel` (rules, bands, caps, categories, weights) and from the stored
per-indicator result (raw value, fraction ``f``, points). Nothing here knows an indicator code.

The explanation trusts the stored ``f`` and ``pts``; where the plain band reading of the value does not
reproduce the stored ``f`` (special cases such as the cost-based bands for tiny revenue, the zero-base
growth rule, or a cap on small bases) the sentence says so and no band move is proposed.

A *move* is the smallest realistic improvement of one indicator: the next band, one more unit towards a
cap, the next tier, one more item, a higher percentile decile, reporting a missing value, or clearing a
deduction. Its ``cost`` is a rough, unit-free effort (the share of the value still lacking; fixed levels
for new recognitions and items; reporting missing data is nearly free); moves are ranked by effort per
point gained.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core import listtext
from core.measures import is_missing
from core.scoring_model import (
    BandsRule,
    FlagRule,
    Indicator,
    ItemsRule,
    LinearCapRule,
    PercentileRule,
    ScoringModel,
    TierRule,
)

COUNT_UNITS = ("件", "人", "项", "个", "家")
EPS = 1e-6
# Unit-free effort of the move kinds that are not a continuous increase (see the module docstring).
COST_REPORT_MISSING = 0.05
COST_DEPARTMENT_DATA = 0.3
COST_ITEM = 0.5
COST_TIER = 0.8
COST_FLAG = 1.0
COST_CLEAR_DEDUCTION = 0.9
COST_PER_MISSING_CONDITION = 0.5  # a qualification whose conditions are not all met yet


@dataclass(frozen=True)
class Move:
    code: str
    name: str
    action: str  # Chinese: what to do
    gain: float  # points on the total
    cost: float  # unit-free effort
    target: Any = None

    @property
    def cost_per_point(self) -> float:
        return self.cost / self.gain if self.gain > EPS else math.inf


@dataclass(frozen=True)
class Gap:
    tier: str  # the list to reach (code, e.g. 竞跑)
    tier_name: str
    cutoff_total: float  # total of the last enterprise on that list
    points_needed: float
    rank_needed: int


@dataclass
class IndicatorState:
    """One indicator of one enterprise, as stored in a run's breakdown."""

    code: str
    value: Any
    f: float
    pts: float
    source: str | None = None
    distribution: np.ndarray | None = field(default=None, repr=False)  # stage values (percentile rules)


# ------------------------------------------------------------------ formatting
def _g(x: float, digits: int = 2) -> str:
    """Short number: 3.2, 120, 1,234.5."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if abs(x) >= 1000:
        return f"{x:,.{0 if float(x).is_integer() else 1}f}"
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def fmt_value(value: Any, unit: str = "", indicator: Any = None) -> str:
    """A value with its unit, in Chinese reading: 3.2%, 120 万元, 5 件, 是/否, lists as
    ``省级·牵头 1 项；市级·参与 2 项`` (core.listtext, grouped as the indicator's item fields declare)."""
    if is_missing(value):
        return "暂无数据"
    if isinstance(value, bool):
        return "是" if value else "否"
    readable = listtext.value_text(value, indicator)
    if readable is not None:
        return readable
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if unit == "%":
        return f"{_g(number)}%"
    if unit == "是/否":
        return "是" if number else "否"
    return f"{_g(number)} {unit}".strip()


def _as_items(value: Any) -> list | None:
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, list) else None


def as_number(value: Any) -> float | None:
    if is_missing(value) or isinstance(value, list | dict):
        return None
    try:
        return float(str(value).replace(",", "").rstrip("%")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------ rule helpers
def band_f(rule: BandsRule, value: float) -> float:
    """f of the plain bands (no special cases)."""
    for band in rule.bands:
        if (rule.direction == "higher" and value >= band.at) or (
            rule.direction == "lower" and value <= band.at
        ):
            return band.f
    return 0.0


def _band_label(rule: BandsRule, value: float, unit: str) -> str:
    bands = rule.bands
    for i, band in enumerate(bands):
        hit = value >= band.at if rule.direction == "higher" else value <= band.at
        if not hit:
            continue
        if i == 0:
            sign = "≥" if rule.direction == "higher" else "≤"
            return f"{sign}{_g(band.at)}{unit} 档（最高档）"
        upper = bands[i - 1].at
        lo, hi = (band.at, upper) if rule.direction == "higher" else (upper, band.at)
        return f"{_g(lo)}{unit}–{_g(hi)}{unit} 档"
    last = bands[-1].at
    return f"最低档（{_g(last)}{unit}）以下" if rule.direction == "higher" else f"{_g(last)}{unit} 以上"


def _next_band(rule: BandsRule, value: float) -> tuple[float, float] | None:
    """(threshold, f) of the next better band, or None at the top."""
    current = band_f(rule, value)
    better = [b for b in rule.bands if b.f > current + EPS]
    if not better:
        return None
    target = better[-1]  # bands run best → worst: the last better one is the nearest
    return target.at, target.f


def max_points(ind: Indicator, stage: str) -> float:
    return ind.max_for(stage)


def percentile_f(distribution: np.ndarray, value: float) -> float:
    """The model's mid-rank percentile of ``value`` among the positive ``distribution`` (which includes it)."""
    if value is None or value <= 0:
        return 0.0
    pos = np.sort(distribution[distribution > 0])
    n = len(pos)
    if n <= 1:
        return 1.0
    below = int(np.searchsorted(pos, value, side="left"))
    equal = int(np.searchsorted(pos, value, side="right")) - below
    return (below + 0.5 * (max(equal, 1) - 1)) / (n - 1)


def percentile_step(
    distribution: np.ndarray, value: float, f_now: float, *, step: float = 0.1, integer: bool = False
) -> tuple[float, float] | None:
    """(target value, new f): the smallest value above ``value`` whose percentile, among the stage's other
    values, is at least ``step`` higher than ``f_now`` (None when no such value exists).

    Every candidate target (just above each higher value) is scored at once against the others sorted
    once — what :func:`percentile_f` gives for the others plus that target — instead of a sort of the
    whole stage per candidate (seconds for an enterprise far down a stage of 20,000)."""
    arr = np.asarray(distribution, dtype=float)
    arr = arr[~np.isnan(arr)]
    idx = np.flatnonzero(np.isclose(arr, value))
    others = np.delete(arr, idx[0]) if len(idx) else arr
    candidates = np.unique(others[others > value])
    if not len(candidates):
        return None
    targets = np.floor(candidates) + 1 if integer else candidates * 1.0001
    pos = np.sort(others[others > 0])
    n = len(pos) + 1  # the others' positive values and the target
    below = np.searchsorted(pos, targets, side="left")
    equal = np.searchsorted(pos, targets, side="right") - below + 1  # the target itself included
    f_new = (below + 0.5 * (equal - 1)) / (n - 1) if n > 1 else np.ones(len(targets))
    f_new = np.where(targets > 0, f_new, 0.0)
    reached = np.flatnonzero(f_new >= min(1.0, f_now + step) - 1e-9)
    if not len(reached):
        return None
    first = int(reached[0])
    return float(targets[first]), float(f_new[first])


# ------------------------------------------------------------------ explanation
def explain_indicator(model: ScoringModel, stage: str, state: IndicatorState) -> str:
    """One sentence: value, band/position, points / maximum, and what the next step would bring."""
    ind = model.indicator(state.code)
    rule = ind.rule
    top = ind.max_for(stage)
    value = state.value
    head = f"{ind.name} {fmt_value(value, ind.unit, ind)}"
    if ind.kind == "veto":
        return f"{ind.name}：{'存在，一票否决' if state.f > 0 else '无'}。"
    sign = "扣" if ind.kind == "deduction" else "得"
    got = f"{sign} {state.pts:.2f}/{_g(top)} 分"
    move = improvement(model, stage, state)
    tail = ""
    if move is not None and ind.kind != "deduction":
        tail = f"；{move.action.removeprefix(ind.name)} 可再得 {move.gain:.2f} 分"

    if is_missing(value) and rule.type in ("bands", "linear_cap", "percentile"):
        if state.f > EPS:
            return f"{ind.name}：按特殊规则{got}。"
        return f"{ind.name}：暂无数据（数据缺失），{got}{tail}。"
    v = as_number(value)
    if isinstance(rule, BandsRule) and v is not None:
        plain = band_f(rule, v)
        if abs(plain - state.f) > 1e-4:
            return f"{head}，按特殊规则（替代口径、零基数或小基数封顶）计，{got}。"
        return f"{head}，位于 {_band_label(rule, v, ind.unit)}，{got}{tail}。"
    if isinstance(rule, LinearCapRule) and v is not None:
        cap = rule.cap_for(stage)
        return f"{head}，达到 {_g(cap or 0)} {ind.unit}得满分，{got}{tail}。"
    if isinstance(rule, PercentileRule):
        if v is None or v <= 0:
            return f"{head}，数值不大于 0 不参与排序，{got}。"
        return f"{head}，在同阶段企业中超过约 {state.f * 100:.0f}% 的企业，{got}{tail}。"
    if isinstance(rule, TierRule):
        label = str(value).strip() if not is_missing(value) else "无"
        return f"{ind.name}：{label}，{got}{tail}。"
    if isinstance(rule, ItemsRule):
        items = _as_items(value) or []
        return f"{ind.name}：{len(items)} 项，{got}{tail}。"
    if isinstance(rule, FlagRule):
        if ind.kind == "deduction":
            return f"{ind.name}：{'有，' + got if state.pts > EPS else '无，不扣分'}。"
        return f"{ind.name}：{'是' if state.f > EPS else '否'}，{got}{tail}。"
    return f"{head}，{got}。"


def explain_all(model: ScoringModel, stage: str, states: list[IndicatorState]) -> list[str]:
    return [explain_indicator(model, stage, s) for s in states]


# ------------------------------------------------------------------ moves
def improvement(
    model: ScoringModel,
    stage: str,
    state: IndicatorState,
    *,
    qualifications: Mapping[str, Any] | None = None,
    report_year: int | None = None,
) -> Move | None:
    """The smallest realistic improvement of one indicator and the points it adds (before the bonus cap).

    ``qualifications`` maps a qualification indicator (高企, 科小 …) to what the enterprise lacks for it —
    ``core.pools.evaluate_pools``' result for the pool that indicator marks (``met``, ``gaps``) — so the
    advice never proposes a qualification the 政策与服务 page says is out of reach without saying what is
    missing. ``report_year`` names the 数据填报 year a missing self-reported value goes into."""
    ind = model.indicator(state.code)
    rule = ind.rule
    top = ind.max_for(stage)
    if top <= 0 or ind.kind == "veto":
        return None
    if ind.kind == "deduction":
        if state.pts <= EPS:
            return None
        return Move(
            ind.code, ind.name, f"消除“{ind.name}”（整改或信用修复）", state.pts, COST_CLEAR_DEDUCTION
        )
    if state.f >= 1 - EPS:
        return None
    derived = {d.target for d in model.derivations}
    v = as_number(state.value)

    if is_missing(state.value) and rule.type in ("bands", "linear_cap", "percentile"):
        if ind.code in derived:
            return None
        # Reporting a value costs little; its points depend on the value, so claim the first step only.
        first = _first_step_f(rule, stage, state)
        if first <= EPS:
            return None
        if ind.self_reported:
            where = f"在 {report_year} 年度数据填报中" if report_year else "在数据填报中"
            return Move(ind.code, ind.name, f"{where}补报“{ind.name}”", first * top, COST_REPORT_MISSING)
        return Move(
            ind.code,
            ind.name,
            f"请{ind.source or '主管部门'}核实并补充“{ind.name}”数据",
            first * top,
            COST_DEPARTMENT_DATA,
        )

    if isinstance(rule, BandsRule) and v is not None:
        if abs(band_f(rule, v) - state.f) > 1e-4:
            return None
        nxt = _next_band(rule, v)
        if nxt is None:
            return None
        at, f_new = nxt
        verb = "达到" if rule.direction == "higher" else "降到"
        base = max(abs(at), 1.0)
        cost = min(1.0, abs(at - v) / base)
        return Move(
            ind.code, ind.name, f"{ind.name}{verb} {_g(at)}{ind.unit}", (f_new - state.f) * top, cost, at
        )
    if isinstance(rule, LinearCapRule) and v is not None:
        cap = rule.cap_for(stage)
        if not cap:
            return None
        if ind.unit in COUNT_UNITS:
            target: float = math.floor(v) + 1
            f_new = min(1.0, target / cap)
            action = (
                f"{ind.name}达到 1 {ind.unit}"
                if target == 1
                else f"{ind.name}增加 1 {ind.unit}（到 {_g(target)} {ind.unit}）"
            )
            return Move(
                ind.code, ind.name, action, (f_new - state.f) * top, min(1.0, 1 / max(cap, 1.0)), target
            )
        return Move(
            ind.code,
            ind.name,
            f"{ind.name}达到 {_g(cap)} {ind.unit}",
            (1 - state.f) * top,
            min(1.0, (cap - v) / cap),
            cap,
        )
    if isinstance(rule, PercentileRule) and v is not None and state.distribution is not None:
        found = percentile_step(state.distribution, v, state.f, integer=ind.unit in COUNT_UNITS)
        if found is None:
            return None
        target, f_new = found
        cost = min(1.0, (target - v) / max(abs(v), abs(target) * 0.1, EPS))
        return Move(
            ind.code,
            ind.name,
            f"{ind.name}达到约 {fmt_value(target, ind.unit)}",
            max(0.0, f_new - state.f) * top,
            cost,
            target,
        )
    if isinstance(rule, TierRule):
        better = [c for c in rule.categories if c.f > state.f + EPS]
        if not better:
            return None
        tier = min(better, key=lambda c: c.f)
        return Move(
            ind.code,
            ind.name,
            f"{ind.name}达到“{tier.label}”",
            (tier.f - state.f) * top,
            COST_TIER,
            tier.label,
        )
    if isinstance(rule, ItemsRule):
        level, weight = min(
            ((k, w) for k, w in rule.weights.items() if w > 0), key=lambda kw: kw[1], default=(None, 0.0)
        )
        if level is None:
            return None
        step = weight / top if rule.weights_in_points else weight
        gain = (min(1.0, state.f + step) - state.f) * top
        return Move(ind.code, ind.name, f"新增 1 项{level}级“{ind.name}”", gain, COST_ITEM, level)
    if isinstance(rule, FlagRule) and not rule.components:
        lacking = (qualifications or {}).get(ind.code)
        if lacking is None:
            return Move(ind.code, ind.name, f"取得“{ind.name}”", (1 - state.f) * top, COST_FLAG)
        if lacking.met:
            return Move(
                ind.code, ind.name, f"申请认定“{ind.name}”（已满足认定条件）", (1 - state.f) * top, COST_FLAG
            )
        gaps = list(lacking.gaps)
        return Move(
            ind.code,
            ind.name,
            f"补齐“{ind.name}”的 {len(gaps)} 项认定条件后申请认定（{'；'.join(gaps)}）",
            (1 - state.f) * top,
            COST_FLAG + COST_PER_MISSING_CONDITION * len(gaps),
        )
    return None


def _first_step_f(rule: Any, stage: str, state: IndicatorState) -> float:
    if isinstance(rule, BandsRule):
        return rule.bands[-1].f  # the lowest scoring band, whichever the direction
    if isinstance(rule, LinearCapRule):
        cap = rule.cap_for(stage)
        return min(1.0, 1.0 / cap) if cap else 0.0
    if isinstance(rule, PercentileRule):
        return 0.5 if state.distribution is None or len(state.distribution) else 1.0
    return 0.0


def cheapest_moves(
    model: ScoringModel,
    stage: str,
    states: list[IndicatorState],
    *,
    bonus_raw: float,
    n: int = 3,
    qualifications: Mapping[str, Any] | None = None,
    report_year: int | None = None,
) -> list[Move]:
    """The ``n`` moves with the least effort per point, gains adjusted for the bonus cap (``qualifications``
    and ``report_year``: see :func:`improvement`)."""
    cap_room = max(0.0, model.bonus_cap - bonus_raw) if bonus_raw < model.bonus_cap else 0.0
    moves = []
    for state in states:
        move = improvement(model, stage, state, qualifications=qualifications, report_year=report_year)
        if move is None:
            continue
        if model.indicator(state.code).kind == "bonus":
            gain = min(move.gain, cap_room)
            if gain <= EPS:
                continue
            move = Move(move.code, move.name, move.action, gain, move.cost, move.target)
        if move.gain > EPS:
            moves.append(move)
    moves.sort(key=lambda m: (m.cost_per_point, -m.gain, m.code))
    return moves[:n]


# ------------------------------------------------------------------ lists
def list_size(share: float, n: int) -> int:
    """How many of ``n`` ranked enterprises a cumulative list share covers: ⌈share·n⌉, at least one."""
    return max(1, math.ceil(share * n - 1e-9))


def gap_to_next_list(
    model: ScoringModel, *, total: float, tier: str, ranked_totals: np.ndarray, veto: bool = False
) -> Gap | None:
    """Points needed to reach the next better list of the stage (None when on the top list or vetoed).

    ``ranked_totals``: totals of the stage's ranked (non-vetoed) enterprises in rank order (descending).
    The cut-off of a list is the total of its last enterprise (cumulative ⌈share·N⌉).
    """
    if veto or not model.tiers:
        return None
    codes = [t.code for t in model.tiers]  # best list first
    if tier in codes:
        position = codes.index(tier)
        if position == 0:
            return None
        target = model.tiers[position - 1]
    else:
        target = model.tiers[-1]
    n = len(ranked_totals)
    if n == 0:
        return None
    cut = min(n, list_size(target.share, n))
    cutoff = float(ranked_totals[cut - 1])
    needed = max(0.0, round(cutoff - total, 2)) + 0.01
    return Gap(target.code, target.name, cutoff, round(needed, 2), cut)


def list_name(model: ScoringModel, tier: str) -> str:
    for t in model.tiers:
        if t.code == tier:
            return t.name
    return "未上榜"
