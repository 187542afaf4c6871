"""What reading one upload may cost (``ReadLimits``), and the checks that refuse a file beyond it.

Declared sizes are checked before any cell is read: the file's bytes, a sheet's used range (declared
``<dimension>``/BIFF ``DIMENSIONS``, then the range calamine found), the cell census of a large sheet
part (a cell bomb of millions of empty cells), csv width row by row, and the length of every cell.
Each refusal names the sheet and says, in Chinese, how to fix the file. The sizes a file hides or lies
about are caught by the worker process's memory and time limits (``adapters.reader_worker``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.spreadsheet import ooxml
from core.spreadsheet.errors import SpreadsheetError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024


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


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def check_size(data: bytes, name: str, limits: ReadLimits) -> None:
    """Refuse a file over ``limits.max_bytes`` (``name`` as in messages: ``display_name``)."""
    if len(data) > limits.max_bytes:
        raise SpreadsheetError(
            f"{name}过大（{_mb(len(data))}），上限为 {_mb(limits.max_bytes)}；请拆分后分批导入"
        )


def extent_message(name: str, where: str, rows: int, cols: int, limits: ReadLimits, ref: str = "") -> str:
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


def check_extent(name: str, where: str, rows: int, cols: int, limits: ReadLimits, ref: str = "") -> None:
    if cols > limits.max_columns or rows > limits.max_rows or rows * cols > limits.max_cells:
        raise SpreadsheetError(extent_message(name, where, rows, cols, limits, ref))


def check_census(name: str, where: str, census: ooxml.CellCensus, limits: ReadLimits) -> None:
    """Refuse a sheet by its cell count before calamine parses it (see ``ooxml.cell_census``)."""
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


def check_cell_chars(frame: pd.DataFrame, name: str, limits: ReadLimits) -> None:
    for j in range(frame.shape[1]):
        lengths = pc.utf8_length(pa.array(frame.iloc[:, j].array))
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > limits.max_cell_chars:
            i = int(np.nanargmax(lengths.to_numpy(zero_copy_only=False).astype(float)))
            raise SpreadsheetError(
                f"{name}第 {i + 1} 行 {ooxml.column_letters(j)} 列的单元格有 {longest:,} 个字符，超过 Excel 单元格的上限"
                f"（{limits.max_cell_chars:,} 个字符），不像正常的表格内容；请检查该单元格"
            )
