"""Cultivation pools (企业发现培育, scoring-model.md §7) evaluated for one enterprise, from data.

Pools, service triggers and derived facts belong to a model (:func:`pools_config`): a model carries its
own (``cultivation``, e.g. read from the file its TOML names in ``pools_file``); a model that declares
none gets the shipped ``core/models/pools.toml`` only when it has every field that file reads (the
default model's shape), otherwise no pools at all. This module only interprets them. Gaps are
sentences such as "T05 研发人员占比 8.2%，需 ≥10%".

:func:`evaluate_pools` is the one answer to "what does this enterprise lack": 培育库, the services
matched in 政策与服务 (:mod:`core.matching`) and the portrait's advice (:func:`qualifications`, read by
``core.explain``) all use its result.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.explain import fmt_value, is_missing
from core.scoring_model import ScoringModel

POOLS_PATH = Path(__file__).parent / "models" / "pools.toml"
OP_TEXT = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "为", "absent": "无", "present": "有"}


@dataclass(frozen=True)
class PoolResult:
    code: str
    name: str
    holds: bool  # already has the qualification (not a candidate)
    met: bool  # every condition met
    closeness: float  # share of conditions met, 0–1
    gaps: tuple[str, ...]
    service: str | None = None


@lru_cache(maxsize=4)
def load_config(path: str | None = None) -> dict:
    with open(path or POOLS_PATH, "rb") as fh:
        return tomllib.load(fh)


SPECIAL_FIELDS = frozenset({"veto", "registered_years", "percentile"})


def referenced_fields(config: dict) -> set[str]:
    """Every data field a pools config reads (conditions, points tests, thresholds, triggers, facts)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("field"), str):
                found.add(node["field"])
            for key in ("numerator", "denominator"):
                if isinstance(node.get(key), str):
                    found.add(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    facts = {f.get("name") for f in config.get("facts", [])}
    return found - facts - SPECIAL_FIELDS


def pools_config(model: ScoringModel) -> dict:
    """The pools, triggers and facts of `model` (see the module docstring); {} when it has none."""
    if model.cultivation is not None:
        return model.cultivation
    shipped = load_config()
    known = set(model.codes) | {b.code for b in model.base_fields}
    return shipped if referenced_fields(shipped) <= known else {}


def _number(value: Any) -> float | None:
    if is_missing(value) or isinstance(value, list | dict):
        return None
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def facts_for(model: ScoringModel, values: dict[str, Any], config: dict | None = None) -> dict[str, Any]:
    """``values`` plus the derived facts the config declares (e.g. R&D as a share of total cost)."""
    config = pools_config(model) if config is None else config
    facts = dict(values)
    for fact in config.get("facts", []):
        num, den = _number(facts.get(fact["numerator"])), _number(facts.get(fact["denominator"]))
        facts[fact["name"]] = num / den * fact.get("scale", 1) if num is not None and den and den > 0 else None
    return facts


def _label(model: ScoringModel, field: str, config: dict | None = None) -> tuple[str, str]:
    """(display name, unit) of a field."""
    try:
        ind = model.indicator(field)
        return f"{ind.code} {ind.name}", ind.unit
    except KeyError:
        pass
    for base in model.base_fields:
        if base.code == field:
            return base.name, base.unit
    for fact in (pools_config(model) if config is None else config).get("facts", []):
        if fact["name"] == field:
            return fact.get("label", field), fact.get("unit", "")
    return field, ""


def _compare(value: Any, op: str, target: Any) -> bool:
    if op == "absent":
        return is_missing(value) or value in (0, False, [], "无")
    if op == "present":
        return not _compare(value, "absent", None)
    if op == "==":
        return (bool(value) if isinstance(target, bool) else value) == target
    number = _number(value)
    if number is None:
        return False
    return {">=": number >= target, ">": number > target, "<=": number <= target, "<": number < target}[op]


def _threshold(cond: dict, facts: dict) -> float:
    if "value_by" not in cond:
        return cond.get("value")
    spec = cond["value_by"]
    basis = _number(facts.get(spec["field"]))
    for step in spec["steps"]:
        if "below" not in step or (basis is not None and basis < step["below"]):
            return step["value"]
    return spec["steps"][-1]["value"]


def _part_points(part: dict, facts: dict) -> float:
    if "best_of" in part:
        return max((_part_points(p, facts) for p in part["best_of"]), default=0.0)
    value = _number(facts.get(part["field"]))
    if value is None:
        return 0.0
    for at, points in part["steps"]:
        if (value <= at) if part.get("lower_is_better") else (value >= at):
            return float(points)
    return 0.0


def _check(model: ScoringModel, cond: dict, facts: dict) -> tuple[bool, str, float]:
    """(met, gap sentence, nearness 0–1) of one condition."""
    if "any" in cond:
        results = [_check(model, c, facts) for c in cond["any"]]
        if any(ok for ok, _, _ in results):
            return True, "", 1.0
        return False, f"{cond.get('label', '')}（均未达到）", max(r[2] for r in results)
    if "score" in cond:
        parts = cond["score"]
        points = [_part_points(p, facts) for p in parts]
        total = sum(points)
        need = cond.get("min", 60)
        zero_required = [p["label"] for p, pts in zip(parts, points, strict=True) if p.get("required") and pts <= 0]
        ok = total >= need and not zero_required
        if ok:
            return True, "", 1.0
        detail = "，".join(f"{p['label']} {pts:g} 分" for p, pts in zip(parts, points, strict=True))
        extra = f"；{'、'.join(zero_required)}不能为 0 分" if zero_required else ""
        return False, f"{cond.get('label', '评价得分')} {total:g} 分（{detail}），需 ≥{need:g} 分{extra}", total / need
    field, op = cond["field"], cond["op"]
    value = facts.get(field)
    target = _threshold(cond, facts)
    if _compare(value, op, target):
        return True, "", 1.0
    name, unit = _label(model, field)
    if op in ("absent", "present", "=="):
        return False, f"{cond.get('label') or name}：不符合", 0.0
    shown = fmt_value(value, unit) if not is_missing(value) else "暂无数据"
    number = _number(value)
    nearness = 0.0
    if number is not None and target:
        nearness = max(0.0, min(1.0, number / target)) if op in (">=", ">") else max(0.0, min(1.0, target / number)) if number else 0.0
    return False, f"{name} {shown}，需 {OP_TEXT[op]}{fmt_value(target, unit)}", nearness


def evaluate_pools(model: ScoringModel, facts: dict[str, Any], config: dict | None = None) -> list[PoolResult]:
    """Every pool for one enterprise; the nearest first (pools already held last)."""
    config = pools_config(model) if config is None else config
    results = []
    for pool in config.get("pools", []):
        holds = bool(pool.get("excludes")) and _compare(facts.get(pool["excludes"]), "present", None)
        checks = [_check(model, c, facts) for c in pool.get("conditions", [])]
        met = all(ok for ok, _, _ in checks)
        n = max(len(checks), 1)
        closeness = sum(1.0 if ok else 0.5 * near for ok, _, near in checks) / n
        gaps = tuple(gap for ok, gap, _ in checks if not ok)
        results.append(PoolResult(pool["code"], pool["name"], holds, met, round(closeness, 4), gaps,
                                  pool.get("service")))
    results.sort(key=lambda r: (r.holds, -r.closeness, r.code))
    return results


def qualifications(model: ScoringModel, results: list[PoolResult], config: dict | None = None) -> dict[str, PoolResult]:
    """What the enterprise lacks per qualification indicator: {indicator a pool marks (``excludes``, e.g.
    A01 国家高新技术企业): that pool's result}. The portrait's advice reads this, so it says exactly
    what 政策与服务 and 培育库 say (one evaluation, :func:`evaluate_pools`)."""
    config = pools_config(model) if config is None else config
    by_code = {r.code: r for r in results}
    return {pool["excludes"]: by_code[pool["code"]] for pool in config.get("pools", [])
            if pool.get("excludes") and pool["code"] in by_code}


def held_services(results: list[PoolResult]) -> set[str]:
    """Services that lead to a qualification the enterprise already holds (never recommended to it)."""
    return {r.service for r in results if r.holds and r.service}


def is_near(result: PoolResult, *, max_gaps: int = 2) -> bool:
    """A candidate worth showing: not held, and at most ``max_gaps`` unmet conditions."""
    return not result.holds and len(result.gaps) <= max_gaps and not math.isclose(result.closeness, 0.0)
