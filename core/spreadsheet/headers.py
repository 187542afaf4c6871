"""Headers: finding the header row under title rows, and turning the raw grid into a table.

``header_key`` is the one comparison key of a header cell (NFKC, no spaces, no required-field
asterisks, case-folded: ``研发投入（万元）*`` equals ``研发投入(万元)``). ``header_match`` scores the first
rows against the expected names (exact 1, containment ½) and ``find_header_row`` picks the best, so a
title row never wins; the reader uses the same score to choose the sheet that holds the data.
``apply_header`` names the columns (``列F`` for an unnamed one with data, ``.1`` for duplicates), drops
empty rows and columns, and keeps the 1-based spreadsheet row of every data row in ``__row__``.
``header_table`` does all three, and joins a header drawn over two rows with merged cells
(``joined_header``): what every reader of a table with expected names calls.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from core.spreadsheet import ooxml
from core.spreadsheet.errors import SpreadsheetError
from core.spreadsheet.numbers import INVISIBLE_CHARS

ROW_COLUMN = "__row__"
SOURCE_COLUMNS = "source_columns"  # apply_header's table.attrs key: label → raw column position


HEADER_SCAN = 10  # rows searched for a header (find_header_row's default)
HEADER_QUALIFIES = 2.0  # header score from which a sheet counts as "holds the data"
HEADER_CONTENDER = 0.6  # …and, with several, share of the best score that still makes it a contender


# Spaces of every kind, and the invisible characters a header copied from a web page carries.
_SPACES = re.compile(f"[\\s\u00a0\u3000{INVISIBLE_CHARS}]+")


def compact_text(value: Any) -> str:
    """A cell's text as compared: NFKC (full-width → half-width) without any spaces (incl. NBSP, full-width
    space) or invisible characters (BOM, zero-width space…); ``""`` for a missing cell. ``１，２００　万元`` → ``1,200万元``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(value)))


def header_key(value: Any) -> str:
    """Comparison key of a header cell: ``compact_text`` without required-field asterisks, case-folded.
    ``研发投入（万元）*`` and ``研发投入(万元)`` compare equal."""
    return compact_text(value).strip("*").casefold()


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


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or not str(v).strip()


def joined_header(raw: pd.DataFrame, row: int, expected: Iterable[str]) -> tuple[int, list[Any] | None]:
    """A header split over two rows, as offices draw it with merged cells: ``(row, names)``.

    ``统一社会信用代码`` merged down over two rows (the text sits in the upper one) next to ``财务指标``
    merged across, with ``研发费用总额``/``营业收入`` under it: the best single row holds only some of the
    names. The lower row with its blank cells taken from the row above is the header when it matches
    the expected names better than ``row`` alone; then ``(lower row, joined names)``, else ``(row, None)``.
    """
    expected = list(expected)
    best = header_match(raw.iloc[[row]], expected)[1]
    choice: tuple[int, list[Any] | None] = (row, None)
    for upper in (row - 1, row):
        lower = upper + 1
        if upper < 0 or lower >= len(raw):
            continue
        above, below = raw.iloc[upper].tolist(), raw.iloc[lower].tolist()
        if sum(not _blank(a) for a in above) < 2:  # a title (one cell, merged across) is no header
            continue
        names = [a if _blank(b) else b for a, b in zip(above, below, strict=True)]
        score = header_match(pd.DataFrame([names]), expected)[1]
        if score > best:
            best, choice = score, (lower, names)
    return choice


def header_table(raw: pd.DataFrame, expected: Iterable[str], *, max_scan: int = HEADER_SCAN) -> pd.DataFrame:
    """The table under the header that matches ``expected``: :func:`find_header_row`, a header over two
    rows joined (:func:`joined_header`), then :func:`apply_header`."""
    expected = list(expected)
    row, names = joined_header(raw, find_header_row(raw, expected, max_scan=max_scan), expected)
    return apply_header(raw, row, names=names)


def apply_header(raw: pd.DataFrame, row: int, *, names: list[Any] | None = None) -> pd.DataFrame:
    """Use raw row ``row`` (position) — or ``names`` for it — as header and the rows below it as data.

    Header names are stripped (incl. NBSP and full-width spaces); an unnamed column that holds data is
    called ``列F`` after its Excel letter; duplicate names get ``.1``, ``.2``…; columns empty in header
    and data and rows without any non-blank cell are dropped. ``__row__`` holds the 1-based spreadsheet
    row of each data row. Data cells are left raw.
    """
    cells = raw.iloc[row].tolist() if names is None else names
    header = [_SPACES.sub(" ", "" if pd.isna(v) else str(v)).strip() for v in cells]
    body = raw.iloc[row + 1 :]
    blank = np.zeros(body.shape, dtype=bool)
    for j in range(body.shape[1]):
        col = body.iloc[:, j].astype("str")
        blank[:, j] = (col.isna() | col.str.strip().eq("")).to_numpy(dtype=bool)
    keep_cols = [j for j in range(raw.shape[1]) if header[j] or not blank[:, j].all()]
    keep_rows = ~blank[:, keep_cols].all(axis=1) if keep_cols else np.zeros(len(body), dtype=bool)
    labels: list[str] = []
    seen: dict[str, int] = {}
    for j in keep_cols:
        label = header[j] or f"列{ooxml.column_letters(j)}"
        if label in seen:
            seen[label] += 1
            label = f"{label}.{seen[label]}"
        else:
            seen[label] = 0
        labels.append(label)
    positions = np.flatnonzero(keep_rows)
    data = body.iloc[positions, keep_cols].copy()
    data.columns = labels
    # raw row i is spreadsheet row i + 1 (module docstring); body starts at raw row row + 1.
    data[ROW_COLUMN] = (positions + row + 2).astype(np.int64)
    data = data.reset_index(drop=True)
    data.attrs[SOURCE_COLUMNS] = dict(zip(labels, keep_cols, strict=True))
    return data


def source_columns(table: pd.DataFrame) -> dict[str, int]:
    """Column label → its position in the raw sheet (0 = column A), as :func:`apply_header` named it;
    taken off the table (pandas copies ``attrs`` with every operation)."""
    return table.attrs.pop(SOURCE_COLUMNS, {})
