"""The default model file: content, round trip, rule descriptions and every kind of validation error."""

from __future__ import annotations

import copy
import json
import operator
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def _at(data: dict, path: tuple) -> Any:
    """The part of a model file at ``path``: the first step is a top-level table or an indicator's code."""
    node = data[path[0]] if path[0] in data else _ind(data, path[0])
    for step in path[1:]:
        node = node[step]
    return node


def _set(*path: str | int, to: object) -> Callable[[dict], None]:
    return lambda data: operator.setitem(_at(data, path[:-1]), path[-1], to)


def _drop(*path: str | int) -> Callable[[dict], None]:
    return lambda data: operator.delitem(_at(data, path[:-1]), path[-1])


def _swap_t05_thresholds(data: dict) -> None:
    bands = _ind(data, "T05")["rule"]["bands"]
    bands[1]["at"], bands[2]["at"] = bands[2]["at"], bands[1]["at"]


def _repeat_a08(data: dict) -> None:
    data["indicators"].append(copy.deepcopy(_ind(data, "A08")))


# (what is wrong, the change to the default model file that makes it so, what the error must name)
INVALID: list[tuple[str, Callable[[dict], None], tuple[str, ...]]] = [
    ("points_not_summing_to_100", _set("T01", "points", "growth", to=8), ("成长期", "growth", "101", "100")),
    ("missing_stage_points", _drop("T05", "points", "expansion"), ("T05", "研发人员占比", "扩张期")),
    ("core_without_points", _drop("G03", "points"), ("G03", "种子期")),
    ("non_monotonic_thresholds", _swap_t05_thresholds, ("T05", "不单调", "全部阶段")),
    ("non_monotonic_fractions", _set("T07", "rule", "bands", 2, "f", to=0.9), ("T07", "不单调")),
    (
        "lower_is_better_must_ascend",
        _set("G08", "rule", "bands", to=[{"at": 75, "f": 1.0}, {"at": 55, "f": 0.5}]),
        ("G08", "不单调"),
    ),
    (
        "non_monotonic_alternative_bands",
        _set("T02", "rule", "alternative", "bands", 0, "at", to=1),
        ("T02", "成本口径"),
    ),
    (
        "unknown_rule_type",
        _set("T08", "rule", to={"type": "magic"}),
        ("T08", "技术合同成交额", "未知的规则类型", "magic"),
    ),
    ("duplicate_codes", _repeat_a08, ("指标代码重复", "A08")),
    ("linear_cap_missing_stage", _drop("G07", "rule", "caps", "mature"), ("G07", "成熟期", "上限")),
    ("linear_cap_non_positive", _set("T06", "rule", "caps", "startup", to=0), ("T06", "初创期")),
    ("fraction_out_of_range", _set("T11", "rule", "bands", 0, "f", to=1.5), ("T11", "高新技术产品收入占比")),
    ("auxiliary_needs_max_points", _drop("A02", "max_points"), ("A02", "max_points")),
    ("veto_cannot_score", _set("N01", "max_points", to=5), ("N01", "一票否决")),
    ("unknown_class", _set("A01", "class", to="magic"), ("A01",)),
    ("stage_gap", _set("stages", 2, "min_revenue", to=600), ("成长期", "不衔接")),
    ("stage_indicator_unknown", _set("meta", "stage_indicator", to="X99"), ("X99",)),
    ("subsidy_unknown_stage", _set("subsidies", 0, "stage", to="giant"), ("giant",)),
    ("tie_break_unknown_key", _set("tie_break", 2, "key", to="Z01"), ("Z01",)),
    ("derivation_unknown_field", _set("derivations", 0, "denominator", to="turnover"), ("T02", "turnover")),
    (
        "items_weights_in_points_only_for_auxiliary",
        _set("T10", "rule", "weights_in_points", to=True),
        ("T10", "weights_in_points"),
    ),
]


@pytest.mark.parametrize(("change", "fragments"), [pytest.param(c, f, id=name) for name, c, f in INVALID])
def test_invalid_model_is_refused_naming_the_problem(
    raw: dict, change: Callable[[dict], None], fragments: tuple[str, ...]
) -> None:
    data = copy.deepcopy(raw)
    change(data)
    with pytest.raises(ModelError) as info:
        parse_model(data)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)


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
