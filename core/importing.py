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
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core import credit_code as cc
from core.engine import stage_index
from core.scoring_model import FlagRule, ItemsRule, ScoringModel, TierRule
from core.spreadsheet import ROW_COLUMN, header_key, parse_number_series

DEPARTMENTS: tuple[str, ...] = ("税务", "经信", "科技", "金融", "市监", "人社")
# A consolidated file (the 科技局 collects every department's columns in one sheet).
ALL_DEPARTMENTS = "综合"
CODE_HEADER = "统一社会信用代码"
NAME_HEADER = "企业名称"
CODE_ALIASES = (CODE_HEADER, "信用代码", "社会信用代码", "credit_code", "统一代码")
NAME_ALIASES = (NAME_HEADER, "企业名称（全称）", "名称", "单位名称", "name")
MAX_REPORTED = 10_000  # stored report rows; the counts stay exact
YES = ("是", "1", "true", "y", "yes", "有", "√")
NO = ("否", "0", "false", "n", "no", "无", "")
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
            levels = "|".join(self.levels)
            return f'JSON 列表，如 [{{"level": "{self.levels[0] if self.levels else ""}"}}]，level 取 {levels}'
        # Structured flags: the model's definition explains the keys.
        return "JSON 对象，键见指标定义"


def _sources(source: str) -> list[str]:
    return [s.strip() for s in re.split(r"[/+、，,]", source or "") if s.strip()]


def _supplier(source: str, department: str) -> str | None:
    parts = _sources(source)
    if department == ALL_DEPARTMENTS:
        return next((p for p in parts if p in DEPARTMENTS), None)
    return department if department in parts else None


def department_columns(model: ScoringModel, department: str) -> list[TemplateColumn]:
    """Columns the department supplies (indicators first, then base fields), in model order."""
    if department not in DEPARTMENTS and department != ALL_DEPARTMENTS:
        raise ValueError(f"未知的部门“{department}”，可选：{'、'.join(DEPARTMENTS)}")
    derived = {d.target for d in model.derivations}
    cols: list[TemplateColumn] = []
    for ind in model.indicators:
        dept = _supplier(ind.source, department)
        if dept is None or ind.code in derived:
            continue
        rule = ind.rule
        kw: dict[str, Any] = {"code": ind.code, "name": ind.name, "unit": ind.unit, "department": dept,
                              "definition": ind.definition}
        if isinstance(rule, TierRule):
            canonical = {}
            for cat in rule.categories:
                for alias in (cat.label, *cat.aliases):
                    canonical[header_key(alias)] = cat.label
            cols.append(TemplateColumn(kind="category", allowed=tuple(canonical), canonical=canonical, **kw))
        elif isinstance(rule, ItemsRule):
            cols.append(TemplateColumn(kind="items", levels=tuple(rule.weights), **kw))
        elif isinstance(rule, FlagRule):
            cols.append(TemplateColumn(kind="object" if rule.components else "flag", **kw))
        else:
            kind = "share" if ind.unit == "%" else "number"
            negative = any(m in ind.definition for m in NEGATIVE_MARKERS)
            cols.append(TemplateColumn(kind=kind, allow_negative=negative, **kw))
    for base in model.base_fields:
        dept = _supplier(base.source, department)
        if dept is None:
            continue
        negative = any(m in base.definition for m in NEGATIVE_MARKERS)
        cols.append(TemplateColumn(code=base.code, name=base.name, unit=base.unit, department=dept,
                                   kind="share" if base.unit == "%" else "number", allow_negative=negative,
                                   definition=base.definition))
    return cols


def template_headers(model: ScoringModel, department: str) -> list[str]:
    return [CODE_HEADER, NAME_HEADER, *(c.header for c in department_columns(model, department))]


def instructions(model: ScoringModel, department: str, year: int | None = None) -> list[str]:
    """Lines of the template's instructions sheet."""
    cols = department_columns(model, department)
    lines = [
        f"{department}数据导入模板 — 填写说明" + (f"（{year} 年度）" if year else ""),
        "",
        "1. 在“数据”工作表中每行填写一家企业；第一行为表头，请勿修改列名（列名也可写指标代码）。",
        "2. “统一社会信用代码”必填，须为 18 位且校验位正确，且企业已在系统中登记；同一企业只能出现一行。",
        "3. 空白单元格表示本次不提供该项数据，系统保留原有数值。",
        "4. 数字可带千分位逗号或全角数字；百分比填写数值（4.5 表示 4.5%）。",
        "5. 先“试导入”查看逐行问题报告，全部改正后再“确认导入”；导入为整批生效，任何一行出错则整批不导入。",
        "6. 明显偏离同阶段企业常见范围的数值会被标记待核实，但不会被拒绝。",
        "",
        "列说明：",
    ]
    for c in cols:
        unit = f"（{c.unit}）" if c.unit else ""
        lines.append(f"· {c.name}{unit} [{c.code}]：{c.hint()}。{c.definition}")
    return lines


# --------------------------------------------------------------------------- header mapping
def header_keys(col: TemplateColumn) -> set[str]:
    """Accepted spellings: code, name, name with unit in either kind of brackets."""
    keys = {header_key(col.code), header_key(col.name)}
    if col.unit:
        keys |= {header_key(f"{col.name}（{col.unit}）"), header_key(f"{col.name}({col.unit})"),
                 header_key(f"{col.name}[{col.unit}]"), header_key(f"{col.name}/{col.unit}")}
    return keys


@dataclass
class HeaderMapping:
    code_column: str | None
    name_column: str | None
    columns: dict[str, TemplateColumn]  # file header → column
    ignored: list[str]


def map_headers(headers: list[str], cols: list[TemplateColumn]) -> HeaderMapping:
    lookup: dict[str, TemplateColumn] = {}
    for c in cols:
        for k in header_keys(c):
            lookup.setdefault(k, c)
    code_keys = {header_key(a) for a in CODE_ALIASES}
    name_keys = {header_key(a) for a in NAME_ALIASES}
    code_col = name_col = None
    mapped: dict[str, TemplateColumn] = {}
    used: set[str] = set()
    ignored: list[str] = []
    for h in headers:
        if h == ROW_COLUMN:
            continue
        k = header_key(h)
        if code_col is None and k in code_keys:
            code_col = h
        elif name_col is None and k in name_keys:
            name_col = h
        elif k in lookup and lookup[k].code not in used:
            mapped[h] = lookup[k]
            used.add(lookup[k].code)
        else:
            ignored.append(h)
    return HeaderMapping(code_col, name_col, mapped, ignored)


def expected_headers(cols: list[TemplateColumn]) -> list[str]:
    return [CODE_HEADER, NAME_HEADER, *(c.name for c in cols), *(c.code for c in cols)]


# --------------------------------------------------------------------------- validation
class ImportFileError(ValueError):
    """The file as a whole cannot be imported (no credit-code column, nothing to import…)."""


@dataclass
class Validation:
    row_count: int
    errors: pd.DataFrame  # row, column, value, problem, fix
    flags: pd.DataFrame  # row, column, value, problem, fix
    values: pd.DataFrame  # credit_code, code, value_num, value_text, flagged, department
    mapping: HeaderMapping
    error_rows: int

    @property
    def error_count(self) -> int:
        return len(self.errors)

    @property
    def accepted_rows(self) -> int:
        return self.row_count - self.error_rows


REPORT_COLUMNS = ["row", "column", "value", "problem", "fix"]


def _report(rows: pd.Series, column: str, values: pd.Series, problem: Any, fix: Any) -> pd.DataFrame:
    n = len(rows)
    return pd.DataFrame({
        "row": rows.to_numpy(dtype=np.int64),
        "column": np.full(n, column, dtype=object),
        "value": values.astype(object).where(values.notna(), "").to_numpy(dtype=object),
        "problem": problem if isinstance(problem, (pd.Series, np.ndarray)) else np.full(n, problem, dtype=object),
        "fix": fix if isinstance(fix, (pd.Series, np.ndarray)) else np.full(n, fix, dtype=object),
    })


def stage_series(model: ScoringModel, revenue: pd.Series) -> pd.Series:
    """Stage code per value of the stage indicator (``""`` where missing)."""
    v = revenue.to_numpy(dtype=float, na_value=np.nan)
    codes = np.array(model.stage_codes, dtype=object)[stage_index(model, v)]
    codes[np.isnan(v) | (v < model.stages[0].min_revenue)] = ""  # the engine puts these in the first stage
    return pd.Series(codes, index=revenue.index)


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def outlier_mask(values: pd.Series, groups: pd.Series, *, k: float = OUTLIER_K, log: bool = True,
                 min_group: int = OUTLIER_MIN_GROUP) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``(flag, low, high)``: Tukey fences (k·IQR) within each group on a compressed scale.

    Amounts that cannot be negative use log1p (they are skewed over orders of magnitude). Amounts that
    may be negative (profit) use asinh(x ÷ m), m = the group's median |x|: linear around zero, so the
    step from −5 to +5 is small, and logarithmic in the tails, so a heavy tail is not flagged wholesale.
    Groups with fewer than ``min_group`` values, or no spread, flag nothing. Bounds are returned on the
    original scale so the report can say what range is usual.
    """
    raw = pd.Series(values.to_numpy(dtype=float, na_value=np.nan), index=values.index)
    keys = groups.to_numpy()
    if log:
        x = pd.Series(_signed_log(raw.to_numpy()), index=raw.index)
        scale = pd.Series(1.0, index=raw.index)
    else:
        scale = raw.abs().groupby(keys, sort=False).transform("median").fillna(1.0)
        scale = scale.where(scale > 0, 1.0)
        x = np.arcsinh(raw / scale)
    g = x.groupby(keys, sort=False)
    q1 = g.transform(lambda s: s.quantile(0.25))
    q3 = g.transform(lambda s: s.quantile(0.75))
    n = g.transform("count")
    iqr = q3 - q1
    lo = q1 - k * iqr
    hi = q3 + k * iqr
    ok = (n >= min_group) & (iqr > 0) & x.notna()
    flag = ok & ((x < lo) | (x > hi))

    def back(y: pd.Series) -> pd.Series:
        a = y.to_numpy(dtype=float)
        if not log:
            return pd.Series(np.sinh(a) * scale.to_numpy(), index=y.index)
        return pd.Series(np.sign(a) * np.expm1(np.abs(a)), index=y.index)

    return flag.fillna(False).astype(bool), back(lo), back(hi)


def _fmt(v: float) -> str:
    if not np.isfinite(v):
        return "—"
    return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"


def _parse_json_column(raw: pd.Series, col: TemplateColumn) -> tuple[pd.Series, pd.Series]:
    """(normalised JSON text, problem text or None) for items/object columns."""
    texts: list[str | None] = []
    problems: list[str | None] = []
    for v in raw.tolist():
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
    return (pd.Series(texts, index=raw.index, dtype=object), pd.Series(problems, index=raw.index, dtype=object))


def validate(
    model: ScoringModel,
    department: str,
    table: pd.DataFrame,
    *,
    known_codes: pd.Index | set[str] | None,
    stages: pd.Series | None = None,
) -> Validation:
    """Check a table (``apply_header`` output) for one department.

    ``known_codes``: credit codes of the enterprises in the database (``None`` skips that check);
    ``stages``: stage code per credit code from the database, used for outlier groups when the file has
    no stage-indicator column.
    """
    cols = department_columns(model, department)
    mapping = map_headers([str(c) for c in table.columns], cols)
    if mapping.code_column is None:
        raise ImportFileError(f"文件中没有“{CODE_HEADER}”列；请使用{department}导入模板，不要修改表头")
    if not mapping.columns:
        names = "、".join(c.name for c in cols[:6])
        raise ImportFileError(f"文件中没有可导入的{department}数据列（如 {names}）；请使用导入模板")
    n = len(table)
    if n == 0:
        raise ImportFileError("文件只有表头，没有数据行")
    rows = table[ROW_COLUMN] if ROW_COLUMN in table.columns else pd.Series(np.arange(n) + 2)
    rows = rows.reset_index(drop=True)
    table = table.reset_index(drop=True)
    parts: list[pd.DataFrame] = []
    bad_row = np.zeros(n, dtype=bool)

    # ---- credit codes: normalise, check digit, known, duplicates
    raw_code = table[mapping.code_column]
    codes = cc.normalize_series(raw_code)
    explain = cc.validate_series(codes)
    invalid = explain.notna().to_numpy()
    if invalid.any():
        idx = np.flatnonzero(invalid)
        parts.append(_report(rows.iloc[idx], mapping.code_column, raw_code.iloc[idx],
                             explain.iloc[idx].to_numpy(dtype=object),
                             "请核对营业执照上的 18 位统一社会信用代码"))
    bad_row |= invalid
    if known_codes is not None:
        known = pd.Index(list(known_codes)) if not isinstance(known_codes, pd.Index) else known_codes
        unknown = ~invalid & ~codes.isin(known).to_numpy()
        if unknown.any():
            idx = np.flatnonzero(unknown)
            parts.append(_report(rows.iloc[idx], mapping.code_column, raw_code.iloc[idx],
                                 "系统中没有该统一社会信用代码对应的企业",
                                 "请核对代码；新企业须先在系统中登记"))
        bad_row |= unknown
    dup = codes.duplicated(keep=False).to_numpy() & ~invalid
    if dup.any():
        first = rows.groupby(codes.to_numpy()).transform("min").to_numpy()
        later = dup & (first != rows.to_numpy())
        idx = np.flatnonzero(later)
        if len(idx):
            problem = np.array([f"与第 {r} 行是同一企业（重复行）" for r in first[idx]], dtype=object)
            parts.append(_report(rows.iloc[idx], mapping.code_column, raw_code.iloc[idx], problem,
                                 "同一企业只能有一行：请合并或删除重复行"))
        bad_row |= dup

    # ---- values column by column
    long_parts: list[pd.DataFrame] = []
    numeric: dict[str, tuple[str, pd.Series, bool]] = {}
    for header, col in mapping.columns.items():
        raw = table[header]
        present = raw.notna().to_numpy() & raw.astype("str").str.strip().ne("").fillna(False).to_numpy()
        value_num = pd.Series(np.nan, index=raw.index)
        value_text = pd.Series(None, index=raw.index, dtype=object)
        problem = pd.Series(None, index=raw.index, dtype=object)
        fix = col.hint()
        if col.kind in ("number", "share"):
            nums, bad = parse_number_series(raw)
            value_num = nums
            problem[bad.to_numpy()] = "不是数字"
            if not col.allow_negative:
                neg = (nums < 0).to_numpy()
                problem[neg] = "不能为负数"
            if col.kind == "share":
                out = ((nums < 0) | (nums > 100)).to_numpy()
                problem[out] = "占比须在 0–100 之间"
            numeric[col.code] = (header, nums, not col.allow_negative)
        elif col.kind == "flag":
            key = raw.astype("str").str.strip().str.lower().fillna("")
            yes = key.isin(YES).to_numpy()
            no = key.isin(NO).to_numpy()
            value_num = pd.Series(np.where(yes, 1.0, np.where(no, 0.0, np.nan)), index=raw.index)
            problem[present & ~yes & ~no] = "应填写“是”或“否”"
        elif col.kind == "category":
            key = raw.map(lambda v: header_key(v) if isinstance(v, str) else "", na_action=None)
            label = key.map(col.canonical)
            value_text = label.astype(object)
            problem[present & label.isna().to_numpy()] = "不在允许的类别中"
        else:
            sub = raw[present]
            texts, probs = _parse_json_column(sub, col)
            value_text.loc[sub.index] = texts
            problem.loc[sub.index] = probs
        problem[~present] = None
        has_problem = problem.notna().to_numpy()
        if has_problem.any():
            idx = np.flatnonzero(has_problem)
            parts.append(_report(rows.iloc[idx], header, raw.iloc[idx], problem.iloc[idx].to_numpy(dtype=object), fix))
            bad_row |= has_problem
        keep = present & ~has_problem
        if keep.any():
            idx = np.flatnonzero(keep)
            long_parts.append(pd.DataFrame({
                "pos": idx,
                "code": col.code,
                "value_num": value_num.to_numpy(dtype=float)[idx],
                "value_text": value_text.to_numpy(dtype=object)[idx],
                "department": col.department,
            }))

    # ---- outliers (flagged, not rejected) within stage
    flag_parts: list[pd.DataFrame] = []
    flagged_cells: set[tuple[int, str]] = set()
    if numeric:
        if model.stage_indicator in numeric:
            group = stage_series(model, numeric[model.stage_indicator][1])
        elif stages is not None:
            group = codes.map(stages).fillna("").astype(object)
        else:
            group = pd.Series("", index=codes.index, dtype=object)
        stage_names = {s.code: s.name for s in model.stages}
        for code, (header, nums, log) in numeric.items():
            usable = nums.where(~bad_row)
            flag, lo, hi = outlier_mask(usable, group, log=log)
            fm = flag.to_numpy()
            if not fm.any():
                continue
            idx = np.flatnonzero(fm)
            probs = np.array([
                f"明显偏离{stage_names.get(g, '全部企业')}常见范围（约 {_fmt(a)}–{_fmt(b)}）"
                for g, a, b in zip(group.to_numpy()[idx], lo.to_numpy()[idx], hi.to_numpy()[idx], strict=True)
            ], dtype=object)
            flag_parts.append(_report(rows.iloc[idx], header, table[header].iloc[idx], probs,
                                      "已接受并标记待核实：请与报送部门确认数值与单位"))
            flagged_cells.update((int(i), code) for i in idx)

    errors = (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=REPORT_COLUMNS))
    errors = errors.sort_values(["row"], kind="stable").reset_index(drop=True)
    flags = (pd.concat(flag_parts, ignore_index=True) if flag_parts else pd.DataFrame(columns=REPORT_COLUMNS))
    flags = flags.sort_values(["row"], kind="stable").reset_index(drop=True)

    if long_parts:
        values = pd.concat(long_parts, ignore_index=True)
        values = values[~bad_row[values["pos"].to_numpy()]]
        values["credit_code"] = codes.to_numpy(dtype=object)[values["pos"].to_numpy()]
        if flagged_cells:
            fl = pd.MultiIndex.from_tuples(sorted(flagged_cells), names=["pos", "code"])
            values["flagged"] = pd.MultiIndex.from_arrays([values["pos"], values["code"]]).isin(fl)
        else:
            values["flagged"] = False
        values = values.drop(columns="pos").reset_index(drop=True)
    else:
        values = pd.DataFrame(columns=["code", "value_num", "value_text", "department", "credit_code", "flagged"])
    return Validation(row_count=n, errors=errors, flags=flags, values=values, mapping=mapping,
                      error_rows=int(bad_row.sum()))


def report_frame(records: list[dict] | pd.DataFrame) -> pd.DataFrame:
    """The report with Chinese column names, for display and download."""
    df = records if isinstance(records, pd.DataFrame) else pd.DataFrame(records, columns=REPORT_COLUMNS)
    return df.reindex(columns=REPORT_COLUMNS).rename(columns={
        "row": "行号", "column": "列", "value": "内容", "problem": "问题", "fix": "修改建议"})


def summary_message(errors: pd.DataFrame, *, limit: int = 3) -> str:
    """One Chinese sentence summarising the first problems of a rejected file."""
    if errors.empty:
        return ""
    head = errors.head(limit)
    parts = [f"第 {r.row} 行“{r.column}”{r.problem}" for r in head.itertuples()]
    more = f"等共 {len(errors)} 处问题" if len(errors) > limit else ""
    return "；".join(parts) + more
