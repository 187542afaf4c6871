"""List sheets: list-valued indicators (projects, standards, awards) in long form, one item per row.

Each list indicator has a sheet of its own (named by the indicator's name, code or alias): the
enterprise's code and name, then the model's ``item_fields`` (level, role, yes/no, year, free text).
``validate_items`` turns the rows into one JSON list per enterprise, all or nothing per enterprise
(one bad item row rejects its list); ``merge_lists`` appends new items to the current list (``add``
mode) without repeating an item.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd

from core.importing.cells import present_cells
from core.importing.mapping import CODE_KEYS, NAME_KEYS, HeaderMapping, header_keys, is_descriptive
from core.importing.outliers import REPORT_COLUMNS, report_of, report_part
from core.importing.rows import drop_non_data
from core.importing.template import CODE_HEADER, TemplateColumn, list_columns
from core.importing.validate import (
    VALUE_COLUMNS,
    ImportFileError,
    Validation,
    check_codes,
    report_hidden_rows,
    row_mismatches,
)
from core.listtext import parse_items
from core.spreadsheet import ROW_COLUMN, excel_error_report, header_key
from core.yesno import FALSE_TEXT, TRUE_TEXT


def sheet_column(name: str, cols: list[TemplateColumn]) -> TemplateColumn | None:
    """The list indicator a sheet name stands for (its name, code or an alias)."""
    key = header_key(name)
    for c in list_columns(cols):
        if key in header_keys(c):
            return c
    return None


def _level_value(text: str, levels: tuple[str, ...]) -> str | None:
    """A level cell (NFKC, stripped) as one of ``levels``: ``省`` or ``省级`` → ``省``; else ``None``."""
    if text in levels:
        return text
    if text.endswith("级") and text[:-1] in levels:
        return text[:-1]
    return None


def _map_sheet(col: TemplateColumn, table: pd.DataFrame, sheet: str) -> tuple[HeaderMapping, dict[str, Any]]:
    """(mapping of the sheet's code and name columns, file header → item field); ``ImportFileError``
    without a credit-code column or a required field."""
    field_by_key: dict[str, Any] = {}
    for f in col.item_fields:
        for spelling in (f.label, f.key):
            field_by_key[header_key(spelling)] = f
    if any(f.key == "name" for f in col.item_fields):
        field_by_key.setdefault(header_key("名称"), next(f for f in col.item_fields if f.key == "name"))
    mapping = HeaderMapping(None, None, {}, [])
    field_cols: dict[str, Any] = {}
    for h in table.columns:
        if h == ROW_COLUMN:
            continue
        k = header_key(h)
        if mapping.code_column is None and k in CODE_KEYS:
            mapping.code_column = h
        elif mapping.name_column is None and k in NAME_KEYS and k not in field_by_key:
            mapping.name_column = h
        elif k in field_by_key and field_by_key[k].key not in {f.key for f in field_cols.values()}:
            field_cols[h] = field_by_key[k]
        elif not is_descriptive(h) and present_cells(table[h]).any():
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
    return mapping, field_cols


def _allowed(col: TemplateColumn, f: Any) -> list[str]:
    """The values an item field takes (the model's list; the level field: the rule's levels)."""
    return f.values or (list(col.levels) if f.key == col.level_key else [])


def _field_values(col: TemplateColumn, f: Any, raw: pd.Series, items: list[dict]) -> np.ndarray:
    """Read one item field into ``items`` (one dict per row); the problem per row or None."""
    n = len(raw)
    present = present_cells(raw)
    required = f.required or f.key == col.level_key
    allowed = _allowed(col, f)
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
    return problem


def validate_items(
    col: TemplateColumn,
    table: pd.DataFrame,
    *,
    sheet: str,
    known_codes: Any,
    known_names: pd.Series | None = None,
    hidden_rows: Any = None,
    merged_down: dict[str, dict[int, int]] | None = None,
) -> Validation:
    """One long-form sheet (one item per row) → one list value per enterprise, or per-row problems
    (a row the sheet hides among them: ``validate``'s ``hidden_rows``).

    ``merged_down`` (label → {row: top row}): cells merged into the one above. In a list the merge means
    what the sheet shows — the code and name drawn over an enterprise's items, a level over the items
    that share it — so each covered row reads the top's value (unlike the data sheet, where a merge
    spans two enterprises and is refused)."""
    table, filled = fill_merged_down(table, merged_down)
    mapping, field_cols = _map_sheet(col, table, sheet)
    if filled:
        mapping.notes.append(f"工作表“{sheet}”有 {filled} 个合并单元格覆盖的格子，按合并后显示的值读入各行")
    assert mapping.code_column is not None  # _map_sheet refuses a sheet without one
    mapping.columns = {h: col for h in field_cols}
    table, skipped = drop_non_data(table, mapping, None)
    n = len(table)
    rows = table[ROW_COLUMN].reset_index(drop=True)
    parts: list[pd.DataFrame] = []
    codes, bad_row = check_codes(table, rows, mapping.code_column, known_codes, parts, unique=False)
    bad_row |= report_hidden_rows(table, rows, mapping, hidden_rows, parts, sheet)
    items: list[dict] = [{} for _ in range(n)]
    for h, f in field_cols.items():
        problem = _field_values(col, f, table[h], items)
        allowed = _allowed(col, f)
        fix = np.full(n, "请填写" + ("、".join(allowed) if allowed else f.label), dtype=object)
        # An Excel error (#N/A of a failed lookup) or a formula without its result is no item text.
        errors_at, error_problem, error_fix = excel_error_report(table[h])
        problem[errors_at] = error_problem[errors_at]
        fix[errors_at] = error_fix[errors_at]
        has = pd.notna(problem)
        if has.any():
            idx = np.flatnonzero(has)
            parts.append(
                report_part(rows.iloc[idx], f"{sheet}：{h}", table[h].iloc[idx], problem[idx], fix[idx])
            )
            bad_row |= has
    mismatches = row_mismatches(table, mapping, rows, codes, bad_row, known_names)
    errors = report_of(parts)
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


def fill_merged_down(
    table: pd.DataFrame, merged: dict[str, dict[int, int]] | None
) -> tuple[pd.DataFrame, int]:
    """``table`` with each cell a merge covers holding its top's value (when the top is a row of the
    table, not its header); and how many cells were filled."""
    if not merged:
        return table, 0
    position = pd.Series(np.arange(len(table)), index=table[ROW_COLUMN].to_numpy())
    position = position[~position.index.duplicated()]
    out = table.copy()
    filled = 0
    for label, covered in merged.items():
        if label not in out.columns:
            continue
        below = position.reindex(list(covered)).to_numpy()
        top = position.reindex([covered[r] for r in covered]).to_numpy()
        ok = ~(np.isnan(below) | np.isnan(top))
        if ok.any():
            j = out.columns.get_loc(label)
            out.iloc[below[ok].astype(np.intp), j] = out.iloc[top[ok].astype(np.intp), j].to_numpy()
            filled += int(ok.sum())
    return out, filled


def merge_lists(current: Any, new: list[dict]) -> list[dict]:
    """``add`` mode: the current items followed by the new ones not already there."""
    have = parse_items(current) or []
    keys = {json.dumps(i, ensure_ascii=False, sort_keys=True) for i in have}
    out = list(have)
    for item in new:
        k = json.dumps(item, ensure_ascii=False, sort_keys=True)
        if k not in keys:
            out.append(item)
            keys.add(k)
    return out
