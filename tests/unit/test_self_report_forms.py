"""Self-report forms follow the model: shipped forms matched by indicator name, a model's own by code."""

from __future__ import annotations

from pathlib import Path

from core.model_loading import load_model, parse_model
from core.self_report_rules import form_specs, validate

MODELS = Path(__file__).resolve().parents[2] / "core" / "models"


def _specs(model):
    return {s.code: s for s in form_specs(model)}


def test_default_model_gets_the_shipped_forms() -> None:
    specs = _specs(load_model())
    assert set(specs) == {"T04", "T11", "T12", "A04", "A06"}
    assert [f.label for f in specs["T12"].fields][:2] == ["标准名称", "标准编号"]
    assert specs["T04"].max_field == "insured_staff" and specs["T04"].max_field_source == "人社"


def test_another_zone_gets_the_form_of_the_same_indicator_under_its_own_code() -> None:
    national = load_model(MODELS / "national-guide.toml")
    specs = _specs(national)
    # 创新创业大赛获奖 is F04 there and A06 in the default model: the same form, the national model's levels
    award = specs["F04"]
    assert [f.label for f in award.fields] == ["赛事及奖项名称", "级别", "获奖年份"]
    assert award.years_back == 2
    level = next(f for f in award.fields if f.kind == "level")
    assert level.options == tuple(national.indicator("F04").rule.weights)
    assert "营业收入" in specs["J08"].help  # 高新技术产品收入占比's help text


def test_a_shipped_form_never_lands_on_a_different_indicator_with_the_default_code() -> None:
    data = load_model().to_dict()
    for ind in data["indicators"]:
        if ind["code"] == "T12":
            ind["name"] = "专利转化项目"  # same code, another indicator
    specs = _specs(parse_model(data))
    assert [f.label for f in specs["T12"].fields] == ["名称", "级别"]  # the plain form, not 标准名称/编号


def test_a_cross_check_on_a_field_the_model_does_not_collect_is_dropped() -> None:
    data = load_model().to_dict()
    data["base_fields"] = [b for b in data["base_fields"] if b["code"] != "insured_staff"]
    data["derivations"] = [
        d
        for d in data["derivations"]
        if d.get("of") != "insured_staff"
        and "insured_staff" not in (d.get("numerator"), d.get("denominator"))
    ]
    for ind in data["indicators"]:
        if ind["code"] == "G06":
            ind.pop("derived", None)
    spec = _specs(parse_model(data))["T04"]
    assert spec.max_field is None
    assert validate([spec], {"T04": 999}, year=2025, context={"insured_staff": 10}) == []


def test_a_models_own_forms_are_matched_by_code_and_name_its_department(tmp_path) -> None:
    model_file = tmp_path / "zone.toml"
    text = (MODELS / "longwan-2022.toml").read_text(encoding="utf-8")
    model_file.write_text(
        text.replace("[meta]\n", '[meta]\nself_report_file = "zone-forms.toml"\n', 1), encoding="utf-8"
    )
    (tmp_path / "zone-forms.toml").write_text(
        '[[forms]]\ncode = "T04"\nkind = "number"\ninteger = true\nmax_field = "insured_staff"\n'
        'max_field_label = "参保职工人数"\nhelp = "本区口径：研发人员"\n',
        encoding="utf-8",
    )
    model = load_model(model_file)
    specs = _specs(model)
    assert specs["T04"].help == "本区口径：研发人员"
    assert [f.label for f in specs["T12"].fields] == ["名称", "级别"]  # the model's forms replace the shipped
    problems = validate([specs["T04"]], {"T04": 12}, year=2025, context={"insured_staff": 10})
    assert "先向人社部门更正参保职工人数" in problems[0]["problem"]
    assert load_model(model_file).fingerprint() == model.fingerprint()  # the forms travel with the model
    assert parse_model(model.to_dict()).self_report == model.self_report
