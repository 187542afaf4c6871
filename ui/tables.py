"""Tables on screen and their downloads: readable cells, and exports through core.spreadsheet's sanitiser.

:func:`readable` is what every officer table goes through before ``st.dataframe``: missing values become
"—" (never ``None``, ``nan`` or ``<NA>``), booleans 是/否, datetimes Beijing time, list values (JSON text or
Python lists) a readable sentence — so Streamlit's English placeholders never show.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core.clock import display_time
from core.listtext import value_text
from core.spreadsheet import write_csv, write_xlsx
from ui.text import plain

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIME_BY_SUFFIX = {".xlsx": XLSX_MIME, ".csv": "text/csv", ".html": "text/html"}
MISSING = "—"
FULL_HEIGHT_ROWS = 60  # up to this many rows a table is as tall as its content (the 32 indicators fit)
SHOWN_ROWS = 1000  # rows a long list of enterprises shows (first_rows); its download carries every row


def cell_text(value: Any) -> Any:
    """One cell made readable (numbers stay numbers so columns still sort)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return MISSING
    if isinstance(value, float) and math.isnan(value):
        return MISSING
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime | date | pd.Timestamp):
        return display_time(value) or MISSING
    if isinstance(value, list | dict | tuple | str):
        text = value_text(list(value) if isinstance(value, tuple) else value)  # core.listtext: the one place
        return value if text is None else text
    return value


def _number_text(value: Any) -> str:
    """A number as text for a column that also shows "—": integral values without ".0", others to at
    most 4 decimals (what the stored values carry)."""
    if value == MISSING:
        return MISSING
    number = float(value)
    if number.is_integer():
        return str(int(number))
    return f"{number:.4f}".rstrip("0").rstrip(".")


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy for display: see the module docstring. Numeric columns without gaps keep their dtype; a
    numeric column with gaps becomes text throughout, because one column mixing numbers and "—" cannot
    be sent to the browser (Arrow needs one type per column)."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        numeric = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)
        if numeric and not series.isna().any():
            continue
        if _plain_texts(series):  # names, codes, labels: only list/object JSON text changes (see cell_text)
            structured = np.flatnonzero(series.str.lstrip().str[:1].isin(["[", "{"]).to_numpy())
            cells_array = series.to_numpy(dtype=object, copy=True)
            for i in structured.tolist():
                cells_array[i] = cell_text(cells_array[i])
            out[column] = pd.Series(cells_array, index=out.index, dtype=object)
            continue
        if pd.api.types.is_bool_dtype(series.dtype) and not series.isna().any():
            out[column] = pd.Series(
                np.where(series.to_numpy(dtype=bool), "是", "否"), index=out.index, dtype=object
            )
            continue
        cells = [cell_text(v) for v in series.tolist()]
        if numeric or _mixes_numbers_and_text(cells):
            cells = [c if isinstance(c, str) and not _is_number(c) else _number_text(c) for c in cells]
        out[column] = pd.Series(cells, index=out.index, dtype=object)
    return out


def _plain_texts(series: pd.Series) -> bool:
    """Every cell is a str (no missing value, number or list): at 20,000 rows a cell-by-cell pass costs
    a good part of a second per column, and such a column only changes where a cell holds JSON text."""
    if pd.api.types.is_string_dtype(series.dtype) and not isinstance(series.dtype, pd.CategoricalDtype):
        return not series.isna().any() and pd.api.types.infer_dtype(series, skipna=False) == "string"
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _mixes_numbers_and_text(cells: list[Any]) -> bool:
    return any(_is_number(c) for c in cells) and any(isinstance(c, str) for c in cells)


def show_table(
    frame: pd.DataFrame | None,
    *,
    key: str | None = None,
    empty: str = "暂无数据。",
    columns: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Any:
    """The one table component: ``st.dataframe`` of :func:`readable` rows, without the index, full width;
    ``empty`` (Chinese) instead of Streamlit's empty grid. A table of up to :data:`FULL_HEIGHT_ROWS` rows is
    as tall as its rows (no inner scroll that hides the last ones, e.g. 合计).

    ``columns`` picks, orders and renames the shown columns ({source: heading}). Other keyword arguments
    go to ``st.dataframe`` (``hide_index`` and a stretched width are defaults). A number format in
    ``column_config`` for a column that :func:`readable` turned into text (it had gaps) is dropped: the
    text already carries the number.
    """
    if frame is None or len(frame) == 0:
        st.caption(empty)
        return None
    if columns:
        frame = frame[list(columns)].rename(columns=dict(columns))
    shown = readable(frame)
    config = kwargs.get("column_config")
    if config:
        kwargs["column_config"] = {
            name: _text_config(c)
            if name in shown.columns
            and shown[name].dtype == object
            and isinstance(c, dict)
            and c.get("type_config", {}).get("type") == "number"
            else c
            for name, c in config.items()
        }
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("width", "stretch")
    if len(shown) <= FULL_HEIGHT_ROWS:  # a short table shows every row: no inner scroll hiding 合计
        kwargs.setdefault("height", "content")
    return st.dataframe(shown, key=key, **kwargs)


def first_rows(frame: pd.DataFrame, count: str) -> pd.DataFrame:
    """The first :data:`SHOWN_ROWS` rows of a list of enterprises, after the caption ``count`` ("上榜企业
    N 家"), which then says the download holds them all. Every row shown travels to the browser on every
    run: 榜单与扶持's lists hold a fifth of the ranked enterprises (~104,000 at 520,000, ~1 s a visit)."""
    cut = len(frame) > SHOWN_ROWS
    st.caption(count + (f"，下表显示前 {SHOWN_ROWS:,} 家，下载包含全部。" if cut else "。"))
    return frame.head(SHOWN_ROWS)


def _text_config(config: dict) -> Any:
    return st.column_config.TextColumn(
        config.get("label"), help=config.get("help"), width=config.get("width")
    )


def download_table(
    content: pd.DataFrame | Mapping[str, pd.DataFrame], *, name: str, key: str, csv: bool = True
) -> None:
    """xlsx (bold frozen header, widths) and csv download buttons; every cell through the sanitiser.

    ``content``: one table, or sheets by name (the csv then holds the first sheet). The files are written
    when a button is clicked, not on every run of the page (tens of thousands of rows take seconds).
    """
    sheets = {name: content} if isinstance(content, pd.DataFrame) else dict(content)
    first = next(iter(sheets.values()))
    label = plain(name)  # button labels render Markdown; a name may quote user text (a carrier's name)
    files: dict[str, Callable[[], bytes]] = {"xlsx": lambda: write_xlsx(sheets)}
    if csv:
        files["csv"] = lambda: write_csv(first)
    for column, (fmt, data) in zip(st.columns(2), files.items(), strict=False):
        download_file(
            f"下载 {label}（{fmt}）", data, file_name=f"{name}.{fmt}", key=f"{key}_{fmt}", container=column
        )


def download_file(
    label: str, data: bytes | Callable[[], bytes], *, file_name: str, key: str, container: Any = None
) -> None:
    """A download button for ``file_name`` (xlsx, csv or html: the type follows the suffix), in
    ``container`` (default the page). ``data`` may be a function: it then writes the file when the
    button is clicked (Streamlit's deferred download), not on every run of the page."""
    where = container if container is not None else st
    mime = MIME_BY_SUFFIX[PurePath(file_name).suffix.lower()]
    where.download_button(label, data, file_name=file_name, mime=mime, key=key, icon=":material/download:")
