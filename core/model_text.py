"""The scoring model in words and as TOML text, for people: what the screens and the export show.

`programme_caption` and `model_summary` describe a model in a line and a paragraph; `describe_rule`
writes one indicator's rule as Chinese sentences (bands, caps, tiers, item weights, components), naming
fields by their Chinese names (`field_name`); `dumps_toml` writes a model dict (``ScoringModel.to_dict()``)
back as the TOML an officer can edit and load again.
"""

from __future__ import annotations

import json
import math
from typing import Any

from core.scoring_model import Indicator, ModelError, ScoringModel


# ------------------------------------------------------------------ TOML out
def _toml_key(key: str) -> str:
    return (
        key
        if key.replace("_", "").replace("-", "").isalnum() and key.isascii()
        else json.dumps(key, ensure_ascii=False)
    )


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ModelError("模型中有非有限的数值，无法导出")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise ModelError(f"模型中有无法导出的值：{value!r}")


def dumps_toml(data: dict[str, Any]) -> str:
    """A model dict (``to_dict()``) as TOML that ``load_model`` reads back to the same model.

    Top-level tables become ``[name]``, lists of tables ``[[name]]``; anything nested deeper is an inline
    table or array (valid TOML, if less pretty than the hand-written files).
    """
    out: list[str] = ["# 评价模型导出文件（由系统生成，可用 manage.py model import 导入）", ""]
    for key, value in data.items():
        if isinstance(value, dict):
            out.append(f"[{_toml_key(key)}]")
            out += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None]
            out.append("")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                out.append(f"[[{_toml_key(key)}]]")
                out += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in item.items() if v is not None]
                out.append("")
        elif isinstance(value, list) and not value:
            continue
        else:
            out.insert(2, f"{_toml_key(key)} = {_toml_value(value)}")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ model in words
def programme_caption(model: ScoringModel) -> str:
    """The home page's caption: the model's zone, if it names one, and the programme."""
    return f"{model.zone} · 企业创新积分评价与应用" if model.zone else "企业创新积分评价与应用"


def model_summary(model: ScoringModel) -> str:
    """The programme in one paragraph, every name and number from `model` (home page, 指标体系)."""
    core = "、".join(c.name for c in model.classes_of_kind("core"))
    bonus = model.classes_of_kind("bonus")
    stages = "、".join(s.name for s in model.stages)
    tiers = "、".join(f"{t.name}（前 {t.share * 100:g}%）" for t in model.tiers)
    text = (
        f"企业创新积分以{core}{'及' + '、'.join(c.name for c in bonus) if bonus else ''}等指标，"
        f"对企业按{stages}{len(model.stages)}个成长阶段分别评价：核心指标每个阶段满分 {model.core_total:g} 分"
    )
    if bonus:
        text += f"，加分最多 {model.bonus_cap:g} 分"
    extra = [k for k, word in (("deduction", "扣分"), ("veto", "一票否决")) if model.classes_of_kind(k)]
    if extra:
        text += "，另设" + "与".join({"deduction": "扣分", "veto": "一票否决"}[k] for k in extra) + "项"
    text += "。"
    if tiers:
        text += f"每年按阶段发布{tiers}。"
    return text


# ------------------------------------------------------------------ rule in words
def _g(x: float) -> str:
    return f"{x:g}"


def field_name(model: ScoringModel | None, code: str) -> str:
    """The Chinese name of an indicator or base field (the code itself when the model does not know it)."""
    if model is None:
        return ITEM_KEY_NAMES.get(code, code)
    if code.startswith(model.previous_prefix) and code != model.previous_prefix:
        return "上年" + field_name(model, code.removeprefix(model.previous_prefix))
    known = model.field(code)
    return known.name if known is not None else ITEM_KEY_NAMES.get(code, code)


# Keys of list items (self-reported standards, awards …) as the 指标体系 page names them.
ITEM_KEY_NAMES = {"role": "角色", "level": "级别", "top3": "获奖名次（前三名）"}
FACTOR_VALUE_NAMES = {"true": "是", "false": "否"}


def describe_rule(indicator: Indicator, model: ScoringModel | None = None) -> str:
    """A Chinese sentence describing how the indicator is scored (for the 指标体系 page); fields are
    named, never shown as codes."""
    r = indicator.rule
    name = lambda code: field_name(model, code)  # noqa: E731
    unit = indicator.unit
    if indicator.is_core:
        pts = indicator.points or {}
        stage_names = {s.code: s.name for s in model.stages} if model else {}
        scale = "、".join(f"{stage_names.get(s, s)}{_g(p)}分" for s, p in pts.items())
        head = f"满分按阶段：{scale}。"
    elif indicator.kind == "veto":
        head = ""
    else:
        sign = "扣" if indicator.kind == "deduction" else "加"
        head = f"最多{sign}{_g(indicator.max_points or 0)}分。"

    if r.type == "bands":
        if r.direction == "higher":
            parts = [f"≥{_g(b.at)}{unit}得{_g(b.f * 100)}%" for b in r.bands]
            body = "分档计分：" + "，".join(parts) + "，低于最低档不得分"
        else:
            parts = [f"≤{_g(b.at)}{unit}得{_g(b.f * 100)}%" for b in r.bands]
            body = "分档计分（越低越好）：" + "，".join(parts) + "，其余不得分"
        if r.alternative:
            a = r.alternative
            alt = "，".join(f"≥{_g(b.at)}%得{_g(b.f * 100)}%" for b in a.bands)
            body += (
                f"；{name(a.field)}低于{_g(a.below)}且有{name(a.denominator)}数据时按{a.label}"
                f"（{name(a.numerator)}÷{name(a.denominator)}）计：{alt}"
            )
        if r.zero_base:
            body += f"；上年{name(r.zero_base.current)}为0而本年大于0时得{_g(r.zero_base.f * 100)}%"
        if r.cap_below:
            body += f"；{name(r.cap_below.field)}低于{_g(r.cap_below.below)}时最多得{_g(r.cap_below.max_f * 100)}%"
    elif r.type == "linear_cap":
        if r.caps:
            stage_names = {s.code: s.name for s in model.stages} if model else {}
            caps = "、".join(f"{stage_names.get(s, s)}{_g(c)}{unit}" for s, c in r.caps.items())
            body = f"按数量线性计分，达到上限得满分（上限：{caps}）"
        else:
            body = f"按数量线性计分，达到{_g(r.cap or 0)}{unit}得满分"
    elif r.type == "percentile":
        body = "在同阶段企业中按百分位计分（仅数值大于0的企业参与排序，数值不大于0不得分）"
    elif r.type == "tier":
        body = "按最高等级计分：" + "，".join(f"{c.label}得{_g(c.f * 100)}%" for c in r.categories)
    elif r.type == "items":
        if r.weights_in_points:
            w = "，".join(f"{k}每项{_g(v)}分" for k, v in r.weights.items())
        else:
            w = "，".join(f"{k}每项得{_g(v * 100)}%" for k, v in r.weights.items())
        body = "按项目累计：" + w
        for fac in r.factors:
            body += "；" + "，".join(
                f"{name(fac.key)}为{FACTOR_VALUE_NAMES.get(str(k).lower(), k)}时×{_g(v)}"
                for k, v in fac.values.items()
            )
        body += "，累计不超过满分"
    elif r.type == "flag":
        if r.components:
            parts = []
            for c in r.components:
                p = f"{c.label or c.key}每项{_g(c.weight)}分"
                if c.cap is not None:
                    p += f"（最多{_g(c.cap)}分）"
                parts.append(p)
            body = "，".join(parts)
        elif indicator.kind == "veto":
            body = "存在即一票否决：保留得分但不参与排名、榜单和扶持"
        else:
            body = "符合即得满分"
    else:  # pragma: no cover - the union is closed
        body = ""
    return head + body
