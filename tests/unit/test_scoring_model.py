"""The default model file: content, round trip, rule descriptions and every kind of validation error."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path

import pytest

from core.model_loading import DEFAULT_MODEL_PATH, load_model, parse_model
from core.model_text import describe_rule
from core.scoring_model import ModelError, ScoringModel


@pytest.fixture(scope="module")
def raw() -> dict:
    with DEFAULT_MODEL_PATH.open("rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def model() -> ScoringModel:
    return load_model()


def _ind(data: dict, code: str) -> dict:
    return next(i for i in data["indicators"] if i["code"] == code)


def test_default_model_content(model: ScoringModel) -> None:
    assert model.name == "龙湾区（温州高新区）企业创新积分评价模型"
    assert model.version == "2022.1"
    assert model.note == "指标与分值为系统默认模型，可由主管部门调整"
    assert len(model.indicators) == 32
    assert model.stage_codes == ["seed", "startup", "growth", "expansion", "mature"]
    assert [s.name for s in model.stages] == ["种子期", "初创期", "成长期", "扩张期", "成熟期"]
    assert model.bonus_cap == 50
    assert {b.code for b in model.base_fields} == {"total_cost", "staff", "insured_staff"}
    assert {d.target for d in model.derivations} == {"T02", "T03", "T05", "G02", "G05", "G06"}
    assert [(t.code, t.share) for t in model.tiers] == [("领跑", 0.05), ("竞跑", 0.10), ("进取", 0.20)]
    assert [tb.key for tb in model.tie_break] == ["total", "technology", "T02", "G01", "credit_code"]


@pytest.mark.parametrize(
    ("stage", "tech", "growth"),
    [("seed", 70, 30), ("startup", 65, 35), ("growth", 60, 40), ("expansion", 55, 45), ("mature", 50, 50)],
)
def test_class_split_per_stage(model: ScoringModel, stage: str, tech: int, growth: int) -> None:
    assert sum(i.points[stage] for i in model.by_class("technology")) == tech
    assert sum(i.points[stage] for i in model.by_class("growth")) == growth


def test_bonus_items_exceed_cap(model: ScoringModel) -> None:
    assert sum(i.max_points for i in model.by_class("bonus")) == 58


def test_round_trip_through_json(model: ScoringModel) -> None:
    data = json.loads(json.dumps(model.to_dict(), ensure_ascii=False))
    again = parse_model(data)
    assert again == model
    assert again.to_dict() == model.to_dict()


def test_describe_rule_every_indicator(model: ScoringModel) -> None:
    for ind in model.indicators:
        text = describe_rule(ind, model)
        assert text and any("\u4e00" <= ch <= "\u9fff" for ch in text), ind.code
    assert "≥8%得100%" in describe_rule(model.indicator("T02"), model)
    assert "成本口径" in describe_rule(model.indicator("T02"), model)
    assert "越低越好" in describe_rule(model.indicator("G08"), model)
    assert "最多扣20分" in describe_rule(model.indicator("N03"), model)


def _expect_error(data: dict, *fragments: str) -> None:
    with pytest.raises(ModelError) as info:
        parse_model(data)
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, msg


def test_points_not_summing_to_100(raw: dict) -> None:
    data = copy.deepcopy(raw)
    _ind(data, "T01")["points"]["growth"] = 8
    _expect_error(data, "成长期", "growth", "101", "100")


def test_missing_stage_points(raw: dict) -> None:
    data = copy.deepcopy(raw)
    del _ind(data, "T05")["points"]["expansion"]
    _expect_error(data, "T05", "研发人员占比", "扩张期")


def test_core_without_points(raw: dict) -> None:
    data = copy.deepcopy(raw)
    del _ind(data, "G03")["points"]
    _expect_error(data, "G03", "种子期")


def test_non_monotonic_thresholds(raw: dict) -> None:
    data = copy.deepcopy(raw)
    bands = _ind(data, "T05")["rule"]["bands"]
    bands[1]["at"], bands[2]["at"] = bands[2]["at"], bands[1]["at"]
    _expect_error(data, "T05", "不单调", "全部阶段")


def test_non_monotonic_fractions(raw: dict) -> None:
    data = copy.deepcopy(raw)
    _ind(data, "T07")["rule"]["bands"][2]["f"] = 0.9
    _expect_error(data, "T07", "不单调")


def test_lower_is_better_must_ascend(raw: dict) -> None:
    data = copy.deepcopy(raw)
    _ind(data, "G08")["rule"]["bands"] = [{"at": 75, "f": 1.0}, {"at": 55, "f": 0.5}]
    _expect_error(data, "G08", "不单调")


def test_non_monotonic_alternative_bands(raw: dict) -> None:
    data = copy.deepcopy(raw)
    _ind(data, "T02")["rule"]["alternative"]["bands"][0]["at"] = 1
    _expect_error(data, "T02", "成本口径")


def test_unknown_rule_type(raw: dict) -> None:
    data = copy.deepcopy(raw)
    _ind(data, "T08")["rule"] = {"type": "magic"}
    _expect_error(data, "T08", "技术合同成交额", "未知的规则类型", "magic")


def test_duplicate_codes(raw: dict) -> None:
    data = copy.deepcopy(raw)
    data["indicators"].append(copy.deepcopy(_ind(data, "A08")))
    _expect_error(data, "指标代码重复", "A08")


def test_linear_cap_missing_stage(raw: dict) -> None:
    data = copy.deepcopy(raw)
    del _ind(data, "G07")["rule"]["caps"]["mature"]
    _expect_error(data, "G07", "成熟期", "上限")


def test_linear_cap_non_positive(raw: dict) -> None:
    data = copy.deepcopy(raw)
    _ind(data, "T06")["rule"]["caps"]["startup"] = 0
    _expect_error(data, "T06", "初创期")


def test_fraction_out_of_range(raw: dict) -> None:
    data = copy.deepcopy(raw)
    _ind(data, "T11")["rule"]["bands"][0]["f"] = 1.5
    _expect_error(data, "T11", "高新技术产品收入占比")


def test_auxiliary_needs_max_points(raw: dict) -> None:
    data = copy.deepcopy(raw)
    del _ind(data, "A02")["max_points"]
    _expect_error(data, "A02", "max_points")


def test_veto_cannot_score(raw: dict) -> None:
    data = copy.deepcopy(raw)
    _ind(data, "N01")["max_points"] = 5
    _expect_error(data, "N01", "一票否决")


def test_unknown_class(raw: dict) -> None:
    data = copy.deepcopy(raw)
    _ind(data, "A01")["class"] = "magic"
    _expect_error(data, "A01")


def test_stage_gap(raw: dict) -> None:
    data = copy.deepcopy(raw)
    data["stages"][2]["min_revenue"] = 600
    _expect_error(data, "成长期", "不衔接")


def test_stage_indicator_unknown(raw: dict) -> None:
    data = copy.deepcopy(raw)
    data["meta"]["stage_indicator"] = "X99"
    _expect_error(data, "X99")


def test_subsidy_unknown_stage(raw: dict) -> None:
    data = copy.deepcopy(raw)
    data["subsidies"][0]["stage"] = "giant"
    _expect_error(data, "giant")


def test_tie_break_unknown_key(raw: dict) -> None:
    data = copy.deepcopy(raw)
    data["tie_break"][2]["key"] = "Z01"
    _expect_error(data, "Z01")


def test_derivation_unknown_field(raw: dict) -> None:
    data = copy.deepcopy(raw)
    data["derivations"][0]["denominator"] = "turnover"
    _expect_error(data, "T02", "turnover")


def test_items_weights_in_points_only_for_auxiliary(raw: dict) -> None:
    data = copy.deepcopy(raw)
    _ind(data, "T10")["rule"]["weights_in_points"] = True
    _expect_error(data, "T10", "weights_in_points")


def test_no_indicator_codes_in_engine_code() -> None:
    """The engine must not hard-code indicator codes or thresholds: the model is data."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "core"
    for name in ("engine.py", "scoring_model.py"):
        text = (root / name).read_text(encoding="utf-8")
        code_lines = [ln for ln in text.splitlines() if not ln.strip().startswith("#")]
        body = "\n".join(code_lines)
        # strip docstrings/comments roughly: look only for quoted codes like "G01"
        assert not re.search(r"[\"'](?:T|G|A|N)\d\d[\"']", body), name


def test_the_home_caption_names_the_models_zone_or_none() -> None:
    from core.model_text import programme_caption

    default = load_model()
    assert programme_caption(default) == "温州高新区（龙湾区） · 企业创新积分评价与应用"
    assert parse_model(default.to_dict()).zone == default.zone  # stored versions keep it
    national = load_model(Path(__file__).resolve().parents[2] / "core" / "models" / "national-guide.toml")
    assert programme_caption(national) == "企业创新积分评价与应用"
    assert "zone" not in national.to_dict()["meta"]  # unset: the stored JSON is as before
