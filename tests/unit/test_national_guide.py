"""The national-guide model (core/models/national-guide.toml): shape, and three enterprises scored by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core.engine import score
from core.model_loading import load_model
from core.pools import evaluate_pools, facts_for, pools_config

MODEL = load_model(Path(__file__).resolve().parents[2] / "core" / "models" / "national-guide.toml")


def test_shape_of_the_national_guide_model() -> None:
    assert [s.name for s in MODEL.stages] == ["初创期", "成长期", "稳定期"]
    assert [c.name for c in MODEL.ordered_classes] == ["技术创新", "成长经营", "辅助", "一票否决"]
    scored = [i for i in MODEL.indicators if i.kind != "veto"]
    assert 16 <= len(scored) <= 20 and MODEL.bonus_cap == 30
    assert {i.cls for i in scored} == {"technology", "growth", "auxiliary"}
    assert MODEL.indicator("C02").percent == "rate" and MODEL.indicator("J02").percent == "share"
    assert "统计" in {i.source for i in MODEL.indicators}
    assert [p["code"] for p in pools_config(MODEL)["pools"]] == ["hte", "stsme"]


def test_its_own_pools_name_its_own_indicators() -> None:
    facts = facts_for(
        MODEL, {"veto": False, "registered_years": 3, "J05": 1, "J02": 6.0, "C01": 800, "J04": 12, "J08": 65}
    )
    hte = next(p for p in evaluate_pools(MODEL, facts) if p.code == "hte")
    assert hte.met and not hte.gaps
    weak = facts_for(MODEL, {**facts, "J04": 8})
    gaps = next(p for p in evaluate_pools(MODEL, weak) if p.code == "hte").gaps
    assert gaps == ("研发人员占比 8%，需 ≥10%",)


ROWS = [
    {
        "credit_code": "91330300000000001A",
        "name": "甲",
        "C01": 10000,
        "J01": 800,
        "J02": 8,
        "J03": 40,
        "J04": 25,
        "J05": 5,
        "J06": 6,
        "J07": "省",
        "J08": 70,
        "C02": -10,
        "C03": 500,
        "C04": 300,
        "C05": 1500,
        "C06": 12,
        "F01": "是",
        "F03": "小巨人",
        "F04": json.dumps([{"level": "国家"}, {"level": "省"}], ensure_ascii=False),
    },
    {
        "credit_code": "91330300000000002B",
        "name": "乙",
        "C01": 3000,
        "J01": 200,
        "J02": 12,
        "J03": 10,
        "J04": 5,
        "J05": 0,
        "J06": 1,
        "C02": 150,
        "C03": -50,
        "C04": 100,
        "C06": -5,
        "F02": 1,
    },
    {
        "credit_code": "91330300000000003C",
        "name": "丙",
        "C01": 5000,
        "J01": 800,
        "J02": 3.5,
        "J03": 40,
        "J04": 10,
        "J05": 2,
        "J06": 10,
        "J07": "国家级",
        "J08": 40,
        "C02": 20,
        "C03": 500,
        "C04": 50,
        "C05": 3000,
        "C06": 0,
        "V01": 1,
    },
]


def test_three_enterprises_computed_by_hand() -> None:
    """All three are 成长期 (2000 ≤ C01 < 20000); points of that stage. Percentiles among the positive
    values of the stage: J01 800/200/800 → 0.75/0/0.75; C01 → 1/0/0.5; C03 (−50 not counted) → 0.5/0/0.5;
    C04 → 1/0.5/0."""
    res = score(MODEL, pd.DataFrame(ROWS)).set_index("name")
    assert set(res["stage"]) == {"growth"}
    # 甲: 13×.75 + 10×.8 + 5×.75 + 8×.7 + 10×1 + 6×.7 + 4×.7 + 4×1 = 48.1
    #     6×1 + 0 + 6×.5 + 6×1 + 6×.5 + 6×.6 = 21.6; bonus 15 + 15 + min(5, 5+3) = 35 → cap 30
    first = res.loc["甲"]
    assert first["sub_technology"] == pytest.approx(48.1)
    assert first["sub_growth"] == pytest.approx(21.6)
    assert first["sub_auxiliary"] == 35 and first["bonus"] == 30
    assert first["total"] == pytest.approx(99.7)
    # 乙: 0 + 10×1 + 0 + 0 + 0 + 6×.3 + 0 + 0 = 11.8; 0 + 10×1 + 0 + 6×.5 + 0 + 0 = 13; bonus 5
    second = res.loc["乙"]
    assert second["sub_technology"] == pytest.approx(11.8) and second["sub_growth"] == pytest.approx(13)
    assert second["total"] == pytest.approx(29.8)
    assert second["missing"] == "J08,C05" and second["missing_count"] == 2
    # 丙: 9.75 + 4 + 3.75 + 3.2 + 4 + 6 + 4 + 2 = 36.7; 3 + 7 + 3 + 0 + 6 + 1.8 = 20.8; vetoed
    third = res.loc["丙"]
    assert third["sub_technology"] == pytest.approx(36.7) and third["sub_growth"] == pytest.approx(20.8)
    assert third["total"] == pytest.approx(57.5)
    assert bool(third["veto"]) and third["veto_reason"] == "严重失信" and pd.isna(third["rank"])
    # two ranked: 领军 = ⌈0.1×2⌉ = 1 place, 潜力 up to ⌈0.3×2⌉ = 1 (nobody more); subsidy ⌈0.05×2⌉ = 1 × 10 万元
    assert res.loc["甲", "rank"] == 1 and res.loc["乙", "rank"] == 2
    assert res.loc["甲", "tier"] == "领军" and res.loc["乙", "tier"] == ""
    assert res.loc["甲", "subsidy"] == 10 and res.loc["乙", "subsidy"] == 0
    assert res.loc["甲", "percentile"] == 100 and res.loc["乙", "percentile"] == 0


def test_departments_are_the_models_sources_and_rates_may_leave_0_to_100() -> None:
    from core import importing

    assert "统计" in importing.departments(MODEL)
    columns = {c.code: c for c in importing.department_columns(MODEL, "统计")}
    assert set(columns) == {"C01", "C03"}  # the 统计 columns are imported, not skipped
    every = {c.code: c for c in importing.department_columns(MODEL, importing.ALL_DEPARTMENTS)}
    assert "C02" not in every  # derived
    share = next(c for c in importing.department_columns(MODEL, "税务") if c.code == "J01")
    assert share.kind == "number"
    from core.model_loading import parse_model

    data = MODEL.to_dict()
    for ind in data["indicators"]:
        if ind["code"] == "C02":
            ind["source"] = "统计"  # imported directly instead of derived
    data["derivations"] = [d for d in data["derivations"] if d["target"] != "C02"]
    direct = parse_model(data)
    c02 = next(c for c in importing.department_columns(direct, "统计") if c.code == "C02")
    assert c02.kind == "number" and c02.allow_negative  # a rate: −20 or 150 are accepted
    data["derivations"] = [d for d in data["derivations"] if d["target"] != "J04"]
    for ind in data["indicators"]:
        if ind["code"] == "J04":
            ind["source"] = "人社"
    j04 = next(c for c in importing.department_columns(parse_model(data), "人社") if c.code == "J04")
    assert j04.kind == "share"  # a share stays 0–100
