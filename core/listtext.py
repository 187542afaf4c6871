"""List-valued and structured indicator values as readable Chinese text — the one place for it.

A list value (承担科技计划项目, 参与制修订标准, 科技奖励 …) is stored as JSON items such as
``[{"level": "省", "role": "牵头"}, {"level": "市", "role": "参与"}]``; every screen shows it as
``省级·牵头 1 项；市级·参与 1 项``, never as JSON. Items are grouped by the level and by the item fields
that take a fixed set of values (role, yes/no fields) as the model declares them (``item_fields``);
free-text fields (names, numbers, years) are not part of the summary. ``items_detail`` lists the items
one by one (for a portrait or review detail).
"""

from __future__ import annotations

import json
import math
from typing import Any

from core.yesno import is_true

# Administrative levels read with 级 (省 → 省级); other levels (国际, 行业, 博士) read as they are.
_LEVEL_SUFFIX = {"国家": "国家级", "省": "省级", "市": "市级", "区": "区级", "县": "县级"}
NONE_TEXT = "无"


def parse_items(value: Any) -> list[dict] | None:
    """The items of a list value (a list or its JSON text); ``None`` when it is not a list value."""
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("["):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None
    if isinstance(value, list):
        return [i for i in value if isinstance(i, dict)]
    return None


def _level(text: Any) -> str:
    s = "" if text is None else str(text).strip()
    return _LEVEL_SUFFIX.get(s, s)


def _grouping(indicator: Any) -> tuple[str, list[tuple[str, str, str]]]:
    """(level key, [(key, label, kind)] of the fields that group items)."""
    rule = getattr(indicator, "rule", None)
    level_key = getattr(rule, "level_key", "level") or "level"
    fields = getattr(indicator, "item_fields", None) or []
    if not fields:
        return level_key, [("role", "角色", "text")]
    keys = [(f.key, f.label, f.kind) for f in fields if f.key != level_key and (f.values or f.kind == "bool")]
    return level_key, keys


def _item_label(item: dict, level_key: str, keys: list[tuple[str, str, str]]) -> str:
    parts = [_level(item.get(level_key))] if item.get(level_key) not in (None, "") else []
    for key, label, kind in keys:
        v = item.get(key)
        if v is None or v == "":
            continue
        if kind == "bool":
            parts.append(label if is_true(v) else f"非{label}")
        else:
            parts.append(str(v).strip())
    return "·".join(p for p in parts if p) or "未分级"


def items_text(value: Any, indicator: Any = None) -> str:
    """``省级·牵头 1 项；市级·参与 2 项`` (groups in first-seen order); ``无`` for an empty list."""
    items = parse_items(value)
    if items is None:
        return "" if value is None else str(value)
    if not items:
        return NONE_TEXT
    level_key, keys = _grouping(indicator)
    counts: dict[str, int] = {}
    for item in items:
        label = _item_label(item, level_key, keys)
        counts[label] = counts.get(label, 0) + 1
    unit = "项"
    return "；".join(f"{label} {n} {unit}" for label, n in counts.items())


def items_detail(value: Any, indicator: Any = None) -> list[str]:
    """One line per item: ``省级·牵头 · 项目名称：智能传感器 · 年份：2024``."""
    items = parse_items(value) or []
    level_key, keys = _grouping(indicator)
    fields = getattr(indicator, "item_fields", None) or []
    free = [(f.key, f.label) for f in fields if f.key != level_key and not (f.values or f.kind == "bool")]
    lines = []
    for item in items:
        parts = [_item_label(item, level_key, keys)]
        parts += [f"{label}：{item[key]}" for key, label in free if item.get(key) not in (None, "")]
        lines.append(" · ".join(parts))
    return lines


def object_text(value: Any, indicator: Any = None) -> str:
    """A structured flag (``{"abnormal": true, "penalties": 2}``) by its components' labels."""
    obj = value
    if isinstance(value, str):
        try:
            obj = json.loads(value)
        except ValueError:
            return value
    if not isinstance(obj, dict):
        return "" if value is None else str(value)
    labels: dict[str, str] = {
        c.key: c.label or c.key for c in getattr(getattr(indicator, "rule", None), "components", []) or []
    }
    parts: list[str] = []
    for key, v in obj.items():
        label = labels.get(key, str(key))  # JSON keys are text already
        if isinstance(v, bool) or str(v).lower() in ("true", "false"):
            if is_true(v):
                parts.append(label)
        elif isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
            if v:
                parts.append(f"{label} {v:g} 项")
        elif v not in (None, ""):
            parts.append(f"{label} {v}")
    return "；".join(parts) or NONE_TEXT


def value_text(value: Any, indicator: Any = None) -> str | None:
    """Readable text of a list or object value; ``None`` when ``value`` is neither (caller formats it)."""
    if parse_items(value) is not None:
        return items_text(value, indicator)
    if isinstance(value, dict) or (isinstance(value, str) and value.strip().startswith("{")):
        return object_text(value, indicator)
    return None
