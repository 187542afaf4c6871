"""BIFF: what calamine does not tell us about an .xls (BIFF5/BIFF8, Excel 95–2003), read from its records.

The twin of ``ooxml`` for the old binary format: an OLE2 compound file whose ``Workbook``/``Book`` stream
is a sequence of records ``(id: u16, length: u16, body)``. In the globals: ``BOUNDSHEET`` (sheet order,
name, hidden state, where its records start), ``WINDOW1`` (active tab), ``FORMAT``/``XF`` (percent formats),
``FILEPASS`` (encrypted). In a sheet: ``DIMENSIONS`` (checked before calamine loads it), numeric cells
(``NUMBER``/``RK``/``MULRK``, numeric ``FORMULA``) in a percent format, and error results (``FORMULA``,
``BOOLERR``: ``#DIV/0!`` …, which calamine returns as empty), formulas a program wrote without their
result, hidden rows (``ROW``) and columns (``COLINFO``). Everything else is skipped by its length:
one pass over a sheet's records, never leaving the stream (at most the upload size).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

import olefile

from core.spreadsheet.ooxml import BUILTIN_PERCENT, CellScan, PartsError, column_letters, is_percent_code

BOF, EOF = 0x0809, 0x000A
BOUNDSHEET, WINDOW1, FORMAT, XF, FILEPASS, CODEPAGE = 0x0085, 0x003D, 0x041E, 0x00E0, 0x002F, 0x0042
DIMENSIONS, ROW, COLINFO, RECALCID = 0x0200, 0x0208, 0x007D, 0x01C1
ROW_HIDDEN = 0x0020  # ROW flags: fDyZero, the row is hidden (by hand, a filter or a collapsed group)
FORMULA_BLANK = 3  # a FORMULA's result type: a blank string
UNCALCULATED = "=（公式）"  # an uncalculated formula's text (the tokens are not decompiled)
NUMBER, RK, MULRK, FORMULA, BOOLERR = 0x0203, 0x027E, 0x00BD, 0x0006, 0x0205
BIFF8, BIFF5 = 0x0600, 0x0500
# BOOLERR / FORMULA error codes (MS-XLS 2.5.97.2 BErr).
ERROR_CODES = {
    0x00: "#NULL!",
    0x07: "#DIV/0!",
    0x0F: "#VALUE!",
    0x17: "#REF!",
    0x1D: "#NAME?",
    0x24: "#NUM!",
    0x2A: "#N/A",
    0x2B: "#GETTING_DATA",
}
_STATES = {0: "visible", 1: "hidden", 2: "veryHidden"}
_HEAD = struct.Struct("<HH")
_CELL = struct.Struct("<HHH")  # row, column, XF index: the start of every cell record
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


class EncryptedXls(PartsError):
    """The workbook globals carry a FILEPASS record: everything after it is encrypted."""


@dataclass(frozen=True)
class XlsSheet:
    name: str
    state: str  # visible / hidden / veryHidden
    is_worksheet: bool
    offset: int  # stream position of the sheet's BOF record


@dataclass
class XlsBook:
    stream: bytes
    biff: int
    sheets: list[XlsSheet] = field(default_factory=list)
    active: int = 0  # index into sheets (WINDOW1 itabCur)
    percent_xfs: frozenset[int] = frozenset()
    calculated: bool = False  # RECALCID: an office program (Excel, LibreOffice) calculated the formulas


def _workbook_stream(data: bytes) -> bytes:
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            for name in ("Workbook", "Book"):
                if ole.exists(name):
                    return ole.openstream(name).read()
    except (OSError, ValueError, IndexError, struct.error, RecursionError):
        raise PartsError("内部结构已损坏，无法打开") from None
    raise PartsError("不含 Excel 工作簿数据（可能是其他 Office 文档）")


def _records(stream: bytes, pos: int):
    """``(id, body start, body end)`` from ``pos`` until the end of the stream (a truncated record ends it)."""
    n = len(stream)
    unpack = _HEAD.unpack_from
    while pos + 4 <= n:
        rid, size = unpack(stream, pos)
        start = pos + 4
        pos = start + size
        if pos > n:
            return
        yield rid, start, pos


def _unicode_string(stream: bytes, start: int, end: int, count_bytes: int) -> str:
    """An XLUnicodeString (``count_bytes`` = 2) or ShortXLUnicodeString (1) inside ``[start, end)``."""
    if start + count_bytes + 1 > end:
        return ""
    cch = stream[start] if count_bytes == 1 else _U16.unpack_from(stream, start)[0]
    flags = stream[start + count_bytes]
    at = start + count_bytes + 1
    if flags & 0x08:  # rich text run count
        at += 2
    if flags & 0x04:  # extended (phonetic) data size
        at += 4
    if flags & 0x01:
        return stream[at : min(at + 2 * cch, end)].decode("utf-16-le", "replace")
    return stream[at : min(at + cch, end)].decode("latin-1")


def _byte_string(stream: bytes, start: int, end: int, codepage: str) -> str:
    """A BIFF5 string: one length byte, then bytes in the workbook's code page."""
    if start >= end:
        return ""
    cch = stream[start]
    raw = stream[start + 1 : min(start + 1 + cch, end)]
    try:
        return raw.decode(codepage, "replace")
    except LookupError:
        return raw.decode("latin-1")


def _codepage_name(value: int) -> str:
    return {1200: "utf-16-le", 1252: "cp1252", 936: "gbk", 950: "big5", 932: "cp932", 65001: "utf-8"}.get(
        value, f"cp{value}"
    )


def read_book(data: bytes) -> XlsBook:
    """Sheets (order, name, state, where each starts), the active tab and the percentage XF indices."""
    stream = _workbook_stream(data)
    if len(stream) < 8 or _HEAD.unpack_from(stream, 0)[0] != BOF:
        raise PartsError("不是 Excel 97–2003 或 Excel 95 格式（太旧或已损坏）")
    biff = _U16.unpack_from(stream, 4)[0]
    if biff not in (BIFF8, BIFF5):
        raise PartsError("不是 Excel 97–2003 或 Excel 95 格式（太旧或已损坏）")
    book = XlsBook(stream=stream, biff=biff)
    codepage = "cp1252"
    formats: dict[int, str] = {}
    xf_formats: list[int] = []
    active_seen = False
    for rid, start, end in _records(stream, 0):
        if rid == EOF:
            break
        if rid == FILEPASS:
            raise EncryptedXls("已加密")
        if rid == CODEPAGE and end - start >= 2:
            codepage = _codepage_name(_U16.unpack_from(stream, start)[0])
        elif rid == BOUNDSHEET and end - start >= 6:
            offset = _U32.unpack_from(stream, start)[0]
            state, kind = stream[start + 4] & 0x03, stream[start + 5]
            name = (
                _unicode_string(stream, start + 6, end, 1)
                if biff == BIFF8
                else _byte_string(stream, start + 6, end, codepage)
            )
            book.sheets.append(
                XlsSheet(name=name, state=_STATES.get(state, "hidden"), is_worksheet=kind == 0, offset=offset)
            )
        elif rid == WINDOW1 and end - start >= 12 and not active_seen:
            book.active = _U16.unpack_from(stream, start + 10)[0]
            active_seen = True
        elif rid == FORMAT and end - start >= 3:
            ifmt = _U16.unpack_from(stream, start)[0]
            formats[ifmt] = (
                _unicode_string(stream, start + 2, end, 2)
                if biff == BIFF8
                else _byte_string(stream, start + 2, end, codepage)
            )
        elif rid == XF and end - start >= 4:
            xf_formats.append(_U16.unpack_from(stream, start + 2)[0])
        elif rid == RECALCID:
            book.calculated = True
    for sheet in book.sheets:  # calamine trusts these offsets (and panics on a wrong one): check first
        if sheet.offset + 8 > len(stream) or _HEAD.unpack_from(stream, sheet.offset)[0] != BOF:
            raise PartsError(f"工作表“{sheet.name}”的数据位置已损坏（工作表目录有误）")
    book.percent_xfs = frozenset(
        i
        for i, fid in enumerate(xf_formats)
        if (fid in formats and is_percent_code(formats[fid]))
        or (fid not in formats and fid in BUILTIN_PERCENT)
    )
    return book


def _sheet_records(book: XlsBook, index: int):
    """The records of one sheet's substream (nested substreams, e.g. embedded charts, skipped)."""
    stream = book.stream
    offset = book.sheets[index].offset
    if offset + 4 > len(stream) or _HEAD.unpack_from(stream, offset)[0] != BOF:
        raise PartsError(f"工作表“{book.sheets[index].name}”的数据位置已损坏")
    depth = 0
    for rid, start, end in _records(stream, offset):
        if rid == BOF:
            depth += 1
            continue
        if rid == EOF:
            depth -= 1
            if depth == 0:
                return
            continue
        if depth == 1:
            yield rid, start, end


def declared_extent(book: XlsBook, index: int) -> tuple[str, int, int] | None:
    """``(ref, rows, columns)`` from A1 as the sheet's DIMENSIONS record declares it (None if absent)."""
    for rid, start, end in _sheet_records(book, index):
        if rid == DIMENSIONS:
            stream = book.stream
            if book.biff == BIFF8 and end - start >= 12:
                _first_row, last_row = struct.unpack_from("<II", stream, start)  # last is one past the end
                last_col = _U16.unpack_from(stream, start + 10)[0]
            elif end - start >= 8:
                _first_row, last_row, _first_col, last_col = struct.unpack_from("<HHHH", stream, start)
            else:
                return None
            rows, cols = int(last_row), int(last_col)
            if rows <= 0 or cols <= 0:
                return None
            return f"A1:{column_letters(cols - 1)}{rows}", rows, cols
        if rid in (NUMBER, RK, MULRK, FORMULA, BOOLERR):
            return None  # cells before any DIMENSIONS: none declared
    return None


def scan_cells(book: XlsBook, index: int) -> CellScan:
    """Error cells, percent-formatted numeric cells, formulas without a result and hidden rows and
    columns of one sheet (0-based row, column).

    A formula's result is always there in BIFF, but a program that writes formulas without calculating
    them (xlwt) stores a blank string, which calamine reads as an empty cell ("keep the current value").
    Excel and LibreOffice write the engine that calculated the workbook (``RECALCID``); without it a
    blank result is taken for an uncalculated formula, never for an empty cell."""
    out = CellScan()
    stream = book.stream
    percent = book.percent_xfs
    cell = _CELL.unpack_from
    u16 = _U16.unpack_from
    for rid, start, end in _sheet_records(book, index):
        if rid == FORMULA:
            if end - start < 14:
                continue
            row, col, xf = cell(stream, start)
            if stream[start + 12 : start + 14] == b"\xff\xff":  # not a number: string, boolean, error, empty
                kind = stream[start + 6]
                if kind == 2:
                    code = stream[start + 8]
                    out.errors.append((row, col, ERROR_CODES.get(code, "#N/A")))
                elif kind == FORMULA_BLANK and not book.calculated:
                    out.uncalculated.append((row, col, UNCALCULATED))
            elif xf in percent:
                out.percent.append((row, col))
        elif rid == BOOLERR:
            if end - start >= 8 and stream[start + 7] == 1:
                row, col, _xf = cell(stream, start)
                out.errors.append((row, col, ERROR_CODES.get(stream[start + 6], "#N/A")))
        elif rid == ROW:
            if end - start >= 14 and u16(stream, start + 12)[0] & ROW_HIDDEN:
                out.hidden_rows.append(u16(stream, start)[0])
        elif rid == COLINFO:
            if end - start >= 10 and u16(stream, start + 8)[0] & 1:
                first, last = u16(stream, start)[0], u16(stream, start + 2)[0]
                if first <= last:
                    out.hidden_columns.append((first, last))
        elif not percent:
            continue
        elif rid in (NUMBER, RK):
            if end - start >= 6:
                row, col, xf = cell(stream, start)
                if xf in percent:
                    out.percent.append((row, col))
        elif rid == MULRK and end - start >= 12:
            row, first = u16(stream, start)[0], u16(stream, start + 2)[0]
            for k in range((end - start - 6) // 6):
                if u16(stream, start + 4 + 6 * k)[0] in percent:
                    out.percent.append((row, first + k))
    return out
