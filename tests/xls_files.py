"""Excel 97–2003 (.xls) workbooks built the way offices save them, for the reader's tests.

xlwt writes number formats (``0.0%``), hidden sheets, the active tab, error constants (BOOLERR) and
formulas, but a formula without a cached result. Excel always saves the result it last computed, and
that is what a reader sees: ``cache_results`` writes it into the FORMULA record (a number, or an error
such as ``#DIV/0!``), exactly where Excel puts it (MS-XLS 2.4.127: row, column, XF, 8-byte result).
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import xlwt

ERROR_CODES = {
    "#NULL!": 0x00,
    "#DIV/0!": 0x07,
    "#VALUE!": 0x0F,
    "#REF!": 0x17,
    "#NAME?": 0x1D,
    "#NUM!": 0x24,
    "#N/A": 0x2A,
}


class Formula:
    """A formula cell and the result Excel cached for it (a number or an error literal)."""

    def __init__(self, text: str, result: float | str, style: str | None = None) -> None:
        self.text, self.result, self.style = text, result, style


def workbook(
    *sheets: tuple[str, Sequence[Sequence[Any]]],
    hidden: Sequence[str] = (),
    active: int = 0,
    formats: Mapping[tuple[str, int], str] | None = None,
) -> bytes:
    """An .xls with the given sheets (rows of cells); ``formats[(sheet, column)]`` is a number format
    for that column's data rows (row 2 on); ``Formula`` cells get their cached result."""
    wb = xlwt.Workbook(encoding="utf-8")
    styles: dict[str, xlwt.XFStyle] = {}

    def style(fmt: str | None) -> xlwt.XFStyle:
        if fmt is None:
            return xlwt.Style.default_style
        if fmt not in styles:
            styles[fmt] = xlwt.easyxf(num_format_str=fmt)
        return styles[fmt]

    cached: dict[tuple[int, int, int], float | str] = {}
    for s, (name, rows) in enumerate(sheets):
        ws = wb.add_sheet(name)
        if name in hidden:
            ws.visibility = 1
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                fmt = (formats or {}).get((name, c)) if r > 0 else None
                if value is None:
                    continue
                if isinstance(value, Formula):
                    ws.write(r, c, xlwt.Formula(value.text), style(value.style or fmt))
                    cached[(s, r, c)] = value.result
                elif isinstance(value, str) and value in ERROR_CODES:
                    # An error constant (BOOLERR). By code: xlwt maps the text "#VALUE!" to #NUM!'s code.
                    ws.row(r).set_cell_error(c, ERROR_CODES[value], style(fmt))
                else:
                    ws.write(r, c, value, style(fmt if isinstance(value, (int, float)) else None))
    wb.active_sheet = active
    buf = io.BytesIO()
    wb.save(buf)
    return cache_results(buf.getvalue(), cached)


def _result_bytes(result: float | str) -> bytes:
    if isinstance(result, str):
        return bytes([2, 0, ERROR_CODES[result], 0, 0, 0, 0xFF, 0xFF])
    return struct.pack("<d", float(result))


def cache_results(data: bytes, results: Mapping[tuple[int, int, int], float | str]) -> bytes:
    """Write each ``(sheet, row, column) → result`` into its FORMULA record (in place: sizes unchanged)."""
    if not results:
        return data
    out = bytearray(data)
    sheet_starts = [
        m.start()
        for m in re.finditer(re.escape(struct.pack("<HHH", 0x0809, 16, 0x0600)) + b"..", data, re.S)
        if data[m.start() + 6 : m.start() + 8] == b"\x10\x00"
    ]
    for (sheet, row, col), result in results.items():
        begin = sheet_starts[sheet]
        end = sheet_starts[sheet + 1] if sheet + 1 < len(sheet_starts) else len(data)
        cell = struct.pack("<HH", row, col)
        hits = [
            m.start()
            for m in re.finditer(b"\x06\x00..", data[begin:end], re.S)
            if data[begin + m.start() + 4 : begin + m.start() + 8] == cell
        ]
        assert len(hits) == 1, f"FORMULA record of sheet {sheet} R{row}C{col}: {hits}"
        at = begin + hits[0] + 4 + 6
        out[at : at + 8] = _result_bytes(result)
    return bytes(out)
