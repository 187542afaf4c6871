"""Cells: a typed cell rendered as the text Excel shows, and what a cell's text means as an error.

calamine yields typed cells; the raw frame holds strings (pandas ``str``, empty → missing). Integral
numbers lose ``.0``, others keep at most 15 significant digits (Excel's precision: 0.1+0.2 reads
``0.3``), dates read ``2024-01-02``, date-times ``2024-01-02 03:04:05``, booleans ``TRUE``/``FALSE`` —
vectorised per column, float columns in bulk. ``apply_cell_scan`` puts back what calamine drops: a
percent-formatted number as Excel shows it (``0.381`` → ``"38.1%"``, decimal-exact), an error cell as its
literal and a formula nobody calculated (no cached result) as its text (``=A2*2``), which
``excel_error_report`` then explains (Excel's and LibreOffice's codes; a formula is never a value).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.spreadsheet import ooxml

_INT_EXACT = 2**53
# The cell types compared against a column's types (0-d object arrays: what np.equal takes).
_STR_TYPE = np.array(str, dtype=object)
_FLOAT_TYPE = np.array(float, dtype=object)


def cell_text(v: Any) -> str | None:
    """Render one typed cell as Excel shows it; ``None`` for empty (see the module docstring)."""
    t = type(v)
    if t is str:
        return v or None
    if t is float:
        if v != v or v in (math.inf, -math.inf):
            return None
        if v.is_integer() and abs(v) < _INT_EXACT:
            return str(int(v))
        return format(v, ".15g")
    if t is bool:
        return "TRUE" if v else "FALSE"
    if t is int:
        return str(v)
    if t is dt.datetime:
        if v.hour == v.minute == v.second == v.microsecond == 0:
            return v.date().isoformat()
        return v.replace(microsecond=0).isoformat(sep=" ")
    if t is dt.date or t is dt.time:
        return v.isoformat()
    if v is None:
        return None
    return str(v)


def floats_to_text(a: np.ndarray) -> np.ndarray:
    """Vectorised ``cell_text`` for float cells (the bulk of a numeric sheet).

    A value equal to ``r / 10**d`` for the smallest ``d ≤ 6`` is written as the decimal ``r·10⁻ᵈ``: that
    decimal parses back to exactly this float, so it is what ``repr``/``%.15g`` would print. Values
    outside ``1e-4 ≤ |v| < 1e15`` or needing more decimals go through ``cell_text`` one by one.
    """
    out = np.empty(len(a), dtype=object)
    absolute = np.abs(a)
    todo = np.isfinite(a) & ((absolute >= 1e-4) | (a == 0)) & (absolute < 1e15)
    slow = ~todo
    for d in range(7):
        idx = np.flatnonzero(todo)
        if not len(idx):
            break
        scale = 10.0**d
        scaled = np.rint(a[idx] * scale)
        hit = (np.abs(scaled) < 1e15) & (scaled / scale == a[idx])
        if not hit.any():
            continue
        rows = idx[hit]
        todo[rows] = False
        r = scaled[hit].astype(np.int64)
        magnitude = np.abs(r)
        text = pc.cast(pa.array(magnitude // 10**d), pa.string())
        if d:
            frac = pc.utf8_lpad(pc.cast(pa.array(magnitude % 10**d), pa.string()), width=d, padding="0")
            text = pc.binary_join_element_wise(text, frac, ".")
        sign = pa.array(np.where(r < 0, "-", ""))
        out[rows] = pc.binary_join_element_wise(sign, text, "").to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(todo | slow):
        out[i] = cell_text(float(a[i]))
    return out


def _column_text(values: np.ndarray) -> pd.Series:
    """One column of typed cells (an object array, converted in place) → ``str`` Series (empty → missing)."""
    n = len(values)
    # Exact types (a bool is not a number here), listed by map(type) in C: half a list comprehension.
    types = np.fromiter(map(type, values), dtype=object, count=n)
    is_str = np.equal(types, _STR_TYPE)
    if not is_str.all():
        others = values[~is_str]
        if set(types[~is_str].tolist()) == {float}:  # the usual numeric column
            values[~is_str] = floats_to_text(others.astype(np.float64))
        else:
            is_float = np.equal(types, _FLOAT_TYPE)
            if is_float.any():
                values[is_float] = floats_to_text(values[is_float].astype(np.float64))
            for i in np.flatnonzero(~is_str & ~is_float):
                values[i] = cell_text(values[i])
    s = pd.Series(values, dtype="str")
    return s.mask(s == "")


def grid_to_frame(rows: list[list[Any]]) -> pd.DataFrame:
    """Rows of typed cells → raw string frame, column by column (vectorised per cell type)."""
    width = max((len(r) for r in rows), default=0)
    if width == 0:
        return pd.DataFrame()
    if any(len(r) != width for r in rows):
        rows = [r if len(r) == width else [*r, *([""] * (width - len(r)))] for r in rows]
    # One 2-D object array (filled in C) instead of transposing with zip(*rows): a third of the time.
    grid = np.empty((len(rows), width), dtype=object)
    grid[:] = rows
    return pd.DataFrame({j: _column_text(grid[:, j].copy()) for j in range(width)})


def _percent_text(text: str) -> str | None:
    """``"0.381"`` → ``"38.1%"`` exactly (decimal arithmetic on the text Excel shows: no float noise)."""
    try:
        d = Decimal(text) * 100
    except (InvalidOperation, ValueError, TypeError):
        return None
    if not d.is_finite():
        return None
    out = format(d, "f")
    if "." in out:
        out = out.rstrip("0").rstrip(".")
    return ("0" if out in ("-0", "") else out) + "%"


def grow_to_scan(frame: pd.DataFrame, scan: ooxml.CellScan) -> pd.DataFrame:
    """``frame`` extended to the error and formula cells the scan found beyond it: calamine leaves out a
    formula without a result, so a last row or column of them would otherwise vanish."""
    cells = [(r, c) for r, c, _ in scan.errors] + [(r, c) for r, c, _ in scan.uncalculated]
    if not cells:
        return frame
    rows = max(frame.shape[0], 1 + max(r for r, _ in cells))
    cols = max(frame.shape[1], 1 + max(c for _, c in cells))
    if (rows, cols) == frame.shape:
        return frame
    grown = frame.reindex(index=range(rows), columns=range(cols))
    return grown.astype("str")


def apply_cell_scan(frame: pd.DataFrame, scan: ooxml.CellScan) -> tuple[int, int]:
    """Write percent cells as ``"38.1%"``, error cells as their literal and formulas without a result as
    their text (``grow_to_scan`` first); per column, in one pass."""
    changes: dict[int, dict[int, str]] = {}
    nrows, ncols = frame.shape
    for r, c in scan.percent:
        if r < nrows and c < ncols:
            changes.setdefault(c, {})[r] = ""
    for r, c, _ in scan.errors:
        if r < nrows and c < ncols and c in changes:
            changes[c].pop(r, None)  # an error cell is never also a percent cell
    percent = errors = 0
    error_at = {(r, c): lit for r, c, lit in scan.errors if r < nrows and c < ncols}
    # A formula without a result reads as its text (never empty: "keep the existing value").
    for r, c, formula in scan.uncalculated:
        if r < nrows and c < ncols and (r, c) not in error_at:
            error_at[(r, c)] = formula
    for r, c in error_at:
        changes.setdefault(c, {})[r] = ""
    for c, cells in changes.items():
        values = frame.iloc[:, c].to_numpy(dtype=object, na_value=None).copy()
        for r in cells:
            if (r, c) in error_at:
                values[r] = error_at[(r, c)]
                errors += 1
            elif values[r] is not None:
                text = _percent_text(values[r])
                if text is not None:
                    values[r] = text
                    percent += 1
        frame.isetitem(c, pd.Series(values, dtype="str"))
    return percent, errors


_ERROR_MEANING = {
    "#DIV/0!": "除数为 0",
    "#N/A": "查找不到值（如 VLOOKUP 未匹配）",
    "#VALUE!": "参与计算的值类型不对",
    "#REF!": "引用的单元格已被删除",
    "#NAME?": "公式里有无法识别的名称",
    "#NUM!": "数值无效或超出范围",
    "#NULL!": "区域引用不相交",
}
_LIBREOFFICE_ERROR = r"ERR:5\d\d"  # LibreOffice shows Err:501 … Err:539 for errors Excel has no code for
EXCEL_ERROR_FIX = (
    "在源表中修正该公式（或改为正确的数值），保存后重新上传；不提供该项请留空。"
    "如需去掉公式，可复制后“选择性粘贴 → 数值”"
)
UNCALCULATED_FIX = (
    "用 Excel 或 WPS 打开该文件，确认数值正确后保存（保存时会计算公式），再重新上传；"
    "或把公式改为数值（复制后“选择性粘贴 → 数值”）"
)


def _fix_view(fix: str, n: int) -> np.ndarray:
    return np.broadcast_to(np.array(fix, dtype=object), n)


def excel_error_report(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mask, problem per cell, fix per cell)`` for cells holding an Excel error value or a formula.

    The reader yields an error cell as its literal (``#DIV/0!``), and a csv saved by Excel holds the
    same text; either way the cell is an error, never an empty cell ("keep the existing value"). A csv
    saved by LibreOffice holds its own codes where Excel has none (``Err:502``). A formula the file holds
    without its result (written by a program and never calculated) reads as its text (``=A2*2``), as
    does a formula typed into a csv: no value either. Without such a cell the arrays are read-only.
    """
    text = s.astype("str").str.strip().str.upper()
    libreoffice = text.str.startswith("ERR:5").to_numpy(dtype=bool, na_value=False)  # cheap before the regex
    if libreoffice.any():
        libreoffice = libreoffice & text.str.fullmatch(_LIBREOFFICE_ERROR).to_numpy(
            dtype=bool, na_value=False
        )
    formula = text.str.startswith("=").to_numpy(dtype=bool, na_value=False)
    mask = text.isin(ooxml.EXCEL_ERRORS).to_numpy(dtype=bool, na_value=False) | libreoffice | formula
    if not mask.any():  # the usual column: read-only views, not two arrays of 100,000 objects per column
        return mask, np.broadcast_to(np.array(None, dtype=object), len(s)), _fix_view(EXCEL_ERROR_FIX, len(s))
    problems = np.full(len(s), None, dtype=object)
    fixes = np.full(len(s), EXCEL_ERROR_FIX, dtype=object)
    for i in np.flatnonzero(mask):
        literal = text.iloc[i]
        if formula[i]:
            problems[i] = (
                "单元格是公式，但文件中没有保存它的计算结果（文件可能由程序生成、未经 Excel 或 WPS 计算）"
            )
            fixes[i] = UNCALCULATED_FIX
            continue
        if libreoffice[i]:
            problems[i] = f"单元格是 LibreOffice 错误值 Err:{literal[4:]}（公式计算出错）"
            continue
        meaning = _ERROR_MEANING.get(literal)
        problems[i] = f"单元格是 Excel 错误值 {literal}" + (
            f"（{meaning}，公式计算出错）" if meaning else "（公式计算出错）"
        )
    return mask, problems, fixes
