"""Classes are data: a model declares its classes; the loader checks them; the engine sums per class."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.engine import score
from core.model_loading import load_model, parse_model
from core.scoring_model import ModelError
from tests.model_shapes import five_class_model

MODELS_DIR = Path(__file__).resolve().parents[2] / "core" / "models"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def test_every_shipped_model_file_loads_with_its_classes() -> None:
    model_files = [p for p in MODELS_DIR.glob("*.toml") if "stage_indicator" in p.read_text(encoding="utf-8")]
    assert model_files
    for path in model_files:
        model = load_model(path)
        assert model.classes_of_kind("core")
        assert all(ind.cls in {c.code for c in model.classes} for ind in model.indicators)


def test_a_model_without_classes_gets_the_default_ones() -> None:
    model = load_model()
    assert [(c.code, c.name, c.kind) for c in model.ordered_classes] == [
        ("technology", "技术创新", "core"),
        ("growth", "成长经营", "core"),
        ("bonus", "辅助加分", "bonus"),
        ("deduction", "扣分", "deduction"),
        ("veto", "一票否决", "veto"),
    ]
    assert model.class_def("bonus").cap == model.bonus_cap
    assert parse_model(model.to_dict()) == model  # the declared form round-trips


def test_five_classes_four_stages_and_a_1000_point_core_total() -> None:
    model = parse_model(five_class_model())
    assert model.core_total == 1000 and len(model.stages) == 4
    assert [c.name for c in model.classes_of_kind("core")] == [
        "基础能力",
        "投入能力",
        "管理能力",
        "产出能力",
        "环境能力",
    ]
    for stage in model.stage_codes:
        assert sum(model.class_max(c.code, stage) for c in model.classes_of_kind("core")) == pytest.approx(
            1000
        )
    assert parse_model(model.to_dict()) == model


def _inputs(model, rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame.insert(0, "credit_code", [f"C{k:017d}" for k in range(len(rows))])
    frame.insert(1, "name", [f"企业{k}" for k in range(len(rows))])
    return frame


def test_engine_writes_one_subtotal_per_declared_class_and_applies_class_caps() -> None:
    model = parse_model(five_class_model())
    core_codes = [i.code for i in model.by_kind("core") if i.code != "R01"]
    full = {c: 60 for c in core_codes}  # every banded core indicator at f = 1
    rows = [
        {"R01": 20000, **full, "B01": 1, "B02": 1, "D01": 1},
        {"R01": 600, **{c: 20 for c in core_codes}},  # f = 0.5 everywhere but R01
        {"R01": 700, "V01": 1},
    ]
    res = score(model, _inputs(model, rows))
    first = res.iloc[0]
    assert first["sub_basic"] + first["sub_invest"] + first["sub_manage"] + first["sub_output"] + first[
        "sub_env"
    ] == pytest.approx(first["core"])
    assert first["sub_invest"] == pytest.approx(200)
    assert first["sub_plus"] == 50  # 40 + 40, capped by the class cap of 50
    assert first["bonus"] == 50 and first["sub_minus"] == 30 and first["deduction"] == 30
    assert first["total"] == pytest.approx(first["core"] + 50 - 30)
    assert "technology" not in res.columns and "growth" not in res.columns
    assert res.iloc[1]["sub_invest"] == pytest.approx(100)
    assert bool(res.iloc[2]["veto"]) and res.iloc[2]["veto_reason"] == "严重失信"
    assert [s for s in res["stage"]] == ["s4", "s2", "s2"]


def test_tie_break_on_a_declared_class() -> None:
    model = parse_model(five_class_model())
    inv = [i.code for i in model.by_class("invest")]
    mng = [i.code for i in model.by_class("manage")]
    # same total, the second has more 投入能力 points: it ranks first although its credit code is larger
    rows = [{"R01": 600, **{c: 60 for c in mng}}, {"R01": 600, **{c: 60 for c in inv}}]
    res = score(model, _inputs(model, rows))
    assert res["total"].iloc[0] == res["total"].iloc[1]
    assert res["rank"].tolist() == [2, 1]


def test_more_than_64_core_indicators_keep_every_missing_flag() -> None:
    model = parse_model(five_class_model(per_class=14))  # 70 core indicators
    assert len(model.by_kind("core")) == 70
    rows = [{"R01": 100}, {"R01": 100, **{i.code: 5 for i in model.by_kind("core")[60:]}}]
    res = score(model, _inputs(model, rows))
    assert res["missing_count"].tolist() == [69, 59]
    missing = res["missing"].iloc[0].split(",")
    assert missing == [i.code for i in model.by_kind("core")[1:]]
    assert res["missing"].iloc[1].split(",") == [i.code for i in model.by_kind("core")[1:60]]


# ----------------------------------------------------------------- refusals, each naming what is wrong
def _edit(fn) -> dict:
    data = five_class_model()
    fn(data)
    return data


def _ind(data: dict, code: str) -> dict:
    return next(i for i in data["indicators"] if i["code"] == code)


REFUSALS = [
    (
        "core points of a stage off the total",
        lambda d: _ind(d, "I100")["points"].__setitem__("s2", 1),
        ["成长期", "s2", "1000"],
    ),
    (
        "indicator names an undeclared class",
        lambda d: _ind(d, "I100").__setitem__("class", "tech"),
        ["I100", "tech", "classes"],
    ),
    ("duplicate class code", lambda d: d["classes"].append(dict(d["classes"][0])), ["类别代码重复", "basic"]),
    (
        "no core class",
        lambda d: d["classes"].__setitem__(slice(None), [c for c in d["classes"] if c["kind"] != "core"]),
        ["核心类别"],
    ),
    ("veto class with a cap", lambda d: d["classes"][-1].__setitem__("cap", 5), ["stop", "否决项", "cap"]),
    (
        "unknown class kind",
        lambda d: d["classes"][0].__setitem__("kind", "extra"),
        ["basic", "kind", "类别性质"],
    ),
    (
        "class code not an identifier",
        lambda d: d["classes"][0].__setitem__("code", "1 基础"),
        ["code", "代码"],
    ),
    (
        "non-positive class cap",
        lambda d: d["classes"][5].__setitem__("cap", 0),
        ["plus", "cap", "上限", "大于"],
    ),
    ("zero core total", lambda d: d["meta"].__setitem__("core_total", 0), ["core_total", "核心分值合计"]),
    (
        "bonus cap is not a number",
        lambda d: d["meta"].__setitem__("bonus_cap", "五十"),
        ["bonus_cap", "应为数字"],
    ),
    (
        "unknown top-level field",
        lambda d: d["meta"].__setitem__("bonus_kap", 5),
        ["bonus_kap", "不是模型允许的字段"],
    ),
    ("negative points", lambda d: _ind(d, "I100")["points"].__setitem__("s3", -5), ["I100", "壮大期", "负"]),
    ("missing stage points", lambda d: _ind(d, "I100")["points"].pop("s4"), ["I100", "领军期"]),
    (
        "points not a number",
        lambda d: _ind(d, "I100")["points"].__setitem__("s1", "高"),
        ["I100", "points", "各阶段分值", "应为数字"],
    ),
    ("percent on a non-% indicator", lambda d: _ind(d, "B01").__setitem__("percent", "share"), ["B01", "%"]),
    ("unknown percent kind", lambda d: _ind(d, "I100").__setitem__("percent", "ratio"), ["I100", "percent"]),
    (
        "tie-break on an unknown key",
        lambda d: d["tie_break"].insert(0, {"key": "tech"}),
        ["排序规则", "tech"],
    ),
    ("stage indicator not core", lambda d: d["meta"].__setitem__("stage_indicator", "B01"), ["B01", "核心"]),
    (
        "class code equal to an indicator code",
        lambda d: d["classes"][0].__setitem__("code", "B01"),
        ["B01", "类别代码与指标代码重复"],
    ),
    (
        "core class named like a result column",
        lambda d: d["classes"][0].__setitem__("code", "total"),
        ["total", "列名"],
    ),
    (
        "auxiliary indicator without max_points",
        lambda d: _ind(d, "B02").pop("max_points"),
        ["B02", "max_points"],
    ),
    (
        "unknown rule type",
        lambda d: _ind(d, "I101").__setitem__("rule", {"type": "curve"}),
        ["I101", "curve"],
    ),
    (
        "band fraction above 1",
        lambda d: _ind(d, "I101")["rule"]["bands"][0].__setitem__("f", 2),
        ["I101", "bands", "分档", "小于等于 1"],
    ),
    ("subsidy for an unknown stage", lambda d: d["subsidies"][0].__setitem__("stage", "s9"), ["扶持", "s9"]),
    ("list shares not increasing", lambda d: d["tiers"][1].__setitem__("share", 0.05), ["榜单比例"]),
]


@pytest.mark.parametrize(("case", "edit", "words"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_every_refusal_is_chinese_and_names_what_is_wrong(case: str, edit, words: list[str]) -> None:
    with pytest.raises(ModelError) as info:
        parse_model(_edit(edit))
    message = str(info.value)
    assert CHINESE.search(message), message
    for word in words:
        assert word in message, f"{case}: {word!r} not in {message!r}"
    assert "Field required" not in message and "Input should" not in message


def test_the_valid_fixture_itself_loads() -> None:
    assert parse_model(five_class_model()).codes[0] == "R01"
    assert np.isclose(parse_model(five_class_model(core_total=250)).core_total, 250)


def test_a_refused_list_order_names_the_models_own_lists() -> None:
    """Another zone's lists in the wrong order: the message names them (星火企业榜, 燎原企业榜), never the
    default model's 领跑 … 进取."""
    from tests.zone_model import leaks, zone_model_dict

    definition = zone_model_dict()
    definition["tiers"][0]["share"] = 0.2
    with pytest.raises(ModelError) as info:
        parse_model(definition)
    message = str(info.value)
    assert "星火企业榜 20%" in message and "燎原企业榜 15%" in message, message
    assert not leaks(message), message


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (
            lambda d: d["tiers"][1].__setitem__("code", "燎原企业创新积分进步榜单"),
            ["榜单代码", "最多 10 个字符"],
        ),
        (
            lambda d: d["mujun"][0].__setitem__("code", "亩均效益评价提升一个档次"),
            ["亩均标记", "最多 10 个字符"],
        ),
        (lambda d: d["stages"][0].__setitem__("code", "bud" * 7), ["阶段代码", "最多 20 个字符"]),
    ],
)
def test_a_code_wider_than_its_stored_column_is_refused_when_the_model_loads(edit, words: list[str]) -> None:  # noqa: ANN001
    """A zone's list or 亩均 code longer than the result column: refused in Chinese when the model loads —
    PostgreSQL refused it only when a run was computed (value too long for character varying(10))."""
    from tests.zone_model import zone_model_dict

    definition = zone_model_dict()
    edit(definition)
    if definition["stages"][0]["code"] != "bud":  # the stage code is also the key of every points table
        for ind in definition["indicators"]:
            for table in (ind.get("points"), ind["rule"].get("caps")):
                if table and "bud" in table:
                    table[definition["stages"][0]["code"]] = table.pop("bud")
        for sub in definition["subsidies"]:
            if sub["stage"] == "bud":
                sub["stage"] = definition["stages"][0]["code"]
    with pytest.raises(ModelError) as info:
        parse_model(definition)
    for word in words:
        assert word in str(info.value), str(info.value)
