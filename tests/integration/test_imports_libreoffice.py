"""Department workbooks as LibreOffice itself saves them (.xlsx, .xls, .csv): percent formats, hidden and
active sheets, error cells cached by a formula LibreOffice computed, csv encodings and delimiters — the
stored values, the message, and that a refused file changed nothing (both backends).

The sources are written by openpyxl (no cached formula results: LibreOffice computes them on load) and
re-saved by ``soffice --headless --convert-to``, one call per target format for all sources, once per
module. The tests share one xdist group, so two soffice processes never run side by side.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import insert
from sqlmodel import Session

from core.credit_code import make_code
from db.models import Enterprise
from services import imports
from services.errors import ValidationFailed
from tests.integration import test_imports_reading as reading
from tests.integration.test_imports_reading import CODES, HEAD, body, commit, counts, dry, stored
from tests.workbooks import workbook

db = reading.db  # the same registered enterprises as the other reading tests

SOFFICE = shutil.which("soffice")
pytestmark = [
    pytest.mark.xdist_group("libreoffice"),
    pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed"),
]

# LibreOffice's csv filter options: separator, text delimiter (34 = "), character set (76 = UTF-8,
# 85 = GB18030), first line; cell contents are saved as shown (the default), so "38.1%" and
# "123,456.75" are what the file holds.
CSV_FILTERS = {
    "utf8": "csv:Text - txt - csv (StarCalc):44,34,76,1",
    "gb18030": "csv:Text - txt - csv (StarCalc):59,34,85,1",
}
CSV_ENCODINGS = {"utf8": "utf-8", "gb18030": "gb18030"}
CSV_SEPARATORS = {"utf8": b",", "gb18030": b";"}
# A department's csv: two dozen enterprises, amounts of millions (万元) shown with thousands separators,
# names with what trips a csv — a comma, quotes, a character outside GBK (GB18030 only).
CSV_CODES = [make_code(str(800 + i)) for i in range(24)]
CSV_NAMES = [
    "温州𫖯创科技有限公司",
    "龙湾“智造”研究院,有限公司",
    '浙江"东海"光电股份有限公司',
    *[f"温州市瓯江口第{i}新材料有限公司" for i in range(3, 24)],
]
CSV_HEAD = [*HEAD, "利润总额", "实缴税收"]
CSV_VALUES = {"T01": 1000123.5, "G01": 1234567.25, "G03": 1034567.5, "G04": 1004567.75}


def _xlsx(wb: openpyxl.Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _percent_source() -> bytes:
    """资产负债率 as fractions in percent formats: 38.1% and 34.9% (0.0%, the second a formula's result), 62% (0%),
    41.25% (0.00%)."""
    wb = openpyxl.load_workbook(io.BytesIO(workbook(("数据", [HEAD, *body()]))))
    ws = wb["数据"]
    for row, (value, fmt) in enumerate(
        [(0.381, "0.0%"), ("=0.698/2", "0.0%"), (0.62, "0%"), (0.4125, "0.00%")], start=2
    ):
        ws[f"E{row}"] = value
        ws[f"E{row}"].number_format = fmt
    return _xlsx(wb)


def _percent_amount_source() -> bytes:
    """营业收入 (万元) in a 0% format: LibreOffice shows 80000% — not an amount."""
    wb = openpyxl.load_workbook(io.BytesIO(workbook(("数据", [HEAD, *body()]))))
    for row in range(2, len(CODES) + 2):
        wb["数据"][f"D{row}"].number_format = "0%"
    return _xlsx(wb)


def _errors_source() -> bytes:
    """Formulas whose results LibreOffice computes and caches as errors."""
    rows = [HEAD, *body(rd=70)]
    rows[2][2] = "=1/0"  # 研发费用总额, row 3: #DIV/0!
    rows[4][3] = "=NA()"  # 营业收入, row 5: #N/A
    rows[1][3] = '="万元"+1'  # 营业收入, row 2: #VALUE!
    rows[3][4] = "=SQRT(-1)"  # 资产负债率, row 4: Err:502 in LibreOffice, an Excel code in xlsx/xls
    return workbook(("数据", rows))


def _csv_source() -> bytes:
    """What an office keeps before exporting csv: amounts in #,##0.00, ratios in 0.0%."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "数据"
    ws.append(CSV_HEAD)
    for i, (code, name) in enumerate(zip(CSV_CODES, CSV_NAMES, strict=True)):
        t01, g01, g03, g04 = (v + i for v in CSV_VALUES.values())
        ws.append([code, name, t01, g01, 0.381 + i / 100, g03, g04])
    for row in ws.iter_rows(min_row=2):
        for cell in row[2:]:
            cell.number_format = "#,##0.00"
        row[4].number_format = "0.0%"
    return _xlsx(wb)


def _filtered_source() -> bytes:
    """An AutoFilter on 企业名称 that shows企业0 and 企业2 only, saved as Excel saves a filtered sheet: the
    filter and the rows it hides (3 and 5) marked hidden."""
    wb = openpyxl.load_workbook(io.BytesIO(workbook(("数据", [HEAD, *body(rd=70)]))))
    ws = wb["数据"]
    ws.auto_filter.ref = f"A1:E{len(CODES) + 1}"
    ws.auto_filter.add_filter_column(1, ["读取测试企业0", "读取测试企业2"])
    for row in (3, 5):
        ws.row_dimensions[row].hidden = True
    return _xlsx(wb)


def _hidden_column_source() -> bytes:
    """营业收入 (column D) hidden by hand: last year's figures kept out of sight."""
    wb = openpyxl.load_workbook(io.BytesIO(workbook(("数据", [HEAD, *body(rd=70)]))))
    wb["数据"].column_dimensions["D"].hidden = True
    return _xlsx(wb)


def _accounting_source() -> bytes:
    """A finance office's sheet: 利润总额 in the accountant's format (a loss shown as "(1,234.50)"), the
    other amounts in ¥ currency formats (¥1,000,123.50, the 会计专用 "¥ 1,234.00") — a csv keeps what is shown."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "数据"
    ws.append(CSV_HEAD)
    for i, (code, name) in enumerate(zip(CSV_CODES, CSV_NAMES, strict=True)):
        t01, g01, g03, g04 = (v + i for v in CSV_VALUES.values())
        ws.append([code, name, t01, g01, 38.1, -g03 if i % 2 else g03, g04])
    for row in ws.iter_rows(min_row=2):
        row[2].number_format = '"¥"#,##0.00'
        row[3].number_format = '_ "¥"* #,##0.00_ ;_ "¥"* \\-#,##0.00_ '
        row[5].number_format = "#,##0.00_);(#,##0.00)"
        row[6].number_format = '"￥"#,##0.00;"￥"\\-#,##0.00'
    return _xlsx(wb)


def _cover_and_totals_source() -> bytes:
    """A report as a district office sends it: a cover sheet first (and active), the data on the second
    sheet under a title, closed by a 全区合计 row of SUM formulas that LibreOffice calculates."""
    rows = [HEAD, *body(rd=90)]
    last = len(rows)
    rows.append([None, "全区合计", *(f"=SUM({c}2:{c}{last})" for c in "CDE")])
    return workbook(
        ("封面", [["2025年度企业研发投入统计"], [], ["报送单位：龙湾区税务局"]]),
        ("数据", [["2025年度企业研发投入统计表"], *rows]),
        active=0,
    )


def _merged_source() -> bytes:
    """营业收入 of 企业1 and 企业2 drawn as one merged cell (D3:D4, 900): the sheet shows 900 on both rows."""
    rows = [HEAD, *body(rd=70)]
    rows[2][3], rows[3][3] = 900, None
    wb = openpyxl.load_workbook(io.BytesIO(workbook(("数据", rows))))
    wb["数据"].merge_cells("D3:D4")
    return _xlsx(wb)


SOURCES = {
    "merged": _merged_source,
    "cover_totals": _cover_and_totals_source,
    "filtered": _filtered_source,
    "hidden_column": _hidden_column_source,
    "percent": _percent_source,
    "percent_amount": _percent_amount_source,
    "hidden_first": lambda: workbook(
        ("2024年(旧)", [HEAD, *body(rd=1)]), ("数据", [HEAD, *body(rd=50)]), hidden=("2024年(旧)",), active=1
    ),
    "active_of_two": lambda: workbook(
        ("2023旧稿", [HEAD, *body(rd=1)]),
        ("2024上半年", [HEAD, *body(rd=30)]),
        ("2024全年", [HEAD, *body(rd=60)]),
        hidden=("2023旧稿",),
        active=2,
    ),
    "two_years": lambda: workbook(
        ("说明", [["填报说明：请分年度填写"]]),
        ("2023年", [HEAD, *body(rd=10)]),
        ("2024年", [HEAD, *body(rd=60)]),
        active=0,
    ),
    "good": lambda: workbook(("数据", [HEAD, *body(rd=50)])),
    "errors": _errors_source,
}


def _soffice(convert_to: str, outdir: Path, sources: list[Path], profile: Path) -> None:
    subprocess.run(
        [
            SOFFICE,
            "--headless",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            convert_to,
            "--outdir",
            str(outdir),
            *map(str, sources),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], bytes]:
    """``(source, format) → bytes`` of every source as LibreOffice saved it (xlsx, xls, utf8, gb18030, ods)."""
    root = tmp_path_factory.mktemp("libreoffice")
    src = root / "src"
    src.mkdir()
    workbooks = []
    for name, make in SOURCES.items():
        workbooks.append(src / f"{name}.xlsx")
        workbooks[-1].write_bytes(make())
    (src / "csv.xlsx").write_bytes(_csv_source())
    jobs = [("xlsx", "xlsx", workbooks), ("xls", "xls", workbooks)]
    (src / "accounting.xlsx").write_bytes(_accounting_source())
    jobs += [
        (kind, options, [src / "csv.xlsx", src / "errors.xlsx", src / "accounting.xlsx"])
        for kind, options in CSV_FILTERS.items()
    ]
    jobs.append(("ods", "ods", [src / "good.xlsx"]))  # LibreOffice's own format, what it saves by default
    out: dict[tuple[str, str], bytes] = {}
    for kind, convert_to, files in jobs:
        _soffice(convert_to, root / kind, files, root / "lo-profile")
        suffix = "csv" if kind in CSV_FILTERS else kind
        for f in files:
            out[(f.stem, kind)] = (root / kind / f"{f.stem}.{suffix}").read_bytes()
    return out


def _file(saved: dict[tuple[str, str], bytes], source: str, kind: str) -> tuple[bytes, str]:
    data = saved[(source, kind)]
    if kind == "xlsx":  # written by LibreOffice, not openpyxl
        assert b"<Application>LibreOffice" in _workbook_part(data, "docProps/app.xml")
    if kind == "xls":
        assert data[:4] == b"\xd0\xcf\x11\xe0"
    if kind in CSV_FILTERS:
        data.decode(CSV_ENCODINGS[kind])
        return data, "税务.csv"
    return data, f"税务.{kind}"


def _workbook_part(data: bytes, part: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(part)


# ------------------------------------------------------------------ (a) percent formats
@pytest.mark.parametrize("kind", ["xlsx", "xls"])
def test_percent_cells_store_the_percentage_libreoffice_shows(db: Session, saved, kind: str) -> None:
    data, name = _file(saved, "percent", kind)
    report = dry(db, data, file_name=name)
    assert report.ok, report.errors
    commit(db, data, report)
    assert stored(db, "G08") == {CODES[0]: 38.1, CODES[1]: 34.9, CODES[2]: 62.0, CODES[3]: 41.25}
    assert stored(db, "T01") == {c: 50.0 + i for i, c in enumerate(CODES)}  # the other columns as typed


@pytest.mark.parametrize("kind", ["xlsx", "xls"])
def test_percent_format_in_an_amount_column_is_refused_and_nothing_changes(
    db: Session, saved, kind: str
) -> None:
    data, name = _file(saved, "percent_amount", kind)
    before = counts(db)
    report = dry(db, data, file_name=name)
    assert not report.ok
    assert {(e["row"], e["column"], e["value"]) for e in report.errors} >= {(2, "营业收入", "80000%")}
    with pytest.raises(ValidationFailed, match="整批未导入"):
        commit(db, data, report)
    assert counts(db)[0] == before[0]


# ------------------------------------------------------------------ (b) hidden and active sheets
@pytest.mark.parametrize("kind", ["xlsx", "xls"])
def test_hidden_first_sheet_is_skipped_and_the_visible_one_named(db: Session, saved, kind: str) -> None:
    data, name = _file(saved, "hidden_first", kind)
    report = dry(db, data, file_name=name)
    assert report.ok and report.sheet == "数据"
    assert (
        "读取的工作表：“数据”" in report.sheet_note and "已跳过隐藏的工作表 “2024年(旧)”" in report.sheet_note
    )
    commit(db, data, report)
    assert stored(db, "T01") == {c: 50.0 + i for i, c in enumerate(CODES)}  # not last year's 1, 2, 3…


@pytest.mark.parametrize("kind", ["xlsx", "xls"])
def test_active_sheet_wins_among_visible_data_sheets(db: Session, saved, kind: str) -> None:
    data, name = _file(saved, "active_of_two", kind)
    report = dry(db, data, file_name=name)
    assert report.ok and report.sheet == "2024全年"
    assert "当前活动工作表" in report.sheet_note and "已跳过隐藏的工作表 “2023旧稿”" in report.sheet_note
    commit(db, data, report)
    assert stored(db, "T01") == {c: 60.0 + i for i, c in enumerate(CODES)}


@pytest.mark.parametrize("kind", ["xlsx", "xls"])
def test_two_data_sheets_with_the_cover_active_must_be_chosen(db: Session, saved, kind: str) -> None:
    data, name = _file(saved, "two_years", kind)
    before = counts(db)
    with pytest.raises(imports.SheetChoiceRequired) as info:
        dry(db, data, file_name=name)
    assert info.value.sheets == ["2023年", "2024年"]
    assert counts(db) == before
    report = dry(db, data, file_name=name, sheet="2024年")
    assert report.sheet == "2024年"
    commit(db, data, report)
    assert stored(db, "T01") == {c: 60.0 + i for i, c in enumerate(CODES)}


@pytest.mark.parametrize("kind", ["xlsx", "xls"])
def test_data_behind_a_cover_sheet_with_a_totals_row_is_imported_without_it(
    db: Session, saved, kind: str
) -> None:
    data, name = _file(saved, "cover_totals", kind)
    report = dry(db, data, file_name=name)
    assert report.ok, report.errors
    assert report.sheet == "数据" and report.row_count == len(CODES)
    assert [(s["row"], s["reason"]) for s in report.skipped] == [(len(CODES) + 3, "合计行")]
    commit(db, data, report)
    assert stored(db, "T01") == {c: 90.0 + i for i, c in enumerate(CODES)}


# ------------------------------------------------------------------ hidden rows and columns
@pytest.mark.parametrize("kind", ["xlsx", "xls"])
def test_rows_an_autofilter_hides_are_refused_by_row_and_nothing_changes(
    db: Session, saved, kind: str
) -> None:
    good, good_name = _file(saved, "good", "xlsx")
    commit(db, good, dry(db, good, file_name=good_name))
    data, name = _file(saved, "filtered", kind)
    before = counts(db)
    report = dry(db, data, file_name=name)
    assert not report.ok
    hidden = [e for e in report.errors if "隐藏" in e["problem"]]
    assert [(e["row"], e["column"], e["value"]) for e in hidden] == [
        (3, "统一社会信用代码", CODES[1]),
        (5, "统一社会信用代码", CODES[3]),
    ]
    assert "清除筛选" in hidden[0]["fix"] and "删除该行" in hidden[0]["fix"]
    assert any("第 3、5 行（共 2 行）在表格中是隐藏的" in n for n in report.notes)
    with pytest.raises(ValidationFailed, match="整批未导入"):
        commit(db, data, report)
    assert counts(db)[0] == before[0]
    assert stored(db, "T01")[CODES[1]] == 51.0  # neither imported nor "kept" by the file


@pytest.mark.parametrize("kind", ["xlsx", "xls"])
def test_a_hidden_column_with_data_is_refused_naming_it(db: Session, saved, kind: str) -> None:
    data, name = _file(saved, "hidden_column", kind)
    before = counts(db)
    with pytest.raises(ValidationFailed, match="D 列“营业收入”在表格中是隐藏的.*取消隐藏"):
        dry(db, data, file_name=name)
    assert counts(db) == before


@pytest.mark.parametrize("kind", ["xlsx", "xls"])
def test_an_amount_merged_across_two_enterprises_rows_is_refused_for_the_lower_row(
    db: Session, saved, kind: str
) -> None:
    good, good_name = _file(saved, "good", "xlsx")
    commit(db, good, dry(db, good, file_name=good_name))
    data, name = _file(saved, "merged", kind)
    before = counts(db)
    report = dry(db, data, file_name=name)
    assert [(e["row"], e["column"]) for e in report.errors] == [(4, "营业收入")]
    assert report.errors[0]["problem"].startswith("与第 3 行的单元格合并")
    assert "取消合并" in report.errors[0]["fix"]
    with pytest.raises(ValidationFailed, match="整批未导入"):
        commit(db, data, report)
    assert counts(db)[0] == before[0]
    assert stored(db, "G01")[CODES[2]] == 820.0  # not silently kept as if the file confirmed it


# ------------------------------------------------------------------ (c) error cells
@pytest.mark.parametrize("kind", ["xlsx", "xls", *CSV_FILTERS])
def test_cached_formula_errors_name_row_and_column_and_nothing_changes(db: Session, saved, kind: str) -> None:
    good, good_name = _file(saved, "good", "xlsx")
    commit(db, good, dry(db, good, file_name=good_name))
    data, name = _file(saved, "errors", kind)
    before = counts(db)
    report = dry(db, data, file_name=name)
    assert not report.ok
    problems = {(e["row"], e["column"]): e for e in report.errors}
    assert problems[(3, "研发费用总额")]["problem"].startswith("单元格是 Excel 错误值 #DIV/0!")
    assert problems[(5, "营业收入")]["problem"].startswith("单元格是 Excel 错误值 #N/A")
    assert problems[(2, "营业收入")]["problem"].startswith("单元格是 Excel 错误值 #VALUE!")
    # SQRT(-1): LibreOffice's own Err:502, which its xlsx and xls carry as an Excel code and its csv as shown
    lo_error = "单元格是 LibreOffice 错误值 Err:502" if kind in CSV_FILTERS else "单元格是 Excel 错误值 #"
    assert problems[(4, "资产负债率")]["problem"].startswith(lo_error)
    assert "修正该公式" in problems[(3, "研发费用总额")]["fix"]
    with pytest.raises(ValidationFailed, match="整批未导入"):
        commit(db, data, report)
    assert counts(db)[0] == before[0]
    assert stored(db, "T01")[CODES[1]] == 51.0  # the old value stays current, not "confirmed" by the file
    assert stored(db, "G01")[CODES[3]] == 830.0


# ------------------------------------------------------------------ (d) csv exports
@pytest.mark.parametrize("kind", list(CSV_FILTERS))
def test_csv_exported_by_libreoffice_is_imported_exactly(db: Session, saved, kind: str) -> None:
    db.execute(
        insert(Enterprise), [{"credit_code": c, "name": n} for c, n in zip(CSV_CODES, CSV_NAMES, strict=True)]
    )
    db.commit()
    data = saved[("csv", kind)]
    text = data.decode(CSV_ENCODINGS[kind])  # what LibreOffice wrote: the encoding and separator asked for
    assert CSV_NAMES[0] in text and "38.1%" in text and "1,234,567.25" in text
    lines = data.splitlines()
    assert len(lines) == len(CSV_CODES) + 1
    assert {line.count(CSV_SEPARATORS[kind]) for line in lines} >= {len(CSV_HEAD) - 1}
    report = dry(db, data, file_name="税务.csv")
    assert report.ok, report.errors
    assert report.row_count == len(CSV_CODES) and not report.mismatches  # names with commas and quotes intact
    commit(db, data, report)
    for code, value in CSV_VALUES.items():
        assert stored(db, code) == {c: value + i for i, c in enumerate(CSV_CODES)}, code
    assert stored(db, "G08") == {c: round(38.1 + i, 1) for i, c in enumerate(CSV_CODES)}


@pytest.mark.parametrize("kind", list(CSV_FILTERS))
def test_csv_of_accounting_and_currency_formats_is_imported_exactly(db: Session, saved, kind: str) -> None:
    db.execute(
        insert(Enterprise), [{"credit_code": c, "name": n} for c, n in zip(CSV_CODES, CSV_NAMES, strict=True)]
    )
    db.commit()
    data = saved[("accounting", kind)]
    text = data.decode(CSV_ENCODINGS[kind])
    assert "(1,034,568.50)" in text and "¥1,000,123.50" in text and "￥1,004,567.75" in text  # as shown
    report = dry(db, data, file_name="财务.csv")
    assert report.ok, report.errors
    commit(db, data, report)
    for code in ("T01", "G01", "G04"):
        assert stored(db, code) == {c: CSV_VALUES[code] + i for i, c in enumerate(CSV_CODES)}, code
    losses = {c: (-1 if i % 2 else 1) * (CSV_VALUES["G03"] + i) for i, c in enumerate(CSV_CODES)}
    assert stored(db, "G03") == losses


# ------------------------------------------------------------------ LibreOffice's own format
@pytest.mark.parametrize("file_name", ["税务.ods", "税务.xlsx"])  # renamed or not: read by content
def test_ods_saved_by_libreoffice_is_refused_with_the_way_out(db: Session, saved, file_name: str) -> None:
    data = saved[("good", "ods")]
    before = counts(db)
    with pytest.raises(
        ValidationFailed, match=r"ODS（WPS/LibreOffice）格式.*LibreOffice 打开后另存为 \.xlsx"
    ):
        dry(db, data, file_name=file_name)
    assert counts(db) == before
