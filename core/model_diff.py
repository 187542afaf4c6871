"""What changed between two scoring-model definitions, in words an official reads.

One flattening of a model's ``to_dict()`` (lists of coded things keyed by their code) and one labelling of
its paths: ``indicators[T01].points.seed`` reads "T01 研发费用总额 · 各阶段分值 · 种子期", ``None`` reads
"（无）". 评价模型's 版本对比 and the audit entry of a draft edit ("T01 研发费用总额 · 各阶段分值 · 种子期
6 → 8") both come from here.
"""

from __future__ import annotations

import re
from typing import Any

from core.model_loading import FIELD_NAMES
from core.scoring_model import RULE_TYPES

NONE = "（无）"
# Fields of the model file that FIELD_NAMES (the loader's error texts) does not name.
EXTRA_FIELDS = {
    "meta": "模型信息",
    "note": "说明",
    "aliases": "别名",
    "definition": "定义",
    "self_reported": "企业自报",
    "prefilled": "部门预填",
    "item_fields": "填报项",
    "previous_prefix": "上年数据前缀",
    "numerator": "分子",
    "denominator": "分母",
    "scale": "倍数",
    "zero_base": "上年为零时",
    "below": "低于",
    "cap_below": "低于时上限",
    "alternative": "替代口径",
    "components": "组成项",
    "current": "本年",
    "factors": "系数",
    "field": "字段",
    "level_key": "级别字段",
    "max_f": "最高系数",
    "weights_in_points": "权重按分值",
    "total_cost": "成本费用总额",
    "staff": "职工人数",
    "insured_staff": "参保职工人数",
    "technology": "技术创新",
    "growth": "成长经营",
    "bonus": "加分",
    "deduction": "扣分",
    "veto": "一票否决",
    "conditions": "条件",
    "excludes": "排除条件",
    "service": "服务",
    "triggers": "服务触发规则",
    "pools": "培育库",
    "metrics": "统计口径",
    "rd_expense": "研发费用指标",
    "origin": "层级",
    "parent": "上级模型",
}
RULE_NAMES = {
    "bands": "分档",
    "linear_cap": "线性封顶",
    "percentile": "百分位",
    "tier": "档次",
    "items": "逐项计分",
    "flag": "是否具备",
}
# Enumerated values of the model file.
VALUE_NAMES = {
    "higher": "越高越好",
    "lower": "越低越好",
    "desc": "从高到低",
    "asc": "从低到高",
    "ratio": "比值",
    "text": "文本",
    "number": "数字",
    "rate": "增长率口径",
    "share": "占比口径",
}
_PART = re.compile(r"([^.\[\]]+)(?:\[([^\]]+)\])?")


def flatten(node: Any, path: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{path: leaf}`` of a model definition; lists of coded things are keyed by code (or stage)."""
    out = {} if out is None else out
    if isinstance(node, dict):
        for key, value in node.items():
            flatten(value, f"{path}.{key}" if path else str(key), out)
    elif isinstance(node, list) and node and all(isinstance(v, dict) and "code" in v for v in node):
        for value in node:
            flatten(value, f"{path}[{value['code']}]", out)
    elif isinstance(node, list) and node and all(isinstance(v, dict) and "stage" in v for v in node):
        for value in node:
            flatten(value, f"{path}[{value['stage']}]", out)
    else:
        out[path] = node
    return out


def _names(definition: dict) -> dict[str, dict[str, str]]:
    """Per list of coded things (``stages``, ``classes``, ``pools`` … at any depth): code → display text;
    indicators keep their code in front of their name. ``""`` holds every code of every list."""
    sections: dict[str, dict[str, str]] = {"": {}}

    def walk(node: Any, key: str) -> None:
        if isinstance(node, dict):
            for k, value in node.items():
                walk(value, str(k))
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, dict) and isinstance(item.get("code"), str):
                    name = item.get("name") or item.get("label")
                    text = f"{item['code']} {name or ''}".strip() if key == "indicators" else name
                    if text:
                        sections.setdefault(key, {})[item["code"]] = str(text)
                        sections[""].setdefault(item["code"], str(text))
                walk(item, key)

    walk(definition, "")
    return sections


def field_name(key: str, names: dict[str, dict[str, str]]) -> str:
    """One path part in Chinese: a stage (the keys of per-stage points and caps), a field, another coded
    thing, or the key itself when the model names it in Chinese already (list names, categories)."""
    stages = names.get("stages", {})
    if key in stages:
        return stages[key]
    if key in FIELD_NAMES:
        return FIELD_NAMES[key]
    if key in EXTRA_FIELDS:
        return EXTRA_FIELDS[key]
    if key in names.get("", {}):
        return names[""][key]
    if re.search(r"[A-Za-z]", key):
        return "其他设置"
    return key


def path_label(path: str, names: dict[str, dict[str, str]]) -> str:
    """``indicators[T01].points.seed`` → "T01 研发费用总额 · 各阶段分值 · 种子期"."""
    parts: list[str] = []
    for field, code in _PART.findall(path):
        if code:  # a coded item: its own name says which section it is in
            parts.append(names.get(field, {}).get(code) or names[""].get(code) or field_name(code, names))
        else:
            parts.append(field_name(field, names))
    return " · ".join(parts)


def value_text(value: Any, names: dict[str, dict[str, str]] | None = None) -> str:
    """A leaf value in words: （无）, 是/否, rule types and codes by name, lists joined."""
    names = names or {"": {}}
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return "、".join(value_text(v, names) for v in value) or NONE
    if isinstance(value, dict):
        return (
            "；".join(f"{field_name(str(k), names)} {value_text(v, names)}" for k, v in value.items()) or NONE
        )
    text = str(value)
    if text in RULE_TYPES:
        return RULE_NAMES.get(text, text)
    return names[""].get(text, VALUE_NAMES.get(text, text))


def changes(before: dict, after: dict) -> list[tuple[str, str, str]]:
    """(字段, 原值, 新值) for every leaf that differs, in the order of the definitions' fields."""
    a, b = flatten(before), flatten(after)
    names = _names(before)
    for section, codes in _names(after).items():
        names.setdefault(section, {}).update(codes)
    keys = list(dict.fromkeys([*a, *b]))
    return [
        (path_label(k, names), value_text(a.get(k), names), value_text(b.get(k), names))
        for k in keys
        if a.get(k) != b.get(k)
    ]


def change_sentences(before: dict, after: dict, *, limit: int = 50) -> list[str]:
    """ "T01 研发费用总额 · 各阶段分值 · 种子期 6 → 8" per change (the audit entry of a draft edit)."""
    rows = changes(before, after)
    out = [f"{label} {old} → {new}" for label, old, new in rows[:limit]]
    if len(rows) > limit:
        out.append(f"另有 {len(rows) - limit} 处修改")
    return out
