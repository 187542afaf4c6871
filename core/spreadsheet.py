"""Reading and writing tables (xlsx, xls, csv) — bytes in, bytes out, no I/O policy.

Reading
    :func:`read_in_process` (in a worker: ``adapters.reader_worker.read_upload``) decides the format from the *content*, never
    from the file name: officers rename files, government systems export HTML or CSV with an ``.xls``
    name, and a PDF named ``.xlsx`` must be rejected with a clear message instead of a parser traceback.
    xlsx/xls go through python-calamine directly (the fastest reader we have; pandas'
    ``read_excel(engine="calamine")`` wraps the same library but converts cell by cell). csv is decoded
    as UTF-8 (with or without BOM), else GB18030 (a superset of GBK, what Chinese Excel saves), else
    UTF-16 when it has a BOM.

    Uploads are untrusted: calamine materialises a sheet's whole used range and aborts its process when
    that allocation fails (one cell at XFD1048576 asks for 512 GB). So every upload is read through
    ``adapters.reader_worker.read_upload``, which runs :func:`read_in_process` in a worker process
    under an address-space and CPU limit and a timeout (``ReadLimits``), after the declared sizes were checked (zip member sizes and ratios, ``<dimension>``, the range
    calamine found, csv width row by row, cell length); a worker that dies becomes a Chinese refusal.
    A hidden sheet is never read; with several visible sheets the one with a recognisable header is
    (the active one when several have it; otherwise ``SheetChoiceNeeded``). What calamine drops is put
    back from the sheet XML (``core.xlsx_parts``): a numeric cell in a percent format reads as the
    percentage Excel shows (``0.381`` in ``0.0%`` → ``"38.1%"``, decimal-exact) and an error cell as
    its literal (``#DIV/0!``; :func:`excel_error_report` makes it an error downstream); for .xls the
    same comes from its BIFF records (``core.xls_parts``: formats, errors, hidden state, active tab,
    declared range). Encrypted
    workbooks are refused with how to remove the password.

    The result is *raw*: every cell a string (pandas ``str`` dtype), empty cells missing, column labels
    ``0..n-1``, row ``i`` = spreadsheet row ``i + 1`` (leading empty rows are kept so that row numbers in
    error reports are the ones the officer sees in Excel). Typed cells are rendered the way Excel shows
    them: integral numbers without ``.0``, other numbers with at most 15 significant digits (Excel's
    precision, so 0.1+0.2 reads ``0.3``), dates ``2024-01-02``, date-times ``2024-01-02 03:04:05``,
    booleans ``TRUE``/``FALSE`` (what a csv saved by Excel holds too). Interpretation (numbers, credit
    codes, 是/否) happens later, column by column, so that one bad cell never spoils a column.

    ``find_header_row`` + ``apply_header`` turn the raw grid into a table whose header may sit under
    title rows; ``__row__`` keeps the 1-based spreadsheet row of every data row.

Numbers
    ``parse_number_series`` is vectorised (pyarrow string kernels) and tolerant of what people type:
    text numbers, ``1,234.5``/``1，234``, full-width ``１２３．４``, spaces and NBSP, a trailing ``%``
    (``4.5%`` → ``4.5``: the value contract stores percentages as numbers). Anything else is *invalid*
    (flagged, value NaN) — including ``-``, ``/`` and ``无``: whether those mean "none" is a business
    decision for the caller. Commas must be real thousands groups: ``1,5`` is invalid, not 15.

Writing
    Every export of user-supplied text goes through one sanitiser against formula injection (CWE-1236).
    csv: a string starting with ``= + - @ \\t \\r`` gets a leading ``'`` — except strings that are
    plain numbers such as ``-12.5`` (no formula, and prefixing would corrupt negative values carried as
    text); numeric columns are never touched. xlsx: strings are written as string cells with
    ``strings_to_formulas``/``strings_to_urls`` off, so ``=HYPERLINK(...)`` stays inert text and round
    trips unchanged (no apostrophe needed or added). csv is UTF-8 with BOM so Excel shows Chinese.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import threading
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import python_calamine
import xlsxwriter

from core import xls_parts, xlsx_parts

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
ROW_COLUMN = "__row__"
PROGRESS_EVERY = 2000  # rows between write_xlsx progress reports

Format = Literal["xlsx", "xls", "csv"]


class SpreadsheetError(ValueError):
    """A file that cannot be read as a table; the message is Chinese and meant for the uploader."""


# ---------------------------------------------------------------------------------------------------
# Format detection
# ---------------------------------------------------------------------------------------------------

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "PDF 文档"),
    (b"\x89PNG", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF8", "GIF 图片"),
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
    (b"\x1f\x8b", "gzip 压缩包"),
    (b"{\\rtf", "RTF 文档"),
)
SAVE_AS = "请用 Excel、WPS 或 LibreOffice 打开后另存为 .xlsx（或 CSV）再上传"


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def detect_format(data: bytes, filename: str = "") -> Format:
    """``"xlsx"``, ``"xls"`` or ``"csv"`` judged by content; ``SpreadsheetError`` for anything else."""
    name = f"“{filename}”" if filename else "文件"
    if not data:
        raise SpreadsheetError(f"{name}是空文件（0 字节）")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = zf.namelist()
                mimetype = zf.read("mimetype")[:100] if "mimetype" in names else b""
        except (zipfile.BadZipFile, OSError, KeyError):
            raise SpreadsheetError(f"{name}看似 Excel（zip）文件，但已损坏，无法打开") from None
        if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
            return "xlsx"
        if any(n.startswith("word/") for n in names):
            raise SpreadsheetError(f"{name}的内容是 Word 文档，不是表格文件")
        if any(n.startswith("ppt/") for n in names):
            raise SpreadsheetError(f"{name}的内容是 PowerPoint 文档，不是表格文件")
        if b"spreadsheet" in mimetype:
            raise SpreadsheetError(f"{name}是 ODS（WPS/LibreOffice）格式，{SAVE_AS}")
        raise SpreadsheetError(f"{name}是 zip 压缩包，不是 Excel 文件；请解压后上传其中的表格")
    if data.startswith(_OLE2):
        if _ENCRYPTED_STREAM in data:  # an encrypted xlsx is an OLE2 container with this stream
            raise SpreadsheetError(encrypted_message(name))
        return "xls"
    for signature, kind in _BINARY_SIGNATURES:
        if data.startswith(signature):
            raise SpreadsheetError(f"{name}的内容是{kind}，不是表格文件（仅支持 xlsx、xls、csv）")
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "csv"  # UTF-16 text (Excel's "Unicode 文本")
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml", b"<meta")):
        raise SpreadsheetError(f"{name}实际是网页（HTML/XML）格式，只是扩展名像表格；{SAVE_AS}")
    if b"\x00" in head:
        raise SpreadsheetError(f"{name}不是可识别的表格文件（仅支持 xlsx、xls、csv）")
    return "csv"


# ---------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------

_INT_EXACT = 2**53


def _cell_text(v: Any) -> str | None:
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


def _floats_to_text(a: np.ndarray) -> np.ndarray:
    """Vectorised ``_cell_text`` for float cells (the bulk of a numeric sheet).

    A value equal to ``r / 10**d`` for the smallest ``d ≤ 6`` is written as the decimal ``r·10⁻ᵈ``: that
    decimal parses back to exactly this float, so it is what ``repr``/``%.15g`` would print. Values
    outside ``1e-4 ≤ |v| < 1e15`` or needing more decimals go through ``_cell_text`` one by one.
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
        out[i] = _cell_text(float(a[i]))
    return out


def _column_text(values: np.ndarray) -> pd.Series:
    """One column of typed cells (an object array, converted in place) → ``str`` Series (empty → missing)."""
    n = len(values)
    # Exact types (a bool is not a number here), listed by map(type) in C: half a list comprehension.
    types = np.fromiter(map(type, values), dtype=object, count=n)
    is_str = np.equal(types, str)
    if not is_str.all():
        others = values[~is_str]
        if set(types[~is_str].tolist()) == {float}:  # the usual numeric column
            values[~is_str] = _floats_to_text(others.astype(np.float64))
        else:
            is_float = np.equal(types, float)
            if is_float.any():
                values[is_float] = _floats_to_text(values[is_float].astype(np.float64))
            for i in np.flatnonzero(~is_str & ~is_float):
                values[i] = _cell_text(values[i])
    s = pd.Series(values, dtype="str")
    return s.mask(s == "")


def _grid_to_frame(rows: list[list[Any]]) -> pd.DataFrame:
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


_ENCRYPTED = (
    "已加密（设置了打开密码），系统无法读取。请去掉密码后重新上传：在 Excel 中打开文件，点击"
    "“文件 → 信息 → 保护工作簿 → 用密码进行加密”，清空密码框并确定，然后保存；"
    "WPS 中点击“文件 → 文档加密 → 密码加密”，清空打开密码后保存"
)
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")


def encrypted_message(name: str = "文件") -> str:
    """The one Chinese message for a password-protected workbook (how to save it without one)."""
    return f"{name}{_ENCRYPTED}"


@dataclass(frozen=True)
class ReadLimits:
    """What reading one upload may cost.

    Declared sizes (zip directory, ``<dimension>``) are checked before any cell is read; the sizes a
    file hides or lies about are caught by the child process's memory (address-space) and time limits,
    which turn into a refusal instead of taking the server down. ``isolated`` is for
    ``adapters.reader_worker``: ``False`` reads in-process (only for trusted, generated files).
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = 1_048_576  # Excel's own limit
    max_columns: int = 2_000
    max_cells: int = 10_000_000  # counted from A1: 285,000 rows × 35 columns, 100,000 × 100
    max_cell_chars: int = 32_767  # Excel's limit for one cell
    # A cell bomb: at least this many addressed cells that hold nothing, and (at least) this share of
    # all cells; counted before calamine parses. Real exports with many gaps stay well under the share;
    # a sheet pre-formatted far beyond its data (57,000 rows × 35 styled blanks) stays under the count,
    # and fewer empty cells than that cost calamine only a second or two.
    max_empty_cells: int = 2_000_000
    max_empty_share: float = 0.9
    max_unpacked: int = 1 << 30  # all parts of an xlsx, inflated
    max_ratio: float = 100.0  # inflate ratio of one part (real sheets: 5–30)
    ratio_floor: int = 16 << 20  # parts smaller than this may compress as well as they like
    memory: int = 3 << 30  # address space the child may add to what it starts with
    seconds: float = 90.0
    isolated: bool = True


DEFAULT_LIMITS = ReadLimits()
HEADER_SCAN = 10  # rows searched for a header (find_header_row's default)
HEADER_QUALIFIES = 2.0  # header score from which a sheet counts as "holds the data"
HEADER_CONTENDER = 0.6  # …and, with several, share of the best score that still makes it a contender


@dataclass(frozen=True)
class SheetInfo:
    name: str
    visible: bool
    has_header: bool = False


@dataclass
class ReadResult:
    """The raw sheet (see the module docstring) and where it came from."""

    frame: pd.DataFrame
    sheet: str | None = None  # the sheet read; None for csv
    reason: str = ""  # why this sheet, in Chinese
    sheets: list[SheetInfo] = field(default_factory=list)
    percent_cells: int = 0  # numeric cells in a percent format, read as "38.1%"
    error_cells: int = 0  # Excel error cells, read as their literal ("#DIV/0!")
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def hidden_sheets(self) -> list[str]:
        return [s.name for s in self.sheets if not s.visible]

    @property
    def other_data_sheets(self) -> list[str]:
        """Other visible sheets that also have a recognisable header (not read)."""
        return [s.name for s in self.sheets if s.visible and s.has_header and s.name != self.sheet]

    def describe(self) -> str:
        """One Chinese line for the dry run: which sheet was read and what was skipped."""
        if self.sheet is None:
            return ""
        parts = [f"读取的工作表：“{self.sheet}”" + (f"（{self.reason}）" if self.reason else "")]
        if self.hidden_sheets:
            parts.append("已跳过隐藏的工作表 " + "、".join(f"“{n}”" for n in self.hidden_sheets))
        if self.other_data_sheets:
            parts.append(
                "另有工作表 " + "、".join(f"“{n}”" for n in self.other_data_sheets) + " 也含表头，未读取"
            )
        return "；".join(parts)


class SheetChoiceNeeded(SpreadsheetError):
    """Several visible sheets hold data and none is the active one: the uploader must choose."""

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


def display_name(filename: str) -> str:
    return f"“{filename}”" if filename else "文件"


def _extent_message(name: str, where: str, rows: int, cols: int, limits: ReadLimits, ref: str = "") -> str:
    span = (
        f"声明的已用范围为 {ref}（{rows:,} 行 × {cols:,} 列）"
        if ref
        else f"的已用范围为 {rows:,} 行 × {cols:,} 列"
    )
    return (
        f"{name}{where}{span}，超出可导入的上限（{limits.max_columns:,} 列、{limits.max_cells:,} 个单元格），"
        "已拒绝读取。通常是远处的单元格被误填内容或设置了格式：请在 Excel 中按 Ctrl+End 找到最后一个单元格，"
        "删除多余的行和列后保存（或只把数据区域复制到新工作簿）；数据确实这么多时请拆分后分批导入"
    )


def _check_extent(name: str, where: str, rows: int, cols: int, limits: ReadLimits, ref: str = "") -> None:
    if cols > limits.max_columns or rows > limits.max_rows or rows * cols > limits.max_cells:
        raise SpreadsheetError(_extent_message(name, where, rows, cols, limits, ref))


def _part_size(zf: zipfile.ZipFile, path: str) -> int:
    try:
        return zf.getinfo(path).file_size
    except KeyError:
        return 0


def _check_census(name: str, where: str, census: xlsx_parts.CellCensus, limits: ReadLimits) -> None:
    """Refuse a sheet by its cell count before calamine parses it (see ``xlsx_parts.cell_census``)."""
    if census.cells > limits.max_cells:
        raise SpreadsheetError(
            f"{name}{where}含有 {census.cells:,} 个单元格，超出可导入的上限（{limits.max_cells:,} 个单元格），已拒绝读取；"
            "请删除多余的行和列后保存，数据确实这么多时请拆分后分批导入"
        )
    if census.empty >= limits.max_empty_cells and census.empty >= limits.max_empty_share * census.cells:
        raise SpreadsheetError(
            f"{name}{where}有 {census.cells:,} 个单元格，其中 {census.empty:,} 个是空的（只有地址或格式、没有内容），"
            "不像正常的表格，已拒绝读取。通常是一大片区域被设置了格式，或由其他系统导出了大量空单元格："
            "请只把数据区域复制到新工作簿，保存后再上传"
        )


def _check_cell_chars(frame: pd.DataFrame, name: str, limits: ReadLimits) -> None:
    for j in range(frame.shape[1]):
        lengths = pc.utf8_length(pa.array(frame.iloc[:, j].array))
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > limits.max_cell_chars:
            i = int(np.nanargmax(lengths.to_numpy(zero_copy_only=False).astype(float)))
            raise SpreadsheetError(
                f"{name}第 {i + 1} 行 {xlsx_parts.column_letters(j)} 列的单元格有 {longest:,} 个字符，超过 Excel 单元格的上限"
                f"（{limits.max_cell_chars:,} 个字符），不像正常的表格内容；请检查该单元格"
            )


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


def _apply_cell_scan(frame: pd.DataFrame, scan: xlsx_parts.CellScan) -> tuple[int, int]:
    """Write percent cells as ``"38.1%"`` and error cells as their literal; per column, in one pass."""
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


def _sheet_index(names: list[str], sheet: int | str) -> int:
    if isinstance(sheet, str):
        if sheet not in names:
            raise SpreadsheetError(f"找不到工作表“{sheet}”（现有：{'、'.join(names)}）")
        return names.index(sheet)
    if not 0 <= sheet < len(names):
        raise SpreadsheetError(f"文件只有 {len(names)} 个工作表，没有第 {sheet + 1} 个")
    return sheet


def _open_workbook(data: bytes, name: str) -> python_calamine.CalamineWorkbook:
    try:
        return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError:
        raise SpreadsheetError(encrypted_message(name)) from None
    except Exception:  # calamine raises several exception types for broken files; their text is English
        raise SpreadsheetError(f"无法打开{name}：文件已损坏或不是有效的 Excel 文件；{SAVE_AS}") from None


def sheet_visibility(data: bytes) -> dict[str, bool]:
    """Sheet name → visible, in workbook order (xlsx: from workbook.xml, no cell read); ``{}`` for csv."""
    kind = detect_format(data)
    if kind == "csv":
        return {}
    if kind == "xlsx":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            parts = xlsx_parts.workbook_parts(zf)
        if parts.sheets:
            return {s.name: s.state == "visible" for s in parts.sheets}
    metas = _open_workbook(data, "文件").sheets_metadata
    return {m.name: m.visible == python_calamine.SheetVisibleEnum.Visible for m in metas}


def list_sheets(data: bytes) -> list[str]:
    """Sheet names of an xlsx/xls file (``[]`` for csv), hidden ones included."""
    kind = detect_format(data)
    if kind == "csv":
        return []
    if kind == "xlsx":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            parts = xlsx_parts.workbook_parts(zf)
        if parts.sheets:
            return [s.name for s in parts.sheets]
    return list(_open_workbook(data, "文件").sheet_names)


def _read_workbook(
    data: bytes,
    name: str,
    kind: Format,
    expected: Sequence[str] | None,
    sheet: int | str | None,
    limits: ReadLimits,
    exclude: Sequence[str] = (),
) -> ReadResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    zf: zipfile.ZipFile | None = None
    parts = xlsx_parts.WorkbookParts()
    if kind == "xlsx":
        zf = zipfile.ZipFile(io.BytesIO(data))
        try:
            xlsx_parts.check_zip(
                zf,
                max_unpacked=limits.max_unpacked,
                max_ratio=limits.max_ratio,
                ratio_floor=limits.ratio_floor,
            )
            parts = xlsx_parts.workbook_parts(zf)
        except xlsx_parts.PartsError as exc:
            raise SpreadsheetError(f"{name}{exc}；{SAVE_AS}") from None
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError):
            raise SpreadsheetError(f"{name}看似 Excel（zip）文件，但已损坏，无法打开") from None
    book: xls_parts.XlsBook | None = None
    if kind == "xls":  # before calamine, which trusts the sheet directory
        try:
            book = xls_parts.read_book(data)
        except xls_parts.EncryptedXls:
            raise SpreadsheetError(encrypted_message(name)) from None
        except xlsx_parts.PartsError as exc:
            raise SpreadsheetError(f"无法读取{name}：{exc}；{SAVE_AS}") from None
    wb = _open_workbook(data, name)
    metas = wb.sheets_metadata
    names = [m.name for m in metas]
    visible = [
        m.visible == python_calamine.SheetVisibleEnum.Visible
        and m.typ == python_calamine.SheetTypeEnum.WorkSheet
        for m in metas
    ]
    path_of = {p.name: p.path for p in parts.sheets}
    active_name = parts.sheets[parts.active].name if 0 <= parts.active < len(parts.sheets) else None
    xls_index: dict[str, int] = {}
    if book is not None:
        # The records must describe the sheets calamine read: by name, else (a BIFF5 code page
        # decoded differently) by position.
        xls_index = {s.name: i for i, s in enumerate(book.sheets)}
        if set(xls_index) != set(names) or len(xls_index) != len(names):
            if len(book.sheets) != len(names):
                raise SpreadsheetError(f"无法读取{name}：工作表目录已损坏；{SAVE_AS}")
            xls_index = {n: i for i, n in enumerate(names)}
        for i, n in enumerate(names):  # hidden by either reading is hidden
            sheet_record = book.sheets[xls_index[n]]
            visible[i] = visible[i] and sheet_record.state == "visible" and sheet_record.is_worksheet
        active_name = book.sheets[book.active].name if 0 <= book.active < len(book.sheets) else None

    empty_shared: list[frozenset[int]] = []

    def load(i: int) -> python_calamine.CalamineSheet:
        where = f"的工作表“{names[i]}”"
        path = path_of.get(names[i])
        declared = None
        if zf is not None and path:
            declared = xlsx_parts.declared_extent(zf, path)
        elif book is not None:
            try:
                declared = xls_parts.declared_extent(book, xls_index[names[i]])
            except xlsx_parts.PartsError as exc:
                raise SpreadsheetError(f"无法读取{name}：{exc}；{SAVE_AS}") from None
        if declared:
            _check_extent(name, where, declared[1], declared[2], limits, ref=declared[0])
        # Only a part large enough to hold a cell bomb is counted (a normal sheet is spared the pass).
        if (
            zf is not None
            and path
            and _part_size(zf, path)
            >= xlsx_parts.EMPTY_CELL_BYTES * min(limits.max_empty_cells, limits.max_cells)
        ):
            if not empty_shared:
                empty_shared.append(xlsx_parts.empty_shared_strings(zf, parts.shared_strings))
            try:
                census = xlsx_parts.cell_census(zf, path, empty_shared[0], empty_share=limits.max_empty_share)
            except (KeyError, zipfile.BadZipFile, OSError, EOFError, RuntimeError):
                raise SpreadsheetError(f"无法读取{name}{where}：内容已损坏；{SAVE_AS}") from None
            _check_census(name, where, census, limits)
        try:
            sh = wb.get_sheet_by_index(i)
        except Exception:
            raise SpreadsheetError(f"无法读取{name}{where}：内容已损坏；{SAVE_AS}") from None
        end = sh.end
        if end is not None:  # to_python(skip_empty_area=False) materialises from A1
            _check_extent(name, where, end[0] + 1, end[1] + 1, limits)
        return sh

    has_header = [False] * len(names)
    loaded: dict[int, python_calamine.CalamineSheet] = {}
    if sheet is not None:
        index = _sheet_index(names, sheet)
        if not visible[index]:
            raise SpreadsheetError(
                f"工作表“{names[index]}”是隐藏的工作表，不会读取；如确需导入，请在 Excel 中右键工作表标签选择"
                "“取消隐藏”，保存后再上传"
            )
        reason = "指定的工作表"
    else:
        shown = [i for i in range(len(names)) if visible[i] and names[i] not in exclude]
        if not shown:
            raise SpreadsheetError(f"{name}中没有可见的工作表（隐藏的工作表不会读取）")
        index, reason = shown[0], ("唯一的可见工作表" if len(shown) == 1 else "第一个可见工作表")
        if expected is not None and len(shown) > 1:
            scores: dict[int, float] = {}
            for i in shown:
                sh = load(i)
                head = _grid_to_frame(sh.to_python(skip_empty_area=False, nrows=HEADER_SCAN))
                scores[i] = header_match(head, expected)[1] if not head.empty else 0.0
                has_header[i] = scores[i] >= HEADER_QUALIFIES
                if has_header[i]:
                    loaded[i] = sh
            qualifying = [i for i in shown if has_header[i]]
            # A sheet whose header matches far less than the best one (a list sheet that only shares
            # 统一社会信用代码 and 企业名称) is not a contender for "the data sheet".
            best = max((scores[i] for i in qualifying), default=0.0)
            contenders = [i for i in qualifying if scores[i] >= HEADER_CONTENDER * best]
            if len(qualifying) == 1:
                index, reason = qualifying[0], "唯一含表头的可见工作表"
            elif len(contenders) == 1:
                index, reason = contenders[0], "表头与模板最吻合的可见工作表"
            elif not qualifying:
                index = max(shown, key=lambda i: (scores[i], -i))
                reason = "未找到含完整表头的工作表，读取最接近的一个"
            elif active_name in [names[i] for i in contenders]:
                index, reason = names.index(active_name), "多个工作表含表头，读取当前活动工作表"
            else:
                listed = "、".join(f"“{names[i]}”" for i in contenders)
                raise SheetChoiceNeeded(
                    f"{name}中有多个工作表都含表头：{listed}；请选择要导入的工作表",
                    [names[i] for i in contenders],
                )
    timings["choose"] = time.perf_counter() - t0

    # Error cells and percent formats are not in calamine's output: stream the sheet XML meanwhile
    # (zlib releases the GIL, so the scan overlaps the cell conversion below).
    scan_box: list[Any] = []
    scanner: threading.Thread | None = None
    path = path_of.get(names[index])
    if zf is not None and path:

        def run_scan() -> None:
            try:
                scan_box.append(xlsx_parts.scan_cells(zf, path, parts.percent_styles))
            except Exception as exc:  # a broken part: reported below
                scan_box.append(exc)

        scanner = threading.Thread(target=run_scan, name="xlsx-cell-scan", daemon=True)
        scanner.start()
    t1 = time.perf_counter()
    chosen = loaded.pop(index, None) or load(index)
    loaded.clear()
    try:
        rows = chosen.to_python(skip_empty_area=False)
    except Exception:
        raise SpreadsheetError(f"无法读取{name}的工作表“{names[index]}”：内容已损坏；{SAVE_AS}") from None
    del chosen
    frame = _grid_to_frame(rows)
    del rows
    timings["cells"] = time.perf_counter() - t1
    if frame.empty or frame.isna().all().all():
        raise SpreadsheetError(f"{name}的工作表“{names[index]}”中没有任何数据")
    _check_cell_chars(frame, name, limits)
    percent = errors = 0
    if scanner is not None:
        t2 = time.perf_counter()
        scanner.join()
        scan = scan_box[0] if scan_box else None
        if not isinstance(scan, xlsx_parts.CellScan):
            raise SpreadsheetError(f"无法读取{name}的工作表“{names[index]}”：内容已损坏；{SAVE_AS}")
        if scan.unplaced:
            raise SpreadsheetError(
                f"{name}的工作表“{names[index]}”中有 {scan.unplaced} 个错误值或百分比单元格无法定位（文件缺少单元格地址），"
                f"为避免读错已拒绝；{SAVE_AS}"
            )
        percent, errors = _apply_cell_scan(frame, scan)
        timings["scan_wait"] = time.perf_counter() - t2
    elif book is not None:
        t2 = time.perf_counter()
        try:
            scan = xls_parts.scan_cells(book, xls_index[names[index]])
        except xlsx_parts.PartsError as exc:
            raise SpreadsheetError(f"无法读取{name}：{exc}；{SAVE_AS}") from None
        percent, errors = _apply_cell_scan(frame, scan)
        timings["scan"] = time.perf_counter() - t2
    infos = [SheetInfo(n, visible[i], has_header[i]) for i, n in enumerate(names)]
    return ReadResult(
        frame=frame,
        sheet=names[index],
        reason=reason,
        sheets=infos,
        percent_cells=percent,
        error_cells=errors,
        timings=timings,
    )


def _decode_text(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise SpreadsheetError(f"无法识别{name}的文字编码：请另存为“CSV UTF-8”或 GBK 编码的 CSV，或直接上传 xlsx")


def _sniff_delimiter(text: str) -> str:
    """Comma unless another candidate splits the first lines more consistently (tab from Excel's
    "Unicode 文本", semicolon from European locales or chosen in LibreOffice's export dialog).

    Consistency first (how many lines hold the most common count), width second: Excel and LibreOffice
    write the same number of separators on every line, header included, whereas the commas of
    ``1,234,567.50`` shown as in the sheet appear on data lines only — however many there are.
    """
    lines = [ln for ln in text[:65536].splitlines()[:20] if ln.strip()]
    best, best_score = ",", (0, 0)
    for delim in (",", "\t", ";", "|"):
        counts = [ln.count(delim) for ln in lines]
        if not counts or max(counts) == 0:
            continue
        mode = max(set(counts), key=lambda n: (counts.count(n), n))
        if mode == 0:  # on most lines not a separator at all
            continue
        score = (counts.count(mode), mode)
        if score > best_score:
            best, best_score = delim, score
    return best


def _read_csv(data: bytes, name: str, limits: ReadLimits = DEFAULT_LIMITS) -> pd.DataFrame:
    text = _decode_text(data, name)
    if not text.strip().strip(",;\t"):
        raise SpreadsheetError(f"{name}中没有任何数据")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    rows: list[list[str]] = []
    width = 0
    try:
        for row in reader:  # limits checked row by row: a 100,000-column line is refused at once
            width = max(width, len(row))
            if width > limits.max_columns or (len(rows) + 1) * width > limits.max_cells:
                raise SpreadsheetError(
                    _extent_message(name, f"（至第 {reader.line_num:,} 行）", len(rows) + 1, width, limits)
                )
            rows.append(row)
    except csv.Error:
        raise SpreadsheetError(
            f"{name}第 {reader.line_num:,} 行附近不是有效的 CSV（单元格内容过长或引号不配对）；"
            "请检查该行，或在 Excel 中另存为 xlsx 后上传"
        ) from None
    del text
    frame = _grid_to_frame(rows)
    if frame.empty or frame.isna().all().all():
        raise SpreadsheetError(f"{name}中没有任何数据")
    _check_cell_chars(frame, name, limits)
    return frame


def check_upload(data: bytes, filename: str = "", limits: ReadLimits = DEFAULT_LIMITS) -> Format:
    """The cheap refusals, before any cell is read: a file over ``limits.max_bytes``, then anything
    :func:`detect_format` refuses (PDF, HTML, encrypted…). Returns the format."""
    if len(data) > limits.max_bytes:
        raise SpreadsheetError(
            f"{display_name(filename)}过大（{_mb(len(data))}），上限为 {_mb(limits.max_bytes)}；请拆分后分批导入"
        )
    return detect_format(data, filename)


def read_in_process(
    data: bytes,
    filename: str = "",
    *,
    expected: Sequence[str] | None = None,
    sheet: int | str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    exclude: Sequence[str] = (),
) -> ReadResult:
    """Read a file into a raw sheet in this process.

    Never a hidden sheet. Without ``sheet``: the only visible sheet; with several, the one whose
    first rows best match ``expected`` header names — the active sheet when several have a header,
    ``SheetChoiceNeeded`` (with the candidates) when the active one is not among them. Sheets named
    in ``exclude`` (list sheets, instructions) are not candidates. Every refusal is a
    ``SpreadsheetError`` with a Chinese message. Every declared size is checked, but nothing bounds
    the memory or time calamine takes: an untrusted upload goes through ``adapters.reader_worker``,
    which runs this in a child process with limits.
    """
    kind = check_upload(data, filename, limits)
    name = display_name(filename)
    expected = list(expected) if expected is not None else None
    if kind == "csv":
        t0 = time.perf_counter()
        frame = _read_csv(data, name, limits)
        return ReadResult(frame=frame, timings={"cells": time.perf_counter() - t0})
    return _read_workbook(data, name, kind, expected, sheet, limits, exclude)


# ---------------------------------------------------------------------------------------------------
# Header handling
# ---------------------------------------------------------------------------------------------------

_SPACES = re.compile(r"[\s\u00a0\u3000\ufeff]+")


def header_key(value: Any) -> str:
    """Comparison key of a header cell: NFKC (full-width → half-width), no spaces, no required-field
    asterisks, case-folded. ``研发投入（万元）*`` and ``研发投入(万元)`` compare equal."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return _SPACES.sub("", text).strip("*").casefold()


def header_match(
    raw: pd.DataFrame, expected: Iterable[str], *, max_scan: int = HEADER_SCAN
) -> tuple[int, float]:
    """``(position, score)`` of the row among the first ``max_scan`` that best matches the expected
    header names; ``(-1, 0.0)`` when no row contains any. Exact (normalised) matches count 1,
    containment either way counts ½ (``企业名称（全称）`` for ``企业名称``); the earliest row wins a tie."""
    keys = {k for k in (header_key(e) for e in expected) if k}
    if not keys:
        raise ValueError("expected 不能为空")
    best_row, best_score = -1, 0.0
    for pos in range(min(max_scan, len(raw))):
        cells = {k for k in (header_key(v) for v in raw.iloc[pos].tolist()) if k}
        score = 0.0
        for key in keys:
            if key in cells:
                score += 1
            elif any(len(key) >= 2 and len(c) >= 2 and (key in c or c in key) for c in cells):
                score += 0.5
        if score > best_score:
            best_row, best_score = pos, score
    return best_row, best_score


def find_header_row(raw: pd.DataFrame, expected: Iterable[str], *, max_scan: int = HEADER_SCAN) -> int:
    """Position of the header row (see :func:`header_match`), so a title row above it never wins.

    Raises ``SpreadsheetError`` when no scanned row contains any expected name.
    """
    expected = list(expected)
    best_row, _ = header_match(raw, expected, max_scan=max_scan)
    if best_row < 0:
        sample = "、".join(expected[:5])
        raise SpreadsheetError(
            f"未找到表头：前 {max_scan} 行中没有任何一行包含预期的列名（如 {sample}）；请使用导入模板"
        )
    return best_row


def apply_header(raw: pd.DataFrame, row: int) -> pd.DataFrame:
    """Use raw row ``row`` (position) as header and the rows below it as data.

    Header names are stripped (incl. NBSP and full-width spaces); an unnamed column that holds data is
    called ``列F`` after its Excel letter; duplicate names get ``.1``, ``.2``…; columns empty in header
    and data and rows without any non-blank cell are dropped. ``__row__`` holds the 1-based spreadsheet
    row of each data row. Data cells are left raw.
    """
    header = [_SPACES.sub(" ", "" if pd.isna(v) else str(v)).strip() for v in raw.iloc[row].tolist()]
    body = raw.iloc[row + 1 :]
    blank = np.zeros(body.shape, dtype=bool)
    for j in range(body.shape[1]):
        col = body.iloc[:, j].astype("str")
        blank[:, j] = (col.isna() | col.str.strip().eq("")).to_numpy(dtype=bool)
    keep_cols = [j for j in range(raw.shape[1]) if header[j] or not blank[:, j].all()]
    keep_rows = ~blank[:, keep_cols].all(axis=1) if keep_cols else np.zeros(len(body), dtype=bool)
    names: list[str] = []
    seen: dict[str, int] = {}
    for j in keep_cols:
        label = header[j] or f"列{xlsx_parts.column_letters(j)}"
        if label in seen:
            seen[label] += 1
            label = f"{label}.{seen[label]}"
        else:
            seen[label] = 0
        names.append(label)
    positions = np.flatnonzero(keep_rows)
    data = body.iloc[positions, keep_cols].copy()
    data.columns = names
    # raw row i is spreadsheet row i + 1 (module docstring); body starts at raw row row + 1.
    data[ROW_COLUMN] = (positions + row + 2).astype(np.int64)
    return data.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------------

# Full-width digits/signs/separators → ASCII, Unicode spaces → space (trimmed later; an inner space
# stays and makes the cell invalid: "1 234" is ambiguous). Applied only to rows with non-ASCII text.
_NUMBER_TABLE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_NUMBER_TABLE.update({0x3000: " ", 0x00A0: " ", 0x202F: " ", 0xFEFF: None, 0x200B: None})
_NUMBER_TABLE.update({cp: " " for cp in range(0x2000, 0x200B)})
_NUMBER_TABLE.update({0x2212: ord("-"), 0xFE63: ord("-")})
_NUMBER_TABLE[0x3002] = ord(".")  # "。" typed as a decimal point by Chinese IMEs
_NUMBER_RE = r"[+-]?(?:\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?"


def parse_number_series(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``(values float64, invalid bool)``: empty → NaN and not invalid; unparseable → NaN and invalid."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        values = np.array(s.to_numpy(dtype=np.float64, na_value=np.nan))
        infinite = np.isinf(values)
        values[infinite] = np.nan
        return pd.Series(values, index=s.index), pd.Series(infinite, index=s.index)
    text = s.astype("str")
    non_ascii = text.str.contains(r"[^\x00-\x7f]", regex=True).to_numpy(dtype=bool, na_value=False)
    if non_ascii.any():  # rare: translate in Python only the rows that need it
        text = text.copy()
        text[non_ascii] = [v.translate(_NUMBER_TABLE) for v in text[non_ascii].tolist()]
    # pyarrow kernels straight on the Arrow array: 10× faster than pandas' regex replace/to_numeric.
    arr = pc.utf8_trim_whitespace(pa.array(text.array))
    empty = pc.fill_null(pc.equal(arr, ""), True).to_numpy(zero_copy_only=False)
    ok = pc.fill_null(pc.match_substring_regex(arr, f"^(?:{_NUMBER_RE})$"), False).to_numpy(
        zero_copy_only=False
    )
    cleaned = pc.replace_substring_regex(pc.if_else(pa.array(ok), arr, None), r"[,%]", "")
    values = np.array(pc.cast(cleaned, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    overflow = np.isinf(values)  # "1e999"
    values[overflow] = np.nan
    invalid = (~empty & ~ok) | overflow
    return pd.Series(values, index=s.index), pd.Series(invalid, index=s.index)


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


def excel_error_report(s: pd.Series) -> tuple[np.ndarray, np.ndarray, str]:
    """``(mask, problem per cell, fix)`` for cells holding an Excel error value.

    The reader yields an error cell as its literal (``#DIV/0!``), and a csv saved by Excel holds the
    same text; either way the cell is an error, never an empty cell ("keep the existing value"). A csv
    saved by LibreOffice holds its own codes where Excel has none (``Err:502``).
    """
    text = s.astype("str").str.strip().str.upper()
    libreoffice = text.str.startswith("ERR:5").to_numpy(dtype=bool, na_value=False)  # cheap before the regex
    if libreoffice.any():
        libreoffice = libreoffice & text.str.fullmatch(_LIBREOFFICE_ERROR).to_numpy(
            dtype=bool, na_value=False
        )
    mask = text.isin(xlsx_parts.EXCEL_ERRORS).to_numpy(dtype=bool, na_value=False) | libreoffice
    problems = np.full(len(s), None, dtype=object)
    for i in np.flatnonzero(mask):
        literal = text.iloc[i]
        if libreoffice[i]:
            problems[i] = f"单元格是 LibreOffice 错误值 Err:{literal[4:]}（公式计算出错）"
            continue
        meaning = _ERROR_MEANING.get(literal)
        problems[i] = f"单元格是 Excel 错误值 {literal}" + (
            f"（{meaning}，公式计算出错）" if meaning else "（公式计算出错）"
        )
    return mask, problems, EXCEL_ERROR_FIX


# ---------------------------------------------------------------------------------------------------
# Sanitising and writing
# ---------------------------------------------------------------------------------------------------

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
    widths = []
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
