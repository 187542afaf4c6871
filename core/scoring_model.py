"""The scoring model as data: load a TOML (or the stored JSON dict), validate it, describe its rules.

`load_model()` reads ``core/models/longwan-2022.toml``; `parse_model(dict)` validates any dict of the same
shape (the TOML as read by tomllib, or ``ScoringModel.to_dict()`` as stored in the database).
Every problem is raised as `ModelError` with a Chinese message naming the indicator and the stage.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError
from pydantic_core import ErrorDetails

DEFAULT_MODEL_PATH = Path(__file__).parent / "models" / "longwan-2022.toml"

ClassKind = Literal["core", "bonus", "deduction", "veto"]
CLASS_KINDS: tuple[str, ...] = ("core", "bonus", "deduction", "veto")
KIND_NAMES = {"core": "核心", "bonus": "加分", "deduction": "扣分", "veto": "一票否决"}
# Classes of a model that declares none (every model written before classes were data): the Longwan
# shape. The bonus class carries the model's bonus cap so its subtotal is the capped bonus, as stored.
DEFAULT_CLASSES: tuple[tuple[str, str, str], ...] = (
    ("technology", "技术创新", "core"),
    ("growth", "成长经营", "core"),
    ("bonus", "辅助加分", "bonus"),
    ("deduction", "扣分", "deduction"),
    ("veto", "一票否决", "veto"),
)
# Result columns the engine writes; a class subtotal is the column ``sub_<code>``.
RESULT_KEYS = ("total", "core", "bonus", "deduction")
RESERVED_COLUMNS = frozenset(
    {
        *RESULT_KEYS,
        "credit_code",
        "name",
        "stage",
        "veto",
        "veto_reason",
        "rank",
        "percentile",
        "tier",
        "subsidy",
        "mujun",
        "missing",
        "missing_count",
    }
)
RULE_TYPES = ("bands", "linear_cap", "percentile", "tier", "items", "flag")
NUMERIC_RULES = ("bands", "linear_cap", "percentile")


class ModelError(ValueError):
    """The scoring model is invalid; the message is Chinese and names the indicator and stage."""


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


# ------------------------------------------------------------------ rules
class Band(_Base):
    at: float
    f: float = Field(ge=0, le=1)


class AlternativeBands(_Base):
    """Score numerator ÷ denominator × scale on other bands when `field` < `below` and both are given."""

    label: str = "替代口径"
    field: str
    below: float
    numerator: str
    denominator: str
    scale: float = 100
    bands: list[Band]


class ZeroBase(_Base):
    """Previous-year `field` is 0 and `current` > 0: the growth is undefined, score a fixed f."""

    field: str
    current: str
    f: float = Field(ge=0, le=1)


class CapBelow(_Base):
    """When `field` < `below`, f is capped at `max_f`."""

    field: str
    below: float
    max_f: float = Field(ge=0, le=1)


class BandsRule(_Base):
    type: Literal["bands"] = "bands"
    direction: Literal["higher", "lower"] = "higher"
    bands: list[Band]
    alternative: AlternativeBands | None = None
    zero_base: ZeroBase | None = None
    cap_below: CapBelow | None = None


class LinearCapRule(_Base):
    """f = min(1, value ÷ cap); `caps` per stage (core) or one `cap` (auxiliary)."""

    type: Literal["linear_cap"] = "linear_cap"
    caps: dict[str, float] | None = None
    cap: float | None = None

    def cap_for(self, stage: str) -> float | None:
        """The cap that applies in `stage` (the stage's entry of `caps`, else the single `cap`)."""
        return self.caps.get(stage) if self.caps else self.cap


class PercentileRule(_Base):
    type: Literal["percentile"] = "percentile"


class Category(_Base):
    label: str
    f: float = Field(ge=0, le=1)
    aliases: list[str] = []


class TierRule(_Base):
    type: Literal["tier"] = "tier"
    categories: list[Category]


class Factor(_Base):
    """Multiply an item's weight by values[str(item[key])]; keys not listed (or absent) give `default`."""

    key: str
    values: dict[str, float]
    default: float = 1.0


class ItemsRule(_Base):
    """f = min(1, Σ weight(level) × Π factors); with weights_in_points the sum is divided by max_points."""

    type: Literal["items"] = "items"
    level_key: str = "level"
    weights: dict[str, float]
    factors: list[Factor] = []
    weights_in_points: bool = False


class Component(_Base):
    """One part of a structured flag: min(cap, weight × value[key]) points (bool counts as 1)."""

    key: str
    label: str = ""
    weight: float = Field(gt=0)
    cap: float | None = None


class FlagRule(_Base):
    """f = 1 when true; with components f = min(1, Σ component points ÷ max_points)."""

    type: Literal["flag"] = "flag"
    components: list[Component] = []


Rule = Annotated[
    BandsRule | LinearCapRule | PercentileRule | TierRule | ItemsRule | FlagRule,
    Field(discriminator="type"),
]


# ------------------------------------------------------------------ model parts
class Stage(_Base):
    code: str
    name: str
    min_revenue: float
    max_revenue: float | None = None


class ItemField(_Base):
    """One field of a list-valued indicator's items: a column of its long-form import sheet."""

    key: str
    label: str
    values: list[str] = []  # allowed values (empty: free text; the level key takes the rule's levels)
    required: bool = False
    kind: Literal["text", "year", "bool"] = "text"


class BaseField(_Base):
    code: str
    name: str
    unit: str = ""
    source: str = ""
    definition: str = ""
    aliases: list[str] = []  # other header spellings departments use (import mapping)


class Derivation(_Base):
    """ratio: numerator ÷ denominator × scale; growth: (this − previous) ÷ previous × 100 of `of`."""

    target: str
    kind: Literal["ratio", "growth"]
    numerator: str | None = None
    denominator: str | None = None
    scale: float = 1
    of: str | None = None

    @property
    def ratio_codes(self) -> tuple[str, str]:
        """(numerator, denominator) of a ratio; parse_model has checked that both are named."""
        if self.numerator is None or self.denominator is None:
            raise ModelError(f"指标 {self.target} 的派生规则（{self.kind}）缺少参数")
        return self.numerator, self.denominator

    @property
    def growth_code(self) -> str:
        """The code a growth rule compares with its previous year; parse_model has checked it is named."""
        if self.of is None:
            raise ModelError(f"指标 {self.target} 的派生规则（{self.kind}）缺少参数")
        return self.of


class IndicatorClass(_Base):
    """A declared indicator class: core classes share the core total, bonus classes add (capped), deduction
    classes subtract, veto classes exclude from ranking. ``cap`` caps the class subtotal."""

    code: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    name: str
    kind: ClassKind
    order: int = 0
    cap: float | None = Field(default=None, gt=0)


class Indicator(_Base):
    code: str
    name: str
    cls: str = Field(alias="class")
    unit: str = ""
    source: str = ""
    self_reported: bool = False
    prefilled: bool = False
    definition: str = ""
    aliases: list[str] = []  # other header spellings departments use (import mapping)
    item_fields: list[ItemField] = []  # list-valued indicators: the fields of one item
    rule: Rule
    points: dict[str, float] | None = None
    max_points: float | None = None
    # A percent indicator says what its number is: a 0–100 share, or a rate that may be < 0 or > 100.
    percent: Literal["share", "rate"] | None = None
    # National guide or a zone's own (a model that declares a parent marks its added indicators local).
    origin: Literal["national", "local"] | None = None
    _kind: str = PrivateAttr(default="")  # the kind of its class, set by parse_model

    @property
    def kind(self) -> str:
        """core / bonus / deduction / veto: the kind of the indicator's declared class."""
        return self._kind

    @property
    def is_core(self) -> bool:
        return self._kind == "core"

    def max_for(self, stage: str) -> float:
        """Maximum points in `stage` (core: points[stage]; auxiliary: max_points; veto: 0)."""
        if self._kind == "veto":
            return 0.0
        if self.points is not None:
            return float(self.points[stage])
        return float(self.max_points or 0.0)


class ListTier(_Base):
    code: str
    name: str
    share: float = Field(gt=0, le=1)


class Subsidy(_Base):
    stage: str
    share: float = Field(gt=0, le=1)
    max_count: int = Field(ge=0)
    amount: float = Field(ge=0)


class Mujun(_Base):
    code: str
    share: float = Field(gt=0, le=1)


class TieBreak(_Base):
    key: str
    order: Literal["asc", "desc"] = "desc"


class ScoringModel(_Base):
    name: str
    version: str
    note: str = ""
    zone: str = ""  # the zone whose model this is (the home page's caption); a guide names none
    source: str = ""
    stage_indicator: str
    previous_prefix: str = "prev_"
    bonus_cap: float = Field(ge=0)
    core_total: float = Field(default=100, gt=0)
    classes: list[IndicatorClass] = []
    stages: list[Stage]
    base_fields: list[BaseField] = []
    derivations: list[Derivation] = []
    indicators: list[Indicator]
    tiers: list[ListTier] = []
    subsidies: list[Subsidy] = []
    mujun: list[Mujun] = []
    tie_break: list[TieBreak] = []
    # The model's own cultivation pools, service triggers and derived facts (core.pools); None: the
    # shipped pools.toml when the model has the fields it reads, else none.
    cultivation: dict[str, Any] | None = None
    # How the model's self-reported indicators are entered (core.self_report_rules), e.g. read from the
    # file its TOML names in ``self_report_file``; None: the shipped self_report.toml, matched by name.
    self_report: dict[str, Any] | None = None

    # -------------------------------------------------------------- helpers
    def indicator(self, code: str) -> Indicator:
        for ind in self.indicators:
            if ind.code == code:
                return ind
        raise KeyError(code)

    def field(self, code: str) -> Indicator | BaseField | None:
        """The indicator or base field of that code, or None."""
        fields: list[Indicator | BaseField] = [*self.indicators, *self.base_fields]
        for item in fields:
            if item.code == code:
                return item
        return None

    @property
    def qualification_indicators(self) -> list[Indicator]:
        """Bonus indicators that record a qualification: a plain yes/no flag (国家高新技术企业, 科技型中小企业
        …) or a tier recognition (优质中小企业梯度), in the model's order."""
        return [
            i
            for i in self.by_kind("bonus")
            if isinstance(i.rule, TierRule) or (isinstance(i.rule, FlagRule) and not i.rule.components)
        ]

    @property
    def codes(self) -> list[str]:
        return [i.code for i in self.indicators]

    @property
    def stage_codes(self) -> list[str]:
        return [s.code for s in self.stages]

    def stage_name(self, code: str) -> str:
        return next(s.name for s in self.stages if s.code == code)

    def by_class(self, *classes: str) -> list[Indicator]:
        return [i for i in self.indicators if i.cls in classes]

    def by_kind(self, *kinds: str) -> list[Indicator]:
        return [i for i in self.indicators if i.kind in kinds]

    @property
    def ordered_classes(self) -> list[IndicatorClass]:
        """The declared classes in display order (ties keep declaration order)."""
        return sorted(self.classes, key=lambda c: c.order)

    def classes_of_kind(self, *kinds: str) -> list[IndicatorClass]:
        return [c for c in self.ordered_classes if c.kind in kinds]

    @property
    def scored_classes(self) -> list[IndicatorClass]:
        """Classes with a subtotal (every kind but veto), in display order."""
        return self.classes_of_kind("core", "bonus", "deduction")

    def class_def(self, code: str) -> IndicatorClass:
        for c in self.classes:
            if c.code == code:
                return c
        raise KeyError(code)

    def class_name(self, code: str) -> str:
        return self.class_def(code).name

    def class_max(self, code: str, stage: str) -> float:
        """Most points the class can give in `stage` (Σ of its indicators, within its cap)."""
        top = sum(i.max_for(stage) for i in self.by_class(code))
        cap = self.class_def(code).cap
        return min(top, cap) if cap is not None else top

    def tier_name(self, code: str) -> str:
        return next((t.name for t in self.tiers if t.code == code), code)

    def extra_columns(self) -> list[str]:
        """Input columns other than indicators that the rules read (base fields, prev_<code>)."""
        cols: list[str] = []
        for ind in self.indicators:
            r = ind.rule
            if isinstance(r, BandsRule):
                if r.alternative:
                    cols += [r.alternative.field, r.alternative.numerator, r.alternative.denominator]
                if r.zero_base:
                    cols += [r.zero_base.field, r.zero_base.current]
                if r.cap_below:
                    cols.append(r.cap_below.field)
        codes = set(self.codes)
        return list(dict.fromkeys(c for c in cols if c not in codes))

    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON of the model: equal models, equal fingerprints."""
        blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict that `parse_model` accepts (round-trips)."""
        meta = {
            k: getattr(self, k)
            for k in (
                "name",
                "version",
                "note",
                "source",
                "stage_indicator",
                "previous_prefix",
                "bonus_cap",
                "core_total",
            )
        }
        if self.zone:  # only when set: models stored before the field existed keep their fingerprint
            meta["zone"] = self.zone
        body = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        for k in (*meta, "zone"):
            body.pop(k, None)
        return {"meta": meta, **body}


# ------------------------------------------------------------------ loading and validation
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

    tier_shares = [t.share for t in model.tiers]
    if tier_shares != sorted(tier_shares) or len(set(tier_shares)) != len(tier_shares):
        raise ModelError("榜单比例应从领跑到进取严格递增（累计比例）")
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

    if isinstance(r, BandsRule):
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
    elif isinstance(r, LinearCapRule):
        if r.caps:
            stage_names = {s.code: s.name for s in model.stages} if model else {}
            caps = "、".join(f"{stage_names.get(s, s)}{_g(c)}{unit}" for s, c in r.caps.items())
            body = f"按数量线性计分，达到上限得满分（上限：{caps}）"
        else:
            body = f"按数量线性计分，达到{_g(r.cap or 0)}{unit}得满分"
    elif isinstance(r, PercentileRule):
        body = "在同阶段企业中按百分位计分（仅数值大于0的企业参与排序，数值不大于0不得分）"
    elif isinstance(r, TierRule):
        body = "按最高等级计分：" + "，".join(f"{c.label}得{_g(c.f * 100)}%" for c in r.categories)
    elif isinstance(r, ItemsRule):
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
    elif isinstance(r, FlagRule):
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
