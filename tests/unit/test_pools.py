from __future__ import annotations

import pytest

from core.matching import CatalogueItem, match_services
from core.model_loading import load_model
from core.pools import evaluate_pools, facts_for, load_config


@pytest.fixture(scope="module")
def model():  # noqa: ANN201
    return load_model()


def _by_code(results):  # noqa: ANN001, ANN202
    return {r.code: r for r in results}


def test_gap_sentence_names_value_and_threshold(model) -> None:  # noqa: ANN001
    facts = facts_for(
        model, {"veto": False, "registered_years": 3, "T06": 1, "T02": 6.0, "G01": 800, "T05": 8.2, "T11": 70}
    )
    hte = _by_code(evaluate_pools(model, facts))["hte"]
    assert not hte.met and not hte.holds
    assert hte.gaps == ("研发人员占比 8.2%，需 ≥10%",)


def test_threshold_depends_on_revenue(model) -> None:  # noqa: ANN001
    base = {"veto": False, "registered_years": 3, "T06": 2, "T05": 12, "T11": 65, "T02": 4.5}
    assert not _by_code(evaluate_pools(model, facts_for(model, {**base, "G01": 3000})))["hte"].met
    assert _by_code(evaluate_pools(model, facts_for(model, {**base, "G01": 8000})))["hte"].met


def test_points_test_with_best_of_and_required_part(model) -> None:  # noqa: ANN001
    facts = facts_for(
        model,
        {
            "veto": False,
            "staff": 40,
            "G01": 300,
            "T05": 31,
            "T02": 1.0,
            "T01": 30,
            "total_cost": 100,
            "T06": 0,
            "T07": 1,
        },
    )
    # staff 20 + R&D by cost (30% → 50) + IP (1 → 6) = 76
    assert _by_code(evaluate_pools(model, facts))["stsme"].met
    facts["T05"] = 5  # the staff part is required to be non-zero
    gaps = _by_code(evaluate_pools(model, facts))["stsme"].gaps
    assert gaps and "不能为 0 分" in gaps[0]


def test_held_qualification_and_veto(model) -> None:  # noqa: ANN001
    results = _by_code(evaluate_pools(model, facts_for(model, {"A01": 1, "veto": True})))
    assert results["hte"].holds
    assert "无一票否决事项：不符合" in results["specialized"].gaps


def test_services_by_stage_trigger_and_pool(model) -> None:  # noqa: ANN001
    stage = model.stage_codes[0]
    catalogue = [
        CatalogueItem("business_model", "商业模式头脑风暴", (stage,)),
        CatalogueItem("rd_deduction", "研发费用加计扣除政策辅导", None),
        CatalogueItem("hte_guidance", "高企申报辅导", None),
        CatalogueItem("key_tech", "关键核心技术攻关", (model.stage_codes[-1],)),
    ]
    facts = facts_for(
        model, {"veto": False, "registered_years": 2, "T06": 1, "T02": 2.0, "G01": 50, "T05": 12, "T11": 70}
    )
    recs = {
        r.code: r
        for r in match_services(
            model, stage=stage, facts=facts, catalogue=catalogue, pools=evaluate_pools(model, facts)
        )
    }
    assert set(recs) == {"business_model", "rd_deduction", "hte_guidance"}
    assert "2%" in recs["rd_deduction"].reasons[0]
    assert recs["hte_guidance"].reasons[0].startswith("接近国家高新技术企业")
    assert load_config()["triggers"]


def test_every_recommended_service_is_in_the_shipped_catalogue() -> None:
    """A trigger or pool naming a service the catalogue lacks would be skipped silently."""
    from core.matching import shipped_catalogue

    config = load_config()
    catalogue = {service["code"] for service in shipped_catalogue()}
    named = {t["service"] for t in config["triggers"]} | {
        p["service"] for p in config["pools"] if p.get("service")
    }
    assert named <= catalogue, named - catalogue


def test_a_met_pool_is_not_called_near_and_a_held_one_gets_no_guidance(model) -> None:  # noqa: ANN001
    stage = model.stage_codes[1]
    catalogue = [
        CatalogueItem("hte_guidance", "高企申报辅导", None),
        CatalogueItem("stsme_guidance", "科小入库辅导", None),
    ]
    # Meets every 高企 condition (G01 8000 → 4% R&D needed) and already holds 科技型中小企业 (A02).
    facts = facts_for(
        model,
        {
            "veto": False,
            "registered_years": 3,
            "T06": 2,
            "T05": 12,
            "T11": 65,
            "T02": 4.5,
            "G01": 8000,
            "A02": 1,
            "staff": 40,
        },
    )
    pools = evaluate_pools(model, facts)
    recs = {
        r.code: r for r in match_services(model, stage=stage, facts=facts, catalogue=catalogue, pools=pools)
    }
    assert recs["hte_guidance"].reasons == ("已满足国家高新技术企业认定条件，可申请认定",)
    assert not any(reason.startswith("接近") for r in recs.values() for reason in r.reasons)
    assert "stsme_guidance" not in recs  # 科小入库辅导 for a 科技型中小企业: never


def test_advice_on_a_qualification_says_what_the_pools_say(model) -> None:  # noqa: ANN001
    from core import explain
    from core.pools import qualifications

    stage = model.stage_codes[1]
    facts = facts_for(
        model, {"veto": False, "registered_years": 3, "T06": 1, "T02": 6.0, "G01": 800, "T05": 8.2, "T11": 40}
    )
    pools = evaluate_pools(model, facts)
    hte = _by_code(pools)["hte"]
    assert len(hte.gaps) == 2
    state = explain.IndicatorState("A01", 0, 0.0, 0.0)
    move = explain.improvement(model, stage, state, qualifications=qualifications(model, pools))
    assert move is not None
    assert "2 项认定条件" in move.action and all(gap in move.action for gap in hte.gaps)
    assert move.cost > explain.improvement(model, stage, state).cost  # harder than a plain "取得"
    met = facts_for(model, {**facts, "T05": 12, "T11": 65})
    move = explain.improvement(
        model, stage, state, qualifications=qualifications(model, evaluate_pools(model, met))
    )
    assert move.action == "申请认定“国家高新技术企业”（已满足认定条件）"


# ---------------------------------------------------------------- the frame evaluator (培育库)
def test_frame_evaluation_equals_one_enterprise_at_a_time(model) -> None:  # noqa: ANN001
    import pandas as pd

    from core.pools import evaluate_pools_frame, facts_frame

    rows = [
        {"veto": False, "registered_years": 3, "T06": 1, "T02": 6.0, "G01": 800, "T05": 8.2, "T11": 70},
        {
            "veto": False,
            "registered_years": 0.5,
            "T06": 0,
            "T07": 2,
            "T02": 2.0,
            "G01": 300,
            "T05": 31,
            "staff": 40,
            "T01": 30,
            "total_cost": 100,
            "G02": 12,
            "G08": 60,
        },
        {"veto": True, "A01": 1, "A02": 1, "T01": 150, "G01": 4000},
        {},
    ]
    table = evaluate_pools_frame(model, facts_frame(model, pd.DataFrame(rows)))
    for i, row in enumerate(rows):
        one = {r.code: r for r in evaluate_pools(model, facts_for(model, row))}
        for r in table[table["row"] == i].itertuples():
            assert (r.holds, r.met, r.closeness, r.gaps) == (
                one[r.pool].holds,
                one[r.pool].met,
                one[r.pool].closeness,
                one[r.pool].gaps,
            )


def test_sentences_only_for_the_rows_asked_for(model) -> None:  # noqa: ANN001
    """gaps_for writes the sentences of some rows (the ones a page shows); every number — met, closeness,
    gap_count — is the same as with all sentences, and the asked-for rows get exactly their sentences."""
    import numpy as np
    import pandas as pd

    from benchmarks.synthetic import make_inputs
    from core.derive import derive_indicators
    from core.pools import evaluate_pools_frame, facts_frame

    facts = derive_indicators(model, make_inputs(300, seed=3))
    facts["veto"] = False
    facts["registered_years"] = np.linspace(0, 12, len(facts))
    facts["staff"] = np.arange(len(facts)) % 90 + 3
    facts = facts_frame(model, facts)
    full = evaluate_pools_frame(model, facts)
    shown = np.array([299, 0, 7, 150])
    partial = evaluate_pools_frame(model, facts, gaps_for=shown)
    numbers = ["row", "pool", "holds", "met", "closeness", "gap_count"]
    pd.testing.assert_frame_equal(full[numbers], partial[numbers])
    assert (full["gap_count"] == full["gaps"].map(len)).all()
    asked = partial["row"].isin(shown)
    assert partial.loc[asked, "gaps"].tolist() == full.loc[asked, "gaps"].tolist()
    assert full.loc[asked, "gaps"].map(len).sum() > 0  # some shown rows do miss conditions
    assert (partial.loc[~asked, "gaps"].map(len) == 0).all()
    one = evaluate_pools_frame(model, facts.iloc[shown], only="hte")
    assert set(one["pool"]) == {"hte"}
    assert one["gaps"].tolist() == [
        full[(full["row"] == r) & (full["pool"] == "hte")]["gaps"].iloc[0] for r in shown
    ]


def test_every_unmet_condition_with_its_numeric_gap(model) -> None:  # noqa: ANN001
    # hte: registered 0.5 y (需 ≥1), T02 2% with G01 300 (需 ≥5%), T05 31% ok, T11 missing, IP: 0 Ⅰ类 / 2 Ⅱ类
    facts = facts_for(
        model, {"veto": False, "registered_years": 0.5, "T06": 0, "T07": 2, "T02": 2.0, "G01": 300, "T05": 31}
    )
    hte = _by_code(evaluate_pools(model, facts))["hte"]
    assert hte.gaps == (
        "注册成立年限 0.5 年，需 ≥1 年",
        "知识产权：Ⅰ类 ≥1 件或Ⅱ类 ≥5 件（均未达到）：有效Ⅰ类知识产权 0 件，需 ≥1 件；或有效Ⅱ类知识产权 2 件，需 ≥5 件",
        "研发投入强度 2%，需 ≥5%",
        "高新技术产品收入占比 暂无数据，需 ≥60%",
    )
    # closeness: veto ok (1) + 0.5·0.5 + 0.5·max(0, 0.4) + 0.5·0.4 + 1 + 0 = 2.65 over 6 conditions
    assert hte.closeness == pytest.approx(round(2.65 / 6, 4))


def test_points_test_gap_names_each_part(model) -> None:  # noqa: ANN001
    # innovative SME: IP 2 Ⅱ类 → 10; T02 2.5 → 10; G02 7 → 10; G08 80 → 0: 30 < 60
    facts = facts_for(model, {"veto": False, "T06": 0, "T07": 2, "T02": 2.5, "G02": 7, "G08": 80})
    gap = _by_code(evaluate_pools(model, facts))["innovative_sme"].gaps
    assert gap == (
        "创新型中小企业评价得分 30 分（知识产权 10 分，研发投入强度 10 分，营业收入增长率 10 分，资产负债率 0 分），需 ≥60 分",
    )


def test_a_no_in_words_is_not_holding_the_qualification(model) -> None:  # noqa: ANN001
    for no in ("否", "0", "false", "", None, 0, False):
        assert not _by_code(evaluate_pools(model, {"veto": False, "A01": no}))["hte"].holds, no
    for yes in ("是", "1", 1, True):
        assert _by_code(evaluate_pools(model, {"veto": False, "A01": yes}))["hte"].holds, yes
