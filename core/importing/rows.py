"""Rows that are not enterprises: a units row, totals, notes and blank rows.

Offices' exports carry more than data rows: a row under the header that only names units (``万元``,
``单位``), 合计/小计 rows, 注：/填表人： notes and blank lines. ``drop_non_data`` takes them out before
validation and returns them with their reason (``SKIPPED_COLUMNS``) for the report. Only rows whose
credit-code cell does not hold 18 characters are candidates, so a real enterprise row is never skipped.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd

from core.importing.mapping import UNITS_ROW_CELL, HeaderMapping
from core.importing.outliers import MAX_REPORTED
from core.spreadsheet import ROW_COLUMN, compact_text

SKIPPED_COLUMNS = ["row", "reason"]


# 合计… at the start, or a short label ending in it (全区合计, 本页小计：): never an enterprise's name.
_TOTAL_RE = re.compile(
    r"^(合计|总计|小计|共计|累计|总合计)|^[\u4e00-\u9fff]{1,4}(合计|总计|小计|共计)[:：]?$"
)
_NOTE_RE = re.compile(
    r"^(注|备注|说明|填表说明|数据来源|资料来源|制表|制表人|填报人|填表人|审核人|负责人|联系人|"
    r"填报日期|填表日期|报送日期|单位负责人)\s*\d*\s*[:：]"
)


def _filled(v: Any) -> bool:
    """A cell that holds something: not missing, not blank."""
    return v is not None and not (isinstance(v, float) and math.isnan(v)) and bool(str(v).strip())


def units_row(table: pd.DataFrame, code_column: str | None = None) -> tuple[int | None, dict[str, str]]:
    """The first data row when it only names units (``万元``, ``元``, ``%``, ``单位``): (position, units)."""
    if table.empty:
        return None, {}
    first = table.iloc[0]
    units: dict[str, str] = {}
    cells = 0
    for h, v in first.items():
        if h == ROW_COLUMN or not _filled(v):
            continue
        text = unicodedata.normalize("NFKC", str(v)).strip()
        if not UNITS_ROW_CELL.match(text):
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
        texts = [compact_text(row[c]) for c in cols if _filled(row[c])]
        has_data = any(_filled(row[c]) for c in data_columns)
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


HIDDEN_ROW_PROBLEM = "该行在表格中是隐藏的（被筛选或隐藏），系统无法确定是否应导入"
HIDDEN_ROW_FIX = (
    "如不导入该行，请删除该行；如要导入，请清除筛选（“数据 → 筛选 → 清除”）或取消隐藏（选中上下两行，"
    "右键“取消隐藏”），保存后重新上传"
)
HIDDEN_SHOWN = 10  # hidden rows named in the note


def hidden_rows_at(rows: pd.Series, hidden: Any) -> np.ndarray:
    """Which data rows (spreadsheet row numbers) the sheet hides: a filtered-out or hidden row is shown
    to nobody, so an officer who hid it believes it is left out — it is refused, never read silently."""
    if hidden is None or not len(hidden):
        return np.zeros(len(rows), dtype=bool)
    return np.isin(rows.to_numpy(dtype=np.int64), np.asarray(hidden, dtype=np.int64))


def hidden_rows_note(rows: pd.Series, at: np.ndarray, sheet: str = "") -> str:
    """One line for the dry run: how many data rows are hidden and which (the first ``HIDDEN_SHOWN``)."""
    numbers = rows.to_numpy(dtype=np.int64)[at]
    named = "、".join(str(r) for r in numbers[:HIDDEN_SHOWN]) + ("…" if len(numbers) > HIDDEN_SHOWN else "")
    where = f"工作表“{sheet}”的" if sheet else ""
    return (
        f"{where}第 {named} 行（共 {len(numbers)} 行）在表格中是隐藏的（被筛选或隐藏），整批不能导入："
        "系统不替您决定这些行导入还是跳过。请删除不需要导入的行，或清除筛选、取消隐藏，保存后重新上传"
    )


def drop_non_data(
    table: pd.DataFrame, mapping: HeaderMapping, units_at: int | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(table without units/totals/notes/blank rows, the skipped rows with their reason)."""
    skipped = []
    if units_at is not None:
        skipped.append(pd.DataFrame({"row": [int(table[ROW_COLUMN].iloc[units_at])], "reason": ["单位行"]}))
        table = table.drop(index=table.index[units_at])
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
