"""Cultivation pools (企业发现培育, scoring-model.md §7) evaluated for one enterprise, from data.

Pools, service triggers and derived facts belong to a model (:func:`pools_config`): a model carries its
own (``cultivation``, e.g. read from the file its TOML names in ``pools_file``); a model that declares
none gets the shipped ``core/models/pools.toml`` only when it has every field that file reads (the
default model's shape), otherwise no pools at all. This module only interprets them. Gaps are
sentences such as "研发人员占比 8.2%，需 ≥10%".

:func:`evaluate_pools` is the one answer to "what does this enterprise lack": 培育库, the services
matched in 政策与服务 (:mod:`core.matching`) and the portrait's advice (:func:`qualifications`, read by
``core.explain``) all use its result.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.explain import fmt_value, is_missing
from core.scoring_model import ScoringModel

POOLS_PATH = Path(__file__).parent / "models" / "pools.toml"
_NO_TEXT = frozenset({"", "0", "0.0", "否", "无", "false", "no", "n", "f", "[]", "{}"})
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
    known = set(model.codes) | {b.code for b in model.base_fields}
    return load_config() if _shipped_fields() <= known else {}


@lru_cache(maxsize=1)
def _shipped_fields() -> frozenset[str]:
    """The fields the shipped pools file reads (walked once: every gap sentence asks for labels)."""
    return frozenset(referenced_fields(load_config()))


def config_for(model: ScoringModel | None = None) -> dict:
    """The pools config of ``model`` (:func:`pools_config`); the shipped file when no model is given."""
    return load_config() if model is None else pools_config(model)


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
        facts[fact["name"]] = (
            num / den * fact.get("scale", 1) if num is not None and den and den > 0 else None
        )
    return facts


def field_label(model: ScoringModel, field: str, config: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """(display name, unit) of a field."""
    try:
        ind = model.indicator(field)
        return ind.name, ind.unit  # a name in a sentence; codes are for tables
    except KeyError:
        pass
    for base in model.base_fields:
        if base.code == field:
            return base.name, base.unit
    config = pools_config(model) if config is None else config
    for fact in [*config.get("facts", []), *config.get("fact_labels", [])]:
        if fact["name"] == field:
            return fact.get("label", field), fact.get("unit", "")
    return field, ""


def compare(value: Any, op: str, target: Any) -> bool:
    if op == "absent":
        if isinstance(value, str):
            return value.strip().lower() in _NO_TEXT
        return is_missing(value) or value in (0, False, [], {})
    if op == "present":
        return not compare(value, "absent", None)
    if op == "==":
        return (bool(value) if isinstance(target, bool) else value) == target
    number = _number(value)
    if number is None:
        return False
    return {">=": number >= target, ">": number > target, "<=": number <= target, "<": number < target}[op]


# ---------------------------------------------------------------------------------------------------
# Vectorised evaluation: every condition over a facts frame (one row per enterprise). The one-enterprise
# function below runs the same code on a one-row frame, so the pool page, the enterprise's advice and
# the monitoring report can never disagree about what an enterprise lacks.
# ---------------------------------------------------------------------------------------------------
class Facts:
    """A facts frame read column by column, each column converted once (several conditions share one)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.n = len(frame)
        self._numbers: dict[str, np.ndarray] = {}
        self._cells: dict[str, list] = {}

    def is_numeric(self, field: str) -> bool:
        if field not in self.frame.columns:
            return True  # an absent column reads as all-missing numbers
        dtype = self.frame[field].dtype
        return pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)

    def numbers(self, field: str) -> np.ndarray:
        """The fact as float64 (NaN where missing, a list, or not a number)."""
        found = self._numbers.get(field)
        if found is None:
            if field not in self.frame.columns:
                found = np.full(self.n, np.nan)
            elif self.is_numeric(field):
                found = self.frame[field].to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                found = np.array(
                    [np.nan if (x := _number(v)) is None else x for v in self.frame[field].tolist()],
                    dtype=np.float64,
                )
            self._numbers[field] = found
        return found

    def cells(self, field: str) -> list:
        """The fact's cells as Python values; a missing cell (NaN in a frame of several rows) is None."""
        found = self._cells.get(field)
        if found is None:
            if field not in self.frame.columns:
                found = [None] * self.n
            elif self.is_numeric(field) and not pd.api.types.is_bool_dtype(self.frame[field].dtype):
                number = self.numbers(field)
                cells = number.astype(object)
                cells[np.isnan(number)] = None
                found = cells.tolist()
            else:
                found = [None if is_missing(v) else v for v in self.frame[field].tolist()]
            self._cells[field] = found
        return found

    def shown(self, field: str, unit: str, rows: list[int]) -> list[str]:
        """The fact of ``rows`` as the gap sentence shows it ("8.2%", "暂无数据"); numbers are formatted
        once per distinct value to 2 decimals (what fmt_value shows)."""
        plain_numbers = (
            field in self.frame.columns
            and self.is_numeric(field)
            and not pd.api.types.is_bool_dtype(self.frame[field].dtype)
        )
        if not plain_numbers:
            cells = self.cells(field)
            return [fmt_value(cells[i], unit) if cells[i] is not None else "暂无数据" for i in rows]
        number = np.round(self.numbers(field)[rows], 2)
        texts = {v: fmt_value(v, unit) for v in np.unique(number[~np.isnan(number)]).tolist()}
        return [texts[v] if v == v else "暂无数据" for v in number.tolist()]


def _compare_frame(facts: Facts, field: str, op: str, target: Any) -> np.ndarray:
    if op in ("absent", "present", "=="):
        if facts.is_numeric(field) and not isinstance(target, str):
            number = facts.numbers(field)
            if op == "==":
                return (
                    (np.nan_to_num(number) != 0) == target if isinstance(target, bool) else number == target
                )
            absent = np.isnan(number) | (number == 0)
            return absent if op == "absent" else ~absent
        return np.array([compare(v, op, target) for v in facts.cells(field)], dtype=bool)
    number = facts.numbers(field)
    target = np.asarray(target, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return {">=": number >= target, ">": number > target, "<=": number <= target, "<": number < target}[
            op
        ]


def _threshold_frame(cond: dict, facts: Facts) -> np.ndarray:
    """The condition's threshold per row (``value_by``: by the range another fact falls in)."""
    if "value_by" not in cond:
        return np.full(facts.n, float(cond["value"]))
    spec = cond["value_by"]
    basis = facts.numbers(spec["field"])
    out = np.full(facts.n, float(spec["steps"][-1]["value"]))
    # walk from the last step back: the first step whose bound the basis is below wins
    for step in reversed(spec["steps"]):
        if "below" not in step:
            out[:] = step["value"]
        else:
            with np.errstate(invalid="ignore"):
                np.copyto(out, float(step["value"]), where=basis < step["below"])
    return out


def _part_points_frame(part: dict, facts: Facts) -> np.ndarray:
    if "best_of" in part:
        points = [_part_points_frame(p, facts) for p in part["best_of"]]
        return np.max(points, axis=0) if points else np.zeros(facts.n)
    value = facts.numbers(part["field"])
    out = np.zeros(facts.n)
    with np.errstate(invalid="ignore"):
        for at, pts in reversed(part["steps"]):  # steps are listed best first: later writes win
            np.copyto(out, float(pts), where=(value <= at) if part.get("lower_is_better") else (value >= at))
    return out


def check_frame(
    model: ScoringModel, cond: dict, facts: Facts, wanted: np.ndarray
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(met, gap sentence per row — "" where met, nearness 0–1) of one condition over every row.

    Sentences are only written for the rows that miss the condition and are ``wanted`` (a mask): writing
    them is the Python part, so a page asks only for the rows it shows.
    """
    n = facts.n
    gaps = [""] * n
    if "any" in cond:
        results = [check_frame(model, c, facts, wanted) for c in cond["any"]]
        ok = np.logical_or.reduce([r[0] for r in results])
        near = np.where(ok, 1.0, np.max([r[2] for r in results], axis=0))
        label = cond.get("label", "")
        # every alternative with its own numeric gap: "知识产权…（均未达到）：T06 … 0 件，需 ≥1 件；或 T07 …"
        for i in np.flatnonzero(~ok & wanted).tolist():
            gaps[i] = f"{label}（均未达到）：" + "；或".join(r[1][i] for r in results if r[1][i])
        return ok, gaps, near
    if "score" in cond:
        parts = cond["score"]
        points = [_part_points_frame(p, facts) for p in parts]
        total = np.sum(points, axis=0) if points else np.zeros(n)
        need = float(cond.get("min", 60))
        required = [(p["label"], pts) for p, pts in zip(parts, points, strict=True) if p.get("required")]
        zero = np.zeros(n, dtype=bool)
        for _, pts in required:
            zero |= pts <= 0
        ok = (total >= need) & ~zero
        labels = [p["label"] for p in parts]
        columns = [pts.tolist() for pts in points]
        totals = total.tolist()
        for i in np.flatnonzero(~ok & wanted).tolist():
            detail = "，".join(f"{label} {col[i]:g} 分" for label, col in zip(labels, columns, strict=True))
            missing = [label for label, pts in required if pts[i] <= 0]
            extra = f"；{'、'.join(missing)}不能为 0 分" if missing else ""
            gaps[i] = f"{cond.get('label', '评价得分')} {totals[i]:g} 分（{detail}），需 ≥{need:g} 分{extra}"
        return ok, gaps, np.where(ok, 1.0, total / need)
    field, op = cond["field"], cond["op"]
    name, unit = field_label(model, field)
    if op in ("absent", "present", "=="):
        ok = _compare_frame(facts, field, op, cond.get("value"))
        gap = f"{cond.get('label') or name}：不符合"
        for i in np.flatnonzero(~ok & wanted).tolist():
            gaps[i] = gap
        return ok, gaps, ok.astype(np.float64)
    target = _threshold_frame(cond, facts)
    ok = _compare_frame(facts, field, op, target)
    number = facts.numbers(field)
    with np.errstate(divide="ignore", invalid="ignore"):
        if op in (">=", ">"):
            near = np.clip(number / target, 0.0, 1.0)
        else:
            near = np.where(number != 0, np.clip(target / number, 0.0, 1.0), 0.0)
    near = np.where(np.isnan(number) | (target == 0), 0.0, np.nan_to_num(near))
    near[ok] = 1.0
    failing = np.flatnonzero(~ok & wanted).tolist()
    if failing:
        needs = {v: f"需 {OP_TEXT[op]}{fmt_value(v, unit)}" for v in np.unique(target[failing]).tolist()}
        targets = target.tolist()
        for i, shown in zip(failing, facts.shown(field, unit, failing), strict=True):
            gaps[i] = f"{name} {shown}，{needs[targets[i]]}"
    return ok, gaps, near


def pools_of(config: dict | None = None) -> list[dict]:
    """The pool definitions (code, name, excludes, conditions, service) in declared order."""
    return list((config or load_config()).get("pools", []))


def evaluate_pools_frame(
    model: ScoringModel,
    facts: pd.DataFrame,
    config: dict | None = None,
    *,
    gaps_for: np.ndarray | None = None,
    only: str | None = None,
) -> pd.DataFrame:
    """Every pool for every row of ``facts`` — THE function that says what an enterprise lacks.

    Returns one row per (fact row, pool), fact rows in order and pools in declared order: ``row``
    (position in ``facts``), ``pool, pool_name, holds`` (already has the qualification), ``met`` (every
    condition met), ``closeness`` (share of conditions met, unmet ones counting half their nearness),
    ``gap_count, gaps`` (tuple of sentences such as "研发人员占比 8.2%，需 ≥10%"., ``service``.

    ``gaps_for``: positions of the rows that get their sentences (default: every row); the others get an
    empty ``gaps`` tuple, everything else — ``gap_count`` included — is computed for every row.
    ``only``: evaluate just the pool with this code.
    """
    config = pools_config(model) if config is None else config
    n = len(facts)
    table = Facts(facts.reset_index(drop=True))
    wanted = np.ones(n, dtype=bool)
    if gaps_for is not None:
        wanted = np.zeros(n, dtype=bool)
        wanted[np.asarray(gaps_for, dtype=np.int64)] = True
    blocks = []
    for pool in pools_of(config):
        if only is not None and pool["code"] != only:
            continue
        excludes = pool.get("excludes")
        holds = _compare_frame(table, excludes, "present", None) if excludes else np.zeros(n, dtype=bool)
        checks = [check_frame(model, c, table, wanted) for c in pool.get("conditions", [])]
        met = np.logical_and.reduce([c[0] for c in checks]) if checks else np.ones(n, dtype=bool)
        score = np.sum([np.where(c[0], 1.0, 0.5 * c[2]) for c in checks], axis=0) if checks else np.ones(n)
        closeness = np.round(score / max(len(checks), 1), 4)
        gap_count = (
            np.sum([~c[0] for c in checks], axis=0).astype(np.int64) if checks else np.zeros(n, np.int64)
        )
        gaps: list[tuple[str, ...]] = [()] * n
        for i in np.flatnonzero(wanted & (gap_count > 0)).tolist():  # the rows that get their sentences
            gaps[i] = tuple(sentences[i] for met_one, sentences, _ in checks if not met_one[i])
        blocks.append(
            pd.DataFrame(
                {
                    "row": np.arange(n),
                    "pool": pool["code"],
                    "pool_name": pool["name"],
                    "holds": holds,
                    "met": met,
                    "closeness": closeness,
                    "gap_count": gap_count,
                    "gaps": pd.Series(gaps, dtype=object),
                    "service": pool.get("service"),
                }
            )
        )
    if not blocks:
        return pd.DataFrame(
            columns=["row", "pool", "pool_name", "holds", "met", "closeness", "gap_count", "gaps", "service"]
        )
    return pd.concat(blocks, ignore_index=True).sort_values(["row"], kind="stable").reset_index(drop=True)


def evaluate_pools(
    model: ScoringModel, facts: dict[str, Any], config: dict | None = None
) -> list[PoolResult]:
    """Every pool for one enterprise; the nearest first (pools already held last)."""
    frame = pd.DataFrame([{k: v for k, v in facts.items()}]) if facts else pd.DataFrame(index=[0])
    # object columns keep lists and texts as they are (a list cell must not be broadcast)
    for key, value in facts.items():
        if isinstance(value, list | dict | tuple):
            frame[key] = pd.Series([value], dtype=object)
    table = evaluate_pools_frame(model, frame, config)
    results = [
        PoolResult(
            r.pool, r.pool_name, bool(r.holds), bool(r.met), float(r.closeness), tuple(r.gaps), r.service
        )
        for r in table.itertuples()
    ]
    results.sort(key=lambda r: (r.holds, -r.closeness, r.code))
    return results


def qualifications(
    model: ScoringModel, results: list[PoolResult], config: dict | None = None
) -> dict[str, PoolResult]:
    """What the enterprise lacks per qualification indicator: {indicator a pool marks (``excludes``, e.g.
    A01 国家高新技术企业): that pool's result}. The portrait's advice reads this, so it says exactly
    what 政策与服务 and 培育库 say (one evaluation, :func:`evaluate_pools`)."""
    config = pools_config(model) if config is None else config
    by_code = {r.code: r for r in results}
    return {
        pool["excludes"]: by_code[pool["code"]]
        for pool in config.get("pools", [])
        if pool.get("excludes") and pool["code"] in by_code
    }


def held_services(results: list[PoolResult]) -> set[str]:
    """Services that lead to a qualification the enterprise already holds (never recommended to it)."""
    return {r.service for r in results if r.holds and r.service}


def facts_frame(model: ScoringModel, frame: pd.DataFrame, config: dict | None = None) -> pd.DataFrame:
    """``frame`` plus the derived facts the config declares, vectorised (see :func:`facts_for`)."""
    config = pools_config(model) if config is None else config
    out = frame.copy()
    for fact in config.get("facts", []):
        columns = Facts(out)
        num, den = columns.numbers(fact["numerator"]), columns.numbers(fact["denominator"])
        with np.errstate(divide="ignore", invalid="ignore"):
            value = num / den * fact.get("scale", 1)
        out[fact["name"]] = np.where(den > 0, value, np.nan)
    return out


def is_near(result: PoolResult, *, max_gaps: int = 2) -> bool:
    """A candidate worth showing: not held, and at most ``max_gaps`` unmet conditions."""
    return not result.holds and len(result.gaps) <= max_gaps and not math.isclose(result.closeness, 0.0)
