"""Reading and validating a scoring model: TOML file or stored dict → `ScoringModel`, or `ModelError`.

`load_model()` reads ``core/models/longwan-2022.toml`` (or the path given), lays a local model over its
``parent`` and pulls in the ``pools_file`` and ``self_report_file`` it names; `parse_model(dict)` validates
any dict of the same shape (the TOML as read by tomllib, or ``ScoringModel.to_dict()`` as stored in the
database). Pydantic checks each field's shape; the checks here add what spans fields (stage bounds, core
points summing to ``core_total``, monotone bands, known references). Every problem is a `ModelError` in
Chinese naming the indicator, the field (``FIELD_NAMES``) and the stage.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from core.scoring_model import (
    CODE_WIDTHS,
    DEFAULT_CLASSES,
    RESERVED_COLUMNS,
    RESULT_KEYS,
    RULE_TYPES,
    Band,
    BandsRule,
    FlagRule,
    Indicator,
    IndicatorClass,
    ItemsRule,
    LinearCapRule,
    ModelError,
    PercentileRule,
    ScoringModel,
    TierRule,
)

DEFAULT_MODEL_PATH = Path(__file__).parent / "models" / "longwan-2022.toml"


def load_model(path: Path | str | None = None) -> ScoringModel:
    """Read and validate a model TOML (default: the Longwan 2022 model)."""
    p = Path(path) if path is not None else DEFAULT_MODEL_PATH
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"模型文件 {p.name} 格式错误：{exc}") from exc
    meta = data.get("meta") or {}
    parent = meta.pop("parent", None) if isinstance(meta, dict) else None
    if parent is not None:
        data = _with_parent(p, data, str(parent))
        meta = data["meta"]
    pools_file = meta.pop("pools_file", None) if isinstance(meta, dict) else None
    if pools_file is not None:
        # the model's pools travel inside the model (stored versions are self-contained)
        pools_path = p.parent / str(pools_file)
        try:
            with pools_path.open("rb") as fh:
                data["cultivation"] = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ModelError(
                f"模型文件 {p.name} 的字段 pools_file（培育库文件）：无法读取 {pools_file}：{exc}"
            ) from exc
    self_report_file = meta.pop("self_report_file", None) if isinstance(meta, dict) else None
    if self_report_file is not None:
        try:
            with (p.parent / str(self_report_file)).open("rb") as fh:
                data["self_report"] = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ModelError(
                f"模型文件 {p.name} 的字段 self_report_file（填报表单文件）：无法读取 {self_report_file}：{exc}"
            ) from exc
    return parse_model(data)


def _with_parent(path: Path, data: dict[str, Any], parent: str) -> dict[str, Any]:
    """A local model over its parent (the national guide's 18): the parent's indicators, marked national,
    then the child's own, marked local; the child's other sections (stages, tiers …) replace the parent's,
    its meta is laid over the parent's."""
    try:
        with (path.parent / parent).open("rb") as fh:
            base = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelError(f"模型文件 {path.name} 的字段 parent（上级模型）：无法读取 {parent}：{exc}") from exc
    if (base.get("meta") or {}).get("parent"):
        raise ModelError(f"模型文件 {path.name}：上级模型 {parent} 不能再有上级模型")
    inherited = [{**i, "origin": i.get("origin", "national")} for i in base.get("indicators", [])]
    own = [{**i, "origin": i.get("origin", "local")} for i in data.get("indicators", [])]
    clash = {i.get("code") for i in inherited} & {i.get("code") for i in own}
    if clash:
        raise ModelError(
            f"模型文件 {path.name}：本地指标代码与上级模型重复：{'、'.join(sorted(map(str, clash)))}"
        )
    merged = {**base, **{k: v for k, v in data.items() if k not in ("meta", "indicators")}}
    merged["meta"] = {**(base.get("meta") or {}), **{k: v for k, v in data["meta"].items() if k != "parent"}}
    merged["indicators"] = inherited + own
    return merged


def _ind_label(raw: dict[str, Any]) -> str:
    return f"指标 {raw.get('code', '?')}（{raw.get('name', '未命名')}）"


# Chinese names of the model's fields, for load errors ("字段 bonus_cap（加分上限）…").
FIELD_NAMES = {
    "name": "名称",
    "version": "版本",
    "code": "代码",
    "class": "类别",
    "kind": "类别性质",
    "order": "显示顺序",
    "cap": "上限",
    "caps": "各阶段上限",
    "stage_indicator": "划分阶段的指标",
    "bonus_cap": "加分上限",
    "core_total": "核心分值合计",
    "stages": "阶段",
    "min_revenue": "营业收入下限",
    "max_revenue": "营业收入上限",
    "indicators": "指标",
    "rule": "规则",
    "points": "各阶段分值",
    "max_points": "最高分",
    "bands": "分档",
    "at": "门槛",
    "f": "得分系数",
    "share": "比例",
    "max_count": "最多家数",
    "amount": "扶持金额",
    "tiers": "榜单",
    "subsidies": "扶持规则",
    "mujun": "亩均",
    "tie_break": "排序规则",
    "key": "字段",
    "weights": "级别权重",
    "categories": "类别",
    "label": "名称",
    "percent": "百分比口径",
    "unit": "单位",
    "source": "来源",
    "classes": "类别",
    "derivations": "派生规则",
    "base_fields": "基础数据项",
    "direction": "方向",
    "weight": "权重",
    "stage": "阶段",
    "type": "规则类型",
    "cultivation": "培育库",
    "self_report": "填报表单",
    "zone": "园区",
}
_ERROR_TEXT = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不是模型允许的字段（请检查拼写）",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "string_type": "应为文本",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "list_type": "应为列表",
    "dict_type": "应为对象（键值表）",
    "model_type": "应为对象（键值表）",
    "literal_error": "取值不在允许范围内",
    "string_pattern_mismatch": "只能由字母开头，包含字母、数字和下划线",
    "union_tag_invalid": "规则类型无效",
    "union_tag_not_found": "缺少规则类型（type）",
}


def _field_path(loc: tuple) -> str:
    parts = []
    for x in loc:
        if isinstance(x, int):
            parts.append(f"第 {x + 1} 项")
        elif str(x) in FIELD_NAMES:
            parts.append(f"{x}（{FIELD_NAMES[str(x)]}）")
        elif str(x) in RULE_TYPES or str(x).startswith("function-"):
            continue  # pydantic's union branch name: not a field
        else:
            parts.append(str(x))
    return " → ".join(parts) or "模型"


def _error_text(err: ErrorDetails) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {
            "greater_than": "大于",
            "greater_than_equal": "大于等于",
            "less_than": "小于",
            "less_than_equal": "小于等于",
        }[kind]
        bound = next(iter(ctx.values()), "")
        return f"应{op} {bound}"
    if kind == "literal_error" and "expected" in ctx:
        return f"取值应为 {ctx['expected']} 之一"
    return _ERROR_TEXT.get(kind, "取值无效")


def _pydantic_msg(exc: ValidationError) -> str:
    """Pydantic's errors in Chinese: which field (with its Chinese name) and what is wrong."""
    parts = []
    for err in exc.errors():
        value = err.get("input")
        shown = "" if err["type"] == "missing" or isinstance(value, dict | list) else f"（当前为 {value!r}）"
        parts.append(f"字段 {_field_path(err['loc'])}：{_error_text(err)}{shown}")
    return "；".join(parts)


def parse_model(data: dict[str, Any]) -> ScoringModel:
    """Validate a dict (TOML or `to_dict()` shape) into a ScoringModel, or raise ModelError."""
    if not isinstance(data, dict):
        raise ModelError("模型数据必须是一个对象")
    data = dict(data)
    meta = dict(data.pop("meta", {}) or {})
    raw_inds = data.get("indicators")
    if not isinstance(raw_inds, list) or not raw_inds:
        raise ModelError("模型没有定义任何指标（indicators）")

    # Rule types and per-indicator shape are checked one by one so the message names the indicator.
    indicators: list[Indicator] = []
    for raw in raw_inds:
        if not isinstance(raw, dict):
            raise ModelError("指标定义必须是对象")
        rule = raw.get("rule")
        rtype = rule.get("type") if isinstance(rule, dict) else None
        if rtype not in RULE_TYPES:
            raise ModelError(f"{_ind_label(raw)}：未知的规则类型“{rtype}”，应为 {'/'.join(RULE_TYPES)} 之一")
        try:
            indicators.append(Indicator.model_validate(raw))
        except ValidationError as exc:
            raise ModelError(f"{_ind_label(raw)} 定义有误：{_pydantic_msg(exc)}") from exc

    body = {**meta, **{k: v for k, v in data.items() if k != "indicators"}}
    if not body.get("classes"):
        cap = body.get("bonus_cap")
        body["classes"] = [
            {
                "code": code,
                "name": name,
                "kind": kind,
                "order": k,
                **({"cap": cap} if kind == "bonus" and isinstance(cap, int | float) and cap > 0 else {}),
            }
            for k, (code, name, kind) in enumerate(DEFAULT_CLASSES)
        ]
    else:
        for k, raw in enumerate(body["classes"]):
            if not isinstance(raw, dict):
                raise ModelError(f"第 {k + 1} 个类别（classes）的定义必须是对象")
            try:
                IndicatorClass.model_validate(raw)
            except ValidationError as exc:
                label = f"类别 {raw.get('code', '?')}（{raw.get('name', '未命名')}）"
                raise ModelError(f"{label} 定义有误：{_pydantic_msg(exc)}") from exc
    try:
        model = ScoringModel.model_validate({**body, "indicators": indicators})
    except ValidationError as exc:
        raise ModelError(f"模型定义有误：{_pydantic_msg(exc)}") from exc
    _check_classes(model)
    _check(model)
    return model


def _check_classes(model: ScoringModel) -> None:
    """Declared classes are unique and complete; every indicator names one (and learns its kind)."""
    codes = [c.code for c in model.classes]
    if len(set(codes)) != len(codes):
        dup = next(c for c in codes if codes.count(c) > 1)
        raise ModelError(f"类别代码重复：{dup}")
    if not model.classes_of_kind("core"):
        raise ModelError('模型至少要声明一个核心类别（kind = "core"）')
    clash = set(codes) & set(model.codes)
    if clash:
        raise ModelError(f"类别代码与指标代码重复：{', '.join(sorted(clash))}")
    for c in model.classes:
        if c.kind != c.code and c.code in RESERVED_COLUMNS:
            raise ModelError(f"类别 {c.code}（{c.name}）：代码 {c.code} 是积分结果的列名，请换一个类别代码")
        if c.kind == "veto" and c.cap is not None:
            raise ModelError(f"类别 {c.code}（{c.name}）：一票否决类别不计分，不应设上限（cap）")
    kinds = {c.code: c.kind for c in model.classes}
    for ind in model.indicators:
        if ind.cls not in kinds:
            raise ModelError(
                f"指标 {ind.code}（{ind.name}）：所属类别“{ind.cls}”未在模型的类别（classes）中声明，"
                f"已声明的类别：{'、'.join(codes)}"
            )
        ind._kind = kinds[ind.cls]


def _stage_label(model: ScoringModel, code: str) -> str:
    names = {s.code: s.name for s in model.stages}
    return f"{names.get(code, code)}（{code}）"


def _check_bands(label: str, bands: list[Band], direction: str, what: str = "分档") -> None:
    if not bands:
        raise ModelError(f"{label}：{what}为空")
    for prev, cur in zip(bands, bands[1:], strict=False):
        ok_at = cur.at < prev.at if direction == "higher" else cur.at > prev.at
        if not ok_at:
            order = "从高到低严格递减" if direction == "higher" else "从低到高严格递增"
            raise ModelError(
                f"{label}：{what}不单调（门槛 {prev.at:g} 之后是 {cur.at:g}），门槛应{order}（适用于全部阶段）"
            )
        if cur.f > prev.f:
            raise ModelError(
                f"{label}：{what}不单调（门槛 {cur.at:g} 的系数 {cur.f:g} 高于前一档 {prev.f:g}）（适用于全部阶段）"
            )


def _check(model: ScoringModel) -> None:
    stages = model.stage_codes
    if not stages:
        raise ModelError("模型没有定义任何阶段（stages）")
    if len(set(stages)) != len(stages):
        dup = next(s for s in stages if stages.count(s) > 1)
        raise ModelError(f"阶段代码重复：{dup}")
    for prev, cur in zip(model.stages, model.stages[1:], strict=False):
        if prev.max_revenue is None or not math.isclose(prev.max_revenue, cur.min_revenue):
            raise ModelError(
                f"阶段 {_stage_label(model, cur.code)} 的营业收入下限 {cur.min_revenue:g} "
                f"与上一阶段 {_stage_label(model, prev.code)} 的上限 {prev.max_revenue} 不衔接"
            )
        if cur.min_revenue <= prev.min_revenue:
            raise ModelError(f"阶段 {_stage_label(model, cur.code)} 的营业收入区间应按从低到高排列")
    if model.stages[-1].max_revenue is not None:
        raise ModelError(f"最后一个阶段 {_stage_label(model, stages[-1])} 不应设营业收入上限")

    codes = model.codes
    seen: set[str] = set()
    for c in codes:
        if c in seen:
            ind = model.indicator(c)
            raise ModelError(f"指标代码重复：{c}（{ind.name}）")
        seen.add(c)
    base = {b.code for b in model.base_fields}
    if base & seen:
        raise ModelError(f"基础数据项与指标代码重复：{', '.join(sorted(base & seen))}")

    if model.stage_indicator not in seen:
        raise ModelError(f"划分阶段的指标 {model.stage_indicator} 不在指标目录中")
    if not model.indicator(model.stage_indicator).is_core:
        raise ModelError(f"划分阶段的指标 {model.stage_indicator} 必须是核心指标")

    totals = dict.fromkeys(stages, 0.0)
    for ind in model.indicators:
        label = f"指标 {ind.code}（{ind.name}）"
        r = ind.rule
        if ind.is_core:
            if ind.points is None:
                raise ModelError(
                    f"{label}：核心指标缺少各阶段分值（points），缺少 {_stage_label(model, stages[0])} 等"
                )
            for s in stages:
                if s not in ind.points:
                    raise ModelError(f"{label}：缺少 {_stage_label(model, s)} 的分值")
                if ind.points[s] < 0:
                    raise ModelError(f"{label}：{_stage_label(model, s)} 的分值不能为负")
                totals[s] += ind.points[s]
            extra = set(ind.points) - set(stages)
            if extra:
                raise ModelError(f"{label}：分值中有未定义的阶段 {', '.join(sorted(extra))}")
            if ind.max_points is not None:
                raise ModelError(f"{label}：核心指标按阶段计分，不应设 max_points")
        elif ind.kind == "veto":
            if ind.points or ind.max_points:
                raise ModelError(f"{label}：一票否决指标不计分，不应设分值")
            if not isinstance(r, FlagRule) or r.components:
                raise ModelError(f"{label}：一票否决指标只能使用简单 flag 规则")
        else:
            if ind.points is not None:
                raise ModelError(f"{label}：辅助指标使用 max_points，不按阶段设分值")
            if ind.max_points is None or ind.max_points <= 0:
                raise ModelError(f"{label}：辅助指标缺少正的最高分（max_points）")
            if isinstance(r, PercentileRule):
                raise ModelError(f"{label}：辅助指标不能使用 percentile 规则")
        if isinstance(r, BandsRule):
            _check_bands(label, r.bands, r.direction)
            if r.alternative:
                _check_bands(label, r.alternative.bands, "higher", f"{r.alternative.label}分档")
            if r.direction == "lower" and (r.alternative or r.zero_base):
                raise ModelError(f"{label}：“越低越好”的分档不支持替代口径或零基数规则")
        elif isinstance(r, LinearCapRule):
            if ind.is_core:
                if r.caps is None:
                    raise ModelError(f"{label}：linear_cap 规则缺少各阶段上限（caps）")
                for s in stages:
                    if s not in r.caps:
                        raise ModelError(f"{label}：linear_cap 规则缺少 {_stage_label(model, s)} 的上限")
                    if r.caps[s] <= 0:
                        raise ModelError(f"{label}：{_stage_label(model, s)} 的上限必须大于 0")
            elif r.cap is None or r.cap <= 0:
                raise ModelError(f"{label}：linear_cap 规则需要一个大于 0 的上限（cap）")
        elif isinstance(r, TierRule):
            if not r.categories:
                raise ModelError(f"{label}：tier 规则没有类别")
            names = [c.label for c in r.categories] + [a for c in r.categories for a in c.aliases]
            if len(set(names)) != len(names):
                raise ModelError(f"{label}：tier 规则的类别名称重复")
        elif isinstance(r, ItemsRule):
            if not r.weights:
                raise ModelError(f"{label}：items 规则没有级别权重")
            if any(w < 0 for w in r.weights.values()):
                raise ModelError(f"{label}：items 规则的权重不能为负")
            if r.weights_in_points and ind.is_core:
                raise ModelError(
                    f"{label}：核心指标的 items 权重应为系数（weights_in_points 仅用于辅助指标）"
                )
        elif isinstance(r, FlagRule) and r.components and ind.is_core:
            raise ModelError(f"{label}：核心指标不能使用带组成部分的 flag 规则")

    for s, t in totals.items():
        if not math.isclose(t, model.core_total, abs_tol=1e-9):
            raise ModelError(
                f"{_stage_label(model, s)} 的核心指标分值合计为 {t:g}，应为 {model.core_total:g}"
            )

    known = seen | base | {model.previous_prefix + c for c in seen | base}
    for d in model.derivations:
        if d.target not in seen:
            raise ModelError(f"派生规则的目标指标 {d.target} 不在指标目录中")
        refs = [d.numerator, d.denominator] if d.kind == "ratio" else [d.of]
        if any(x is None for x in refs):
            raise ModelError(f"指标 {d.target} 的派生规则（{d.kind}）缺少参数")
        for x in refs:
            if x not in seen | base:
                raise ModelError(f"指标 {d.target} 的派生规则引用了未定义的数据项 {x}")
    for c in model.extra_columns():
        if c not in known:
            raise ModelError(f"规则引用了未定义的数据项 {c}")

    for what, label, found in (
        ("stage", "阶段代码", [s.code for s in model.stages]),
        ("field", "指标或基础数据项代码", [*seen, *base]),
        ("tier", "榜单代码", [t.code for t in model.tiers]),
        ("mujun", "亩均标记", [m.code for m in model.mujun]),
    ):
        for code in found:
            if len(code) > CODE_WIDTHS[what]:
                raise ModelError(
                    f"{label}“{code}”过长（{len(code)} 个字符）：最多 {CODE_WIDTHS[what]} 个字符，请改短"
                )
    tier_shares = [t.share for t in model.tiers]
    if tier_shares != sorted(tier_shares) or len(set(tier_shares)) != len(tier_shares):
        order = " → ".join(f"{t.name} {t.share * 100:g}%" for t in model.tiers)
        raise ModelError(f"榜单比例应按列出的顺序严格递增（累计比例）：{order}")
    mj = [m.share for m in model.mujun]
    if mj != sorted(mj):
        raise ModelError("亩均比例应按累计比例递增")
    for sub in model.subsidies:
        if sub.stage not in stages:
            raise ModelError(f"扶持规则引用了未定义的阶段 {sub.stage}")
    if len({s.stage for s in model.subsidies}) != len(model.subsidies):
        raise ModelError("同一阶段的扶持规则重复")
    allowed = {*RESULT_KEYS, "credit_code"} | {c.code for c in model.scored_classes} | seen
    for tb in model.tie_break:
        if tb.key not in allowed:
            raise ModelError(
                f"排序规则（tie_break）引用了未知的字段 {tb.key}：应为 total、core、bonus、deduction、"
                f"credit_code、某个计分类别或指标代码"
            )
    for ind in model.indicators:
        if ind.percent is not None and ind.unit != "%":
            raise ModelError(f"指标 {ind.code}（{ind.name}）：只有单位为 % 的指标才能设置 percent")
