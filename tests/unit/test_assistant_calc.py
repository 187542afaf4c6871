"""政策计算器: every declared item gets one of the outcomes, in words; and the optional language model
may only reword an answer (unreachable or changing a number: the answer stays as built)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from core import assistant_calc as calc
from core.assistant import Answer
from core.matching import CatalogueItem, match_services
from core.model_loading import load_model
from core.pools import evaluate_pools, facts_for
from core.scoring_model import ScoringModel
from services.assistant import rephrase

MODEL = load_model()
OFFERS = [
    calc.ServiceOffer("financing", "投融资对接", ("seed", "startup", "growth", "expansion")),
    calc.ServiceOffer("rd_deduction", "研发费用加计扣除政策辅导", None, "区税务局"),
    calc.ServiceOffer("innovation_loan", "科创指数贷", None, "合作银行"),
    calc.ServiceOffer("global", "全球化业务拓展", ("mature",)),
]


def _input(
    facts: dict,
    *,
    rank: int | None = 6,
    subsidy: float = 0.0,
    run_state: str = "final",
    veto: bool = False,
    consent: bool = False,
    stage: str = "growth",
    model: ScoringModel = MODEL,
) -> calc.CalculatorInput:
    base = {"veto": veto, "registered_years": 5, "percentile": 50.0, "staff": 40, "G01": 3000}
    facts = facts_for(model, base | facts)
    pools = evaluate_pools(model, facts)
    catalogue = [CatalogueItem(o.code, o.name, o.stages) for o in OFFERS]
    recs = match_services(model, stage=stage, facts=facts, catalogue=catalogue, pools=pools)
    return calc.CalculatorInput(
        model=model,
        stage=stage,
        stage_name=model.stage_name(stage),
        run_state=run_state,
        veto=veto,
        veto_reason="严重失信" if veto else "",
        rank=rank,
        ranked_in_stage=120,
        tier="",
        subsidy=subsidy,
        mujun="",
        facts=facts,
        pools=pools,
        recommendations=recs,
        catalogue=OFFERS,
        bank_consent=consent,
    )


def _item(items: list, key: str) -> calc.PolicyItem:
    return next(i for i in items if i.key == key)


def test_every_declared_item_is_evaluated() -> None:
    items = calc.evaluate(_input({"T01": 200, "T02": 5}))
    keys = {i.key for i in items}
    assert {f"subsidy:{s.stage}" for s in MODEL.subsidies} <= keys
    assert {f"list:{t.code}" for t in MODEL.tiers} <= keys
    assert {f"mujun:{m.code}" for m in MODEL.mujun} <= keys
    assert {"pool:hte", "pool:stsme", "pool:innovative_sme", "pool:specialized"} <= keys
    assert {"service:financing", "service:rd_deduction", "bank:innovation_loan", "service:global"} <= keys
    assert all(i.reason for i in items)


def test_eligible_pool_when_every_condition_holds() -> None:
    item = _item(calc.evaluate(_input({"T01": 200, "T02": 5, "G07": 0})), "pool:specialized")
    assert item.outcome == calc.ELIGIBLE and "全部参考条件" in item.reason


def test_failing_condition_is_named_in_words() -> None:
    item = _item(calc.evaluate(_input({"T01": 50, "T02": 5})), "pool:specialized")
    assert item.outcome == calc.NOT_ELIGIBLE
    assert "研发费用总额 50 万元，需 ≥100 万元" in item.reason


def test_missing_data_says_what_is_missing_and_who_supplies_it() -> None:
    item = _item(calc.evaluate(_input({"T01": None, "T02": 5})), "pool:specialized")
    assert item.outcome == calc.UNKNOWN
    assert "研发费用总额" in item.reason and "税务" in item.reason
    # a self-reported field names the enterprise itself as the supplier
    hte = _item(calc.evaluate(_input({"T01": 300, "T02": 9, "T05": 20, "T06": 2, "T11": None})), "pool:hte")
    assert hte.outcome == calc.UNKNOWN and "数据填报" in hte.reason


def test_a_known_failure_outweighs_missing_data() -> None:
    item = _item(calc.evaluate(_input({"T01": 50, "T02": None})), "pool:specialized")
    assert item.outcome == calc.NOT_ELIGIBLE and "研发费用总额" in item.reason and "缺少数据" in item.reason


def test_subsidy_follows_the_published_rank_and_is_instant_only_when_final() -> None:
    got = _item(calc.evaluate(_input({}, rank=1, subsidy=10, run_state="final")), "subsidy:growth")
    assert got.outcome == calc.ELIGIBLE and got.instant
    notice = _item(calc.evaluate(_input({}, rank=1, subsidy=10, run_state="notice")), "subsidy:growth")
    assert notice.outcome == calc.ELIGIBLE and not notice.instant and "定稿后" in notice.reason
    missed = _item(calc.evaluate(_input({}, rank=6)), "subsidy:growth")
    assert missed.outcome == calc.NOT_ELIGIBLE and "排名前 1%" in missed.reason and "第 6 名" in missed.reason
    other = _item(calc.evaluate(_input({}, rank=1)), "subsidy:mature")
    assert other.outcome == calc.NOT_ELIGIBLE and "成熟期" in other.reason


def test_veto_excludes_lists_subsidies_pools_and_bank_products() -> None:
    items = calc.evaluate(_input({"T01": 200, "T02": 5}, rank=None, veto=True))
    for key in ("list:领跑", "subsidy:growth", "pool:specialized"):
        item = _item(items, key)
        assert item.outcome == calc.NOT_ELIGIBLE and "一票否决" in item.reason


def test_services_by_stage_trigger_and_missing_trigger_data() -> None:
    items = calc.evaluate(_input({"T02": 1.5}))
    assert _item(items, "service:financing").outcome == calc.ELIGIBLE
    assert _item(items, "service:financing").instant
    assert _item(items, "service:rd_deduction").outcome == calc.ELIGIBLE
    assert "成熟期" in _item(items, "service:global").reason
    unknown = _item(calc.evaluate(_input({"T02": None})), "service:rd_deduction")
    assert unknown.outcome == calc.UNKNOWN and "研发投入强度" in unknown.reason


def test_a_service_keyed_to_another_models_stages_reads_as_a_sentence() -> None:
    """Under a model of 萌芽期 … 领航期, 全球化业务拓展 (kept for the default model's 成熟期) fits no stage
    here: it is not recommended, and its reason names no stage — not "适合企业，本企业为加速期" with the
    unknown stage dropped from the middle of the sentence."""
    from tests.zone_model import leaks, zone_model

    item = _item(calc.evaluate(_input({}, stage="speed", model=zone_model())), "service:global")
    assert item.outcome == calc.NOT_ELIGIBLE
    assert item.reason == "暂不符合推荐条件。", item.reason
    assert not leaks(item.reason) and "mature" not in item.reason


def test_a_bank_product_needs_the_enterprise_s_consent_to_be_instant() -> None:
    high = {"percentile": 90.0}
    without = _item(calc.evaluate(_input(high)), "bank:innovation_loan")
    assert without.outcome == calc.ELIGIBLE and not without.instant and "同意" in without.reason
    given = _item(calc.evaluate(_input(high, consent=True)), "bank:innovation_loan")
    assert given.instant


# ------------------------------------------------------------------ the optional language model
class _Model(BaseHTTPRequestHandler):
    reply = ""

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        length = int(self.headers.get("Content-Length", 0))
        json.loads(self.rfile.read(length))
        body = json.dumps({"choices": [{"message": {"content": type(self).reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_model():  # noqa: ANN201
    server = HTTPServer(("127.0.0.1", 0), _Model)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def _answer() -> Answer:
    return Answer("本企业总积分 35.73 分，在成长期排第 6 名。", "total_rank", "总积分与排名")


def test_rephrasing_keeps_the_numbers(local_model) -> None:  # noqa: ANN001
    _, url = local_model
    _Model.reply = "您的企业总积分为 35.73 分，目前在成长期位列第 6 名。"
    answer = rephrase(_answer(), url=url)
    assert answer.rephrased and answer.text == _Model.reply


def test_a_rephrasing_that_changes_a_number_is_refused(local_model) -> None:  # noqa: ANN001
    _, url = local_model
    _Model.reply = "您的企业总积分为 36 分，位列第 6 名。"
    answer = rephrase(_answer(), url=url)
    assert not answer.rephrased and answer.text == _answer().text


def test_unset_or_unreachable_model_gives_the_same_answer() -> None:
    assert rephrase(_answer(), url="").text == _answer().text
    # a closed port on this machine: the call fails at once and the answer is the one built
    answer = rephrase(_answer(), url="http://127.0.0.1:9/v1", timeout=1.0)
    assert not answer.rephrased and answer.text == _answer().text
