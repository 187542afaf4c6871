"""Reading a csv: decoding, the delimiter, and the rows, checked against the limits as they come.

Text is decoded as UTF-8 (with or without BOM), else GB18030 (a superset of GBK, what Chinese Excel
saves), else UTF-16 when it has a BOM (Excel's "Unicode 文本"). The delimiter is a comma unless a tab,
semicolon or bar splits the first lines more consistently. Width and cell count are checked row by
row, so a 100,000-column line is refused at once; cells stay text (``cells.grid_to_frame``).
"""

from __future__ import annotations

import csv
import io

import pandas as pd

from core.spreadsheet.cells import grid_to_frame
from core.spreadsheet.errors import SpreadsheetError
from core.spreadsheet.limits import DEFAULT_LIMITS, ReadLimits, check_cell_chars, extent_message


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


def read_csv(data: bytes, name: str, limits: ReadLimits = DEFAULT_LIMITS) -> pd.DataFrame:
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
                    extent_message(name, f"（至第 {reader.line_num:,} 行）", len(rows) + 1, width, limits)
                )
            rows.append(row)
    except csv.Error:
        raise SpreadsheetError(
            f"{name}第 {reader.line_num:,} 行附近不是有效的 CSV（单元格内容过长或引号不配对）；"
            "请检查该行，或在 Excel 中另存为 xlsx 后上传"
        ) from None
    del text
    frame = grid_to_frame(rows)
    if frame.empty or frame.isna().all().all():
        raise SpreadsheetError(f"{name}中没有任何数据")
    check_cell_chars(frame, name, limits)
    return frame
