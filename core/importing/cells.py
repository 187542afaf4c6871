"""Cells: what one cell of a template column holds, or what is wrong with it.

Amounts follow ``core.spreadsheet.parse_number_series``; on top of it a ``%`` is refused outside
percent columns, ``120万元``/``1.2亿元`` in a money column convert exactly (decimals, not floats), and
what people type for "nothing" (``—``, ``无``, ``N/A``) gets a fix saying empty and 0 differ. Yes/no
cells read ``core.yesno``; categories their labels and aliases; list and object cells JSON.
``check_cells`` applies the column's kind to a whole column at once.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from core.importing.mapping import MONEY_FACTORS, MONEY_UNIT, UNIT_SYNONYMS
from core.importing.outliers import repeat_value
from core.importing.template import TemplateColumn
from core.spreadsheet import compact_text, header_key, parse_number_series
from core.yesno import FALSE_TEXT, TRUE_TEXT


def present_cells(raw: pd.Series) -> np.ndarray:
    """Cells that hold something (not missing, not blank)."""
    return raw.notna().to_numpy() & raw.astype("str").str.strip().ne("").fillna(False).to_numpy(dtype=bool)


def parse_json_column(raw: pd.Series, col: TemplateColumn) -> tuple[pd.Series, pd.Series]:
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
    nums, bad = parse_number_series(raw, currency=col.unit in MONEY_FACTORS)
    n = len(raw)
    values = nums.to_numpy(dtype=float).copy()
    invalid = bad.to_numpy(dtype=bool).copy()
    problem = np.full(n, None, dtype=object)
    fix = repeat_value(col.hint(), n)
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
        cell = compact_text(raw.iloc[i])
        if cell in PLACEHOLDERS:
            problem[i] = f"“{cell}”不是数字"
            fix[i] = PLACEHOLDER_FIX
            continue
        m = _CELL_UNIT.match(cell)
        if m:
            number, unit = m.group(1), m.group(2)
            num, nbad = parse_number_series(pd.Series([number], dtype="str"))
            if not nbad.iloc[0] and num.iloc[0] == num.iloc[0]:
                if col.unit == MONEY_UNIT and unit in MONEY_FACTORS:
                    values[i] = _exact(num.to_numpy(), MONEY_FACTORS[unit])[0]
                    continue
                if unit not in MONEY_FACTORS and UNIT_SYNONYMS.get(unit) == UNIT_SYNONYMS.get(
                    col.unit, col.unit
                ):
                    values[i] = _exact(num.to_numpy(), factor)[0]
                    continue
                problem[i] = f"单位“{unit}”与本列单位“{col.unit or '无'}”不符"
                continue
        problem[i] = "不是数字"
    return values, problem, fix


FRACTION_MIN_CELLS = 3  # a percent column read as fractions only when this many plain numbers agree
FRACTION_PROBLEM = "本列的数都在 0–1 之间，像是小数形式的比例（0.45 即 45%），而本列填写的是百分数"
FRACTION_FIX = (
    "请填写百分数的数值（0.45 应填 45），或在 Excel 中把本列设为百分比格式后保存再上传；"
    "如确实不足 1%，请写明百分号（如 0.45%）"
)


def _refuse_fractions(
    raw: pd.Series, value_num: np.ndarray, problem: np.ndarray, fix: np.ndarray, present: np.ndarray
) -> None:
    """A percent column whose plain numbers all lie in 0–1 (at least one strictly between) holds ratios
    as fractions — 0.45 for 45% — as a system export or a General-format cell gives them: stored as
    0.45%, every figure would be a hundred times too small. Refused cell by cell; a cell written with
    ``%`` (or in a percent format) says what it means and is left alone."""
    plain = present & pd.isna(problem) & ~np.isnan(value_num)
    if plain.sum() < FRACTION_MIN_CELLS:
        return
    plain &= ~raw.astype("str").str.contains("[%％]", regex=True).to_numpy(dtype=bool, na_value=False)
    values = value_num[plain]
    if len(values) < FRACTION_MIN_CELLS or values.max() > 1 or not ((values > 0) & (values < 1)).any():
        return
    problem[plain] = FRACTION_PROBLEM
    fix[plain] = FRACTION_FIX


def check_cells(
    col: TemplateColumn, raw: pd.Series, present: np.ndarray, factor: Decimal = Decimal(1)
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """``(numbers, texts, problem or None, fix)`` per cell of one column, by the column's kind.

    Numbers and shares through ``parse_amounts`` (in the model's unit, signs and 0–100 checked); yes/no
    through ``core.yesno``; categories by their labels and aliases; JSON objects and items parsed.
    Cells not ``present`` have no problem (left empty: nothing supplied).
    """
    n = len(raw)
    value_num = np.full(n, np.nan)
    value_text = np.full(n, None, dtype=object)
    problem = np.full(n, None, dtype=object)
    fix: Any = col.hint()
    if col.kind in ("number", "share"):
        value_num, problem, fix = parse_amounts(raw, col, factor)
        if not col.allow_negative:
            problem[(value_num < 0) & pd.isna(problem)] = "不能为负数"
        if col.kind == "share":
            problem[((value_num < 0) | (value_num > 100)) & pd.isna(problem)] = "占比须在 0–100 之间"
            _refuse_fractions(raw, value_num, problem, fix, present)
    elif col.kind == "flag":
        # compact_text per distinct value: full-width (Ｙ, １) and invisible characters read like the rest.
        codes, distinct = pd.factorize(raw)  # a missing cell is -1: the extra last entry, neither
        keys = [compact_text(v).lower() for v in distinct.tolist()]
        yes = np.array([k in TRUE_TEXT for k in keys] + [False])[codes]
        no = np.array([k in FALSE_TEXT for k in keys] + [False])[codes]
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
        texts, probs = parse_json_column(sub, col)
        pos = np.flatnonzero(present)
        value_text[pos] = texts.to_numpy(dtype=object)
        problem[pos] = probs.to_numpy(dtype=object)
    problem[~present] = None
    return value_num, value_text, problem, fix
