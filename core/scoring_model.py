"""The scoring model as data: the rule, indicator, class and stage types and `ScoringModel` itself.

A model is a TOML file (``core/models/``) or the dict stored with a model version; everything the engine,
the importer and the screens know about indicators, stages, lists and subsidies comes from here. Types
and their questions (`model.indicator(code)`, `model.stage_codes`, `model.qualification_indicators`,
`model.to_dict()`, `model.fingerprint()`) live here; reading and validating a model is
`core.model_loading` (`load_model`, `parse_model`), the model in words and as TOML is `core.model_text`.
Every problem is a `ModelError` with a Chinese message naming the indicator and the stage.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

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
# The widest codes the stores keep (db.models declares its columns with these): a longer code in a model
# is refused when the model loads, not by PostgreSQL in the middle of computing a run.
CODE_WIDTHS = {"stage": 20, "field": 20, "tier": 10, "mujun": 10}
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

    @property
    def measure_in_points(self) -> bool:
        """Its measure is points, not a fraction of the maximum (items weighted in points, a structured
        flag's components): the engine divides it by ``max_points``."""
        r = self.rule
        return (isinstance(r, ItemsRule) and r.weights_in_points) or (
            isinstance(r, FlagRule) and bool(r.components)
        )

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
