"""Workbooks as offices build them (openpyxl): several sheets, hidden drafts, the active sheet, percent formats."""

from __future__ import annotations

import io

import openpyxl


def workbook(
    *sheets: tuple[str, list[list]],
    hidden: tuple[str, ...] = (),
    active: int = 0,
    percent_column: str | None = None,
) -> bytes:
    """xlsx bytes: ``sheets`` = ``(name, rows)`` in order; ``hidden`` sheet names; ``active`` sheet index;
    ``percent_column`` (a letter) gets the 0.0% format below the header row on every sheet."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets:
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
        if name in hidden:
            ws.sheet_state = "hidden"
        if percent_column:
            for r in range(2, len(rows) + 1):
                ws[f"{percent_column}{r}"].number_format = "0.0%"
    wb.active = active
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
