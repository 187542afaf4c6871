"""Reading one sheet of an xlsx or xls: open, choose the sheet, check its size, convert, put back.

calamine reads the cells (the fastest reader there is). Before it does, the sizes a file declares are
checked: the zip directory and ``<dimension>`` (``ooxml``) or the BIFF records (``biff``, which also
check the sheet directory calamine trusts), and a sheet part large enough to hold a cell bomb has its
cells counted. A hidden sheet is never read; with several visible sheets the one whose first rows hold
the expected header is (the active one when several do, else ``SheetChoiceNeeded``). What calamine
drops — percent formats and error cells — is put back from the sheet XML, scanned in a thread while
calamine converts, or from the BIFF records (``cells.apply_cell_scan``).
"""

from __future__ import annotations

import io
import threading
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
import python_calamine

from core.spreadsheet import biff, ooxml
from core.spreadsheet.cells import apply_cell_scan, grid_to_frame, grow_to_scan
from core.spreadsheet.detect import Format, detect_format
from core.spreadsheet.errors import SAVE_AS, SheetChoiceNeeded, SpreadsheetError, encrypted_message
from core.spreadsheet.headers import HEADER_CONTENDER, HEADER_QUALIFIES, HEADER_SCAN, header_match
from core.spreadsheet.limits import ReadLimits, check_cell_chars, check_census, check_extent
from core.spreadsheet.result import ReadResult, SheetInfo


def _sheet_index(names: list[str], sheet: int | str) -> int:
    if isinstance(sheet, str):
        if sheet not in names:
            raise SpreadsheetError(f"找不到工作表“{sheet}”（现有：{'、'.join(names)}）")
        return names.index(sheet)
    if not 0 <= sheet < len(names):
        raise SpreadsheetError(f"文件只有 {len(names)} 个工作表，没有第 {sheet + 1} 个")
    return sheet


def open_workbook(data: bytes, name: str) -> python_calamine.CalamineWorkbook:
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
            parts = ooxml.workbook_parts(zf)
        if parts.sheets:
            return {s.name: s.state == "visible" for s in parts.sheets}
    metas = open_workbook(data, "文件").sheets_metadata
    return {m.name: m.visible == python_calamine.SheetVisibleEnum.Visible for m in metas}


def list_sheets(data: bytes) -> list[str]:
    """Sheet names of an xlsx/xls file (``[]`` for csv), hidden ones included."""
    kind = detect_format(data)
    if kind == "csv":
        return []
    if kind == "xlsx":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            parts = ooxml.workbook_parts(zf)
        if parts.sheets:
            return [s.name for s in parts.sheets]
    return list(open_workbook(data, "文件").sheet_names)


def _part_size(zf: zipfile.ZipFile, path: str) -> int:
    try:
        return zf.getinfo(path).file_size
    except KeyError:
        return 0


@dataclass
class _Workbook:
    """An opened workbook: calamine's view of its sheets, with what the parts readers add."""

    name: str  # the file, as messages name it
    limits: ReadLimits
    wb: python_calamine.CalamineWorkbook
    names: list[str]
    visible: list[bool]  # a visible worksheet by both readings
    active_name: str | None
    zf: zipfile.ZipFile | None = None  # xlsx only
    parts: ooxml.WorkbookParts = field(default_factory=ooxml.WorkbookParts)
    book: biff.XlsBook | None = None  # xls only
    xls_index: dict[str, int] = field(default_factory=dict)  # sheet name → index in book.sheets
    empty_shared: frozenset[int] | None = None  # empty shared strings, looked up once

    def where(self, i: int) -> str:
        return f"的工作表“{self.names[i]}”"

    def part(self, i: int) -> str | None:
        """The zip member holding sheet ``i`` (xlsx)."""
        return {p.name: p.path for p in self.parts.sheets}.get(self.names[i])


def _open(data: bytes, name: str, kind: Format, limits: ReadLimits) -> _Workbook:
    zf: zipfile.ZipFile | None = None
    parts = ooxml.WorkbookParts()
    if kind == "xlsx":
        zf = zipfile.ZipFile(io.BytesIO(data))
        try:
            ooxml.check_zip(
                zf,
                max_unpacked=limits.max_unpacked,
                max_ratio=limits.max_ratio,
                ratio_floor=limits.ratio_floor,
            )
            parts = ooxml.workbook_parts(zf)
        except ooxml.PartsError as exc:
            raise SpreadsheetError(f"{name}{exc}；{SAVE_AS}") from None
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError):
            raise SpreadsheetError(f"{name}看似 Excel（zip）文件，但已损坏，无法打开") from None
    book: biff.XlsBook | None = None
    if kind == "xls":  # before calamine, which trusts the sheet directory
        try:
            book = biff.read_book(data)
        except biff.EncryptedXls:
            raise SpreadsheetError(encrypted_message(name)) from None
        except ooxml.PartsError as exc:
            raise SpreadsheetError(f"无法读取{name}：{exc}；{SAVE_AS}") from None
    wb = open_workbook(data, name)
    metas = wb.sheets_metadata
    names = [m.name for m in metas]
    visible = [
        m.visible == python_calamine.SheetVisibleEnum.Visible
        and m.typ == python_calamine.SheetTypeEnum.WorkSheet
        for m in metas
    ]
    active_name = parts.sheets[parts.active].name if 0 <= parts.active < len(parts.sheets) else None
    opened = _Workbook(name, limits, wb, names, visible, active_name, zf=zf, parts=parts, book=book)
    if book is not None:
        _match_xls_records(opened, book)
    return opened


def _match_xls_records(opened: _Workbook, book: biff.XlsBook) -> None:
    """Tie the BIFF records to the sheets calamine read: by name, else (a BIFF5 code page decoded
    differently) by position. A sheet hidden by either reading is hidden; the active tab is the records'."""
    names = opened.names
    xls_index = {s.name: i for i, s in enumerate(book.sheets)}
    if set(xls_index) != set(names) or len(xls_index) != len(names):
        if len(book.sheets) != len(names):
            raise SpreadsheetError(f"无法读取{opened.name}：工作表目录已损坏；{SAVE_AS}")
        xls_index = {n: i for i, n in enumerate(names)}
    for i, n in enumerate(names):
        sheet_record = book.sheets[xls_index[n]]
        opened.visible[i] = (
            opened.visible[i] and sheet_record.state == "visible" and sheet_record.is_worksheet
        )
    opened.xls_index = xls_index
    opened.active_name = book.sheets[book.active].name if 0 <= book.active < len(book.sheets) else None


def _check_declared(opened: _Workbook, i: int) -> None:
    """Refuse sheet ``i`` by the used range it declares (xlsx ``<dimension>``, xls ``DIMENSIONS``)."""
    path = opened.part(i)
    declared = None
    if opened.zf is not None and path:
        declared = ooxml.declared_extent(opened.zf, path)
    elif opened.book is not None:
        try:
            declared = biff.declared_extent(opened.book, opened.xls_index[opened.names[i]])
        except ooxml.PartsError as exc:
            raise SpreadsheetError(f"无法读取{opened.name}：{exc}；{SAVE_AS}") from None
    if declared:
        check_extent(opened.name, opened.where(i), declared[1], declared[2], opened.limits, ref=declared[0])


def _check_cell_count(opened: _Workbook, i: int) -> None:
    """Count the cells of a sheet part large enough to hold a cell bomb (a normal sheet is spared the pass)."""
    zf, path, limits = opened.zf, opened.part(i), opened.limits
    if zf is None or not path:
        return
    if _part_size(zf, path) < ooxml.EMPTY_CELL_BYTES * min(limits.max_empty_cells, limits.max_cells):
        return
    if opened.empty_shared is None:
        opened.empty_shared = ooxml.empty_shared_strings(zf, opened.parts.shared_strings)
    try:
        census = ooxml.cell_census(zf, path, opened.empty_shared, empty_share=limits.max_empty_share)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, RuntimeError):
        raise SpreadsheetError(f"无法读取{opened.name}{opened.where(i)}：内容已损坏；{SAVE_AS}") from None
    check_census(opened.name, opened.where(i), census, limits)


def _load(opened: _Workbook, i: int) -> python_calamine.CalamineSheet:
    """Sheet ``i``, after its declared size, its cell count and the range calamine found were checked."""
    _check_declared(opened, i)
    _check_cell_count(opened, i)
    try:
        sh = opened.wb.get_sheet_by_index(i)
    except Exception:
        raise SpreadsheetError(f"无法读取{opened.name}{opened.where(i)}：内容已损坏；{SAVE_AS}") from None
    end = sh.end
    if end is not None:  # to_python(skip_empty_area=False) materialises from A1
        check_extent(opened.name, opened.where(i), end[0] + 1, end[1] + 1, opened.limits)
    return sh


@dataclass
class _Choice:
    index: int
    reason: str  # why this sheet, in Chinese
    has_header: list[bool]
    loaded: dict[int, python_calamine.CalamineSheet] = field(default_factory=dict)  # sheets already loaded


def _choose(
    opened: _Workbook, expected: Sequence[str] | None, sheet: int | str | None, exclude: Sequence[str]
) -> _Choice:
    names, visible = opened.names, opened.visible
    has_header = [False] * len(names)
    if sheet is not None:
        index = _sheet_index(names, sheet)
        if not visible[index]:
            raise SpreadsheetError(
                f"工作表“{names[index]}”是隐藏的工作表，不会读取；如确需导入，请在 Excel 中右键工作表标签选择"
                "“取消隐藏”，保存后再上传"
            )
        return _Choice(index, "指定的工作表", has_header)
    shown = [i for i in range(len(names)) if visible[i] and names[i] not in exclude]
    if not shown:
        raise SpreadsheetError(f"{opened.name}中没有可见的工作表（隐藏的工作表不会读取）")
    if expected is None or len(shown) == 1:
        return _Choice(shown[0], "唯一的可见工作表" if len(shown) == 1 else "第一个可见工作表", has_header)
    return _choose_by_header(opened, shown, expected, has_header)


def _choose_by_header(
    opened: _Workbook, shown: list[int], expected: Sequence[str], has_header: list[bool]
) -> _Choice:
    """Among several visible sheets, the one whose first rows hold the expected header."""
    names = opened.names
    scores: dict[int, float] = {}
    loaded: dict[int, python_calamine.CalamineSheet] = {}
    for i in shown:
        sh = _load(opened, i)
        head = grid_to_frame(sh.to_python(skip_empty_area=False, nrows=HEADER_SCAN))
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
        return _Choice(qualifying[0], "唯一含表头的可见工作表", has_header, loaded)
    if len(contenders) == 1:
        return _Choice(contenders[0], "表头与模板最吻合的可见工作表", has_header, loaded)
    if not qualifying:
        index = max(shown, key=lambda i: (scores[i], -i))
        return _Choice(index, "未找到含完整表头的工作表，读取最接近的一个", has_header, loaded)
    if opened.active_name in [names[i] for i in contenders]:
        return _Choice(
            names.index(opened.active_name), "多个工作表含表头，读取当前活动工作表", has_header, loaded
        )
    listed = "、".join(f"“{names[i]}”" for i in contenders)
    raise SheetChoiceNeeded(
        f"{opened.name}中有多个工作表都含表头：{listed}；请选择要导入的工作表",
        [names[i] for i in contenders],
    )


class _XlsxScan:
    """Error cells and percent formats are not in calamine's output: the sheet XML is streamed in a thread
    meanwhile (zlib releases the GIL, so the scan overlaps the cell conversion)."""

    def __init__(self, zf: zipfile.ZipFile, path: str, percent_styles: frozenset[int]) -> None:
        self._box: list[ooxml.CellScan | Exception] = []
        self._thread = threading.Thread(
            target=self._run, args=(zf, path, percent_styles), name="xlsx-cell-scan", daemon=True
        )
        self._thread.start()

    def _run(self, zf: zipfile.ZipFile, path: str, percent_styles: frozenset[int]) -> None:
        try:
            self._box.append(ooxml.scan_cells(zf, path, percent_styles))
        except Exception as exc:  # a broken part: reported by the reader
            self._box.append(exc)

    def result(self) -> ooxml.CellScan | Exception | None:
        self._thread.join()
        return self._box[0] if self._box else None


@dataclass
class _PutBack:
    frame: pd.DataFrame
    percent: int = 0
    errors: int = 0
    hidden_rows: list[int] = field(default_factory=list)  # 1-based
    hidden_columns: list[int] = field(default_factory=list)  # 0-based, within the frame


def _hidden(scan: ooxml.CellScan, width: int) -> tuple[list[int], list[int]]:
    """The scan's hidden rows as Excel numbers them and its hidden columns within ``width`` (a sheet may
    hide every column right of its table: 16,000 of them)."""
    rows = sorted({r + 1 for r in scan.hidden_rows})
    columns = sorted({c for lo, hi in scan.hidden_columns for c in range(lo, min(hi, width - 1) + 1)})
    return rows, columns


def _put_back(
    opened: _Workbook, index: int, frame: pd.DataFrame, scanner: _XlsxScan | None, timings: dict[str, float]
) -> _PutBack:
    """Percent, error and uncalculated formula cells written into ``frame`` (grown to hold them), and the
    rows and columns the sheet hides."""
    sheet_name = opened.names[index]
    t2 = time.perf_counter()
    if scanner is not None:
        scan = scanner.result()
        if not isinstance(scan, ooxml.CellScan):
            raise SpreadsheetError(f"无法读取{opened.name}的工作表“{sheet_name}”：内容已损坏；{SAVE_AS}")
        if scan.unplaced:
            raise SpreadsheetError(
                f"{opened.name}的工作表“{sheet_name}”中有 {scan.unplaced} 个错误值、公式、百分比单元格或隐藏行无法定位"
                f"（文件缺少单元格地址），为避免读错已拒绝；{SAVE_AS}"
            )
        timer = "scan_wait"
    elif opened.book is not None:
        try:
            scan = biff.scan_cells(opened.book, opened.xls_index[sheet_name])
        except ooxml.PartsError as exc:
            raise SpreadsheetError(f"无法读取{opened.name}：{exc}；{SAVE_AS}") from None
        timer = "scan"
    else:
        return _PutBack(frame)
    frame = grow_to_scan(frame, scan)
    percent, errors = apply_cell_scan(frame, scan)
    rows, columns = _hidden(scan, frame.shape[1])
    timings[timer] = time.perf_counter() - t2
    return _PutBack(frame, percent, errors, rows, columns)


# Cells that vertical merges cover below their top rows, within the table, looked at one by one. A real
# table has a handful (a 街道 column merged over each street's rows: one per enterprise at most); one
# <mergeCell ref="A2:IV1000000"/> in a 6 KB file asks for 255 million (40 s and 3.4 GB when not bounded).
MERGED_CELLS_MAX = 200_000


def _merge_ranges(sheet: python_calamine.CalamineSheet) -> list[tuple[int, int, int, int]]:
    """The sheet's merges that span several rows: (top row, first column, last row, last column)."""
    try:
        ranges = sheet.merged_cell_ranges or []
    except Exception:  # a format calamine reads no merges from
        return []
    return [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in ranges if r1 > r0]


def _merged_down(
    ranges: list[tuple[int, int, int, int]], frame: pd.DataFrame, where: str
) -> dict[tuple[int, int], int]:
    """Cells of ``frame`` a merge covers below its top, whose top holds a value: (row, column) → top row.
    Ranges are cut to the table first and their area counted before any cell is looked at."""
    rows, cols = frame.shape
    cut = [
        (r0, c0, min(r1, rows - 1), min(c1, cols - 1)) for r0, c0, r1, c1 in ranges if r0 < rows and c0 < cols
    ]
    covered = sum((r1 - r0) * (c1 - c0 + 1) for r0, c0, r1, c1 in cut if r1 > r0)
    if covered > MERGED_CELLS_MAX:
        raise SpreadsheetError(
            f"{where}的合并单元格覆盖了 {covered:,} 个单元格（上限 {MERGED_CELLS_MAX:,}），无法逐格核对；"
            "请选中整张表，在“开始”中点“合并后居中”取消合并，再保存上传"
        )
    out: dict[tuple[int, int], int] = {}
    for r0, c0, r1, c1 in cut:
        for c in range(c0, c1 + 1):
            if pd.notna(frame.iat[r0, c]):
                for r in range(r0 + 1, r1 + 1):
                    out[(r, c)] = r0
    return out


def read_workbook(
    data: bytes,
    name: str,
    kind: Format,
    expected: Sequence[str] | None,
    sheet: int | str | None,
    limits: ReadLimits,
    exclude: Sequence[str] = (),
) -> ReadResult:
    """One sheet of an xlsx/xls (``kind``) as a raw frame; ``name`` is the file as messages name it."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    opened = _open(data, name, kind, limits)
    choice = _choose(opened, expected, sheet, exclude)
    index = choice.index
    timings["choose"] = time.perf_counter() - t0
    path = opened.part(index)
    scanner = None
    if opened.zf is not None and path:
        scanner = _XlsxScan(opened.zf, path, opened.parts.percent_styles)
    t1 = time.perf_counter()
    chosen = choice.loaded.pop(index, None) or _load(opened, index)
    choice.loaded.clear()
    try:
        rows = chosen.to_python(skip_empty_area=False)
    except Exception:
        raise SpreadsheetError(
            f"无法读取{name}的工作表“{opened.names[index]}”：内容已损坏；{SAVE_AS}"
        ) from None
    merges = _merge_ranges(chosen)
    del chosen
    frame = grid_to_frame(rows)
    del rows
    timings["cells"] = time.perf_counter() - t1
    put = _put_back(opened, index, frame, scanner, timings)
    frame = put.frame
    if frame.empty or frame.isna().all().all():
        raise SpreadsheetError(f"{name}的工作表“{opened.names[index]}”中没有任何数据")
    check_cell_chars(frame, name, limits)
    infos = [SheetInfo(n, opened.visible[i], choice.has_header[i]) for i, n in enumerate(opened.names)]
    return ReadResult(
        frame=frame,
        sheet=opened.names[index],
        reason=choice.reason,
        sheets=infos,
        percent_cells=put.percent,
        error_cells=put.errors,
        hidden_rows=put.hidden_rows,
        hidden_columns=put.hidden_columns,
        merged_down=_merged_down(merges, frame, f"{name}的工作表“{opened.names[index]}”"),
        timings=timings,
    )
