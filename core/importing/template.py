"""Import templates from the model: which columns a department's file holds and how to fill them.

A department supplies the indicators and base fields whose ``source`` names it; derived indicators
(derivation targets) are never imported. Each becomes a ``TemplateColumn`` whose kind (number, share,
category, yes/no flag, JSON object, list items) follows the indicator's rule and unit — nothing here
knows an indicator code. List-valued indicators get a long-form sheet of their own (``list_columns``,
``item_headers``); ``instructions`` writes the template's instructions sheet.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from core.importing.departments import ALL_DEPARTMENTS, ANY_SOURCE, departments, supplier
from core.scoring_model import BaseField, FlagRule, Indicator, ItemsRule, ScoringModel, TierRule
from core.spreadsheet import header_key

CODE_HEADER = "统一社会信用代码"
NAME_HEADER = "企业名称"
CODE_ALIASES = (CODE_HEADER, "信用代码", "社会信用代码", "credit_code", "统一代码")
NAME_ALIASES = (NAME_HEADER, "企业名称（全称）", "名称", "单位名称", "name")


# The model's definitions say when an amount may be negative (e.g. profit).
NEGATIVE_MARKERS = ("可为负", "可以为负")


@dataclass(frozen=True)
class TemplateColumn:
    """One importable column: an indicator or a base field."""

    code: str
    name: str
    unit: str
    kind: str  # number / share / category / flag / items / object
    department: str  # the supplying department (first match in the source)
    allow_negative: bool = False
    allowed: tuple[str, ...] = ()  # category labels and aliases
    canonical: dict[str, str] = field(default_factory=dict)  # alias → label
    levels: tuple[str, ...] = ()  # items: allowed level values
    definition: str = ""
    aliases: tuple[str, ...] = ()  # other header spellings (the model's ``aliases``)
    item_fields: tuple[Any, ...] = ()  # items: the model's ``item_fields`` (one long-form sheet column each)
    level_key: str = "level"

    @property
    def header(self) -> str:
        return self.name

    def hint(self) -> str:
        """How to fill the column, for the instructions sheet and fix texts."""
        if self.kind == "share":
            return "填写 0–100 之间的数字（百分比数值，如 4.5 表示 4.5%）"
        if self.kind == "number":
            unit = f"，单位：{self.unit}" if self.unit else ""
            sign = "，可为负数" if self.allow_negative else "，不能为负数"
            return f"填写数字{unit}{sign}"
        if self.kind == "category":
            return "填写以下之一：" + "、".join(dict.fromkeys(self.canonical.values())) + "；没有则留空"
        if self.kind == "flag":
            return "填写“是”或“否”（也可填 1/0）"
        if self.kind == "items":
            return f"在工作表“{self.name}”中每行填写一项（级别取 {'、'.join(self.levels)}）"
        # Structured flags: the model's definition explains the keys.
        return "JSON 对象，键见指标定义"


def department_columns(model: ScoringModel, department: str) -> list[TemplateColumn]:
    """Columns the department supplies (indicators first, then base fields), in model order."""
    known = departments(model)
    if department not in known and department not in (ALL_DEPARTMENTS, ANY_SOURCE):
        raise ValueError(f"未知的部门“{department}”，可选：{'、'.join(known)}")
    derived = {d.target for d in model.derivations}
    cols: list[TemplateColumn] = []
    for ind in model.indicators:
        dept = supplier(ind.source, department)
        if dept is None or ind.code in derived:
            continue
        rule = ind.rule
        kw = _about(ind, dept)
        if isinstance(rule, TierRule):
            canonical = {}
            for cat in rule.categories:
                for alias in (cat.label, *cat.aliases):
                    canonical[header_key(alias)] = cat.label
            cols.append(TemplateColumn(kind="category", allowed=tuple(canonical), canonical=canonical, **kw))
        elif isinstance(rule, ItemsRule):
            cols.append(
                TemplateColumn(
                    kind="items",
                    levels=tuple(rule.weights),
                    item_fields=tuple(ind.item_fields),
                    level_key=rule.level_key,
                    **kw,
                )
            )
        elif isinstance(rule, FlagRule):
            cols.append(TemplateColumn(kind="object" if rule.components else "flag", **kw))
        else:
            cols.append(_number_column(ind, dept, rate=ind.percent == "rate"))
    for base in model.base_fields:
        dept = supplier(base.source, department)
        if dept is not None:
            cols.append(_number_column(base, dept))
    return cols


def _about(field: Indicator | BaseField, department: str) -> dict[str, Any]:
    """What every column says of its field: code, name, unit, supplier, definition, other headers."""
    return {
        "code": field.code,
        "name": field.name,
        "unit": field.unit,
        "department": department,
        "definition": field.definition,
        "aliases": tuple(field.aliases),
    }


def _number_column(field: Indicator | BaseField, department: str, *, rate: bool = False) -> TemplateColumn:
    # a percent field is a 0–100 share unless the model declares it a rate (−20 or 150 are fine)
    kind = "share" if field.unit == "%" and not rate else "number"
    negative = rate or any(m in field.definition for m in NEGATIVE_MARKERS)
    return TemplateColumn(kind=kind, allow_negative=negative, **_about(field, department))


def profile_columns(model: ScoringModel, source: str) -> list[TemplateColumn]:
    """Every importable column of the model (any source), supplied by ``source`` (a profile's name)."""
    return [replace(c, department=source) for c in department_columns(model, ANY_SOURCE)]


def main_columns(cols: list[TemplateColumn]) -> list[TemplateColumn]:
    """Columns of the main data sheet: everything but list-valued indicators (they get their own sheets)."""
    return [c for c in cols if c.kind != "items"]


def list_columns(cols: list[TemplateColumn]) -> list[TemplateColumn]:
    """List-valued indicators: one long-form sheet each, one item per row."""
    return [c for c in cols if c.kind == "items"]


def item_headers(col: TemplateColumn) -> list[str]:
    """Headers of a list indicator's sheet: who, then the model's item fields."""
    return [CODE_HEADER, NAME_HEADER, *(f.label for f in col.item_fields)]


def template_headers(model: ScoringModel, department: str) -> list[str]:
    return [
        CODE_HEADER,
        NAME_HEADER,
        *(c.header for c in main_columns(department_columns(model, department))),
    ]


def instructions(model: ScoringModel, department: str, year: int | None = None) -> list[str]:
    """Lines of the template's instructions sheet."""
    cols = department_columns(model, department)
    lists = list_columns(cols)
    lines = [
        f"{department}数据导入模板 — 填写说明" + (f"（{year} 年度）" if year else ""),
        "",
        "1. 在“数据”工作表中每行填写一家企业；第一行为表头，请勿修改列名（列名也可写指标代码或常用简称）。",
        "2. “统一社会信用代码”必填，须为 18 位且校验位正确，且企业已在系统中登记；同一企业只能出现一行。",
        "3. 空白单元格表示本次不提供该项数据，系统保留原有数值；留空表示未提供，填 0 表示没有。",
        "4. 数字可带千分位逗号或全角数字；百分比指标填写数值（4.5 表示 4.5%）；金额单位为万元，"
        "表头写明“（元）”或“（亿元）”时系统自动换算。金额列不能填百分数。",
        "5. 先“试导入”查看逐行问题报告和将要发生的变化，全部改正后再“确认导入”；导入为整批生效，任何一行出错则整批不导入。"
        "被筛选或隐藏的行和列不算已排除：试导入会逐行指出，请删除不导入的行，或清除筛选、取消隐藏后再上传。",
        "6. 明显偏离同阶段企业常见范围的数值会被标记待核实，但不会被拒绝。",
    ]
    if lists:
        names = "、".join(f"“{c.name}”" for c in lists)
        lines.append(
            f"7. 列表类指标在各自的工作表中填写（{names}）：每行一项，同一企业可有多行；"
            "试导入时选择“替换”该企业原有列表或“追加”到原有列表。"
        )
    lines += ["", "列说明："]
    for c in cols:
        unit = f"（{c.unit}）" if c.unit and c.kind != "items" else ""
        lines.append(f"· {c.name}{unit} [{c.code}]：{c.hint()}。{c.definition}")
        for f in c.item_fields:
            allowed = f.values or (list(c.levels) if f.key == c.level_key else [])
            what = (
                "、".join(allowed)
                if allowed
                else ("四位年份" if f.kind == "year" else "是/否" if f.kind == "bool" else "文字")
            )
            lines.append(f"    - {f.label}{'（必填）' if f.required or f.key == c.level_key else ''}：{what}")
    return lines


def expected_headers(cols: list[TemplateColumn]) -> list[str]:
    return [
        CODE_HEADER,
        NAME_HEADER,
        *(c.name for c in cols),
        *(c.code for c in cols),
        *(a for c in cols for a in c.aliases),
    ]
