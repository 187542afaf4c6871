"""Reading and writing tables (xlsx, xls, csv) — bytes in, bytes out, pure (no process or OS work).

Reading runs ``detect`` (the format by content) → ``limits`` (declared sizes) → ``csvfile`` or
``workbook`` (calamine, with ``ooxml``/``biff`` reading what calamine drops) → ``cells`` (typed cells as
the text Excel shows) → a ``ReadResult`` whose frame is raw text; ``read_in_process`` is the entry.
An untrusted upload is read through ``adapters.reader_worker.read_upload``, which runs it in a child
process under memory and time limits. Interpretation happens later, column by column: ``headers``
(find the header row, name the columns, keep ``__row__``) and ``numbers`` (the one number parser).
``write`` exports through one sanitiser against formula injection. Everything public is named here.
"""

from core.spreadsheet.cells import EXCEL_ERROR_FIX, excel_error_report
from core.spreadsheet.detect import Format, detect_format
from core.spreadsheet.errors import (
    SAVE_AS,
    SheetChoiceNeeded,
    SpreadsheetError,
    display_name,
    encrypted_message,
)
from core.spreadsheet.headers import (
    HEADER_SCAN,
    ROW_COLUMN,
    apply_header,
    compact_text,
    find_header_row,
    header_key,
    header_match,
    header_table,
    joined_header,
    source_columns,
)
from core.spreadsheet.limits import DEFAULT_LIMITS, DEFAULT_MAX_BYTES, ReadLimits
from core.spreadsheet.numbers import parse_number_series
from core.spreadsheet.ooxml import column_letters
from core.spreadsheet.read import ReadRequest, check_upload, read_in_process
from core.spreadsheet.result import ReadResult, SheetInfo
from core.spreadsheet.workbook import list_sheets, sheet_visibility
from core.spreadsheet.write import (
    PROGRESS_EVERY,
    sanitize_cell,
    sanitize_frame,
    write_csv,
    write_table,
    write_xlsx,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_BYTES",
    "EXCEL_ERROR_FIX",
    "HEADER_SCAN",
    "PROGRESS_EVERY",
    "ROW_COLUMN",
    "SAVE_AS",
    "Format",
    "ReadLimits",
    "ReadRequest",
    "ReadResult",
    "SheetChoiceNeeded",
    "SheetInfo",
    "SpreadsheetError",
    "apply_header",
    "check_upload",
    "column_letters",
    "compact_text",
    "detect_format",
    "display_name",
    "encrypted_message",
    "excel_error_report",
    "find_header_row",
    "header_key",
    "header_match",
    "header_table",
    "joined_header",
    "list_sheets",
    "parse_number_series",
    "read_in_process",
    "sanitize_cell",
    "sanitize_frame",
    "sheet_visibility",
    "source_columns",
    "write_csv",
    "write_table",
    "write_xlsx",
]
