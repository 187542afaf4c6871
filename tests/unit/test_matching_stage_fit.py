"""A catalogue item's stages read against a model (core.matching.stage_fit): the model's names in its
order, and every code it does not know named — never dropped quietly."""

from __future__ import annotations

from core.matching import stage_fit
from core.model_loading import load_model
from tests.zone_model import zone_model


def test_the_models_names_in_the_models_order() -> None:
    fit = stage_fit(load_model(), ["growth", "seed"])
    assert (fit.text, fit.problem) == ("种子期、成长期", "")


def test_codes_of_another_model_are_named_as_the_problem() -> None:
    fit = stage_fit(zone_model(), ["bud", "seed", "startup"])
    assert fit.text == "萌芽期"
    assert fit.problem == "阶段“seed”、“startup”不在当前模型中"
    assert stage_fit(zone_model(), ["mature"]).text == "（无当前模型中的阶段）"


def test_an_item_without_stages_is_recommended_by_triggers_only() -> None:
    for stages in (None, []):
        fit = stage_fit(zone_model(), stages)
        assert (fit.text, fit.problem) == ("不限阶段（仅按指标或培育库推荐）", "")
