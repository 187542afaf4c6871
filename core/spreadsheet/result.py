"""What a read returns: the raw sheet, which sheet it was and why, and what else the workbook holds.

The frame is *raw*: every cell a string (pandas ``str`` dtype), empty cells missing, column labels
``0..n-1``, row ``i`` = spreadsheet row ``i + 1`` (leading empty rows are kept so that row numbers in
error reports are the ones the officer sees in Excel). ``describe`` is the Chinese line the dry run
shows: the sheet read, the hidden sheets skipped, the other sheets that also hold a header.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


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
    # Rows (1-based, as Excel numbers them) and columns (0-based positions in ``frame``) the sheet hides:
    # by hand, by an AutoFilter or in a collapsed group. Read like the others; the caller decides.
    hidden_rows: list[int] = field(default_factory=list)
    hidden_columns: list[int] = field(default_factory=list)
    # Cells merged into the one above them, holding no value of their own although the sheet shows the
    # merged value across: (row, column) of the cell (0-based, as ``frame``) → row of the merge's top.
    merged_down: dict[tuple[int, int], int] = field(default_factory=dict)
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
