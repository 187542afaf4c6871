"""Value → fraction tables for every rule type, stage boundaries, parsing, subtotals, cap and floor."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from core.derive import derive_indicators
from core.engine import score
from core.measures import prepare_inputs
from core.model_loading import load_model
from core.scoring_model import ScoringModel
from tests.engine_columns import ENGINE_HEAD

MODEL = load_model()


def _one(model: ScoringModel = MODEL, **cells) -> pd.Series:
    """Score a single enterprise given some cells (the rest empty)."""
    row = {"credit_code": "91330303MA0000000X", "name": "测试企业", **cells}
    return score(model, pd.DataFrame([row])).iloc[0]


def f_of(code: str, value, **extra) -> float:
    return float(_one(**{code: value}, **extra)[f"f_{code}"])


# ------------------------------------------------------------------ bands
@pytest.mark.parametrize(
    ("value", "f"),
    [
        (20, 1.0),
        (8, 1.0),
        (7.99, 0.85),
        (6, 0.85),
        (5.5, 0.7),
        (5, 0.7),
        (4, 0.55),
        (3, 0.4),
        (2, 0.25),
        (1, 0.1),
        (0.99, 0.0),
        (0, 0.0),
        (-3, 0.0),
        (None, 0.0),
        ("4.5", 0.55),
        (" 6 ", 0.85),
    ],
)
def test_bands_t02(value, f) -> None:
    assert f_of("T02", value, G01=1000) == pytest.approx(f)


@pytest.mark.parametrize(
    ("value", "f"), [(35, 1.0), (34.9, 0.8), (25, 0.8), (15, 0.6), (5, 0.4), (0, 0.2), (-0.01, 0.0)]
)
def test_bands_growth_rates(value, f) -> None:
    assert f_of("T03", value) == pytest.approx(f)
    assert f_of("G02", value) == pytest.approx(f)


@pytest.mark.parametrize(("value", "f"), [(30, 1.0), (29, 0.8), (20, 0.6), (15, 0.4), (10, 0.2), (9.9, 0.0)])
def test_bands_t05(value, f) -> None:
    assert f_of("T05", value) == pytest.approx(f)


@pytest.mark.parametrize(("value", "f"), [(10, 1.0), (9, 0.85), (5, 0.85), (3, 0.6), (1, 0.3), (0, 0.0)])
def test_bands_t07(value, f) -> None:
    assert f_of("T07", value) == pytest.approx(f)


@pytest.mark.parametrize(
    ("value", "f"), [(100, 1.0), (60, 1.0), (59.9, 0.6), (40, 0.6), (20, 0.3), (19, 0.0)]
)
def test_bands_t11(value, f) -> None:
    assert f_of("T11", value) == pytest.approx(f)


@pytest.mark.parametrize(("value", "f"), [(100, 1.0), (30, 1.0), (15, 0.7), (5, 0.4), (0, 0.2), (-10, 0.0)])
def test_bands_g06(value, f) -> None:
    assert f_of("G06", value) == pytest.approx(f)


@pytest.mark.parametrize(
    ("value", "f"),
    [(0, 1.0), (30, 1.0), (55, 1.0), (55.01, 0.5), (75, 0.5), (75.01, 0.0), (120, 0.0), (None, 0.0)],
)
def test_bands_lower_is_better_g08(value, f) -> None:
    assert f_of("G08", value) == pytest.approx(f)


@pytest.mark.parametrize(
    ("t01", "cost", "g01", "t02", "f"),
    [
        (30, 100, 40, 75.0, 1.0),  # G01 < 50 with total cost: 30% on the cost bands
        (27, 100, 40, 67.5, 0.85),
        (20, 100, 40, 50.0, 0.70),
        (15, 100, 49.99, None, 0.55),
        (10, 100, 10, None, 0.40),
        (9.99, 100, 10, 99.9, 0.0),  # below the last cost band, even though T02 is huge
        (30, None, 40, 75.0, 1.0),  # no total cost: revenue bands on T02
        (3, 100, 50, 6.0, 0.85),  # G01 = 50 is not below 50: revenue bands
    ],
)
def test_t02_cost_bands(t01, cost, g01, t02, f) -> None:
    r = _one(T01=t01, total_cost=cost, G01=g01, T02=t02)
    assert r["f_T02"] == pytest.approx(f)
    assert "T02" not in r["missing"].split(",") or t02 is None and cost is None


def test_t03_zero_base() -> None:
    r = _one(T01=5, prev_T01=0, T03=None)
    assert r["f_T03"] == pytest.approx(0.6)
    assert "T03" not in r["missing"]
    r = _one(T01=0, prev_T01=0, T03=None)
    assert r["f_T03"] == 0.0
    assert "T03" in r["missing"].split(",")
    assert _one(T01=5, prev_T01=4, T03=25)["f_T03"] == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("prev", "g02", "f"), [(49.99, 40, 0.6), (10, 20, 0.6), (10, 5, 0.4), (50, 40, 1.0), (None, 40, 1.0)]
)
def test_g02_small_base_cap(prev, g02, f) -> None:
    assert f_of("G02", g02, prev_G01=prev) == pytest.approx(f)


# ------------------------------------------------------------------ linear_cap
@pytest.mark.parametrize(
    ("g01", "t06", "f"),
    [
        (50, 1, 0.5),
        (50, 2, 1.0),
        (50, 7, 1.0),
        (200, 1, 1 / 3),
        (600, 1, 0.2),
        (3000, 4, 0.5),
        (20000, 5, 0.5),
        (20000, 0, 0.0),
        (20000, -2, 0.0),
        (20000, None, 0.0),
    ],
)
def test_linear_cap_per_stage(g01, t06, f) -> None:
    assert f_of("T06", t06, G01=g01) == pytest.approx(f)


@pytest.mark.parametrize(
    ("g01", "g07", "f"), [(50, 250, 0.5), (200, 250, 0.25), (15000, 8000, 1.0), (15000, 2000, 0.25)]
)
def test_linear_cap_g07(g01, g07, f) -> None:
    assert f_of("G07", g07, G01=g01) == pytest.approx(f)


@pytest.mark.parametrize(("n", "pts"), [(0, 0.0), (1, 0.5), (3, 1.5), (10, 5.0), (40, 5.0)])
def test_a07_graduates(n, pts) -> None:
    assert _one(A07=n)["pts_A07"] == pytest.approx(pts)


# ------------------------------------------------------------------ tier
@pytest.mark.parametrize(
    ("value", "f"),
    [
        ("国家", 1.0),
        ("省", 0.7),
        ("省级", 0.7),
        ("市", 0.4),
        ("区", 0.2),
        ("", 0.0),
        (None, 0.0),
        ("未知", 0.0),
    ],
)
def test_tier_t09(value, f) -> None:
    assert f_of("T09", value) == pytest.approx(f)


@pytest.mark.parametrize(
    ("value", "pts"), [("小巨人", 10), ("省级专精特新", 6), ("创新型中小企业", 3), ("", 0)]
)
def test_tier_a03(value, pts) -> None:
    assert _one(A03=value)["pts_A03"] == pytest.approx(pts)


# ------------------------------------------------------------------ items
@pytest.mark.parametrize(
    ("items", "f"),
    [
        ([{"level": "国家", "role": "牵头"}], 1.0),
        ([{"level": "省", "role": "参与"}], 0.3),
        ([{"level": "省", "role": "牵头"}, {"level": "省", "role": "牵头"}], 1.0),  # 1.2 capped
        ([{"level": "市", "role": "参与"}, {"level": "区", "role": "牵头"}], 0.25),
        ([{"level": "市"}], 0.3),  # no role: full weight
        ([{"level": "月球"}], 0.0),
        ([], 0.0),
        (None, 0.0),
    ],
)
def test_items_t10(items, f) -> None:
    assert f_of("T10", items) == pytest.approx(f)
    if items is not None:
        assert f_of("T10", json.dumps(items, ensure_ascii=False)) == pytest.approx(f)


@pytest.mark.parametrize(
    ("items", "f"),
    [
        ([{"level": "国际", "role": "主导"}], 1.0),
        ([{"level": "行业", "role": "主导"}], 0.8),
        ([{"level": "团体", "role": "参与", "name": "x", "number": "T/ZJ 1-2022", "year": 2022}], 0.25),
        ([{"level": "地方", "role": "主导"}, {"level": "行业", "role": "参与"}], 0.9),
    ],
)
def test_items_t12(items, f) -> None:
    assert f_of("T12", items) == pytest.approx(f)


@pytest.mark.parametrize(
    ("code", "items", "pts"),
    [
        ("A04", [{"level": "国家"}], 5),
        ("A04", [{"level": "国家"}, {"level": "省"}, {"level": "市"}, {"level": "博士"}], 9.5),
        ("A04", [{"level": "国家"}] * 3, 10),
        ("A05", [{"level": "国家", "top3": True}], 10),
        ("A05", [{"level": "国家", "top3": False}], 5),
        ("A05", [{"level": "省", "top3": False}, {"level": "市", "top3": True}], 5),
        ("A05", [{"level": "省", "top3": "否"}], 3),
        ("A05", [{"level": "省"}], 6),
        ("A06", [{"level": "省"}, {"level": "市"}], 4),
        ("A06", [{"level": "国家"}, {"level": "市"}], 5),
    ],
)
def test_items_auxiliary_points(code, items, pts) -> None:
    assert _one(**{code: items})[f"pts_{code}"] == pytest.approx(pts)


# ------------------------------------------------------------------ flags
@pytest.mark.parametrize(
    ("value", "f"),
    [
        ("是", 1),
        ("1", 1),
        ("true", 1),
        ("TRUE", 1),
        (True, 1),
        (1, 1),
        ("否", 0),
        ("0", 0),
        ("", 0),
        (None, 0),
        (False, 0),
        ("false", 0),
    ],
)
def test_flag(value, f) -> None:
    assert f_of("A01", value) == f
    assert f_of("N04", value) == f


@pytest.mark.parametrize(
    ("cell", "pts"),
    [
        ({"abnormal": True, "penalties": 0}, 10),
        ({"abnormal": False, "penalties": 3}, 6),
        ({"abnormal": False, "penalties": 5}, 10),
        ({"abnormal": True, "penalties": 7}, 20),  # the penalty part is capped at 10 on its own
        ('{"abnormal": true, "penalties": 2}', 14),
        ({"abnormal": False, "penalties": 0}, 0),
        (None, 0),
    ],
)
def test_n03_deduction(cell, pts) -> None:
    assert _one(N03=cell)["pts_N03"] == pytest.approx(pts)


def test_veto_reason_names_items() -> None:
    r = _one(N01="是", N02="1", G01=100)
    assert bool(r["veto"]) is True
    assert r["veto_reason"] == "严重失信；重大安全、质量、环境事件"
    r = _one(N02=True)
    assert r["veto_reason"] == "重大安全、质量、环境事件"
    assert _one()["veto_reason"] == ""


# ------------------------------------------------------------------ percentile
def _scores(rows: list[dict]) -> pd.DataFrame:
    base = [{"credit_code": f"C{i:03d}", "name": f"企业{i}", **r} for i, r in enumerate(rows)]
    return score(MODEL, pd.DataFrame(base))


def test_percentile_mid_rank_and_positive_only() -> None:
    res = _scores([{"G01": 600, "T01": v} for v in (10, 20, 20, 30, 0, -5, None)])
    assert res["f_T01"].tolist() == pytest.approx([0.0, 0.5, 0.5, 1.0, 0.0, 0.0, 0.0])
    assert res["missing"].iloc[6].split(",")[0] == "T01"


def test_percentile_within_stage_only() -> None:
    res = _scores([{"G01": 600, "T08": 5}, {"G01": 20000, "T08": 1}, {"G01": 20000, "T08": 9}])
    assert res["f_T08"].tolist() == pytest.approx([1.0, 0.0, 1.0])


def test_percentile_all_equal_and_single() -> None:
    res = _scores([{"G01": 600, "G04": 7}] * 3 + [{"G01": 50, "G04": 1}])
    assert res["f_G04"].tolist() == pytest.approx([0.5, 0.5, 0.5, 1.0])


def test_percentile_g01_ranks_revenue_in_stage() -> None:
    res = _scores([{"G01": g} for g in (500, 1000, 1500, 1999.99)])
    assert res["f_G01"].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])


# ------------------------------------------------------------------ stages
@pytest.mark.parametrize(
    ("g01", "stage"),
    [
        (None, "seed"),
        (0, "seed"),
        (-10, "seed"),
        (99.99, "seed"),
        (100, "startup"),
        (499.99, "startup"),
        (500, "growth"),
        (1999.99, "growth"),
        (2000, "expansion"),
        (9999.99, "expansion"),
        (10000, "mature"),
        (1e9, "mature"),
        ("", "seed"),
        ("100", "startup"),
    ],
)
def test_stage_boundaries(g01, stage) -> None:
    assert _one(G01=g01)["stage"] == stage


# ------------------------------------------------------------------ subtotals, cap, floor, missing
def test_bonus_cap_binds() -> None:
    r = _one(
        A01=1,
        A02=1,
        A03="小巨人",
        A04=[{"level": "国家"}] * 2,
        A05=[{"level": "国家"}],
        A06=[{"level": "国家"}],
        A07=10,
        A08=1,
    )
    assert sum(r[f"pts_A0{k}"] for k in range(1, 9)) == pytest.approx(58)
    assert r["bonus"] == 50


def test_total_floors_at_zero() -> None:
    r = _one(G01=50, T07=1, N03={"abnormal": True, "penalties": 9}, N04="是")
    assert r["core"] == pytest.approx(r["pts_T07"] + r["pts_G01"])
    assert r["deduction"] == 35
    assert r["total"] == 0.0


def test_total_is_core_plus_bonus_minus_deduction() -> None:
    r = _one(G01=800, T02=8, T05=30, A01=True, N04=True)
    # G01 alone in its stage: percentile f = 1 → 6 points; T02 10; T05 7
    assert r["technology"] == pytest.approx(17)
    assert r["growth"] == pytest.approx(6)
    assert r["total"] == pytest.approx(17 + 6 + 10 - 15)


def test_missing_listed_for_empty_numeric_cells_only() -> None:
    r = _one(G01=800, T09="", T10=None, A01=None)
    miss = r["missing"].split(",")
    assert "G01" not in miss and "T09" not in miss and "T10" not in miss
    assert {"T01", "T02", "G08"} <= set(miss)
    assert r["missing_count"] == len(miss)


def test_output_columns_and_dtypes() -> None:
    res = _scores([{"G01": 600, "T01": 3}, {"G01": 50, "N01": "是"}])
    assert list(res.columns[: len(ENGINE_HEAD)]) == ENGINE_HEAD
    rest = list(res.columns[len(ENGINE_HEAD) :])
    subtotals = [f"sub_{c.code}" for c in MODEL.scored_classes]
    assert subtotals == ["sub_technology", "sub_growth", "sub_bonus", "sub_deduction"]
    assert rest == subtotals + [f"f_{c}" for c in MODEL.codes] + [f"pts_{c}" for c in MODEL.codes]
    assert res["sub_technology"].tolist() == res["technology"].tolist()
    assert res["veto"].dtype == bool
    assert str(res["rank"].dtype) == "Int64"
    assert res["missing_count"].dtype == np.int64
    assert res["rank"].isna().tolist() == [False, True]


def test_prepare_inputs_is_idempotent_and_reports_errors() -> None:
    raw = pd.DataFrame([{"credit_code": "X", "name": "n", "T10": "[not json", "T01": "abc", "A01": "是"}])
    prep = prepare_inputs(MODEL, raw)
    assert prep.attrs["parse_errors"] and prep.attrs["parse_errors"][0][1] == "T10"
    assert math.isnan(prep["T01"].iloc[0])
    assert prep["A01"].iloc[0] == 1.0
    assert prepare_inputs(MODEL, prep) is prep
    pd.testing.assert_frame_equal(score(MODEL, raw), score(MODEL, prep))


def test_repeated_text_cells_measure_as_each_cell_alone() -> None:
    """List, object and tier texts are parsed once per distinct text: every row still gets its own
    measure and every unparsable row its own error, as when each cell is read alone."""
    cells = {
        "T10": [
            '[{"level": "国家", "role": "牵头"}]',
            "[not json",
            None,
            " ",
            '[{"level": "市"}]',
            "[not json",
        ],
        "N03": ['{"abnormal": false, "penalties": 1}', "{bad", '{"abnormal": true}', None, "{bad", "否"],
        "T09": ["国家", " 省 ", None, "国家", "不存在", ""],
    }
    rows = [{"credit_code": f"X{i}", "name": "n", **{c: v[i] for c, v in cells.items()}} for i in range(6)]
    together = prepare_inputs(MODEL, pd.DataFrame(rows))
    alone = [prepare_inputs(MODEL, pd.DataFrame([row])) for row in rows]
    for code in cells:
        assert together[code].tolist() == [frame[code].iloc[0] for frame in alone], code
    expected = [
        (i, code, message)
        for i, frame in enumerate(alone)
        for _, code, message in frame.attrs["parse_errors"]
    ]
    assert sorted(together.attrs["parse_errors"]) == sorted(expected)
    assert [(row, code) for row, code, _ in together.attrs["parse_errors"] if code == "T10"] == [
        (1, "T10"),
        (5, "T10"),
    ]


def test_derive_indicators() -> None:
    cur = pd.DataFrame(
        {
            "credit_code": ["A", "B"],
            "T01": [50.0, 10],
            "G01": [1000.0, 0],
            "T04": [5, 3],
            "staff": [20, 0],
            "insured_staff": [11, 10],
        }
    )
    # the previous year is matched on credit code, not on row order
    prev = pd.DataFrame(
        {"credit_code": ["B", "A"], "T01": [0.0, 40], "G01": [10.0, 800], "insured_staff": [10, 10]}
    )
    out = derive_indicators(MODEL, cur, prev)
    assert out["T02"].tolist()[0] == pytest.approx(5.0) and math.isnan(out["T02"].iloc[1])
    assert out["T03"].iloc[0] == pytest.approx(25.0) and math.isnan(out["T03"].iloc[1])
    assert out["T05"].iloc[0] == pytest.approx(25.0)
    assert out["G02"].tolist() == pytest.approx([25.0, -100.0])
    assert out["G05"].iloc[0] == pytest.approx(50.0)
    assert out["G06"].tolist() == pytest.approx([10.0, 0.0])
    assert out["prev_T01"].tolist() == [40.0, 0.0]  # feeds T03's zero-base rule
    r = score(MODEL, out.assign(name=["a", "b"]))
    assert r["f_T03"].iloc[1] == pytest.approx(0.6)


def test_index_preserved_and_empty_input() -> None:
    df = pd.DataFrame({"credit_code": ["a", "b"], "name": ["x", "y"], "G01": [5, 6]}, index=[10, 20])
    r = score(MODEL, df)
    assert r.index.tolist() == [10, 20] and r["credit_code"].tolist() == ["a", "b"]
    empty = score(MODEL, pd.DataFrame(columns=["credit_code", "name", "G01"]))
    assert len(empty) == 0 and "total" in empty.columns


def test_structured_flag_text_values() -> None:
    assert _one(N03='{"abnormal": "否", "penalties": "3"}')["pts_N03"] == pytest.approx(6)
    assert _one(N03={"abnormal": "是"})["pts_N03"] == pytest.approx(10)


def test_prepared_inputs_are_tied_to_their_model() -> None:
    from core.model_loading import parse_model

    raw = pd.DataFrame(
        [{"credit_code": "A", "name": "a", "G01": 600, "T10": [{"level": "省", "role": "牵头"}]}]
    )
    prep = prepare_inputs(MODEL, raw)
    data = MODEL.to_dict()
    t10 = next(i for i in data["indicators"] if i["code"] == "T10")
    t10["rule"]["weights"]["省"] = 0.9
    other = parse_model(data)
    assert score(other, raw)["f_T10"].iloc[0] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="另一个评价模型"):
        score(other, prep)


def test_derivations_from_prev_columns_of_a_single_year_file() -> None:
    """A spreadsheet may carry prev_G01 itself (scoring-model.md §9); growth is derived from it."""
    cur = pd.DataFrame({"credit_code": ["A"], "G01": [120.0], "prev_G01": [100.0]})
    assert derive_indicators(MODEL, cur)["G02"].iloc[0] == pytest.approx(20.0)
