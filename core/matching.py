"""Personalised services (scoring-model.md §8): by stage, by weak indicators, by nearby pools.

Stage fit comes from the catalogue (``ServiceItem.stages``, edited by officers); the weak-indicator
triggers come from the model's pools config (core.pools.pools_config). Each recommendation carries the reason it was made.
The shipped catalogue is data (``core/models/services.toml``, :func:`shipped_catalogue`); the demo seed
writes it to ``service_item``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.explain import fmt_value
from core.pools import OP_TEXT, PoolResult, compare, field_label, held_services, is_near, pools_config
from core.scoring_model import ScoringModel

SERVICES_PATH = Path(__file__).parent / "models" / "services.toml"


@dataclass(frozen=True)
class CatalogueItem:
    code: str
    name: str
    stages: tuple[str, ...] | None  # None = any stage (only recommended by a trigger)
    description: str = ""


def shipped_catalogue(path: Path | None = None) -> list[dict[str, Any]]:
    """The service catalogue as data, in file order: ``code``, ``name``, ``stages`` (None: any stage,
    recommended only by a trigger or pool), ``provider``, ``description``."""
    with (path or SERVICES_PATH).open("rb") as fh:
        services = tomllib.load(fh)["services"]
    return [{**service, "stages": service.get("stages")} for service in services]


@dataclass(frozen=True)
class StageFit:
    """A catalogue item's stages read against one model: the names of those it knows (in the model's
    order) and the codes it does not know (a catalogue written for another model)."""

    names: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def text(self) -> str:
        """The stages as an officer reads them: 萌芽期、起步期; 不限阶段 for an item without stages."""
        if not self.names and not self.unknown:
            return "不限阶段（仅按指标或培育库推荐）"
        return "、".join(self.names) if self.names else "（无当前模型中的阶段）"

    @property
    def problem(self) -> str:
        """Why the item is not matched as its stages say (empty when every stage is the model's)."""
        return (
            ("阶段" + "、".join(f"“{code}”" for code in self.unknown) + "不在当前模型中")
            if self.unknown
            else ""
        )


def stage_fit(model: ScoringModel, stages: Sequence[str] | None) -> StageFit:
    """``stages`` (a catalogue item's codes) read against ``model``: a code the model does not know never
    matches an enterprise, so it is reported, not dropped quietly."""
    chosen = set(stages or ())
    names = tuple(s.name for s in model.stages if s.code in chosen)
    known = set(model.stage_codes)
    return StageFit(names, tuple(dict.fromkeys(c for c in stages or () if c not in known)))


def service_references(model: ScoringModel, config: dict | None = None) -> dict[str, list[str]]:
    """What in ``model``'s pools config names each catalogue code, in Chinese: 培育库“国家高新技术企业”
    for a pool whose nearby enterprises are offered the service, 推荐规则“研发投入强度<3%” for a
    weak-indicator trigger. A deactivated item is dropped from both silently (match_services skips codes
    the active catalogue lacks), so an officer deactivating one is told these first."""
    config = pools_config(model) if config is None else config
    found: dict[str, list[str]] = {}
    for pool in config.get("pools", []):
        if pool.get("service"):
            found.setdefault(pool["service"], []).append(f"培育库“{pool.get('name', pool.get('code', ''))}”")
    for trigger in config.get("triggers", []):
        when = trigger.get("when", {})
        label, unit = field_label(model, when.get("field", ""), config)
        op = when.get("op", "")
        if op in ("absent", "present"):
            test = f"{OP_TEXT[op]}{label}"  # 无研发机构等级
        else:
            test = f"{label}{OP_TEXT.get(op, op)}{fmt_value(when.get('value'), unit)}"
        found.setdefault(trigger["service"], []).append(f"推荐规则“{test}”")
    return {code: list(dict.fromkeys(names)) for code, names in found.items()}


@dataclass(frozen=True)
class Recommendation:
    code: str
    name: str
    reasons: tuple[str, ...]
    description: str = ""


def match_services(
    model: ScoringModel,
    *,
    stage: str,
    facts: dict[str, Any],
    catalogue: Sequence[CatalogueItem],
    pools: Sequence[PoolResult] = (),
    config: dict | None = None,
) -> list[Recommendation]:
    """Recommended services with their reasons: stage fit first, then triggers and nearby pools."""
    config = pools_config(model) if config is None else config
    by_code = {item.code: item for item in catalogue}
    reasons: dict[str, list[str]] = {}
    stage_name = model.stage_name(stage)
    for item in catalogue:
        if item.stages and stage in item.stages:
            reasons.setdefault(item.code, []).append(f"适合{stage_name}企业")
    for trigger in config.get("triggers", []):
        when = trigger["when"]
        if trigger["service"] not in by_code:
            continue
        if compare(facts.get(when["field"]), when["op"], when.get("value")):
            _, unit = field_label(model, when["field"], config)
            text = trigger.get("reason", "").replace("{value}", fmt_value(facts.get(when["field"]), unit))
            reasons.setdefault(trigger["service"], []).append(text)
    for pool in pools:
        if pool.service and pool.service in by_code and is_near(pool):
            text = (
                f"已满足{pool.name}认定条件，可申请认定"
                if pool.met
                else f"接近{pool.name}（还差 {len(pool.gaps)} 项条件）"
            )
            reasons.setdefault(pool.service, []).append(text)
    # A service leading to a qualification the enterprise already holds is of no use to it (科小入库辅导
    # for a 科技型中小企业), whatever else suggested it.
    for code in held_services(list(pools)):
        reasons.pop(code, None)
    order = {item.code: i for i, item in enumerate(catalogue)}
    return [
        Recommendation(code, by_code[code].name, tuple(dict.fromkeys(texts)), by_code[code].description)
        for code, texts in sorted(reasons.items(), key=lambda kv: order.get(kv[0], 0))
    ]
