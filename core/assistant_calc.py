"""政策计算器 (pure): every item the model declares — lists, subsidies, 亩均, cultivation pools, services
and bank products — evaluated for one enterprise, with the outcome in words.

Outcomes: ``eligible`` (符合), ``not_eligible`` (不符合: the failing condition, in words), ``unknown``
(无法判断: which data is missing and who supplies it), ``held`` (已具备: a qualification it already has).
An item is 免申即享 (``instant``) when it is eligible, its rule is decided by data alone and that data is
complete: the enterprise only confirms it with one click (services.assistant.confirm_item).

Everything comes from the portrait (the published run's numbers, as 我的积分 shows them), the pool
evaluation the portrait already made (core.pools) and the service catalogue; nothing here reads a
database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.assistant import supplier_text
from core.explain import fmt_value, is_missing
from core.lists import places
from core.pools import OP_TEXT, Facts, check_frame, field_label, pools_config

ELIGIBLE, NOT_ELIGIBLE, UNKNOWN, HELD = "eligible", "not_eligible", "unknown", "held"
OUTCOME_LABELS = {ELIGIBLE: "符合", NOT_ELIGIBLE: "不符合", UNKNOWN: "无法判断", HELD: "已具备"}
KIND_LABELS = {
    "subsidy": "政策扶持",
    "list": "创新榜单",
    "mujun": "亩均评价",
    "pool": "培育认定",
    "service": "企业服务",
    "bank": "金融产品",
}
SPECIAL_SUPPLIERS = {
    "registered_years": "由市场监管部门的企业注册登记信息提供",
    "percentile": "由积分批次计算",
    "veto": "由信用、应急等部门提供",
}


def is_bank_provider(provider: str | None) -> bool:
    """A catalogue item provided by a bank is a financial product (recommended only with the enterprise's
    consent, never to a vetoed one). The catalogue has no kind of its own: the provider's name decides,
    so 服务目录 shows each item's resulting kind beside it."""
    return "银行" in (provider or "")


@dataclass(frozen=True)
class ServiceOffer:
    """A catalogue item as the calculator needs it."""

    code: str
    name: str
    stages: tuple[str, ...] | None
    provider: str = ""
    description: str = ""

    @property
    def is_bank(self) -> bool:
        return is_bank_provider(self.provider)


@dataclass(frozen=True)
class PolicyItem:
    key: str  # stable: "subsidy:growth", "list:竞跑", "pool:hte", "service:financing"
    kind: str  # subsidy / list / mujun / pool / service / bank
    name: str
    outcome: str
    reason: str  # Chinese: why it fits, the failing condition, or what is missing and who supplies it
    missing: tuple[str, ...] = ()
    instant: bool = False  # 免申即享

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS[self.outcome]


@dataclass
class CalculatorInput:
    """The portrait's numbers and the context the rules read."""

    model: Any
    stage: str
    stage_name: str
    run_state: str  # notice / final
    veto: bool
    veto_reason: str
    rank: int | None
    ranked_in_stage: int
    tier: str
    subsidy: float
    mujun: str
    facts: Mapping[str, Any]  # services.portrait.pool_facts
    pools: Sequence[Any]  # core.pools.PoolResult, as the portrait computed them
    recommendations: Sequence[Any]  # core.matching.Recommendation
    catalogue: Sequence[ServiceOffer] = ()
    bank_consent: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ who supplies a field
def supplier(model: Any, field_code: str, config: Mapping[str, Any] | None = None) -> str:
    if field_code in SPECIAL_SUPPLIERS:
        return SPECIAL_SUPPLIERS[field_code]
    item = model.field(field_code)
    if item is not None:
        return supplier_text(getattr(item, "source", ""), self_reported=getattr(item, "self_reported", False))
    config = pools_config(model) if config is None else config
    for fact in config.get("facts", []):
        if fact["name"] == field_code:  # a derived fact: whoever supplies its parts
            parts = {supplier(model, fact["numerator"], config), supplier(model, fact["denominator"], config)}
            return "；".join(sorted(parts))
    return "由区科技局核实"


def _fields(cond: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    if "any" in cond:
        for c in cond["any"]:
            out.extend(_fields(c))
    elif "score" in cond:
        for part in cond["score"]:
            out.extend(
                _fields(part) if "field" in part else [f for p in part.get("best_of", []) for f in _fields(p)]
            )
    elif "field" in cond:
        out.append(cond["field"])
        if "value_by" in cond:
            out.append(cond["value_by"]["field"])
    return out


def _missing_text(model: Any, codes: Sequence[str], config: Mapping[str, Any]) -> tuple[str, ...]:
    out = []
    for code in dict.fromkeys(codes):
        name, _ = field_label(model, code, config)
        out.append(f"{name}（{supplier(model, code, config)}）")
    return tuple(out)


# ------------------------------------------------------------------ the items
def _rank_text(inp: CalculatorInput) -> str:
    return f"本企业在{inp.stage_name}排第 {inp.rank} 名（共 {inp.ranked_in_stage} 家参与排名）"


def _excluded(inp: CalculatorInput) -> str | None:
    if inp.veto:
        return f"一票否决（{inp.veto_reason}）的企业不参与排名，不享受此项"
    if inp.rank is None:
        return "本企业未参与本阶段排名"
    return None


def list_items(inp: CalculatorInput) -> list[PolicyItem]:
    model = inp.model
    out = []
    codes = [t.code for t in model.tiers]
    previous = 0
    for t in model.tiers:
        size = places(t.share, inp.ranked_in_stage)
        span = f"{t.name}为本阶段第 {previous + 1}–{size} 名" if size > previous else f"{t.name}本阶段无名额"
        key = f"list:{t.code}"
        blocked = _excluded(inp)
        if blocked:
            out.append(PolicyItem(key, "list", t.name, NOT_ELIGIBLE, blocked))
        elif inp.tier == t.code:
            out.append(PolicyItem(key, "list", t.name, ELIGIBLE, f"{_rank_text(inp)}，{span}。"))
        elif inp.tier in codes and codes.index(inp.tier) < codes.index(t.code):
            better = model.tier_name(inp.tier)
            out.append(
                PolicyItem(key, "list", t.name, NOT_ELIGIBLE, f"已进入更高的{better}（{_rank_text(inp)}）。")
            )
        else:
            out.append(PolicyItem(key, "list", t.name, NOT_ELIGIBLE, f"{_rank_text(inp)}，{span}。"))
        previous = max(previous, size)
    return out


def subsidy_items(inp: CalculatorInput) -> list[PolicyItem]:
    model = inp.model
    out = []
    for s in model.subsidies:
        stage_name = model.stage_name(s.stage)
        name = f"政策精准扶持（{stage_name}，每家 {s.amount:g} 万元）"
        key = f"subsidy:{s.stage}"
        if s.stage != inp.stage:
            out.append(
                PolicyItem(
                    key, "subsidy", name, NOT_ELIGIBLE, f"适用于{stage_name}企业，本企业为{inp.stage_name}。"
                )
            )
            continue
        blocked = _excluded(inp)
        count = min(places(s.share, inp.ranked_in_stage), s.max_count)
        rule = f"本阶段排名前 {s.share * 100:g}%（共 {count} 个名额，最多 {s.max_count} 家）"
        if blocked:
            out.append(PolicyItem(key, "subsidy", name, NOT_ELIGIBLE, blocked))
        elif inp.subsidy > 0:
            final = inp.run_state == "final"
            tail = "积分已定稿，可确认兑现。" if final else "积分公示中，定稿后兑现。"
            out.append(
                PolicyItem(
                    key, "subsidy", name, ELIGIBLE, f"{_rank_text(inp)}，符合“{rule}”。{tail}", instant=final
                )
            )
        else:
            out.append(PolicyItem(key, "subsidy", name, NOT_ELIGIBLE, f"需{rule}，{_rank_text(inp)}。"))
    return out


def mujun_items(inp: CalculatorInput) -> list[PolicyItem]:
    out = []
    for m in inp.model.mujun:
        name = f"亩均论英雄：{m.code}"
        key = f"mujun:{m.code}"
        count = places(m.share, inp.ranked_in_stage)
        rule = f"本阶段排名前 {m.share * 100:g}%（前 {count} 名）"
        blocked = _excluded(inp)
        if blocked:
            out.append(PolicyItem(key, "mujun", name, NOT_ELIGIBLE, blocked))
        elif inp.mujun == m.code:
            out.append(PolicyItem(key, "mujun", name, ELIGIBLE, f"{_rank_text(inp)}，符合“{rule}”。"))
        elif inp.mujun:
            out.append(PolicyItem(key, "mujun", name, NOT_ELIGIBLE, f"已获得更高的“{inp.mujun}”。"))
        else:
            out.append(PolicyItem(key, "mujun", name, NOT_ELIGIBLE, f"需{rule}，{_rank_text(inp)}。"))
    return out


def pool_items(inp: CalculatorInput) -> list[PolicyItem]:
    """Each pool's conditions checked one by one: a failing condition whose data is present decides
    不符合; otherwise an unmet condition with missing data makes it 无法判断."""
    model = inp.model
    config = pools_config(model)
    results = {r.code: r for r in inp.pools}
    frame = pd.DataFrame([dict(inp.facts)]) if inp.facts else pd.DataFrame(index=[0])
    for key, value in inp.facts.items():
        if isinstance(value, list | dict | tuple):
            frame[key] = pd.Series([value], dtype=object)
    facts = Facts(frame)
    wanted = np.ones(1, dtype=bool)
    out = []
    for pool in config.get("pools", []):
        key = f"pool:{pool['code']}"
        result = results.get(pool["code"])
        name = f"{pool['name']}认定"
        if result is not None and result.holds:
            out.append(PolicyItem(key, "pool", name, HELD, f"本企业已具备{pool['name']}资格。"))
            continue
        if inp.veto:
            out.append(PolicyItem(key, "pool", name, NOT_ELIGIBLE, _excluded(inp) or ""))
            continue
        failing, missing = [], []
        for cond in pool.get("conditions", []):
            met, gaps, _ = check_frame(model, cond, facts, wanted)
            if bool(met[0]):
                continue
            absent = [f for f in _fields(cond) if is_missing(inp.facts.get(f))]
            if absent and ("any" not in cond or len(absent) == len(_fields(cond))):
                missing.extend(absent)
            else:
                failing.append(gaps[0])
        if failing:
            reason = "未满足：" + "；".join(failing) + "。"
            if missing:
                reason += "另缺少数据：" + "、".join(_missing_text(model, missing, config)) + "。"
            out.append(
                PolicyItem(key, "pool", name, NOT_ELIGIBLE, reason, _missing_text(model, missing, config))
            )
        elif missing:
            texts = _missing_text(model, missing, config)
            out.append(
                PolicyItem(
                    key, "pool", name, UNKNOWN, "缺少数据，无法判断：" + "、".join(texts) + "。", texts
                )
            )
        else:
            out.append(
                PolicyItem(
                    key, "pool", name, ELIGIBLE, f"已满足{pool['name']}的全部参考条件，可向主管部门申请认定。"
                )
            )
    return out


def service_items(inp: CalculatorInput) -> list[PolicyItem]:
    model = inp.model
    config = pools_config(model)
    recommended = {r.code: r for r in inp.recommendations}
    held = {r.service for r in inp.pools if r.holds and r.service}
    triggers: dict[str, list[dict]] = {}
    for trigger in config.get("triggers", []):
        triggers.setdefault(trigger["service"], []).append(trigger)
    pool_services: dict[str, list[str]] = {}
    for pool in config.get("pools", []):
        if pool.get("service"):
            pool_services.setdefault(pool["service"], []).append(pool["name"])
    out = []
    for offer in inp.catalogue:
        kind = "bank" if offer.is_bank else "service"
        key = f"{kind}:{offer.code}"
        rec = recommended.get(offer.code)
        if rec is not None:
            reason = "；".join(rec.reasons) + "。"
            if kind == "bank" and inp.veto:
                out.append(PolicyItem(key, kind, offer.name, NOT_ELIGIBLE, _excluded(inp) or ""))
            elif kind == "bank" and not inp.bank_consent:
                out.append(
                    PolicyItem(
                        key, kind, offer.name, ELIGIBLE, reason + "需先在“政策与服务”页面同意向合作银行推荐。"
                    )
                )
            else:
                out.append(PolicyItem(key, kind, offer.name, ELIGIBLE, reason, instant=True))
            continue
        if offer.code in held:
            out.append(PolicyItem(key, kind, offer.name, NOT_ELIGIBLE, "本企业已具备相应资格，无需此服务。"))
            continue
        missing, failing = [], []
        for trigger in triggers.get(offer.code, []):
            when = trigger["when"]
            value = inp.facts.get(when["field"])
            name, unit = field_label(model, when["field"], config)
            if when["op"] not in ("absent", "present") and is_missing(value):
                missing.append(when["field"])
            else:
                target = when.get("value")
                need = OP_TEXT[when["op"]] + (fmt_value(target, unit) if target is not None else "")
                failing.append(f"推荐条件为{name} {need}，本企业为 {fmt_value(value, unit)}")
        # Only the model's own stages are named: an offer keyed to another model's stages alone fits no
        # stage here, and "适合企业" (nothing named) would read as a broken sentence.
        names = "、".join(model.stage_name(s) for s in offer.stages or () if s in model.stage_codes)
        if names:
            failing.append(f"适合{names}企业，本企业为{inp.stage_name}")
        for pool_name in pool_services.get(offer.code, []):
            failing.append(f"尚未接近{pool_name}的认定条件")
        if missing and not failing:
            texts = _missing_text(model, missing, config)
            out.append(
                PolicyItem(
                    key, kind, offer.name, UNKNOWN, "缺少数据，无法判断：" + "、".join(texts) + "。", texts
                )
            )
        elif failing:
            out.append(PolicyItem(key, kind, offer.name, NOT_ELIGIBLE, "；".join(failing) + "。"))
        else:
            out.append(PolicyItem(key, kind, offer.name, NOT_ELIGIBLE, "暂不符合推荐条件。"))
    return out


def evaluate(inp: CalculatorInput) -> list[PolicyItem]:
    """Every declared item for the enterprise, in a fixed order: subsidies, lists, 亩均, pools, services,
    bank products."""
    items = [*subsidy_items(inp), *list_items(inp), *mujun_items(inp), *pool_items(inp), *service_items(inp)]
    order = {"subsidy": 0, "list": 1, "mujun": 2, "pool": 3, "service": 4, "bank": 5}
    return sorted(items, key=lambda i: order.get(i.kind, 9))


def no_run_items(model: Any, catalogue: Sequence[ServiceOffer], note: str) -> list[PolicyItem]:
    """Without a published run nothing can be decided: every item is 无法判断 with the reason."""
    items = [
        PolicyItem(
            f"subsidy:{s.stage}", "subsidy", f"政策精准扶持（{model.stage_name(s.stage)}）", UNKNOWN, note
        )
        for s in model.subsidies
    ]
    items += [PolicyItem(f"list:{t.code}", "list", t.name, UNKNOWN, note) for t in model.tiers]
    items += [
        PolicyItem(f"pool:{p['code']}", "pool", f"{p['name']}认定", UNKNOWN, note)
        for p in pools_config(model).get("pools", [])
    ]
    items += [
        PolicyItem(
            f"{'bank' if o.is_bank else 'service'}:{o.code}",
            "bank" if o.is_bank else "service",
            o.name,
            UNKNOWN,
            note,
        )
        for o in catalogue
    ]
    return items
