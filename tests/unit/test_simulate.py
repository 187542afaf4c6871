from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import engine
from core.derive import derive_indicators
from core.model_loading import load_model
from core.scoring_model import PercentileRule
from core.simulate import StageContext, estimate_rank, simulate


@pytest.fixture(scope="module")
def model():  # noqa: ANN201
    return load_model()


def _population(model, n: int = 60, seed: int = 3) -> pd.DataFrame:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    stage = model.stages[2]
    rows = {"credit_code": [f"C{i:05d}" for i in range(n)], "name": [f"企业{i}" for i in range(n)]}
    for ind in model.indicators:
        if ind.rule.type in ("bands", "linear_cap", "percentile"):
            rows[ind.code] = rng.gamma(2.0, 10.0, n)
    rows[model.stage_indicator] = rng.uniform(stage.min_revenue, stage.max_revenue, n)
    for base in model.base_fields:
        rows[base.code] = rng.uniform(5, 50, n)
    derived = {d.target for d in model.derivations}
    frame = pd.DataFrame({k: v for k, v in rows.items() if k not in derived})
    return derive_indicators(model, frame)  # consistent derived values, as the database provides


def _context(model, scored: pd.DataFrame, inputs: pd.DataFrame, me: int) -> StageContext:  # noqa: ANN001
    perc = [i.code for i in model.indicators if isinstance(i.rule, PercentileRule)]
    ranked = scored[scored["rank"].notna()].sort_values("rank")
    return StageContext(
        distributions={c: inputs[c].to_numpy(float) for c in perc},
        ranked_totals=ranked["total"].to_numpy(float),
        own_values={c: float(inputs.loc[me, c]) for c in perc},
        own_total=float(scored.loc[me, "total"]),
        own_ranked=True,
    )


def test_no_change_reproduces_the_engine(model) -> None:  # noqa: ANN001
    inputs = _population(model)
    scored = engine.score(model, inputs)
    for me in (0, 7, 31):
        row = inputs.iloc[me].to_dict()
        result = simulate(model, row, {}, lambda _stage, me=me: _context(model, scored, inputs, me))
        assert result.total == pytest.approx(scored.loc[me, "total"], abs=0.01)
        assert result.rank == scored.loc[me, "rank"]
        assert result.tier == scored.loc[me, "tier"]


def test_a_change_matches_rescoring_everybody(model) -> None:  # noqa: ANN001
    inputs = _population(model)
    scored = engine.score(model, inputs)
    me = 11
    code = next(
        i.code
        for i in model.indicators
        if isinstance(i.rule, PercentileRule) and i.code != model.stage_indicator
    )
    changed = inputs.copy()
    changed.loc[me, code] = float(inputs[code].max()) * 2
    derived = [d.target for d in model.derivations]
    rescored = engine.score(model, derive_indicators(model, changed.drop(columns=derived)))
    result = simulate(
        model,
        inputs.iloc[me].to_dict(),
        {code: changed.loc[me, code]},
        lambda _stage: _context(model, scored, inputs, me),
    )
    assert result.total == pytest.approx(rescored.loc[me, "total"], abs=0.01)
    assert result.total > scored.loc[me, "total"]


def test_stage_and_rank_helpers(model) -> None:  # noqa: ANN001
    assert engine.stage_codes(model, [None])[0] == model.stages[0].code
    assert engine.stage_codes(model, [model.stages[-1].min_revenue + 1])[0] == model.stages[-1].code
    rank, n, tier = estimate_rank(model, 95.0, np.array([100.0, 90.0, 80.0] + [10.0] * 96))
    assert (rank, n) == (2, 100) and tier == model.tiers[0].code
