"""Department imports, pure part: a department's file checked against the model, nothing written.

    template ─ which columns a department supplies (from the model's sources), the template's sheets
    mapping ─ file headers → template columns, units converted (元 → 万元)
    rows ──── units, totals, notes and blank rows taken out with their reason
    cells ─── each cell by its column's kind: amounts, shares, 是/否, categories, JSON
    outliers ─ the per-row report, outlier and history flags (flagged, never rejected)
    validate ─ the main sheet: all of the above → ``Validation`` (report, flags, long-form values)
    items ─── list sheets (one item per row) → one JSON list per enterprise
    diff ──── the accepted values against the database's: 新增 / 变更 / 不变

``departments`` is the one home of the department names. Reading the file (formats, header row,
numbers) is ``core.spreadsheet``; writing the values and the import's bookkeeping is
``services.imports``. Nothing here knows an indicator code: kinds follow the model's rules and units.
"""

from __future__ import annotations

from core.importing.cells import parse_amounts
from core.importing.departments import (
    ALL_DEPARTMENTS,
    ANY_SOURCE,
    DEPARTMENTS,
    NOT_DEPARTMENTS,
    departments,
)
from core.importing.diff import DIFF_STATES, diff_counts, diff_values
from core.importing.items import merge_lists, sheet_column, validate_items
from core.importing.mapping import (
    IGNORE_LABEL,
    HeaderMapping,
    header_keys,
    map_headers,
    split_header_unit,
)
from core.importing.outliers import (
    MAX_REPORTED,
    REPORT_COLUMNS,
    history_mask,
    outlier_mask,
    report_frame,
    stage_series,
    summary_message,
)
from core.importing.rows import blank_rows, hidden_rows_at, hidden_rows_note, skipped_rows
from core.importing.template import (
    CODE_ALIASES,
    CODE_HEADER,
    NAME_ALIASES,
    NAME_HEADER,
    TemplateColumn,
    department_columns,
    expected_headers,
    instructions,
    item_headers,
    list_columns,
    main_columns,
    profile_columns,
    template_headers,
)
from core.importing.validate import (
    VALUE_COLUMNS,
    ImportFileError,
    Validation,
    name_mismatches,
    validate,
)

__all__ = [
    "ALL_DEPARTMENTS",
    "ANY_SOURCE",
    "CODE_ALIASES",
    "CODE_HEADER",
    "DEPARTMENTS",
    "DIFF_STATES",
    "IGNORE_LABEL",
    "MAX_REPORTED",
    "NAME_ALIASES",
    "NAME_HEADER",
    "NOT_DEPARTMENTS",
    "REPORT_COLUMNS",
    "VALUE_COLUMNS",
    "HeaderMapping",
    "ImportFileError",
    "TemplateColumn",
    "Validation",
    "blank_rows",
    "department_columns",
    "departments",
    "diff_counts",
    "diff_values",
    "expected_headers",
    "header_keys",
    "history_mask",
    "hidden_rows_at",
    "hidden_rows_note",
    "instructions",
    "item_headers",
    "list_columns",
    "main_columns",
    "map_headers",
    "merge_lists",
    "name_mismatches",
    "outlier_mask",
    "parse_amounts",
    "profile_columns",
    "report_frame",
    "sheet_column",
    "skipped_rows",
    "split_header_unit",
    "stage_series",
    "summary_message",
    "template_headers",
    "validate",
    "validate_items",
]
