from __future__ import annotations

import math

import numpy as np
import pytest

from core import explain
from core.explain import IndicatorState
from core.model_loading import load_model
from core.scoring_model import BandsRule, LinearCapRule


@pytest.fixture(scope="module")
def model():  # noqa: ANN201
    return load_model()


def _bands_indicator(model):  # noqa: ANN001, ANN202
    return next(
        i
        for i in model.indicators
        if isinstance(i.rule, BandsRule) and i.rule.direction == "higher" and i.rule.alternative is not None
    )


def test_band_sentence_names_band_points_and_next_step(model) -> None:  # noqa: ANN001
    ind = _bands_indicator(model)  # the R&D intensity of the default model
    stage = model.stage_codes[2]
    bands = ind.rule.bands
    low, high = bands[-3], bands[-4]  # e.g. 3%–4%
    value = (low.at + high.at) / 2
    top = ind.max_for(stage)
    state = IndicatorState(ind.code, value, low.f, low.f * top)
    text = explain.explain_indicator(model, stage, state)
    assert ind.name in text
    assert f"{low.at:g}%–{high.at:g}% 档" in text
    assert f"{low.f * top:.2f}/{top:g} 分" in text
    assert f"达到 {high.at:g}% 可再得 {(high.f - low.f) * top:.2f} 分" in text


def test_special_rules_are_not_explained_as_bands(model) -> None:  # noqa: ANN001
    ind = _bands_indicator(model)
    stage = model.stage_codes[0]
    state = IndicatorState(ind.code, 0.5, 0.7, 0.7 * ind.max_for(stage))  # cost-based bands gave 0.7
    assert "特殊规则" in explain.explain_indicator(model, stage, state)
    assert explain.improvement(model, stage, state) is None


def test_missing_value_is_flagged_and_cheap_to_fix(model) -> None:  # noqa: ANN001
    ind = next(i for i in model.indicators if i.self_reported and i.rule.type in ("bands", "percentile"))
    stage = model.stage_codes[1]
    state = IndicatorState(ind.code, None, 0.0, 0.0)
    assert "数据缺失" in explain.explain_indicator(model, stage, state)
    move = explain.improvement(model, stage, state)
    assert move is not None and move.cost == explain.COST_REPORT_MISSING and "补报" in move.action


def test_linear_cap_counts_one_more_unit(model) -> None:  # noqa: ANN001
    ind = next(
        i for i in model.indicators if isinstance(i.rule, LinearCapRule) and i.rule.caps and i.unit == "件"
    )
    stage = model.stage_codes[2]
    cap = ind.rule.caps[stage]
    top = ind.max_for(stage)
    state = IndicatorState(ind.code, 1, 1 / cap, top / cap)
    move = explain.improvement(model, stage, state)
    assert move is not None and move.target == 2
    assert move.gain == pytest.approx(top / cap)


def test_percentile_move_reaches_the_next_decile(model) -> None:  # noqa: ANN001
    ind = next(i for i in model.indicators if i.rule.type == "percentile")
    stage = model.stage_codes[2]
    dist = np.arange(1, 101, dtype=float)
    f = explain.percentile_f(dist, 50.0)
    state = IndicatorState(ind.code, 50.0, f, f * ind.max_for(stage), distribution=dist)
    move = explain.improvement(model, stage, state)
    assert move is not None and move.target > 50
    assert move.gain >= 0.1 * ind.max_for(stage) - 1e-9


def test_percentile_matches_the_model_definition() -> None:
    dist = np.array([0.0, 10.0, 20.0, 20.0, 30.0])
    assert explain.percentile_f(dist, 20.0) == pytest.approx((1 + 0.5) / 3)
    assert explain.percentile_f(dist, 30.0) == 1.0
    assert explain.percentile_f(dist, 0.0) == 0.0


def _step_by_definition(distribution, value, f_now, *, step=0.1, integer=False):  # noqa: ANN001, ANN202
    """percentile_step as the model defines it: each higher candidate tried in turn with percentile_f."""
    arr = np.asarray(distribution, dtype=float)
    arr = arr[~np.isnan(arr)]
    idx = np.flatnonzero(np.isclose(arr, value))
    others = np.delete(arr, idx[0]) if len(idx) else arr
    for candidate in np.unique(others[others > value]):
        target = math.floor(candidate) + 1 if integer else float(candidate) * 1.0001
        f_new = explain.percentile_f(np.append(others, target), target)
        if f_new >= min(1.0, f_now + step) - 1e-9:
            return target, f_new
    return None


def test_percentile_step_finds_what_trying_each_candidate_finds() -> None:
    rng = np.random.default_rng(7)
    cases = 0
    for trial in range(300):
        size = int(rng.integers(1, 60))
        dist = rng.choice([0.0, -3.0, np.nan, *rng.integers(1, 20, 8).astype(float)], size)
        if trial % 2:
            dist = np.where(rng.random(size) < 0.7, rng.gamma(2.0, 10.0, size), dist)
        value = float(rng.choice(dist[~np.isnan(dist)])) if (~np.isnan(dist)).any() else 0.0
        f_now = explain.percentile_f(dist[~np.isnan(dist)], value)
        for integer in (False, True):
            for step in (0.1, 0.3):
                expected = _step_by_definition(dist, value, f_now, step=step, integer=integer)
                found = explain.percentile_step(dist, value, f_now, step=step, integer=integer)
                assert (found is None) == (expected is None), (dist, value, integer, step)
                if expected is not None:
                    assert found == expected
                    cases += 1
    assert cases > 100


def test_cheapest_moves_respect_the_bonus_cap(model) -> None:  # noqa: ANN001
    stage = model.stage_codes[0]
    flags = [i for i in model.by_class("bonus") if i.rule.type == "flag"]
    states = [IndicatorState(i.code, 0, 0.0, 0.0) for i in flags]
    assert explain.cheapest_moves(model, stage, states, bonus_raw=model.bonus_cap) == []
    moves = explain.cheapest_moves(model, stage, states, bonus_raw=model.bonus_cap - 1)
    assert moves and all(m.gain <= 1 + 1e-9 for m in moves)


def test_gap_to_next_list(model) -> None:  # noqa: ANN001
    totals = np.linspace(100, 1, 100)  # 100 ranked enterprises
    first, second, third = model.tiers[0], model.tiers[1], model.tiers[2]
    gap = explain.gap_to_next_list(model, total=50.0, tier="", ranked_totals=totals)
    assert gap.tier == third.code and gap.rank_needed == round(third.share * 100)
    assert gap.points_needed == pytest.approx(totals[gap.rank_needed - 1] - 50 + 0.01, abs=0.011)
    assert (
        explain.gap_to_next_list(model, total=99.0, tier=second.code, ranked_totals=totals).tier == first.code
    )
    assert explain.gap_to_next_list(model, total=100.0, tier=first.code, ranked_totals=totals) is None
    assert explain.gap_to_next_list(model, total=10.0, tier="", ranked_totals=totals, veto=True) is None


def test_a_first_unit_is_not_an_increase_to_itself(model) -> None:  # noqa: ANN001
    ind = next(
        i for i in model.indicators if isinstance(i.rule, LinearCapRule) and i.rule.caps and i.unit == "件"
    )
    stage = model.stage_codes[2]
    move = explain.improvement(model, stage, IndicatorState(ind.code, 0, 0.0, 0.0))
    assert move is not None and move.action == f"{ind.name}达到 1 件"
    assert "（到 1 件）" not in move.action


def test_advice_to_report_names_the_report_year(model) -> None:  # noqa: ANN001
    ind = next(i for i in model.indicators if i.self_reported and i.rule.type in ("bands", "percentile"))
    move = explain.improvement(
        model, model.stage_codes[1], IndicatorState(ind.code, None, 0.0, 0.0), report_year=2026
    )
    assert move.action == f"在 2026 年度数据填报中补报“{ind.name}”"
