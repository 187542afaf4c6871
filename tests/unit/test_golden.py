"""Golden test: ten enterprises whose every point was computed by hand from scoring-model.md.

fixtures/golden_inputs.csv holds the raw value contract (strings, 是/否, JSON text) exactly as a
spreadsheet would; golden_expected.csv the headline results and golden_points.csv every non-zero
pts_<code> (all others must be 0). The expected files were written by hand, not by the engine.

Stages: E01–E03 成长期 (G01 1200/800/1500), E04–E06 种子期 (G01 30, missing → seed, 80),
E07 初创期 (G01 = 100, the lower bound), E08/E09 扩张期 (identical inputs), E10 成熟期 (G01 = 10000).

Worked derivations (growth-stage points: T01 7, T02 10, T03 4, T04 4, … G01 6, G02 9, …):

* E01 T01 = 96 among positives {40, 96, 96}: below 1, equal 2 → (1 + 0.5·1)/(3 − 1) = 0.75 → 7 × 0.75 = 5.25.
  T06 = 3 with the growth-stage cap 5 → 3/5 × 8 = 4.8. G03 = 100 among positives {100, 300} (E02's −20
  does not count) → 0/(2 − 1) = 0 → 0 points. technology 44.25, growth 21.75, bonus 10 + 6 + 3 + 1 + 2 + 3
  = 25, total 91.
* E03 T03 is empty but prev_T01 = 0 and T01 = 96 > 0 → fixed 0.6 × 4 = 2.4 and not missing; G02 = 40 %
  would be 1.0 but prev_G01 = 40 < 50 caps it at 0.6 → 5.4; bonus 10+5+10+10+5+5+5+3 = 53 → capped 50;
  total 73.4 + 50 = 123.4; rank 1 of N = 3 → ⌈0.05·3⌉ = 1 → 领跑, subsidy ⌈0.01·3⌉ = 1 → 10 万元.
* E04 G01 = 30 < 50 with total_cost 40: T01/cost = 6/40 = 15 % → cost band 0.55 × 12 = 6.6 (its T02
  column of 20 % is ignored); T06 = 1 of cap 2 → 5; G02 = 100 % capped at 0.6 by prev_G01 = 20 → 4.8.
* E05 has neither revenue nor most values: seed stage, 15 missing indicators, 9 + 3 − 15 → floor 0.
* E06 (N02) keeps its total 43.25 but has no rank; E04 and E05 are ranked among N = 2.
* E07 T06 = 2 with the startup cap 3 → 2/3 × 8 = 5.3333; N03 abnormal → −10; without T01 the total would be 46.5333 + 5 − 10
  = 41.53 — plus T01 = 3, alone (n = 1) in its stage → f = 1 → 7 points, so 48.53. E08 and E09 tie on everything: credit code ascending puts E08 first.
* E10 N03 has 6 penalties: −2 × 6 = −12 capped at −10, plus N04 −15 → deduction 25.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.naive_engine import naive_score
from benchmarks.synthetic import make_inputs
from core.engine import score
from core.model_loading import load_model
from tests.engine_columns import CLASS_SCORES, STANDING, VETO

FIX = Path(__file__).parent / "fixtures"
MODEL = load_model()


@pytest.fixture(scope="module")
def result() -> pd.DataFrame:
    raw = pd.read_csv(FIX / "golden_inputs.csv", dtype=str, keep_default_na=False)
    return score(MODEL, raw).set_index("credit_code")


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return pd.read_csv(FIX / "golden_expected.csv", dtype=str, keep_default_na=False).set_index("credit_code")


@pytest.mark.parametrize(
    "col", ["technology", "growth", "core", "bonus", "deduction", "total", "percentile", "subsidy"]
)
def test_golden_numbers(result: pd.DataFrame, expected: pd.DataFrame, col: str) -> None:
    exp = pd.to_numeric(expected[col].replace("", np.nan))
    got = result.loc[exp.index, col].astype(float)
    np.testing.assert_allclose(got.to_numpy(), exp.to_numpy(), atol=1e-9, equal_nan=True, err_msg=col)


@pytest.mark.parametrize("col", ["stage", "veto_reason", "missing", "tier", "mujun"])
def test_golden_text(result: pd.DataFrame, expected: pd.DataFrame, col: str) -> None:
    assert result.loc[expected.index, col].tolist() == expected[col].tolist()


def test_golden_flags_and_ranks(result: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert result.loc[expected.index, "veto"].astype(int).tolist() == expected["veto"].astype(int).tolist()
    assert (
        result.loc[expected.index, "missing_count"].tolist() == expected["missing_count"].astype(int).tolist()
    )
    ranks = [None if pd.isna(x) else int(x) for x in result.loc[expected.index, "rank"]]
    assert ranks == [None if x == "" else int(x) for x in expected["rank"]]


def test_golden_every_point(result: pd.DataFrame) -> None:
    pts = pd.read_csv(FIX / "golden_points.csv", dtype={"pts": float})
    want = {(r.credit_code, r.code): r.pts for r in pts.itertuples()}
    for cc in result.index:
        for code in MODEL.codes:
            got = float(result.loc[cc, f"pts_{code}"])
            assert got == pytest.approx(want.get((cc, code), 0.0), abs=5e-5), (cc, code)


def test_golden_matches_naive_engine() -> None:
    raw = pd.read_csv(FIX / "golden_inputs.csv", dtype=str, keep_default_na=False)
    a, b = score(MODEL, raw), naive_score(MODEL, raw)
    for col in ("total", "technology", "bonus", "deduction", "rank", "tier", "subsidy", "mujun", "missing"):
        assert a[col].astype(object).fillna(-1).tolist() == b[col].astype(object).fillna(-1).tolist(), col


@pytest.mark.parametrize("seed", [0, 7])
def test_engine_matches_naive_on_synthetic(seed: int) -> None:
    raw = make_inputs(1500, seed=seed, json_text=True)
    a, b = score(MODEL, raw), naive_score(MODEL, raw)
    for col in ("stage", *CLASS_SCORES, *VETO, "missing", *STANDING):
        assert a[col].astype(object).fillna(-1).tolist() == b[col].astype(object).fillna(-1).tolist(), col
