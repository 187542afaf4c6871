"""Self-report form definitions and validation (pure): Chinese messages naming the field and the fix.

Which indicators are self-reported comes from the scoring model; how they are entered (list fields,
choices, year windows, cross-checks, evidence) comes from the model too: its own forms
(``ScoringModel.self_report``, read from the file its TOML names in ``self_report_file``) matched by
indicator code, or else the shipped ``core/models/self_report.toml``, whose forms are matched by
indicator *name* — another zone's 高新技术产品收入占比 gets the same form under its own code, and an
indicator the shipped file does not describe gets a plain form from the model alone.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.scoring_model import Indicator, ItemsRule, ScoringModel

FORMS_PATH = Path(__file__).parent / "models" / "self_report.toml"


@dataclass(frozen=True)
class ItemField:
    key: str
    label: str
    kind: str  # text / level / choice / year
    required: bool = False
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormSpec:
    code: str
    name: str
    unit: str
    kind: str  # number / items
    help: str = ""
    integer: bool = False
    max_field: str | None = None
    max_field_label: str | None = None
    max_field_source: str = ""  # the department that reports max_field (the model's `source`)
    evidence_required: bool = False
    years_back: int | None = None
    fields: tuple[ItemField, ...] = field(default_factory=tuple)
    rate: bool = False  # a percent the model declares a rate: may be negative or above 100

    def evidence_key(self, uid: str) -> str:
        """Attachment.item_code of one list item (≤ 20 characters)."""
        return f"{self.code}:{uid}"[:20]


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[dict, ...]:
    with open(path, "rb") as fh:
        return tuple(tomllib.load(fh).get("forms", []))


def _forms_by_indicator(model: ScoringModel, path: Path | None) -> dict[str, dict]:
    """Indicator code → its form entry: the model's own forms by code, the shipped ones by name."""
    if path is None and model.self_report is not None:
        return {f["code"]: f for f in model.self_report.get("forms", []) if "code" in f}
    by_name = {f["indicator"]: f for f in _load(str(path or FORMS_PATH)) if "indicator" in f}
    out = {}
    for ind in model.indicators:
        form = by_name.get(ind.name)
        if form is None:
            continue
        if form.get("max_field") and model.field(form["max_field"]) is None:
            # the cross-check reads a value this model does not collect
            form = {k: v for k, v in form.items() if k not in ("max_field", "max_field_label")}
        out[ind.code] = form
    return out


def form_specs(model: ScoringModel, path: Path | None = None) -> list[FormSpec]:
    """One spec per self-reported indicator of the model, in model order."""
    raw = _forms_by_indicator(model, path)
    specs = []
    for ind in model.indicators:
        if not ind.self_reported:
            continue
        spec = raw.get(ind.code, {})
        kind = spec.get("kind") or ("items" if isinstance(ind.rule, ItemsRule) else "number")
        fields = tuple(_item_field(ind, f) for f in spec.get("fields", [])) or _default_fields(ind)
        specs.append(
            FormSpec(
                code=ind.code,
                name=ind.name,
                unit=ind.unit,
                kind=kind,
                help=spec.get("help", ind.definition),
                integer=bool(spec.get("integer", False)),
                max_field=spec.get("max_field"),
                max_field_label=spec.get("max_field_label"),
                max_field_source=getattr(model.field(spec.get("max_field") or ""), "source", ""),
                evidence_required=bool(spec.get("evidence_required", kind == "items")),
                years_back=spec.get("years_back"),
                fields=fields if kind == "items" else (),
                rate=ind.percent == "rate",
            )
        )
    return specs


def _levels(ind: Indicator) -> tuple[str, ...]:
    return tuple(ind.rule.weights) if isinstance(ind.rule, ItemsRule) else ()


def _item_field(ind: Indicator, raw: dict) -> ItemField:
    kind = raw.get("kind", "text")
    options = tuple(raw.get("options") or (_levels(ind) if kind == "level" else ()))
    return ItemField(
        raw["key"], raw.get("label", raw["key"]), kind, bool(raw.get("required", False)), options
    )


def _default_fields(ind: Indicator) -> tuple[ItemField, ...]:
    return (ItemField("name", "名称", "text", True), ItemField("level", "级别", "level", True, _levels(ind)))


# ------------------------------------------------------------------ validation
def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def validate(
    specs: list[FormSpec],
    items: dict[str, Any],
    *,
    year: int,
    context: dict[str, float | None] | None = None,
    evidence: set[str] | None = None,
    require_evidence: bool = True,
) -> list[dict]:
    """Problems as ``{"field", "problem"}`` dicts (empty = valid).

    ``context``: department values of the year the checks compare with (e.g. insured staff);
    ``evidence``: the attachment keys present (``FormSpec.evidence_key``).
    """
    context = context or {}
    evidence = evidence or set()
    problems: list[dict] = []

    def add(code: str, text: str) -> None:
        problems.append({"field": code, "problem": text})

    for spec in specs:
        value = items.get(spec.code)
        if spec.kind == "number":
            number = _number(value)
            if number is None:
                continue  # an empty number means "nothing to report"
            if math.isnan(number):
                add(spec.code, f"“{spec.name}”应填写数字，请删除文字或符号后重新填写。")
                continue
            if number < 0 and not spec.rate:
                add(spec.code, f"“{spec.name}”不能为负数，请填写 0 或正数。")
            if spec.unit == "%" and not spec.rate and not 0 <= number <= 100:
                add(
                    spec.code,
                    f"“{spec.name}”是百分比，应在 0–100 之间（例如 45 表示 45%），当前为 {number:g}。",
                )
            if spec.integer and not float(number).is_integer():
                add(spec.code, f"“{spec.name}”应为整数（{spec.unit}），当前为 {number:g}。")
            if spec.max_field:
                limit = context.get(spec.max_field)
                if limit is not None and not math.isnan(limit) and number > limit:
                    label = spec.max_field_label or spec.max_field
                    department = f"{spec.max_field_source}部门" if spec.max_field_source else "报送部门"
                    add(
                        spec.code,
                        f"“{spec.name}”（{number:g}）不能超过部门报送的{label}（{limit:g}），"
                        f"请核对数值，或先向{department}更正{label}。",
                    )
            continue

        rows = value or []
        if not isinstance(rows, list):
            add(spec.code, f"“{spec.name}”格式有误，请重新填写。")
            continue
        for position, row in enumerate(rows, start=1):
            where = f"“{spec.name}”第 {position} 项"
            for f in spec.fields:
                cell = row.get(f.key) if isinstance(row, dict) else None
                empty = cell is None or (isinstance(cell, str) and not cell.strip())
                if empty:
                    if f.required:
                        add(spec.code, f"{where}的“{f.label}”不能为空，请填写。")
                    continue
                if f.kind in ("level", "choice") and f.options and str(cell) not in f.options:
                    add(spec.code, f"{where}的“{f.label}”应为 {'/'.join(f.options)} 之一，当前为“{cell}”。")
                if f.kind == "year":
                    y = _number(cell)
                    low = year - (spec.years_back if spec.years_back is not None else 50)
                    if y is None or math.isnan(y) or not float(y).is_integer() or not low <= y <= year:
                        add(spec.code, f"{where}的“{f.label}”应在 {low}–{year} 年之间，当前为“{cell}”。")
            if require_evidence and spec.evidence_required and isinstance(row, dict):
                uid = str(row.get("uid") or "")
                if not uid or spec.evidence_key(uid) not in evidence:
                    add(
                        spec.code, f"{where}缺少证明材料，请上传 PDF、JPG 或 PNG 文件（如证书、文件扫描件）。"
                    )
    return problems


def clean_items(specs: list[FormSpec], items: dict[str, Any]) -> dict[str, Any]:
    """Normalise what a form sends: numbers as float/None, list rows as plain dicts with known keys."""
    out: dict[str, Any] = {}
    for spec in specs:
        value = items.get(spec.code)
        if spec.kind == "number":
            number = _number(value)
            out[spec.code] = None if number is None or math.isnan(number) else number
            if number is not None and math.isnan(number):
                out[spec.code] = value  # keep the text so validation can name it
            continue
        rows = []
        for row in value or []:
            if not isinstance(row, dict):
                continue
            clean: dict[str, Any] = {"uid": str(row.get("uid") or "")} if row.get("uid") else {}
            for f in spec.fields:
                cell = row.get(f.key)
                if isinstance(cell, str):
                    cell = cell.strip()
                if f.kind == "year" and cell not in (None, ""):
                    number = _number(cell)
                    cell = (
                        int(number)
                        if number is not None and not math.isnan(number) and number.is_integer()
                        else cell
                    )
                clean[f.key] = cell if cell != "" else None
            if any(clean.get(f.key) not in (None, "") for f in spec.fields):
                rows.append(clean)
        out[spec.code] = rows
    return out
