"""Value-contract cells → float64 "measures", one column per indicator (the engine's first step).

A numeric rule's measure is the number (NaN = missing); a yes/no flag is 0/1 (core.yesno reads the
text); a structured flag is Σ component points; a tier is its category's fraction; an items list is
Σ weight × factors (uncapped). List and object cells are sparse, so only the non-empty ones are parsed,
and a cell that cannot be parsed scores 0 and is reported in ``attrs["parse_errors"]``. The measures
depend on the model's weights, so a prepared frame remembers the model's fingerprint.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from core.scoring_model import (
    NUMERIC_RULES,
    BandsRule,
    FlagRule,
    ItemsRule,
    LinearCapRule,
    PercentileRule,
    ScoringModel,
    TierRule,
)
from core.yesno import FALSE_TEXT, TRUE_TEXT, is_true, yes_no_key

NUMERIC_RULE_CLASSES = (BandsRule, LinearCapRule, PercentileRule)
assert {c.model_fields["type"].default for c in NUMERIC_RULE_CLASSES} == set(NUMERIC_RULES)


def object_column(arr: np.ndarray, index: pd.Index | None = None) -> pd.Series:
    # object dtype on purpose: pandas 3 would infer its str dtype at ~0.2 s per 1M-row column
    return pd.Series(arr, index=index, dtype=object, copy=False)


def is_missing(value: Any) -> bool:
    """No value in a cell: None, NaN or blank text (0, False and [] are values)."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _factor_key(x: Any) -> str:
    # Booleans and 是/否 travel as "true"/"false" so the TOML can key factors on them.
    if isinstance(x, bool | np.bool_):
        return "true" if x else "false"
    low = yes_no_key(x)
    if low in FALSE_TEXT:
        return "false"
    if low in TRUE_TEXT:
        return "true"
    return str(x).strip()


def _load_json(x: Any) -> Any:
    if isinstance(x, str):
        return json.loads(x)
    return x


def _items_measure(rule: ItemsRule, cell: Any) -> float:
    items = _load_json(cell)
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise ValueError("应为 JSON 列表")
    total = 0.0
    for it in items:
        if isinstance(it, str):  # a bare level name is accepted as {"level": name}
            it = {rule.level_key: it}
        if not isinstance(it, dict):
            raise ValueError("列表元素应为对象")
        level = str(it.get(rule.level_key, "")).strip()
        w = rule.weights.get(level)
        if w is None and level.endswith("级"):
            w = rule.weights.get(level[:-1])
        if w is None:
            continue
        for fac in rule.factors:
            v = it.get(fac.key)
            w *= fac.default if is_missing(v) else fac.values.get(_factor_key(v), fac.default)
        total += w
    return total


def _components_measure(rule: FlagRule, cell: Any) -> float:
    obj = _load_json(cell)
    if not isinstance(obj, dict):
        # A plain yes/no for a structured flag means "the first component happened once".
        obj = {rule.components[0].key: 1.0 if is_true(obj) else 0.0}
    total = 0.0
    for c in rule.components:
        v = obj.get(c.key)
        if v is None or is_missing(v):
            continue
        # numbers and booleans count as such; 是/否 and the like as 1/0
        x = float(v) if isinstance(v, bool | np.bool_) or _num_ok(v) else float(is_true(v))
        pts = max(0.0, c.weight * x)
        total += min(pts, c.cap) if c.cap is not None else pts
    return total


def _num_ok(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def to_float(col: pd.Series) -> np.ndarray:
    """Numbers and numeric strings to float64; empty or unparsable → NaN (missing)."""
    if pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(col.dtype):
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    s = col.astype(object).where(col.notna(), None)
    txt = s.map(lambda x: x if not isinstance(x, str) else x.strip().replace(",", "").rstrip("%"))
    return pd.to_numeric(txt, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _flag_measure(col: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        v = col.to_numpy(dtype=np.float64, na_value=0.0)
        return (np.nan_to_num(v) != 0).astype(np.float64)
    vals = col.to_numpy(dtype=object)
    out = np.zeros(len(vals))
    nz = np.flatnonzero(col.notna().to_numpy())
    out[nz] = [1.0 if is_true(vals[i]) else 0.0 for i in nz]
    return out


def _tier_measure(rule: TierRule, col: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(col.dtype):
        return np.nan_to_num(col.to_numpy(dtype=np.float64, na_value=0.0))
    lookup: dict[str, float] = {}
    for c in rule.categories:
        for name in (c.label, *c.aliases):
            lookup[name] = c.f
    values = col.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        # Text cells repeat (a handful of tiers): each distinct text is looked up once.
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        table = np.array([*(lookup.get(u.strip(), np.nan) for u in uniques.tolist()), lookup.get("", np.nan)])
        return np.nan_to_num(table[codes], nan=0.0)  # code -1 (absent) picks the trailing "" entry
    txt = col.astype(object).where(col.notna(), "").map(lambda x: str(x).strip())
    return txt.map(lookup).to_numpy(dtype=np.float64, na_value=0.0)


def _sparse_measure(
    col: pd.Series, fn: Callable[[Any], float], code: str, errors: list[tuple[int, str, str]]
) -> np.ndarray:
    """Apply `fn` to the non-empty cells only (list columns are sparse); errors → 0 and a note."""
    if pd.api.types.is_numeric_dtype(col.dtype):
        return np.nan_to_num(col.to_numpy(dtype=np.float64, na_value=0.0))
    vals = col.to_numpy(dtype=object)
    out = np.zeros(len(vals))
    present = np.flatnonzero(col.notna().to_numpy())
    if pd.api.types.infer_dtype(vals[present], skipna=True) == "string":
        return _sparse_text_measure(vals[present], present, out, fn, code, errors)
    for i in present:
        cell = vals[i]
        if isinstance(cell, str) and not cell.strip():
            continue
        try:
            out[i] = fn(cell)
        except (ValueError, TypeError, AttributeError) as exc:
            errors.append((int(i), code, f"无法解析：{exc}"))
    return out


def _sparse_text_measure(
    cells: np.ndarray,
    rows: np.ndarray,
    out: np.ndarray,
    fn: Callable[[Any], float],
    code: str,
    errors: list[tuple[int, str, str]],
) -> np.ndarray:
    """`_sparse_measure` of text cells: list and object texts repeat, so each distinct text is parsed
    once (json.loads per cell was the engine's largest cost); errors are reported for every row."""
    codes, uniques = pd.factorize(cells)
    measures = np.zeros(len(uniques))
    failures: dict[int, str] = {}
    for k, text in enumerate(uniques.tolist()):
        if not text.strip():
            continue
        try:
            measures[k] = fn(text)
        except (ValueError, TypeError, AttributeError) as exc:
            failures[k] = f"无法解析：{exc}"
    out[rows] = measures[codes]
    if failures:
        failed = np.flatnonzero(np.isin(codes, list(failures)))
        errors.extend((int(rows[i]), code, failures[int(codes[i])]) for i in failed)
    return out


def prepare_inputs(model: ScoringModel, inputs: pd.DataFrame) -> pd.DataFrame:
    """Turn value-contract cells into float64 measures, one column per indicator and extra field.

    numeric rules → the number (NaN = missing); flag → 0/1; structured flag → Σ component points;
    tier → the category's fraction; items → Σ weight × factors (uncapped). A numeric column for a
    tier/items/structured-flag indicator is taken as its measure already (prepared frames pass through).
    Parse problems end up in ``result.attrs["parse_errors"]`` as (row, code, message).
    """
    fp = model.fingerprint()
    prepared_for = inputs.attrs.get("prepared_for")
    if prepared_for == fp:
        return inputs
    if prepared_for is not None:
        # tier/items measures were computed with another model's weights: they cannot be re-read
        raise ValueError("输入数据是按另一个评价模型预处理的，请传入原始数据重新计算")
    n = len(inputs)
    cols: dict[str, Any] = {}
    for key in ("credit_code", "name"):
        if key in inputs.columns:
            src = inputs[key]
            cols[key] = (
                src if src.dtype == object else object_column(src.to_numpy(dtype=object), inputs.index)
            )
        else:
            cols[key] = object_column(np.full(n, "", dtype=object), inputs.index)
    errors: list[tuple[int, str, str]] = []
    nan = np.full(n, np.nan)
    for ind in model.indicators:
        r = ind.rule
        col = inputs[ind.code] if ind.code in inputs.columns else None
        if isinstance(r, NUMERIC_RULE_CLASSES):
            cols[ind.code] = to_float(col) if col is not None else nan.copy()
        elif col is None:
            cols[ind.code] = np.zeros(n)
        elif isinstance(r, FlagRule) and not r.components:
            cols[ind.code] = _flag_measure(col)
        elif isinstance(r, FlagRule):
            cols[ind.code] = _sparse_measure(col, partial(_components_measure, r), ind.code, errors)
        elif isinstance(r, TierRule):
            cols[ind.code] = _tier_measure(r, col)
        elif isinstance(r, ItemsRule):
            cols[ind.code] = _sparse_measure(col, partial(_items_measure, r), ind.code, errors)
    for extra in model.extra_columns():
        cols[extra] = to_float(inputs[extra]) if extra in inputs.columns else nan.copy()
    out = pd.DataFrame(cols, copy=False)
    out.index = inputs.index  # results line up with the caller's rows
    out.attrs["prepared_for"] = fp  # the measures depend on the model's weights and categories
    out.attrs["parse_errors"] = errors
    return out
