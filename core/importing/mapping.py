"""Header mapping: which column of the department's file is which indicator, in which unit.

A file header matches a template column by code, name or one of the model's aliases, compared with
``core.spreadsheet.header_key`` and with a unit in brackets allowed (``营业收入（元）``). Money units
convert exactly to the model's 万元; a count unit must agree with the model's. The officer maps what
is left (``column_map``, ``ignore``); a remaining header that looks like data is ``unmapped`` (with
fuzzy suggestions) and blocks the import, a descriptive one (``DESCRIPTIVE_HEADERS``) is ignored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from core.importing.template import CODE_ALIASES, NAME_ALIASES, TemplateColumn
from core.spreadsheet import ROW_COLUMN, header_key, parse_number_series

# Money units a header or a cell may carry, as a factor to the model's 万元 (exact decimals).
MONEY_UNIT = "万元"
MONEY_FACTORS: dict[str, Decimal] = {
    "元": Decimal("0.0001"),
    "千元": Decimal("0.1"),
    "万元": Decimal(1),
    "亿元": Decimal(10000),
}
# Count units that mean the same thing in a header ("有效Ⅰ类知识产权（个）").
UNIT_SYNONYMS = {"个": "件", "项": "件", "件": "件", "名": "人", "人": "人", "%": "%", "％": "%"}
_UNIT_WORDS = "亿元|千元|万元|元|%|％|人|名|件|项|个|是/否|级"
_HEADER_UNIT = re.compile(
    rf"^(?P<base>.+?)\s*(?:[\(（\[【〔]\s*(?:单位\s*[:：]\s*)?(?P<u1>{_UNIT_WORDS})\s*[\)）\]】〕]|[/／]\s*(?P<u2>{_UNIT_WORDS}))$"
)
UNITS_ROW_CELL = re.compile(rf"^[\(（\[【]?\s*(?:单位\s*[:：]?\s*)?(?:{_UNIT_WORDS})\s*[\)）\]】]?$|^单位$")
# Descriptive columns offices' exports carry next to the data: never imported, never "looks like data".
DESCRIPTIVE_HEADERS = (
    "序号",
    "编号",
    "排名",
    "法定代表人",
    "法人代表",
    "法人",
    "负责人",
    "联系人",
    "联系电话",
    "电话",
    "手机",
    "手机号码",
    "联系方式",
    "邮箱",
    "电子邮箱",
    "邮编",
    "邮政编码",
    "地址",
    "注册地址",
    "经营地址",
    "所属街道",
    "街道",
    "镇街",
    "所属行业",
    "行业",
    "行业类别",
    "备注",
    "说明",
    "登记注册类型",
    "企业类型",
    "成立日期",
    "注册日期",
    "注册资本",
    "所属园区",
    "园区",
    "载体",
    "所属载体",
    "年份",
    "年度",
    "数据年度",
    "填报日期",
    "填报人",
    "审核人",
)
DESCRIPTIVE_KEYS = frozenset(header_key(h) for h in DESCRIPTIVE_HEADERS)
CODE_KEYS = frozenset(header_key(a) for a in CODE_ALIASES)
NAME_KEYS = frozenset(header_key(a) for a in NAME_ALIASES)
IGNORE_LABEL = "不导入"
SUGGEST_MIN_SCORE = 60.0


def _plain(d: Decimal) -> str:
    """10000, not 1E+4."""
    return format(d.normalize(), "f")


def split_header_unit(header: str) -> tuple[str, str | None]:
    """``营业收入（元）`` → (``营业收入``, ``元``); a header without a unit → (header, None)."""
    text = unicodedata.normalize("NFKC", str(header)).strip().rstrip("*").strip()
    m = _HEADER_UNIT.match(text)
    if not m:
        return text, None
    unit = m.group("u1") or m.group("u2")
    return m.group("base").strip(), unit.replace("％", "%")


def header_keys(col: TemplateColumn) -> set[str]:
    """Accepted spellings (without a unit): code, name and the model's aliases."""
    return {header_key(col.code), header_key(col.name), *(header_key(a) for a in col.aliases)}


def is_descriptive(header: str) -> bool:
    """A descriptive column (序号, 联系人, 地址 …): never imported, never "looks like data"."""
    return header_key(header) in DESCRIPTIVE_KEYS


@dataclass
class HeaderMapping:
    code_column: str | None
    name_column: str | None
    columns: dict[str, TemplateColumn]  # file header → column
    ignored: list[str]  # descriptive or marked 不导入 by the officer
    unmapped: list[dict] = field(default_factory=list)  # [{header, suggestions: [{code, name, score}]}]
    units: dict[str, str] = field(
        default_factory=dict
    )  # file header → unit it declares (header or units row)
    factors: dict[str, Decimal] = field(default_factory=dict)  # file header → factor to the model's unit
    notes: list[str] = field(default_factory=list)  # what the dry run says about conversions
    problems: list[str] = field(default_factory=list)  # mapping problems that block the import


def _unit_factor(col: TemplateColumn, unit: str | None) -> tuple[Decimal | None, str | None]:
    """(factor, problem) of a declared unit against the column's model unit."""
    if unit is None or col.kind in ("flag", "category", "items", "object"):
        return Decimal(1), None
    if col.unit == MONEY_UNIT and unit in MONEY_FACTORS:
        return MONEY_FACTORS[unit], None
    if UNIT_SYNONYMS.get(unit, unit) == UNIT_SYNONYMS.get(col.unit, col.unit):
        return Decimal(1), None
    return None, f"列的单位“{unit}”与指标“{col.name}”的单位“{col.unit or '无'}”不符"


def _suggestions(base: str, cols: list[TemplateColumn], limit: int = 3) -> list[dict]:
    from rapidfuzz import fuzz, process

    choices: dict[str, TemplateColumn] = {}
    for c in cols:
        for spelling in (c.name, *c.aliases):
            choices.setdefault(spelling, c)
    found = process.extract(base, list(choices), scorer=fuzz.WRatio, limit=limit * 3)
    out: list[dict] = []
    for spelling, score, _ in found:
        c = choices[spelling]
        if score >= SUGGEST_MIN_SCORE and all(o["code"] != c.code for o in out):
            out.append({"code": c.code, "name": c.name, "score": round(float(score), 1)})
    return out[:limit]


def _looks_like_data(
    header: str, values: pd.Series | None, unit: str | None, suggestions: list[dict]
) -> bool:
    """A column that may carry indicator data: declares a unit, resembles an indicator, or holds numbers."""
    if is_descriptive(header):
        return False
    if unit is not None or suggestions:
        return True
    if values is None:
        return False
    sample = values.dropna().head(200)
    if sample.empty:
        return False
    _nums, bad = parse_number_series(sample)
    return float((~bad).mean()) >= 0.5


def map_headers(
    headers: list[str],
    cols: list[TemplateColumn],
    *,
    table: pd.DataFrame | None = None,
    column_map: dict[str, str] | None = None,
    ignore: list[str] | set[str] | None = None,
    header_units: dict[str, str] | None = None,
) -> HeaderMapping:
    """Map file headers to columns: exact code/name/alias (unit in brackets allowed), then the officer's
    choices (``column_map`` header → code, ``ignore``); a remaining header that looks like data is
    ``unmapped`` (with suggestions) and blocks the import."""
    lookup: dict[str, TemplateColumn] = {}
    for c in cols:
        for k in header_keys(c):
            lookup.setdefault(k, c)
    by_code = {c.code.casefold(): c for c in cols}
    chosen = {header_key(h): code for h, code in (column_map or {}).items()}
    ignored_keys = {header_key(h) for h in (ignore or [])}
    m = HeaderMapping(None, None, {}, [])
    used: dict[str, str] = {}
    for h in headers:
        if h == ROW_COLUMN:
            continue
        k = header_key(h)
        base, unit = split_header_unit(h)
        if unit is None and header_units and h in header_units:
            unit = header_units[h]
        if m.code_column is None and k in CODE_KEYS:
            m.code_column = h
            continue
        if m.name_column is None and k in NAME_KEYS:
            m.name_column = h
            continue
        if k in ignored_keys:
            m.ignored.append(h)
            continue
        col: TemplateColumn | None = None
        if k in chosen:
            col = by_code.get(str(chosen[k]).strip().casefold())
            if col is None:
                m.problems.append(f"列“{h}”指定的指标代码“{chosen[k]}”不是本部门可导入的指标")
                continue
        else:
            col = lookup.get(k) or lookup.get(header_key(base))
        if col is None:
            values = table[h] if table is not None and h in table.columns else None
            sugg = _suggestions(base, cols)
            if _looks_like_data(h, values, unit, sugg):
                m.unmapped.append({"header": h, "suggestions": sugg})
            else:
                m.ignored.append(h)
            continue
        if col.code in used:
            m.problems.append(
                f"列“{h}”与列“{used[col.code]}”都对应指标“{col.name}”；请只保留一列或把其中一列标记为“不导入”"
            )
            continue
        factor, problem = _unit_factor(col, unit)
        if problem:
            m.problems.append(f"列“{h}”：{problem}；请改正表头中的单位或换算后再导入")
            continue
        used[col.code] = h
        m.columns[h] = col
        if unit is not None:
            m.units[h] = unit
        if factor is not None and factor != 1:
            m.factors[h] = factor
            how = f"÷ {_plain(1 / factor)}" if factor < 1 else f"× {_plain(factor)}"
            m.notes.append(f"列“{h}”的单位为{unit}，已换算为{col.unit}（{how}）")
    return m
