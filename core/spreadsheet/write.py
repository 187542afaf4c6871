"""Writing tables: every export of user-supplied text goes through one sanitiser (CWE-1236).

csv: a string starting with ``= + - @ \\t \\r`` gets a leading ``'`` — a plain number such as ``-1``
too (as text in a csv cell Excel would turn it into a number); numeric columns are never touched.
csv is UTF-8 with BOM and CRLF, so Excel shows Chinese. xlsx: strings are written as string cells with
``strings_to_formulas``/``strings_to_urls`` off, so ``=HYPERLINK(...)`` stays inert text and round trips
unchanged (a formula-like text also gets Excel's quote prefix, kept when the user edits the cell); a
bold frozen header, column widths from content, one writer per column, progress for large exports.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter

PROGRESS_EVERY = 2000  # rows between write_xlsx progress reports


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_CHARS = "".join(_FORMULA_START)


def sanitize_cell(v: Any) -> Any:
    """Prefix ``'`` to a string a spreadsheet could read as a formula or a number; anything else unchanged.

    Every text starting with ``= + - @ \\t \\r`` is prefixed, a plain number such as ``-1`` or ``+1``
    too: as text in a csv cell Excel would turn it into a number (a name "+1" would lose its sign);
    numbers themselves live in numeric cells, which are never touched.
    """
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return v


def _sanitize_series(s: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s
    if pd.api.types.is_string_dtype(s.dtype) and not pd.api.types.is_object_dtype(s.dtype):
        danger = s.str.startswith(_FORMULA_START).fillna(False)
        if not danger.any():
            return s
        out = s.copy()
        out[danger] = "'" + s[danger]
        return out
    return s.map(sanitize_cell)


def sanitize_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell and text column label passed through :func:`sanitize_cell`."""
    out = df.copy()
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        fixed = _sanitize_series(col)
        if fixed is not col:
            out.isetitem(i, fixed)
    out.columns = [sanitize_cell(c) for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, *, index: bool = False) -> bytes:
    """UTF-8 with BOM (Excel then reads Chinese correctly), CRLF, sanitised against formulas."""
    buffer = io.StringIO()
    sanitize_frame(df).to_csv(buffer, index=index, lineterminator="\r\n")
    return buffer.getvalue().encode("utf-8-sig")


_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(name: str, used: set[str]) -> str:
    """Excel sheet names: ≤ 31 characters, none of ``[]:*?/\\``, unique (case-insensitive)."""
    base = _BAD_SHEET_CHARS.sub("_", str(name)).strip("'")[:31] or "Sheet"
    candidate, n = base, 1
    while candidate.casefold() in used:
        n += 1
        suffix = f"({n})"
        candidate = base[: 31 - len(suffix)] + suffix
    used.add(candidate.casefold())
    return candidate


def _display_width(value: Any) -> int:
    """Approximate column width: CJK and full-width characters take two cells."""
    text = str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _column_widths(df: pd.DataFrame, extra_header: Sequence[Sequence[Any]]) -> list[float]:
    sample = df.head(500)
    widths: list[float] = []
    for j, label in enumerate(df.columns):
        w = _display_width(label)
        for hr in extra_header:
            if j < len(hr) and hr[j] is not None:
                w = max(w, _display_width(hr[j]))
        for v in sample.iloc[:, j].tolist():
            if v is not None and not (isinstance(v, float) and math.isnan(v)):
                w = max(w, _display_width(v) if not isinstance(v, float) else len(f"{v:.10g}"))
        widths.append(min(max(w + 2, 6), 60))
    return widths


def _writer_for(ws: Any, s: pd.Series, formats: dict[str, Any]):
    """One specialised cell writer per column: skips the generic ``write()`` dispatch per cell."""
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return lambda r, c, v: None if v is None or v is pd.NA else ws.write_boolean(r, c, bool(v))
    if pd.api.types.is_numeric_dtype(dtype):

        def write_number(r: int, c: int, v: Any) -> None:
            if v is not None and v is not pd.NA and v == v:
                ws.write_number(r, c, v)

        return write_number
    if pd.api.types.is_datetime64_any_dtype(dtype):
        fmt = formats["datetime"]

        def write_datetime(r: int, c: int, v: Any) -> None:
            if v is not None and v is not pd.NaT and not pd.isna(v):
                ws.write_datetime(r, c, v.to_pydatetime(), fmt)

        return write_datetime

    quoted = formats["quoted"]

    def write_any(r: int, c: int, v: Any) -> None:
        t = type(v)
        if t is str:
            if v:
                # quote_prefix keeps a formula-like text a text even after the user edits the cell.
                ws.write_string(r, c, v, quoted if v[0] in _FORMULA_CHARS else None)
        elif v is None or v is pd.NA or v is pd.NaT:
            return
        elif t is bool or t is np.bool_:
            ws.write_boolean(r, c, bool(v))
        elif isinstance(v, (int, float, np.integer, np.floating)):
            if v == v and abs(v) != math.inf:
                ws.write_number(r, c, float(v))
        elif isinstance(v, dt.datetime):
            ws.write_datetime(r, c, v, formats["datetime"])
        elif isinstance(v, dt.date):
            ws.write_datetime(r, c, v, formats["date"])
        else:
            ws.write_string(r, c, str(v))

    return write_any


def write_xlsx(
    sheets: Mapping[str, pd.DataFrame | Sequence[str]],
    *,
    header_rows: Mapping[str, Sequence[Sequence[Any]]] | None = None,
    constant_memory: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """An xlsx with one sheet per entry, in order.

    A DataFrame becomes a table: bold frozen header (``header_rows[sheet]`` adds rows above the column
    names, e.g. Chinese labels over indicator codes), column widths from content, strings always
    written as inert string cells. A sequence of strings becomes a plain text sheet, one line per row
    (instructions for an import template; put it after the data sheet so that importing the template
    reads the data sheet by default).

    ``progress(rows_written, rows_total)`` is called every few thousand table rows (large exports run
    in the background and show how far they are).
    """
    total_rows = sum(len(c) for c in sheets.values() if isinstance(c, pd.DataFrame))
    done_before = 0
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buffer,
        {
            "constant_memory": constant_memory,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "nan_inf_to_errors": True,
            "remove_timezone": True,
            "in_memory": not constant_memory,
        },
    )
    formats = {
        "header": wb.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1, "text_wrap": True}),
        "datetime": wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        "date": wb.add_format({"num_format": "yyyy-mm-dd"}),
        "quoted": wb.add_format({"quote_prefix": True}),
    }
    used: set[str] = set()
    for raw_name, content in sheets.items():
        ws = wb.add_worksheet(_sheet_name(raw_name, used))
        if not isinstance(content, pd.DataFrame):
            ws.set_column(0, 0, 100)
            for r, line in enumerate(content):
                ws.write_string(r, 0, str(line))
            continue
        df = content
        extra = list((header_rows or {}).get(raw_name, []))
        for c, width in enumerate(_column_widths(df, extra)):
            ws.set_column(c, c, width)
        for r, hr in enumerate(extra):
            for c, v in enumerate(hr):
                if v is not None:
                    ws.write_string(r, c, str(v), formats["header"])
        head = len(extra)
        for c, label in enumerate(df.columns):
            ws.write_string(head, c, str(label), formats["header"])
        ws.freeze_panes(head + 1, 0)
        writers = [_writer_for(ws, df.iloc[:, c], formats) for c in range(df.shape[1])]
        columns = [df.iloc[:, c].tolist() for c in range(df.shape[1])]
        # Rows in order (constant_memory flushes each finished row); columns via zip, no iterrows.
        for r, row in enumerate(zip(*columns, strict=True), start=head + 1):
            for c, v in enumerate(row):
                writers[c](r, c, v)
            if progress is not None and (r - head) % PROGRESS_EVERY == 0:
                progress(done_before + r - head, total_rows)
        done_before += len(df)
    wb.close()
    if progress is not None:
        progress(total_rows, total_rows)
    return buffer.getvalue()


def write_table(df: pd.DataFrame, path: str | Path, *, sheet_name: str = "数据") -> None:
    """Write ``df`` to ``path`` as csv or xlsx, chosen by the extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        path.write_bytes(write_csv(df))
    elif suffix == ".xlsx":
        path.write_bytes(write_xlsx({sheet_name: df}))
    else:
        raise ValueError(f"不支持的导出格式“{path.suffix}”：仅支持 .csv 和 .xlsx")
