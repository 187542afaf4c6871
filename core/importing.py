"""Department imports, pure part: templates derived from the model, header mapping, validation.

Which columns a department supplies comes from the model (an indicator's or base field's ``source``,
e.g. ``"科技/经信"`` or ``"自报+人社"``); derived indicators (derivation targets) are never imported.
Nothing here knows an indicator code: kinds (number, share, category, yes/no, JSON items) follow the
indicator's rule and unit.

``validate`` takes the raw table (``core.spreadsheet.apply_header`` output), checks everything
column by column with vectorised pandas, and returns a per-row report ``[{row, column, value, problem,
fix}]`` (``row`` = the row number the officer sees in Excel), outlier flags (robust fences on a log
scale within each stage: flagged for follow-up, never rejected) and the accepted values in long form
(one row per enterprise · code) ready for a bulk insert.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from core import credit_code as cc
from core.engine import stage_index
from core.scoring_model import FlagRule, ItemsRule, ScoringModel, TierRule
from core.spreadsheet import ROW_COLUMN, excel_error_report, header_key, parse_number_series
from core.yesno import FALSE_TEXT, TRUE_TEXT

# The default model's departments (kept for callers without a model); a model's own: departments(model).
DEPARTMENTS: tuple[str, ...] = ("税务", "经信", "科技", "金融", "市监", "人社")
# A consolidated file (the 科技局 collects every department's columns in one sheet).
ALL_DEPARTMENTS = "综合"
CODE_HEADER = "统一社会信用代码"
NAME_HEADER = "企业名称"
CODE_ALIASES = (CODE_HEADER, "信用代码", "社会信用代码", "credit_code", "统一代码")
NAME_ALIASES = (NAME_HEADER, "企业名称（全称）", "名称", "单位名称", "name")
MAX_REPORTED = 10_000  # stored report rows; the counts stay exact
# The model's definitions say when an amount may be negative (e.g. profit).
NEGATIVE_MARKERS = ("可为负", "可以为负")
OUTLIER_K = 3.0  # Tukey's "far out" fence on the log scale
OUTLIER_MIN_GROUP = 30


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


def _sources(source: str) -> list[str]:
    return [s.strip() for s in re.split(r"[/+、，,]", source or "") if s.strip()]


# Source words that name no delivering department (self-reports, derivations, public data).
NOT_DEPARTMENTS = frozenset({"自报", "派生", "公开", "上年"})


# Public-data sources (core.source_profiles) may supply any indicator that is not derived.
ANY_SOURCE = "*"


def _supplier(source: str, department: str) -> str | None:
    if department == ANY_SOURCE:
        return department
    parts = _sources(source)
    if department == ALL_DEPARTMENTS:
        return next((p for p in parts if p not in NOT_DEPARTMENTS), None)
    return department if department in parts else None


def departments(model: ScoringModel) -> tuple[str, ...]:
    """The model's delivering departments: the first department named by each indicator's or base field's
    source ("市监/公开" → 市监, "自报+人社" → 人社), in model order — a model sourcing 统计 has 统计."""
    found: dict[str, None] = {}
    for source in [i.source for i in model.indicators] + [b.source for b in model.base_fields]:
        first = next((p for p in _sources(source) if p not in NOT_DEPARTMENTS), None)
        if first is not None:
            found.setdefault(first, None)
    # the familiar order of the six usual departments first, then the model's others as they appear
    rank = {d: k for k, d in enumerate(DEPARTMENTS)}
    return tuple(sorted(found, key=lambda d: (rank.get(d, len(rank)), list(found).index(d))))


def department_columns(model: ScoringModel, department: str) -> list[TemplateColumn]:
    """Columns the department supplies (indicators first, then base fields), in model order."""
    known = departments(model)
    if department not in known and department not in (ALL_DEPARTMENTS, ANY_SOURCE):
        raise ValueError(f"未知的部门“{department}”，可选：{'、'.join(known)}")
    derived = {d.target for d in model.derivations}
    cols: list[TemplateColumn] = []
    for ind in model.indicators:
        dept = _supplier(ind.source, department)
        if dept is None or ind.code in derived:
            continue
        rule = ind.rule
        kw: dict[str, Any] = {
            "code": ind.code,
            "name": ind.name,
            "unit": ind.unit,
            "department": dept,
            "definition": ind.definition,
            "aliases": tuple(ind.aliases),
        }
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
            # a percent indicator is a 0–100 share unless the model declares it a rate (−20 or 150 are fine)
            kind = "share" if ind.unit == "%" and ind.percent != "rate" else "number"
            negative = ind.percent == "rate" or any(m in ind.definition for m in NEGATIVE_MARKERS)
            cols.append(TemplateColumn(kind=kind, allow_negative=negative, **kw))
    for base in model.base_fields:
        dept = _supplier(base.source, department)
        if dept is None:
            continue
        negative = any(m in base.definition for m in NEGATIVE_MARKERS)
        cols.append(
            TemplateColumn(
                code=base.code,
                name=base.name,
                unit=base.unit,
                department=dept,
                kind="share" if base.unit == "%" else "number",
                allow_negative=negative,
                definition=base.definition,
                aliases=tuple(base.aliases),
            )
        )
    return cols


def profile_columns(model: ScoringModel, source: str) -> list[TemplateColumn]:
    """Every importable column of the model (any source), supplied by ``source`` (a profile's name)."""
    from dataclasses import replace

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
        "5. 先“试导入”查看逐行问题报告和将要发生的变化，全部改正后再“确认导入”；导入为整批生效，任何一行出错则整批不导入。",
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


# --------------------------------------------------------------------------- header mapping
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
_UNITS_ROW_CELL = re.compile(rf"^[\(（\[【]?\s*(?:单位\s*[:：]?\s*)?(?:{_UNIT_WORDS})\s*[\)）\]】]?$|^单位$")
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
    if header_key(header) in {header_key(h) for h in DESCRIPTIVE_HEADERS}:
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
    code_keys = {header_key(a) for a in CODE_ALIASES}
    name_keys = {header_key(a) for a in NAME_ALIASES}
    m = HeaderMapping(None, None, {}, [])
    used: dict[str, str] = {}
    for h in headers:
        if h == ROW_COLUMN:
            continue
        k = header_key(h)
        base, unit = split_header_unit(h)
        if unit is None and header_units and h in header_units:
            unit = header_units[h]
        if m.code_column is None and k in code_keys:
            m.code_column = h
            continue
        if m.name_column is None and k in name_keys:
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


def expected_headers(cols: list[TemplateColumn]) -> list[str]:
    return [
        CODE_HEADER,
        NAME_HEADER,
        *(c.name for c in cols),
        *(c.code for c in cols),
        *(a for c in cols for a in c.aliases),
    ]


# --------------------------------------------------------------------------- rows that are not data
_TOTAL_RE = re.compile(r"^(合计|总计|小计|共计|累计|总合计)")
_NOTE_RE = re.compile(
    r"^(注|备注|说明|填表说明|数据来源|资料来源|制表|制表人|填报人|填表人|审核人|负责人|联系人|"
    r"填报日期|填表日期|报送日期|单位负责人)\s*\d*\s*[:：]"
)
_SPACE_RE = re.compile(r"[\s\u00a0\u3000]+")


def _units_row(table: pd.DataFrame, code_column: str) -> tuple[int | None, dict[str, str]]:
    """The first data row when it only names units (``万元``, ``元``, ``%``, ``单位``): (position, units)."""
    if table.empty:
        return None, {}
    first = table.iloc[0]
    units: dict[str, str] = {}
    cells = 0
    for h, v in first.items():
        if h == ROW_COLUMN or v is None or (isinstance(v, float) and math.isnan(v)) or not str(v).strip():
            continue
        text = unicodedata.normalize("NFKC", str(v)).strip()
        if not _UNITS_ROW_CELL.match(text):
            return None, {}
        cells += 1
        unit = re.sub(r"[\(\)\[\]【】（）\s]|单位[:：]?", "", text)
        if unit and h != code_column:
            units[h] = unit.replace("％", "%")
    return (0, units) if cells else (None, {})


def skipped_rows(table: pd.DataFrame, code_column: str, data_columns: list[str]) -> pd.DataFrame:
    """Rows that are not enterprises: ``[row, reason]`` for totals, notes and rows without any data.

    Only rows whose credit-code cell does not hold 18 characters are candidates, so a real enterprise
    row is never skipped; a row with data but no code stays an error.
    """
    # Totals and notes never carry an 18-character code: only rows without one are looked at.
    code_text = table[code_column].astype("str").str.strip()
    candidates = np.flatnonzero(code_text.str.len().ne(18).to_numpy(dtype=bool, na_value=True))
    out_rows: list[int] = []
    reasons: list[str] = []
    cols = [c for c in table.columns if c != ROW_COLUMN]
    for pos in candidates:
        row = table.iloc[pos]
        texts = [
            _SPACE_RE.sub("", unicodedata.normalize("NFKC", str(row[c])))
            for c in cols
            if row[c] is not None
            and not (isinstance(row[c], float) and math.isnan(row[c]))
            and str(row[c]).strip()
        ]
        has_data = any(
            row[c] is not None
            and not (isinstance(row[c], float) and math.isnan(row[c]))
            and str(row[c]).strip()
            for c in data_columns
        )
        reason = None
        if any(_TOTAL_RE.match(t) for t in texts[:3]):
            reason = "合计行"
        elif texts and _NOTE_RE.match(texts[0]):
            reason = "注释行"
        elif not has_data:
            reason = "空行（没有企业数据）"
        if reason:
            out_rows.append(int(table[ROW_COLUMN].iloc[pos]))
            reasons.append(reason)
    return pd.DataFrame({"row": out_rows, "reason": reasons})


def blank_rows(rows: pd.Series) -> list[int]:
    """Blank spreadsheet rows between data rows (``apply_header`` dropped them)."""
    r = np.sort(rows.to_numpy(dtype=np.int64))
    if len(r) < 2:
        return []
    gaps = np.flatnonzero(np.diff(r) > 1)
    out: list[int] = []
    for g in gaps[:1000]:
        out.extend(range(int(r[g]) + 1, int(r[g + 1])))
    return out[:MAX_REPORTED]


REPORT_COLUMNS = ["row", "column", "value", "problem", "fix"]


def _repeat(value: Any, n: int) -> np.ndarray:
    """An object array of ``n`` references to ``value`` (``np.full`` with a str copies it ``n`` times)."""
    return np.repeat(np.array([value], dtype=object), n)


def _report(rows: pd.Series, column: str, values: pd.Series, problem: Any, fix: Any) -> pd.DataFrame:
    n = len(rows)
    return pd.DataFrame(
        {
            "row": rows.to_numpy(dtype=np.int64),
            "column": _repeat(column, n),
            "value": values.astype(object).where(values.notna(), "").to_numpy(dtype=object),
            "problem": problem if isinstance(problem, (pd.Series, np.ndarray)) else _repeat(problem, n),
            "fix": fix if isinstance(fix, (pd.Series, np.ndarray)) else _repeat(fix, n),
        }
    )


def stage_series(model: ScoringModel, revenue: pd.Series) -> pd.Series:
    """Stage code per value of the stage indicator (``""`` where missing)."""
    v = revenue.to_numpy(dtype=float, na_value=np.nan)
    codes = np.array(model.stage_codes, dtype=object)[stage_index(model, v)]
    codes[np.isnan(v) | (v < model.stages[0].min_revenue)] = ""  # the engine puts these in the first stage
    return pd.Series(codes, index=revenue.index)


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


HISTORY_FACTOR = 10.0  # a value ≥ 10× (or ≤ 1/10 of) the firm's own previous-year value is questioned


def history_mask(values: pd.Series, previous: pd.Series, *, factor: float = HISTORY_FACTOR) -> pd.Series:
    """Cells that moved by ``factor`` or more against the same firm's previous-year value (aligned by
    position), on the log1p scale so that 0 → 3 is not "infinitely" more: 2.27 → 1,200 is flagged,
    8 → 9 or 0 → 5 is not. Non-negative amounts only (the caller decides)."""
    new = values.to_numpy(dtype=float, na_value=np.nan)
    old = previous.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        moved = np.abs(np.log1p(np.abs(new)) - np.log1p(np.abs(old))) >= math.log(factor)
    return pd.Series(moved & ~np.isnan(new) & ~np.isnan(old), index=values.index)


def outlier_mask(
    values: pd.Series,
    groups: pd.Series,
    *,
    k: float = OUTLIER_K,
    log: bool = True,
    min_group: int = OUTLIER_MIN_GROUP,
    reference: pd.DataFrame | None = None,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``(flag, low, high)``: Tukey fences (k·IQR) within each group on a compressed scale.

    ``reference`` (columns ``group``, ``value``): the population the fences come from besides the file's
    own values — the database's values of the same indicator, so a partial file of a few firms is
    judged against every firm of its stage, not against itself.

    Amounts that cannot be negative use log1p (they are skewed over orders of magnitude). Amounts that
    may be negative (profit) use asinh(x ÷ m), m = the group's median |x|: linear around zero, so the
    step from −5 to +5 is small, and logarithmic in the tails, so a heavy tail is not flagged wholesale.
    Groups with fewer than ``min_group`` values, or no spread, flag nothing. Bounds are returned on the
    original scale so the report can say what range is usual.
    """
    raw = values.to_numpy(dtype=float, na_value=np.nan)
    # Groups as integers (−1: no group, never flagged); a handful of stages, each done in numpy —
    # pandas' groupby re-hashed the 100,000 group labels twice per column.
    keys, labels = pd.factorize(np.asarray(groups.to_numpy(), dtype=object))
    n = len(raw)
    lo, hi, scale = np.full(n, np.nan), np.full(n, np.nan), np.ones(n)
    flag = np.zeros(n, dtype=bool)
    ref_by_group: dict[Any, np.ndarray] = {}
    if reference is not None and len(reference):
        ref_values = reference["value"].to_numpy(dtype=float, na_value=np.nan)
        ref_groups = reference["group"].to_numpy(dtype=object)
        ref_by_group = {g: ref_values[ref_groups == g] for g in pd.unique(ref_groups)}
    for key in range(len(labels)):
        member = np.flatnonzero(keys == key)
        r = raw[member]
        known = ~np.isnan(r)
        if not known.any():
            continue
        extra = ref_by_group.get(labels[key], np.empty(0))
        population = np.concatenate([r[known], extra[~np.isnan(extra)]])
        if log:
            x, xp = _signed_log(r), _signed_log(population)
        else:
            median = float(np.median(np.abs(population)))
            scale[member] = median if median > 0 else 1.0
            x, xp = np.arcsinh(r / scale[member]), np.arcsinh(population / scale[member][0])
        q1, q3 = np.quantile(xp, [0.25, 0.75])
        iqr = q3 - q1
        lo[member], hi[member] = q1 - k * iqr, q3 + k * iqr
        if len(population) >= min_group and iqr > 0:
            flag[member] = known & ((x < q1 - k * iqr) | (x > q3 + k * iqr))

    def back(y: np.ndarray) -> pd.Series:
        if not log:
            return pd.Series(np.sinh(y) * scale, index=values.index)
        return pd.Series(np.sign(y) * np.expm1(np.abs(y)), index=values.index)

    return pd.Series(flag, index=values.index), back(lo), back(hi)


def _fmt(v: float) -> str:
    if not np.isfinite(v):
        return "—"
    return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"


def _parse_json_column(raw: pd.Series, col: TemplateColumn) -> tuple[pd.Series, pd.Series]:
    """(normalised JSON text, problem text or None) for items/object columns; each distinct cell parsed once."""
    cells = raw.to_numpy(dtype=object)
    inverse, distinct = pd.factorize(cells, use_na_sentinel=False)
    texts: list[str | None] = []
    problems: list[str | None] = []
    for v in distinct.tolist():
        try:
            obj = json.loads(v)
        except (TypeError, ValueError):
            texts.append(None)
            problems.append("不是有效的 JSON 内容")
            continue
        if col.kind == "items":
            if not isinstance(obj, list) or not all(isinstance(i, dict) for i in obj):
                texts.append(None)
                problems.append("应为 JSON 列表，每项为一个对象")
                continue
            bad = [str(i.get("level")) for i in obj if str(i.get("level")) not in col.levels]
            if bad:
                texts.append(None)
                problems.append(f"级别“{'、'.join(bad)}”不在允许范围内")
                continue
        elif not isinstance(obj, dict):
            texts.append(None)
            problems.append("应为 JSON 对象")
            continue
        texts.append(json.dumps(obj, ensure_ascii=False, sort_keys=True))
        problems.append(None)
    return (
        pd.Series(np.array(texts, dtype=object)[inverse], index=raw.index, dtype=object),
        pd.Series(np.array(problems, dtype=object)[inverse], index=raw.index, dtype=object),
    )


# --------------------------------------------------------------------------- cells
# What people type for "nothing" in a numeric cell; the fix explains the two meanings.
PLACEHOLDERS = frozenset(
    {"—", "——", "-", "--", "－", "–", "/", "／", "\\", "无", "暂无", "空", "N/A", "n/a", "NA", "na", "×"}
)
PLACEHOLDER_FIX = "留空表示未提供，填 0 表示没有"
_CELL_UNIT = re.compile(r"^([+-]?[\d,.]+)\s*(亿元|千元|万元|元|人|名|件|项|个)$")


def _exact(values: np.ndarray, factor: Decimal) -> np.ndarray:
    """``values × factor`` through decimals: 12345678.9 元 is 1234.56789 万元, not 1234.5678899999999."""
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values.tolist()):
        if v == v:
            out[i] = float(Decimal(repr(v)) * factor)
    return out


def parse_amounts(
    raw: pd.Series, col: TemplateColumn, factor: Decimal = Decimal(1)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values in the model's unit, problem or None, fix) for a number/share column.

    A ``%`` is only accepted in percent columns; ``120万元``/``1.2亿元`` in an amount column are converted
    exactly, other text is refused (never stripped and stored); the header's unit converts the rest.
    """
    nums, bad = parse_number_series(raw)
    n = len(raw)
    values = nums.to_numpy(dtype=float).copy()
    invalid = bad.to_numpy(dtype=bool).copy()
    problem = np.full(n, None, dtype=object)
    fix = _repeat(col.hint(), n)
    text = raw.astype("str")
    pct = text.str.contains("[%％]", regex=True).to_numpy(dtype=bool, na_value=False)
    if col.kind != "share" and pct.any():
        problem[pct] = "带百分号：本列不是百分比指标"
        fix[pct] = (
            f"本列单位为{col.unit or '数量'}：请填写数值（如 120），不要填百分数，也不要把单元格设成百分比格式；"
            "比例请填入对应的百分比指标列"
        )
        values[pct] = np.nan
        invalid &= ~pct
    if factor != 1:
        ok = ~invalid & ~pct & ~np.isnan(values)
        if ok.any():
            values[ok] = _exact(values[ok], factor)
    for i in np.flatnonzero(invalid):
        cell = unicodedata.normalize("NFKC", str(raw.iloc[i])).strip()
        cell = _SPACE_RE.sub("", cell)
        if cell in PLACEHOLDERS:
            problem[i] = f"“{cell}”不是数字"
            fix[i] = PLACEHOLDER_FIX
            continue
        m = _CELL_UNIT.match(cell.replace("，", ","))
        if m:
            number, unit = m.group(1), m.group(2)
            num, nbad = parse_number_series(pd.Series([number], dtype="str"))
            if not nbad.iloc[0] and num.iloc[0] == num.iloc[0]:
                if col.unit == MONEY_UNIT and unit in MONEY_FACTORS:
                    values[i] = float(Decimal(number.replace(",", "")) * MONEY_FACTORS[unit])
                    continue
                if unit not in MONEY_FACTORS and UNIT_SYNONYMS.get(unit) == UNIT_SYNONYMS.get(
                    col.unit, col.unit
                ):
                    values[i] = float(Decimal(number.replace(",", "")) * factor)
                    continue
                problem[i] = f"单位“{unit}”与本列单位“{col.unit or '无'}”不符"
                continue
        problem[i] = "不是数字"
    return values, problem, fix


def name_mismatches(
    rows: pd.Series, codes: pd.Series, names: pd.Series, known_names: pd.Series
) -> pd.DataFrame:
    """Rows whose name is another registered enterprise's name than the one the code belongs to."""
    cols = ["row", "credit_code", "file_name", "registered_name", "other_code"]
    if known_names is None or known_names.empty:
        return pd.DataFrame(columns=cols)

    def key(s: pd.Series) -> pd.Series:
        return s.astype("str").str.normalize("NFKC").str.replace(r"\s+", "", regex=True).fillna("")

    registered = known_names.reindex(codes.to_numpy())
    # Most names are spelled exactly as registered: normalise only the others.
    differ = np.flatnonzero(
        names.astype("str").to_numpy(dtype=object, na_value="")
        != registered.astype("str").to_numpy(dtype=object, na_value="")
    )
    rows, codes, names, registered = (
        rows.iloc[differ],
        codes.iloc[differ],
        names.iloc[differ],
        registered.iloc[differ],
    )
    if not len(differ):
        return pd.DataFrame(columns=cols)
    file_key = key(names).to_numpy(dtype=object)
    reg_key = key(pd.Series(registered.to_numpy(), dtype="str")).to_numpy(dtype=object)
    owners = pd.Series(
        known_names.index.to_numpy(), index=key(pd.Series(known_names.to_numpy(), dtype="str"))
    )
    owners = owners[~owners.index.duplicated(keep="first")]
    other = owners.reindex(file_key).to_numpy(dtype=object)
    hit = (
        (file_key != "")
        & (reg_key != "")
        & (file_key != reg_key)
        & pd.notna(other)
        & (other != codes.to_numpy(dtype=object))
    )
    idx = np.flatnonzero(hit)
    return pd.DataFrame(
        {
            "row": rows.to_numpy(dtype=np.int64)[idx],
            "credit_code": codes.to_numpy(dtype=object)[idx],
            "file_name": names.to_numpy(dtype=object)[idx],
            "registered_name": registered.to_numpy(dtype=object)[idx],
            "other_code": other[idx],
        },
        columns=cols,
    )


# --------------------------------------------------------------------------- validation
class ImportFileError(ValueError):
    """The file as a whole cannot be imported (no credit-code column, nothing to import…)."""


SKIPPED_COLUMNS = ["row", "reason"]
VALUE_COLUMNS = ["code", "value_num", "value_text", "department", "credit_code", "flagged"]


@dataclass
class Validation:
    row_count: int
    errors: pd.DataFrame  # row, column, value, problem, fix
    flags: pd.DataFrame  # row, column, value, problem, fix
    values: pd.DataFrame  # credit_code, code, value_num, value_text, flagged, department
    mapping: HeaderMapping
    error_rows: int
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SKIPPED_COLUMNS))
    mismatches: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())
    sheet: str = ""

    @property
    def error_count(self) -> int:
        return len(self.errors)

    @property
    def accepted_rows(self) -> int:
        return self.row_count - self.error_rows


def _present(raw: pd.Series) -> np.ndarray:
    return raw.notna().to_numpy() & raw.astype("str").str.strip().ne("").fillna(False).to_numpy(dtype=bool)


def _check_codes(
    table: pd.DataFrame,
    rows: pd.Series,
    code_column: str,
    known_codes: Any,
    parts: list[pd.DataFrame],
    *,
    unique: bool = True,
) -> tuple[pd.Series, np.ndarray]:
    """Normalised codes and the rows with a bad code (invalid, unknown, duplicate); reports appended."""
    raw_code = table[code_column]
    codes = cc.normalize_series(raw_code)
    explain = cc.validate_series(codes)
    invalid = explain.notna().to_numpy()
    bad = invalid.copy()
    if invalid.any():
        idx = np.flatnonzero(invalid)
        parts.append(
            _report(
                rows.iloc[idx],
                code_column,
                raw_code.iloc[idx],
                explain.iloc[idx].to_numpy(dtype=object),
                "请核对营业执照上的 18 位统一社会信用代码",
            )
        )
    if known_codes is not None:
        known = pd.Index(list(known_codes)) if not isinstance(known_codes, pd.Index) else known_codes
        # get_indexer hashes once; Series.isin on arrow strings walks the 100,000 known codes per call.
        unknown = ~invalid & (known.get_indexer(codes.to_numpy(dtype=object)) < 0)
        if unknown.any():
            idx = np.flatnonzero(unknown)
            parts.append(
                _report(
                    rows.iloc[idx],
                    code_column,
                    raw_code.iloc[idx],
                    "系统中没有该统一社会信用代码对应的企业",
                    "请核对代码；新企业须先在系统中登记",
                )
            )
        bad |= unknown
    if unique:
        dup = codes.duplicated(keep=False).to_numpy() & ~invalid
        if dup.any():
            first = rows.groupby(codes.to_numpy()).transform("min").to_numpy()
            later = dup & (first != rows.to_numpy())
            idx = np.flatnonzero(later)
            if len(idx):
                problem = np.array([f"与第 {r} 行是同一企业（重复行）" for r in first[idx]], dtype=object)
                parts.append(
                    _report(
                        rows.iloc[idx],
                        code_column,
                        raw_code.iloc[idx],
                        problem,
                        "同一企业只能有一行：请合并或删除重复行",
                    )
                )
            bad |= dup
    return codes, bad


def _drop_non_data(
    table: pd.DataFrame, mapping: HeaderMapping, units_row: int | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(table without units/totals/notes/blank rows, the skipped rows with their reason)."""
    skipped = []
    if units_row is not None:
        skipped.append(pd.DataFrame({"row": [int(table[ROW_COLUMN].iloc[units_row])], "reason": ["单位行"]}))
        table = table.drop(index=table.index[units_row])
    data_cols = [*mapping.columns, *(u["header"] for u in mapping.unmapped)]
    rows_out = (
        skipped_rows(table, mapping.code_column, data_cols)
        if mapping.code_column
        else pd.DataFrame(columns=SKIPPED_COLUMNS)
    )
    if len(rows_out):
        table = table[~table[ROW_COLUMN].isin(rows_out["row"])]
        skipped.append(rows_out)
    blanks = blank_rows(table[ROW_COLUMN]) if ROW_COLUMN in table.columns else []
    if blanks:
        known = set(pd.concat(skipped)["row"].tolist()) if skipped else set()
        blanks = [r for r in blanks if r not in known]
        skipped.append(pd.DataFrame({"row": blanks, "reason": ["空行"] * len(blanks)}))
    out = (
        pd.concat(skipped, ignore_index=True).sort_values("row", kind="stable")
        if skipped
        else pd.DataFrame(columns=SKIPPED_COLUMNS)
    )
    return table.reset_index(drop=True), out.reset_index(drop=True)


def validate(
    model: ScoringModel,
    department: str,
    table: pd.DataFrame,
    *,
    known_codes: pd.Index | set[str] | None,
    stages: pd.Series | None = None,
    known_names: pd.Series | None = None,
    known_ids: pd.Series | None = None,
    column_map: dict[str, str] | None = None,
    ignore: list[str] | set[str] | None = None,
    allow_empty: bool = False,
    reference: pd.DataFrame | None = None,
    previous: dict[str, pd.Series] | None = None,
    columns: list[TemplateColumn] | None = None,
) -> Validation:
    """Check a table (``apply_header`` output) for one department.

    ``known_codes``: credit codes of the enterprises in the database (``None`` skips that check);
    ``stages``: stage code per credit code from the database, used for outlier groups when the file has
    no stage-indicator column; ``known_names``: registered name per credit code (name/code mismatch);
    ``known_ids``: enterprise id per credit code — the values then carry ``enterprise_id`` (looked up
    once per row, not once per value); ``column_map``/``ignore``: the officer's mapping of headers the
    model does not know. ``reference`` (columns ``code``, ``group``, ``value``): the database's values of
    the file's indicators by stage, joined to the file's own for the outlier fences (a partial file is
    judged against the whole population); ``previous``: code → each firm's previous-year value by credit
    code (a firm's own jump by ``HISTORY_FACTOR`` is questioned however usual the new value is).
    ``columns``: the importable columns when not the department's (a source profile's).
    """
    cols = columns if columns is not None else department_columns(model, department)
    headers = [str(c) for c in table.columns]
    units_pos, header_units = _units_row(table, None)
    mapping = map_headers(
        headers, cols, table=table, column_map=column_map, ignore=ignore, header_units=header_units
    )
    if mapping.code_column is None:
        raise ImportFileError(f"文件中没有“{CODE_HEADER}”列；请使用{department}导入模板，不要修改表头")
    if mapping.problems:
        raise ImportFileError("；".join(mapping.problems))
    if not mapping.columns and not mapping.unmapped and not allow_empty:
        names = "、".join(c.name for c in cols[:6])
        raise ImportFileError(f"文件中没有可导入的{department}数据列（如 {names}）；请使用导入模板")
    table, skipped = _drop_non_data(table, mapping, units_pos)
    n = len(table)
    if n == 0 and not allow_empty:
        raise ImportFileError("文件只有表头，没有数据行")
    rows = table[ROW_COLUMN] if ROW_COLUMN in table.columns else pd.Series(np.arange(n) + 2)
    rows = rows.reset_index(drop=True)
    parts: list[pd.DataFrame] = []
    codes, bad_row = _check_codes(table, rows, mapping.code_column, known_codes, parts)
    mismatches = (
        name_mismatches(rows[~bad_row], codes[~bad_row], table[mapping.name_column][~bad_row], known_names)
        if mapping.name_column and known_names is not None
        else pd.DataFrame(columns=["row", "credit_code", "file_name", "registered_name", "other_code"])
    )
    row_ids = None
    if known_ids is not None:  # −1 for an unknown code (its row is an error, its values are dropped)
        where = known_ids.index.get_indexer(pd.Index(codes.to_numpy(dtype=object), dtype=object))
        row_ids = np.where(where >= 0, known_ids.to_numpy(dtype=np.int64)[where], -1)

    # ---- values column by column
    # (column, row positions, numbers, texts) of the accepted cells, one entry per column
    long_parts: list[tuple[TemplateColumn, np.ndarray, np.ndarray, np.ndarray]] = []
    numeric: dict[str, tuple[str, pd.Series, bool]] = {}
    for header, col in mapping.columns.items():
        raw = table[header]
        present = _present(raw)
        value_num = np.full(n, np.nan)
        value_text = np.full(n, None, dtype=object)
        problem = np.full(n, None, dtype=object)
        fix: Any = col.hint()
        # An Excel error (#DIV/0!, #N/A … a failed formula) is an error here, never "left empty".
        errors_at, error_problem, error_fix = excel_error_report(raw)
        if errors_at.any():
            idx = np.flatnonzero(errors_at)
            parts.append(_report(rows.iloc[idx], header, raw.iloc[idx], error_problem[idx], error_fix))
            bad_row |= errors_at
            present = present & ~errors_at
        if col.kind in ("number", "share"):
            value_num, problem, fix = parse_amounts(raw, col, mapping.factors.get(header, Decimal(1)))
            if not col.allow_negative:
                problem[(value_num < 0) & pd.isna(problem)] = "不能为负数"
            if col.kind == "share":
                problem[((value_num < 0) | (value_num > 100)) & pd.isna(problem)] = "占比须在 0–100 之间"
            numeric[col.code] = (header, pd.Series(value_num, index=raw.index), not col.allow_negative)
        elif col.kind == "flag":
            key = raw.astype("str").str.strip().str.lower().fillna("")
            yes = key.isin(TRUE_TEXT).to_numpy()
            no = key.isin(FALSE_TEXT).to_numpy()
            value_num = np.where(yes, 1.0, np.where(no, 0.0, np.nan))
            problem[present & ~yes & ~no] = "应填写“是”或“否”"
        elif col.kind == "category":
            # header_key per distinct value, not per cell (a column has a handful of labels).
            distinct = pd.unique(raw.dropna().to_numpy(dtype=object))
            lookup = {v: col.canonical.get(header_key(v)) for v in distinct.tolist()}
            label = raw.map(lookup)
            value_text = label.astype(object).to_numpy(dtype=object)
            problem[present & label.isna().to_numpy()] = "不在允许的类别中"
        else:
            sub = raw[present]
            texts, probs = _parse_json_column(sub, col)
            pos = np.flatnonzero(present)
            value_text[pos] = texts.to_numpy(dtype=object)
            problem[pos] = probs.to_numpy(dtype=object)
        problem[~present] = None
        has_problem = pd.notna(problem)
        if has_problem.any():
            idx = np.flatnonzero(has_problem)
            fixes = fix[idx] if isinstance(fix, np.ndarray) else fix
            parts.append(_report(rows.iloc[idx], header, raw.iloc[idx], problem[idx], fixes))
            bad_row |= has_problem
        keep = present & ~has_problem
        if keep.any():
            idx = np.flatnonzero(keep)
            long_parts.append(
                (col, idx, np.asarray(value_num, dtype=float)[idx], np.asarray(value_text, dtype=object)[idx])
            )

    # ---- outliers (flagged, not rejected) within stage
    flag_parts: list[pd.DataFrame] = []
    flagged_at: dict[str, np.ndarray] = {}  # code → row positions of its flagged cells
    if numeric and n:
        if model.stage_indicator in numeric:
            group = stage_series(model, numeric[model.stage_indicator][1])
        elif stages is not None:
            group = codes.map(stages).fillna("").astype(object)
        else:
            group = pd.Series("", index=codes.index, dtype=object)
        stage_names = {s.code: s.name for s in model.stages}
        for code, (header, nums, log) in numeric.items():
            usable = nums.where(~bad_row)
            ref = reference[reference["code"] == code] if reference is not None and len(reference) else None
            flag, lo, hi = outlier_mask(usable, group, log=log, reference=ref)
            fm = flag.to_numpy()
            before = None
            if previous is not None and log and code in previous:
                before = pd.Series(codes.to_numpy(dtype=object), index=usable.index).map(previous[code])
                moved = history_mask(usable, before).to_numpy()
            else:
                moved = np.zeros(len(fm), dtype=bool)
            if not (fm.any() or moved.any()):
                continue
            idx = np.flatnonzero(fm | moved)
            g_at, lo_at, hi_at = group.to_numpy()[idx], lo.to_numpy()[idx], hi.to_numpy()[idx]
            prev_at = before.to_numpy()[idx] if before is not None else np.full(len(idx), np.nan)
            probs = np.array(
                [
                    "；".join(
                        (
                            [f"明显偏离{stage_names.get(g, '全部企业')}常见范围（约 {_fmt(a)}–{_fmt(b)}）"]
                            if f
                            else []
                        )
                        + ([f"与本企业此前数值 {_fmt(p)} 相差 {HISTORY_FACTOR:g} 倍以上"] if m else [])
                    )
                    for g, a, b, p, f, m in zip(g_at, lo_at, hi_at, prev_at, fm[idx], moved[idx], strict=True)
                ],
                dtype=object,
            )
            flag_parts.append(
                _report(
                    rows.iloc[idx],
                    header,
                    table[header].iloc[idx],
                    probs,
                    "已接受并标记待核实：请与报送部门确认数值与单位",
                )
            )
            flagged_at[code] = idx

    errors = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=REPORT_COLUMNS)
    errors = errors.sort_values(["row"], kind="stable").reset_index(drop=True)
    flags = pd.concat(flag_parts, ignore_index=True) if flag_parts else pd.DataFrame(columns=REPORT_COLUMNS)
    flags = flags.sort_values(["row"], kind="stable").reset_index(drop=True)

    if long_parts:
        # Long form straight from the arrays. Text columns stay object dtype: references to the row's
        # code and the column's code, where a str dtype would copy 2M strings into Arrow.
        pos = np.concatenate([p[1] for p in long_parts])
        keep: Any = ~bad_row[pos]
        if keep.all():
            keep = slice(None)  # the usual case: views, not 2M-row copies of each column
        flagged = np.concatenate(
            [
                np.isin(p[1], flagged_at[p[0].code])
                if p[0].code in flagged_at
                else np.zeros(len(p[1]), dtype=bool)
                for p in long_parts
            ]
        )
        values = pd.DataFrame(
            {
                "code": pd.Series(
                    np.concatenate([_repeat(p[0].code, len(p[1])) for p in long_parts])[keep], dtype=object
                ),
                "value_num": np.concatenate([p[2] for p in long_parts])[keep],
                "value_text": pd.Series(np.concatenate([p[3] for p in long_parts])[keep], dtype=object),
                "department": pd.Series(
                    np.concatenate([_repeat(p[0].department, len(p[1])) for p in long_parts])[keep],
                    dtype=object,
                ),
                "credit_code": pd.Series(codes.to_numpy(dtype=object)[pos[keep]], dtype=object),
                "flagged": flagged[keep],
                **({"enterprise_id": row_ids[pos[keep]]} if row_ids is not None else {}),
            },
            copy=False,
        )  # fresh arrays: one block each, not stacked into 2M-row 2-D copies
    else:
        values = pd.DataFrame(columns=VALUE_COLUMNS)
    return Validation(
        row_count=n,
        errors=errors,
        flags=flags,
        values=values,
        mapping=mapping,
        error_rows=int(bad_row.sum()),
        skipped=skipped,
        mismatches=mismatches,
    )


# --------------------------------------------------------------------------- long-form list sheets
def sheet_column(name: str, cols: list[TemplateColumn]) -> TemplateColumn | None:
    """The list indicator a sheet name stands for (its name, code or an alias)."""
    key = header_key(name)
    for c in list_columns(cols):
        if key in header_keys(c):
            return c
    return None


def _level_value(text: str, levels: tuple[str, ...]) -> str | None:
    t = unicodedata.normalize("NFKC", text).strip()
    if t in levels:
        return t
    if t.endswith("级") and t[:-1] in levels:
        return t[:-1]
    return None


def validate_items(
    col: TemplateColumn,
    table: pd.DataFrame,
    *,
    sheet: str,
    known_codes: Any,
    known_names: pd.Series | None = None,
) -> Validation:
    """One long-form sheet (one item per row) → one list value per enterprise, or per-row problems."""
    field_by_key: dict[str, Any] = {}
    for f in col.item_fields:
        for spelling in (f.label, f.key):
            field_by_key[header_key(spelling)] = f
    if any(f.key == "name" for f in col.item_fields):
        field_by_key.setdefault(header_key("名称"), next(f for f in col.item_fields if f.key == "name"))
    code_keys = {header_key(a) for a in CODE_ALIASES}
    name_keys = {header_key(a) for a in NAME_ALIASES}
    mapping = HeaderMapping(None, None, {}, [])
    field_cols: dict[str, Any] = {}
    for h in table.columns:
        if h == ROW_COLUMN:
            continue
        k = header_key(h)
        if mapping.code_column is None and k in code_keys:
            mapping.code_column = h
        elif mapping.name_column is None and k in name_keys and k not in field_by_key:
            mapping.name_column = h
        elif k in field_by_key and field_by_key[k].key not in {f.key for f in field_cols.values()}:
            field_cols[h] = field_by_key[k]
        elif header_key(h) not in {header_key(x) for x in DESCRIPTIVE_HEADERS} and _present(table[h]).any():
            mapping.unmapped.append({"header": f"{sheet}：{h}", "suggestions": []})
        else:
            mapping.ignored.append(h)
    if mapping.code_column is None:
        raise ImportFileError(f"工作表“{sheet}”中没有“{CODE_HEADER}”列；请使用导入模板")
    missing = [
        f.label
        for f in col.item_fields
        if (f.required or f.key == col.level_key) and f.key not in {x.key for x in field_cols.values()}
    ]
    if missing:
        raise ImportFileError(f"工作表“{sheet}”缺少必填列：{'、'.join(missing)}；请使用导入模板")
    mapping.columns = {h: col for h in field_cols}
    table, skipped = _drop_non_data(table, mapping, None)
    n = len(table)
    rows = table[ROW_COLUMN].reset_index(drop=True)
    parts: list[pd.DataFrame] = []
    codes, bad_row = _check_codes(table, rows, mapping.code_column, known_codes, parts, unique=False)
    items: list[dict] = [{} for _ in range(n)]
    for h, f in field_cols.items():
        raw = table[h]
        present = _present(raw)
        required = f.required or f.key == col.level_key
        allowed = f.values or (list(col.levels) if f.key == col.level_key else [])
        problem = np.full(n, None, dtype=object)
        for i in range(n):
            if not present[i]:
                if required:
                    problem[i] = "必填项为空"
                continue
            text = unicodedata.normalize("NFKC", str(raw.iloc[i])).strip()
            if f.key == col.level_key:
                value: Any = _level_value(text, col.levels)
                if value is None:
                    problem[i] = f"级别“{text}”不在允许范围内（{'、'.join(col.levels)}）"
                    continue
            elif f.kind == "bool":
                low = text.lower()
                if low not in TRUE_TEXT and low not in FALSE_TEXT:
                    problem[i] = "应填写“是”或“否”"
                    continue
                value = low in TRUE_TEXT
            elif f.kind == "year":
                if not re.fullmatch(r"(19|20|21)\d{2}(\.0)?", text):
                    problem[i] = "年份应为四位数字，如 2024"
                    continue
                value = int(float(text))
            elif allowed and text not in allowed:
                problem[i] = f"“{text}”不在允许范围内（{'、'.join(allowed)}）"
                continue
            else:
                value = text
            items[i][f.key] = value
        has = pd.notna(problem)
        if has.any():
            idx = np.flatnonzero(has)
            hint = "、".join(allowed) if allowed else f.label
            parts.append(
                _report(rows.iloc[idx], f"{sheet}：{h}", raw.iloc[idx], problem[idx], f"请填写{hint}")
            )
            bad_row |= has
    mismatches = (
        name_mismatches(rows[~bad_row], codes[~bad_row], table[mapping.name_column][~bad_row], known_names)
        if mapping.name_column and known_names is not None
        else pd.DataFrame(columns=["row", "credit_code", "file_name", "registered_name", "other_code"])
    )
    errors = (
        pd.concat(parts, ignore_index=True).sort_values("row", kind="stable").reset_index(drop=True)
        if parts
        else pd.DataFrame(columns=REPORT_COLUMNS)
    )
    lists: dict[str, list[dict]] = {}
    bad_codes = set(codes.to_numpy(dtype=object)[bad_row].tolist())
    for i in range(n):
        code = codes.iloc[i]
        if code in bad_codes:
            continue  # all or nothing per enterprise: one bad item row rejects its list
        lists.setdefault(code, []).append(items[i])
    values = pd.DataFrame(
        {
            "code": col.code,
            "value_num": np.nan,
            "value_text": [json.dumps(v, ensure_ascii=False, sort_keys=True) for v in lists.values()],
            "department": col.department,
            "credit_code": list(lists),
            "flagged": False,
        },
        columns=VALUE_COLUMNS,
    )
    return Validation(
        row_count=n,
        errors=errors,
        flags=pd.DataFrame(columns=REPORT_COLUMNS),
        values=values,
        mapping=mapping,
        error_rows=int(bad_row.sum()),
        skipped=skipped,
        mismatches=mismatches,
        sheet=sheet,
    )


def merge_lists(current: Any, new: list[dict]) -> list[dict]:
    """``add`` mode: the current items followed by the new ones not already there."""
    from core.listtext import parse_items

    have = parse_items(current) or []
    keys = {json.dumps(i, ensure_ascii=False, sort_keys=True) for i in have}
    out = list(have)
    for item in new:
        k = json.dumps(item, ensure_ascii=False, sort_keys=True)
        if k not in keys:
            out.append(item)
            keys.add(k)
    return out


# --------------------------------------------------------------------------- what will change
DIFF_STATES = ("新增", "变更", "不变")


def diff_values(new: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Per enterprise · code: the current and the new value and 新增 / 变更 / 不变.

    ``new`` and ``current``: enterprise_id, code, value_num, value_text (``current`` may be empty; one
    row per key; its ``id``, when given, comes back as ``current_id``, −1 for new values). Keys are matched as integers (enterprise id × code number): a merge on two object
    columns costs seconds at 3M values.
    """
    n = len(new)
    new_num = new["value_num"].to_numpy(dtype=float)
    new_text = new["value_text"].astype(object).where(new["value_text"].notna(), None).to_numpy(dtype=object)
    old_num = np.full(n, np.nan)
    old_text = np.full(n, None, dtype=object)
    old_id = np.full(n, -1, dtype=np.int64)
    exists = np.zeros(n, dtype=bool)
    if current is not None and len(current):
        # Object indexes throughout: pandas would otherwise infer str and copy 2M codes into Arrow twice.
        new_codes = pd.Index(new["code"].to_numpy(dtype=object), dtype=object)
        cur_codes = pd.Index(current["code"].to_numpy(dtype=object), dtype=object)
        codes = pd.Index(
            pd.unique(np.concatenate([new_codes.unique().to_numpy(), cur_codes.unique().to_numpy()])),
            dtype=object,
        )
        width = np.int64(len(codes) + 1)
        key_new = new["enterprise_id"].to_numpy(dtype=np.int64) * width + codes.get_indexer(new_codes)
        key_cur = current["enterprise_id"].to_numpy(dtype=np.int64) * width + codes.get_indexer(cur_codes)
        pos = pd.Index(key_cur).get_indexer(key_new)
        exists = pos >= 0
        hit = pos[exists]
        old_num[exists] = current["value_num"].to_numpy(dtype=float)[hit]
        cur_text = current["value_text"].astype(object).where(current["value_text"].notna(), None)
        old_text[exists] = cur_text.to_numpy(dtype=object)[hit]
        if "id" in current.columns:
            old_id[exists] = current["id"].to_numpy(dtype=np.int64)[hit]
    state = np.zeros(n, dtype=np.intp)  # index into DIFF_STATES: 新增 unless a current value exists
    if exists.any():  # (a first import of the year compares nothing)
        same_num = (np.isnan(new_num) & np.isnan(old_num)) | (np.round(new_num, 9) == np.round(old_num, 9))
        same_text = new_text == old_text
        state = np.where(~exists, 0, np.where(same_num & same_text, 2, 1))
    # Text columns as object dtype: a str dtype would copy each of the 2M cells into Arrow.
    return pd.DataFrame(
        {
            "enterprise_id": new["enterprise_id"].to_numpy(),
            "code": pd.Series(new["code"].to_numpy(dtype=object), dtype=object),
            "old_num": old_num,
            "old_text": pd.Series(old_text, dtype=object),
            "new_num": new_num,
            "new_text": pd.Series(new_text, dtype=object),
            "status": pd.Series(np.asarray(DIFF_STATES, dtype=object)[state], dtype=object),
            "current_id": old_id,
        },
        copy=False,
    )  # fresh arrays: one block each, not stacked into 2M-row 2-D copies


def diff_counts(diff: pd.DataFrame) -> dict[str, int]:
    counts = diff["status"].value_counts() if len(diff) else pd.Series(dtype=int)
    return {s: int(counts.get(s, 0)) for s in DIFF_STATES}


def report_frame(records: list[dict] | pd.DataFrame) -> pd.DataFrame:
    """The report with Chinese column names, for display and download."""
    df = records if isinstance(records, pd.DataFrame) else pd.DataFrame(records, columns=REPORT_COLUMNS)
    return df.reindex(columns=REPORT_COLUMNS).rename(
        columns={"row": "行号", "column": "列", "value": "内容", "problem": "问题", "fix": "修改建议"}
    )


def summary_message(errors: pd.DataFrame, *, limit: int = 3) -> str:
    """One Chinese sentence summarising the first problems of a rejected file."""
    if errors.empty:
        return ""
    head = errors.head(limit)
    parts = [f"第 {r.row} 行“{r.column}”{r.problem}" for r in head.itertuples()]
    more = f"等共 {len(errors)} 处问题" if len(errors) > limit else ""
    return "；".join(parts) + more
