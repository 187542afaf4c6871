"""Ranking, tie-breaks, lists (cumulative ceil), subsidies, 亩均 flags and veto exclusion."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.engine import rank, score
from core.model_loading import load_model

MODEL = load_model()


def _frame(rows: list[dict]) -> pd.DataFrame:
    """A minimal scored frame: stage, veto, total, technology (+ T02/G01/credit_code for ties)."""
    base = {"credit_code": "", "name": "", "stage": "growth", "veto": False, "total": 0.0, "technology": 0.0}
    df = pd.DataFrame([{**base, **r} for r in rows])
    for c in ("T02", "G01"):
        if c not in df.columns:
            df[c] = np.nan
    return df


def test_tie_break_order() -> None:
    df = _frame(
        [
            {"credit_code": "E", "total": 50, "technology": 30, "T02": 5, "G01": 900},
            {"credit_code": "D", "total": 50, "technology": 30, "T02": 5, "G01": 900},  # full tie → code asc
            {"credit_code": "C", "total": 50, "technology": 30, "T02": 5, "G01": 1000},
            {"credit_code": "B", "total": 50, "technology": 30, "T02": 6, "G01": 600},
            {"credit_code": "A", "total": 50, "technology": 31, "T02": 1, "G01": 600},
            {"credit_code": "F", "total": 51, "technology": 0, "T02": 0, "G01": 600},
            {
                "credit_code": "G",
                "total": 50,
                "technology": 30,
                "T02": np.nan,
                "G01": 2000,
            },  # missing T02 last
            {"credit_code": "H", "total": 50, "technology": 30, "T02": 5, "G01": np.nan},  # missing G01 last
        ]
    )
    r = rank(MODEL, df)
    order = r.sort_values("rank")["credit_code"].tolist()
    assert order == ["F", "A", "B", "C", "D", "E", "H", "G"]
    assert r["rank"].tolist() == [6, 5, 4, 3, 2, 1, 8, 7]


def test_tie_break_is_permutation_invariant() -> None:
    rng = np.random.default_rng(3)
    rows = [
        {
            "credit_code": f"{i:018d}",
            "total": float(rng.integers(0, 3)),
            "technology": float(rng.integers(0, 2)),
            "T02": float(rng.integers(0, 2)),
            "G01": 500.0,
        }
        for i in range(200)
    ]
    df = _frame(rows)
    a = rank(MODEL, df).set_index("credit_code")["rank"]
    b = rank(MODEL, df.sample(frac=1, random_state=1).reset_index(drop=True)).set_index("credit_code")["rank"]
    pd.testing.assert_series_equal(a.sort_index(), b.sort_index())


def test_rank_reads_tie_keys_from_values() -> None:
    df = _frame([{"credit_code": "A", "total": 10}, {"credit_code": "B", "total": 10}]).drop(
        columns=["T02", "G01"]
    )
    values = pd.DataFrame({"T02": [1.0, 2.0], "G01": [600.0, 600.0]})
    assert rank(MODEL, df, values=values)["rank"].tolist() == [2, 1]
    assert rank(MODEL, df)["rank"].tolist() == [1, 2]  # no values: code ascending


def _expected_tiers(n: int) -> list[str]:
    c = [math.ceil(round(s * n, 9)) for s in (0.05, 0.10, 0.20)]
    return [
        "领跑" if r <= c[0] else "竞跑" if r <= c[1] else "进取" if r <= c[2] else "" for r in range(1, n + 1)
    ]


@pytest.mark.parametrize("n", [1, 2, 19, 20, 21, 101, 400, 1000])
@pytest.mark.parametrize("stage", ["seed", "mature"])
def test_lists_subsidies_mujun_cutoffs(n: int, stage: str) -> None:
    df = _frame([{"credit_code": f"C{i:05d}", "stage": stage, "total": float(1000 - i)} for i in range(n)])
    r = rank(MODEL, df)
    assert r["rank"].tolist() == list(range(1, n + 1))
    assert r["tier"].tolist() == _expected_tiers(n)
    counts = r["tier"].value_counts()
    expected_counts = {
        1: (1, 0, 0),
        2: (1, 0, 0),
        19: (1, 1, 2),
        20: (1, 1, 2),
        21: (2, 1, 2),
        101: (6, 5, 10),
    }
    if n in expected_counts:
        assert tuple(int(counts.get(t, 0)) for t in ("领跑", "竞跑", "进取")) == expected_counts[n]
    sub_n = (r["subsidy"] > 0).sum()
    if stage == "mature":
        expected = {1: 1, 2: 1, 19: 1, 20: 1, 21: 1, 101: 2, 400: 3, 1000: 3}[n]  # ⌈1%·N⌉, at most 3
        assert set(r.loc[r["subsidy"] > 0, "subsidy"]) <= {30.0}
    else:
        expected = {1: 1, 2: 1, 19: 1, 20: 1, 21: 1, 101: 3, 400: 8, 1000: 10}[n]  # ⌈2%·N⌉, at most 10
        assert set(r.loc[r["subsidy"] > 0, "subsidy"]) <= {5.0}
    assert sub_n == expected
    assert r.loc[r["subsidy"] > 0, "rank"].max() == expected
    up = math.ceil(round(0.02 * n, 9))
    plus = math.ceil(round(0.05 * n, 9))
    assert (r["mujun"] == "提升一档").sum() == up
    assert (r["mujun"] == "适当加分").sum() == plus - up


@pytest.mark.parametrize(
    ("stage", "amount", "cap"), [("growth", 10, 3), ("expansion", 30, 3), ("startup", 5, 3)]
)
def test_subsidy_amounts_and_caps(stage: str, amount: float, cap: int) -> None:
    df = _frame([{"credit_code": f"C{i:05d}", "stage": stage, "total": float(5000 - i)} for i in range(5000)])
    r = rank(MODEL, df)
    assert (r["subsidy"] == amount).sum() == cap
    assert (r["subsidy"] > 0).sum() == cap


def test_percentile_of_rank() -> None:
    df = _frame([{"credit_code": f"C{i}", "total": float(10 - i)} for i in range(5)])
    assert rank(MODEL, df)["percentile"].tolist() == [100, 75, 50, 25, 0]
    assert rank(MODEL, _frame([{"credit_code": "X", "total": 1}]))["percentile"].tolist() == [100]


def test_vetoed_excluded_but_keep_total() -> None:
    rows = [{"credit_code": "V", "total": 99.0, "veto": True}]
    rows += [{"credit_code": f"C{i:02d}", "total": float(50 - i)} for i in range(20)]
    r = rank(MODEL, _frame(rows))
    v = r.iloc[0]
    assert v["total"] == 99.0
    assert pd.isna(v["rank"]) and math.isnan(v["percentile"])
    assert v["tier"] == "" and v["subsidy"] == 0 and v["mujun"] == ""
    others = r.iloc[1:]
    assert others["rank"].tolist() == list(range(1, 21))  # N = 20, not 21
    assert (others["tier"] == "领跑").sum() == 1 and (others["tier"] != "").sum() == 4
    assert others["percentile"].iloc[0] == 100 and others["percentile"].iloc[-1] == 0


def test_ranks_are_per_stage() -> None:
    rows = [{"credit_code": f"S{i}", "stage": "seed", "total": float(i)} for i in range(3)]
    rows += [{"credit_code": f"M{i}", "stage": "mature", "total": float(i)} for i in range(2)]
    r = rank(MODEL, _frame(rows))
    assert r["rank"].tolist() == [3, 2, 1, 2, 1]
    assert r["tier"].tolist() == ["", "", "领跑", "", "领跑"]


def test_score_vetoed_enterprise_through_engine() -> None:
    df = pd.DataFrame(
        [
            {"credit_code": "A", "name": "a", "G01": 600, "T02": 9, "N01": "是"},
            {"credit_code": "B", "name": "b", "G01": 700, "T02": 1},
        ]
    )
    r = score(MODEL, df)
    assert r["veto"].tolist() == [True, False]
    assert r["total"].iloc[0] > r["total"].iloc[1]
    assert r["rank"].iloc[1] == 1 and pd.isna(r["rank"].iloc[0])
    assert r["tier"].tolist() == ["", "领跑"]
