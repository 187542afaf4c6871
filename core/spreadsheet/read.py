"""Reading a file into a raw sheet, in this process: the cheap refusals, then csv or workbook.

``check_upload`` refuses what needs no parsing (too many bytes, a PDF, HTML or an encrypted workbook by
its content: ``detect``); ``read_in_process`` then reads a csv (``csvfile``) or one sheet of an
xlsx/xls (``workbook``) into a ``ReadResult``. Every declared size is checked on the way (``limits``),
but nothing here bounds the memory or time calamine takes: an untrusted upload goes through
``adapters.reader_worker.read_upload``, which runs ``read_in_process`` in a child process with limits.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from core.spreadsheet.csvfile import read_csv
from core.spreadsheet.detect import Format, detect_format
from core.spreadsheet.errors import display_name
from core.spreadsheet.limits import DEFAULT_LIMITS, ReadLimits, check_size
from core.spreadsheet.result import ReadResult
from core.spreadsheet.workbook import read_workbook


def check_upload(data: bytes, filename: str = "", limits: ReadLimits = DEFAULT_LIMITS) -> Format:
    """The cheap refusals, before any cell is read: a file over ``limits.max_bytes``, then anything
    :func:`detect_format` refuses (PDF, HTML, encrypted…). Returns the format."""
    check_size(data, display_name(filename), limits)
    return detect_format(data, filename)


@dataclass(frozen=True)
class ReadRequest:
    """One file to read and how: the bytes, the file's name, the header names ``expected`` (to choose
    a sheet), the ``sheet`` asked for, the ``limits`` and the sheet names to ``exclude``. What
    ``read_in_process`` reads, and what ``adapters.reader_worker`` hands its worker process."""

    data: bytes
    filename: str = ""
    expected: Sequence[str] | None = None
    sheet: int | str | None = None
    limits: ReadLimits = DEFAULT_LIMITS
    exclude: Sequence[str] = ()


def read_in_process(request: ReadRequest) -> ReadResult:
    """Read a file into a raw sheet in this process.

    Never a hidden sheet. Without ``sheet``: the only visible sheet; with several, the one whose
    first rows best match ``expected`` header names — the active sheet when several have a header,
    ``SheetChoiceNeeded`` (with the candidates) when the active one is not among them. Sheets named
    in ``exclude`` (list sheets, instructions) are not candidates. Every refusal is a
    ``SpreadsheetError`` with a Chinese message. Every declared size is checked, but nothing bounds
    the memory or time calamine takes: an untrusted upload goes through ``adapters.reader_worker``,
    which runs this in a child process with limits.
    """
    data, limits = request.data, request.limits
    kind = check_upload(data, request.filename, limits)
    name = display_name(request.filename)
    expected = list(request.expected) if request.expected is not None else None
    if kind == "csv":
        t0 = time.perf_counter()
        frame = read_csv(data, name, limits)
        return ReadResult(frame=frame, timings={"cells": time.perf_counter() - t0})
    return read_workbook(data, name, kind, expected, request.sheet, limits, request.exclude)
