"""Validation of a department's main sheet: the whole file checked, or the reasons it cannot be.

``validate`` takes ``core.spreadsheet.apply_header`` output and runs, column by column with vectorised
pandas: header mapping (``mapping``), non-data rows out (``rows``), credit codes (valid, registered,
once per file), each cell by its column's kind (``cells``), outlier flags (``outliers``). It returns a
``Validation``: the per-row report, the flags, and the accepted values in long form (one row per
enterprise · code) ready for a bulk insert. A problem with the file as a whole is an ``ImportFileError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from core import credit_code as cc
from core.importing.cells import check_cells, present_cells
from core.importing.mapping import HeaderMapping, map_headers
from core.importing.outliers import flag_outliers, repeat_value, report_of, report_part
from core.importing.rows import (
    HIDDEN_ROW_FIX,
    HIDDEN_ROW_PROBLEM,
    SKIPPED_COLUMNS,
    drop_non_data,
    hidden_rows_at,
    hidden_rows_note,
    units_row,
)
from core.importing.template import CODE_HEADER, TemplateColumn, department_columns
from core.scoring_model import ScoringModel
from core.spreadsheet import ROW_COLUMN, column_letters, excel_error_report

VALUE_COLUMNS = ["code", "value_num", "value_text", "department", "credit_code", "flagged"]
MISMATCH_COLUMNS = ["row", "credit_code", "file_name", "registered_name", "other_code"]


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (no credit-code column, nothing to import…)."""


@dataclass
class Validation:
    """What a sheet's check found: the report, the flags and the values that would be imported."""

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


def name_mismatches(
    rows: pd.Series, codes: pd.Series, names: pd.Series, known_names: pd.Series
) -> pd.DataFrame:
    """Rows whose name is another registered enterprise's name than the one the code belongs to."""
    cols = MISMATCH_COLUMNS
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


def row_mismatches(
    table: pd.DataFrame,
    mapping: HeaderMapping,
    rows: pd.Series,
    codes: pd.Series,
    bad_row: np.ndarray,
    known_names: pd.Series | None,
) -> pd.DataFrame:
    """``name_mismatches`` of the rows without an error, when the file has a name column."""
    if not mapping.name_column or known_names is None:
        return pd.DataFrame(columns=MISMATCH_COLUMNS)
    ok = ~bad_row
    return name_mismatches(rows[ok], codes[ok], table[mapping.name_column][ok], known_names)


def check_codes(
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

    def report(idx: np.ndarray, problem: Any, fix: Any) -> None:
        parts.append(report_part(rows.iloc[idx], code_column, raw_code.iloc[idx], problem, fix))

    if invalid.any():
        idx = np.flatnonzero(invalid)
        problem = explain.iloc[idx].to_numpy(dtype=object).copy()
        fix = np.full(len(idx), "请核对营业执照上的 18 位统一社会信用代码", dtype=object)
        # A code looked up with VLOOKUP: #N/A where the lookup failed, or the formula without its result —
        # said as such, not as "18 位…含非法字符“#”".
        errors_at, error_problem, error_fix = excel_error_report(raw_code.iloc[idx])
        problem[errors_at], fix[errors_at] = error_problem[errors_at], error_fix[errors_at]
        report(idx, problem, fix)
    if known_codes is not None:
        known = pd.Index(list(known_codes)) if not isinstance(known_codes, pd.Index) else known_codes
        # get_indexer hashes once; Series.isin on arrow strings walks the 100,000 known codes per call.
        unknown = ~invalid & (known.get_indexer(codes.to_numpy(dtype=object)) < 0)
        if unknown.any():
            report(
                np.flatnonzero(unknown),
                "系统中没有该统一社会信用代码对应的企业",
                "请核对代码；新企业须先在系统中登记",
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
                report(idx, problem, "同一企业只能有一行：请合并或删除重复行")
            bad |= dup
    return codes, bad


def _map_and_trim(
    table: pd.DataFrame,
    cols: list[TemplateColumn],
    department: str,
    *,
    column_map: dict[str, str] | None,
    ignore: list[str] | set[str] | None,
    allow_empty: bool,
) -> tuple[HeaderMapping, pd.DataFrame, pd.DataFrame]:
    """(header mapping, the data rows, the skipped rows); ``ImportFileError`` when nothing can be read."""
    headers = [str(c) for c in table.columns]
    units_pos, header_units = units_row(table)
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
    table, skipped = drop_non_data(table, mapping, units_pos)
    if len(table) == 0 and not allow_empty:
        raise ImportFileError("文件只有表头，没有数据行")
    return mapping, table, skipped


def report_hidden_rows(
    table: pd.DataFrame,
    rows: pd.Series,
    mapping: HeaderMapping,
    hidden: Any,
    parts: list[pd.DataFrame],
    sheet: str = "",
) -> np.ndarray:
    """The data rows the sheet hides, reported (one problem per row, on the code column) with a note."""
    at = hidden_rows_at(rows, hidden)
    if at.any():
        column = mapping.code_column or ""
        idx = np.flatnonzero(at)
        label = f"{sheet}：{column}" if sheet else column
        parts.append(
            report_part(rows.iloc[idx], label, table[column].iloc[idx], HIDDEN_ROW_PROBLEM, HIDDEN_ROW_FIX)
        )
        mapping.notes.insert(0, hidden_rows_note(rows, at, sheet))
    return at


MERGED_FIX = "请取消合并单元格，在每一行填写各自的数值（不提供请留空），保存后重新上传"


def _report_merged(
    table: pd.DataFrame,
    rows: pd.Series,
    mapping: HeaderMapping,
    merged: dict[str, dict[int, int]] | None,
    parts: list[pd.DataFrame],
) -> np.ndarray:
    """Cells of an indicator's column merged into the cell above (one value drawn across two
    enterprises' rows): which enterprise it is meant for cannot be told, so each covered row is refused."""
    bad = np.zeros(len(rows), dtype=bool)
    if not merged:
        return bad
    numbers = rows.to_numpy(dtype=np.int64)
    for header in mapping.columns:
        covered = merged.get(header)
        if not covered:
            continue
        at = np.isin(numbers, np.fromiter(covered, dtype=np.int64, count=len(covered)))
        if at.any():
            idx = np.flatnonzero(at)
            problem = np.array(
                [
                    f"与第 {covered[int(r)]} 行的单元格合并：显示的是那一行的值，本行自己没有数值"
                    for r in numbers[idx]
                ],
                dtype=object,
            )
            parts.append(report_part(rows.iloc[idx], header, table[header].iloc[idx], problem, MERGED_FIX))
            bad |= at
    return bad


def _refuse_hidden_columns(
    table: pd.DataFrame, mapping: HeaderMapping, hidden: dict[str, int] | None
) -> None:
    """A hidden column holding data for an indicator: whoever hid it did not mean it to count, or forgot
    it — either way the file is refused, naming the column, until it is shown or deleted."""
    if not hidden:
        return
    found = [h for h in mapping.columns if h in hidden and present_cells(table[h]).any()]
    if found:
        named = "、".join(f"{column_letters(hidden[h])} 列“{h}”" for h in found)
        raise ImportFileError(
            f"{named}在表格中是隐藏的，但有数据，系统无法确定是否应导入；如不导入，请删除该列；如要导入，请选中"
            "两侧的列，右键“取消隐藏”，保存后重新上传"
        )


# (column, row positions, numbers, texts) of one column's accepted cells
Accepted = tuple[TemplateColumn, np.ndarray, np.ndarray, np.ndarray]


def _check_columns(
    table: pd.DataFrame,
    mapping: HeaderMapping,
    rows: pd.Series,
    parts: list[pd.DataFrame],
    bad_row: np.ndarray,
) -> tuple[list[Accepted], dict[str, tuple[str, pd.Series, bool]], np.ndarray]:
    """Every mapped column's cells: (accepted cells per column, amounts for the outlier flags, rows with
    a problem); problems appended to ``parts``."""
    long_parts: list[Accepted] = []
    numeric: dict[str, tuple[str, pd.Series, bool]] = {}
    bad_row = bad_row.copy()
    for header, col in mapping.columns.items():
        raw = table[header]
        present = present_cells(raw)
        # An Excel error (#DIV/0!, #N/A … a failed formula) or a formula never calculated is an error
        # here, never "left empty".
        errors_at, error_problem, error_fix = excel_error_report(raw)
        if errors_at.any():
            idx = np.flatnonzero(errors_at)
            parts.append(
                report_part(rows.iloc[idx], header, raw.iloc[idx], error_problem[idx], error_fix[idx])
            )
            bad_row |= errors_at
            present = present & ~errors_at
        value_num, value_text, problem, fix = check_cells(
            col, raw, present, mapping.factors.get(header, Decimal(1))
        )
        if col.kind in ("number", "share"):
            numeric[col.code] = (header, pd.Series(value_num, index=raw.index), not col.allow_negative)
        has_problem = pd.notna(problem)
        if has_problem.any():
            idx = np.flatnonzero(has_problem)
            fixes = fix[idx] if isinstance(fix, np.ndarray) else fix
            parts.append(report_part(rows.iloc[idx], header, raw.iloc[idx], problem[idx], fixes))
            bad_row |= has_problem
        keep = present & ~has_problem
        if keep.any():
            idx = np.flatnonzero(keep)
            long_parts.append(
                (col, idx, np.asarray(value_num, dtype=float)[idx], np.asarray(value_text, dtype=object)[idx])
            )
    return long_parts, numeric, bad_row


def _long_values(
    long_parts: list[Accepted],
    bad_row: np.ndarray,
    flagged_at: dict[str, np.ndarray],
    codes: pd.Series,
    row_ids: np.ndarray | None,
) -> pd.DataFrame:
    """The accepted cells of the rows without a problem in long form (``VALUE_COLUMNS``)."""
    if not long_parts:
        return pd.DataFrame(columns=VALUE_COLUMNS)
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
    return pd.DataFrame(
        {
            "code": pd.Series(
                np.concatenate([repeat_value(p[0].code, len(p[1])) for p in long_parts])[keep],
                dtype=object,
            ),
            "value_num": np.concatenate([p[2] for p in long_parts])[keep],
            "value_text": pd.Series(np.concatenate([p[3] for p in long_parts])[keep], dtype=object),
            "department": pd.Series(
                np.concatenate([repeat_value(p[0].department, len(p[1])) for p in long_parts])[keep],
                dtype=object,
            ),
            "credit_code": pd.Series(codes.to_numpy(dtype=object)[pos[keep]], dtype=object),
            "flagged": flagged[keep],
            **({"enterprise_id": row_ids[pos[keep]]} if row_ids is not None else {}),
        },
        copy=False,
    )  # fresh arrays: one block each, not stacked into 2M-row 2-D copies


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
    hidden_rows: Any = None,
    hidden_columns: dict[str, int] | None = None,
    merged_down: dict[str, dict[int, int]] | None = None,
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
    ``hidden_rows`` (spreadsheet row numbers) and ``hidden_columns`` (label → raw position): what the
    sheet hides (a filter, hidden rows or columns); a hidden data row is a row error, a hidden column
    with data mapped to an indicator an ``ImportFileError`` — never imported or left out silently.
    ``merged_down`` (label → {row: top row}): cells merged into the one above, which show its value but
    hold none — each an error in an indicator's column (read empty, the old value would stay).
    """
    cols = columns if columns is not None else department_columns(model, department)
    mapping, table, skipped = _map_and_trim(
        table, cols, department, column_map=column_map, ignore=ignore, allow_empty=allow_empty
    )
    assert mapping.code_column is not None  # _map_and_trim refuses a file without one
    _refuse_hidden_columns(table, mapping, hidden_columns)
    n = len(table)
    rows = table[ROW_COLUMN] if ROW_COLUMN in table.columns else pd.Series(np.arange(n) + 2)
    rows = rows.reset_index(drop=True)
    parts: list[pd.DataFrame] = []
    codes, bad_row = check_codes(table, rows, mapping.code_column, known_codes, parts)
    bad_row |= report_hidden_rows(table, rows, mapping, hidden_rows, parts)
    mismatches = row_mismatches(table, mapping, rows, codes, bad_row, known_names)
    row_ids = None
    if known_ids is not None:  # −1 for an unknown code (its row is an error, its values are dropped)
        where = known_ids.index.get_indexer(pd.Index(codes.to_numpy(dtype=object), dtype=object))
        row_ids = np.where(where >= 0, known_ids.to_numpy(dtype=np.int64)[where], -1)
    bad_row |= _report_merged(table, rows, mapping, merged_down, parts)
    long_parts, numeric, bad_row = _check_columns(table, mapping, rows, parts, bad_row)
    # outliers are flagged within stage, not rejected
    flags, flagged_at = flag_outliers(
        model,
        numeric,
        table=table,
        rows=rows,
        codes=codes,
        bad_row=bad_row,
        stages=stages,
        reference=reference,
        previous=previous,
    )
    return Validation(
        row_count=n,
        errors=report_of(parts),
        flags=flags,
        values=_long_values(long_parts, bad_row, flagged_at, codes, row_ids),
        mapping=mapping,
        error_rows=int(bad_row.sum()),
        skipped=skipped,
        mismatches=mismatches,
    )
