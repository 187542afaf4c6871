"""core.spreadsheet on files that must not take the server down, and on what offices really send.

Hostile files (tests/hostile_files.py) are refused with a Chinese message while this process — the
stand-in for the Streamlit server — goes on reading normal files. Sheet choice, percent formats, error
cells, encrypted workbooks and the quirks of files made by LibreOffice/WPS are built here with openpyxl,
msoffcrypto-tool or by writing the XML the way those programs do. Refusal times and memory growth are
printed by benchmarks/bench_hostile_files.py (not timed here).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import msoffcrypto.format.ooxml
import openpyxl
import pytest

from adapters import reader_worker as reader
from core import spreadsheet as sp
from core.spreadsheet import ReadLimits, SheetChoiceNeeded, SpreadsheetError
from tests import hostile_files as hf
from tests import xls_files
from tests.workbooks import workbook

HEADER = ["统一社会信用代码", "企业名称", "研发费用总额", "资产负债率"]
EXPECTED = [*HEADER, "营业收入"]
ROW = ["914403001922038216", "华为", 1234.5, 38.1]


def _save(wb: openpyxl.Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _normal_read_still_works() -> None:
    """The reading process survived and still serves the next upload."""
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    wb.active.append(ROW)
    raw = reader.read_table(_save(wb), "next.xlsx")
    assert raw.iloc[1].tolist() == ["914403001922038216", "华为", "1234.5", "38.1"]


def _no_english(message: str) -> None:
    """No library text: only names quoted from the file, cell references and product names."""
    message = re.sub(r"“[^”]*”|\b[A-Z]{1,3}\d+(?::[A-Z]{1,3}\d+)?\b", "", message)
    words = set(re.findall(r"[A-Za-z][A-Za-z]+", message)) - {
        "Excel",
        "WPS",
        "LibreOffice",
        "xlsx",
        "CSV",
        "Ctrl",
        "End",
        "MB",
    }
    assert not words, message


def _refusal(read: Callable[..., object], *args: object, **kwargs: object) -> str:
    """The message ``read(*args, **kwargs)`` refuses the file with, which has no library text."""
    with pytest.raises(SpreadsheetError) as info:
        read(*args, **kwargs)
    message = str(info.value)
    _no_english(message)
    return message


# --- hostile files -----------------------------------------------------------------------------------


def test_one_far_cell_with_honest_dimension_is_refused_before_reading() -> None:
    data = hf.far_cell()
    assert len(data) < 3000
    message = _refusal(reader.read_table, data, "far.xlsx")
    assert "XFD1048576" in message and "16,384 列" in message and "Ctrl+End" in message
    _normal_read_still_works()


@pytest.mark.parametrize("dimension", ["A1", None], ids=["dimension-lies", "no-dimension"])
def test_one_far_cell_that_hides_its_range_is_stopped_by_the_memory_limit(dimension: str | None) -> None:
    # calamine asks for 512 GB and aborts its process: the worker's, never this one.
    assert "内存上限" in _refusal(reader.read_table, hf.far_cell(dimension=dimension), "far.xlsx")
    _normal_read_still_works()


def test_a_merge_over_millions_of_cells_is_cut_to_the_table() -> None:
    """One <mergeCell ref="A3:IV1000000"/> under a 3-row table (~1 KB): the merge is cut to the table before
    any cell is looked at (unbounded, it took 43 s and 3.4 GB of the reader to list 255 million cells)."""
    data = hf.merge_bomb()
    assert len(data) < 3000
    result = reader.read_upload(data, "merge.xlsx")
    assert result.frame.shape == (3, 2) and result.merged_down == {}
    _normal_read_still_works()


def test_merges_covering_more_of_the_table_than_any_real_one_are_refused(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(sp.workbook, "MERGED_CELLS_MAX", 3)
    read = lambda ref: sp.read_in_process(sp.ReadRequest(hf.merge_bomb(ref), "merge.xlsx"))  # noqa: E731
    assert read("A2:B3").merged_down == {(2, 0): 1, (2, 1): 1}  # 2 covered cells: read, each named
    message = _refusal(read, "A1:B3")  # 4 covered cells
    assert "合并单元格覆盖了 4 个单元格" in message and "取消合并" in message


def test_tag_soup_is_refused_as_damaged_within_the_reader_s_time() -> None:
    """~2 KB of "<row <row …" in a cell of a sheet that hides a row: the look for hidden rows stops at each
    tag's end, so the file is refused as damaged, not after reading the part once per "<row" (27 s)."""
    data = hf.tag_soup()
    assert len(data) < 3000
    limits = ReadLimits(seconds=5)
    assert "内容已损坏" in _refusal(reader.read_upload, data, "soup.xlsx", limits=limits)
    _normal_read_still_works()


def test_cell_bomb_wider_than_the_limit_is_refused() -> None:
    data = hf.cell_bomb(rows=200, cols=2_100)  # 420,000 cells holding an empty string, no <dimension>
    with pytest.raises(SpreadsheetError, match=r"2,100 列.*超出可导入的上限"):
        reader.read_table(data, "bomb.xlsx")
    _normal_read_still_works()


def test_compressed_cell_bomb_is_refused_by_its_ratio() -> None:
    data = hf.compressed_cell_bomb(rows=1_000, cols=1_000)  # a million cells, 21 MB of XML in a few KB
    assert len(data) < 100_000
    with pytest.raises(SpreadsheetError, match="压缩比"):
        reader.read_table(data, "bomb.xlsx")


def test_cell_bomb_with_more_cells_than_the_limit_is_refused() -> None:
    data = hf.cell_bomb(rows=400, cols=300)
    with pytest.raises(SpreadsheetError, match="120,000 个单元格|超出可导入的上限"):
        reader.read_table(data, "bomb.xlsx", limits=ReadLimits(max_cells=100_000))
    with pytest.raises(SpreadsheetError, match="没有任何数据"):  # within the limit it is read: all empty
        reader.read_table(data, "bomb.xlsx", limits=ReadLimits(max_cells=200_000))


# The census runs on parts of ≥ 11 bytes × max_empty_cells; these limits scale the 5-million-cell
# bombs of the benchmark down to test size (the same rule, the same counting).
SMALL_BOMB = ReadLimits(max_empty_cells=100_000)


@pytest.mark.parametrize(
    "make",
    [lambda: hf.cell_bomb(rows=300, cols=500), lambda: hf.empty_cell_bomb(300, 500)],
    ids=["empty-shared-strings", "self-closing-cells"],
)
def test_cell_bomb_within_the_cell_limits_is_refused_by_its_empty_cells(make) -> None:
    data = make()  # 150,000 cells, all empty, fewer columns and cells than the limits allow
    message = _refusal(reader.read_upload, data, "bomb.xlsx", limits=SMALL_BOMB)
    assert "其中 150,000 个是空的" in message and "复制到新工作簿" in message
    _normal_read_still_works()


def test_a_sheet_with_many_gaps_is_not_a_cell_bomb() -> None:
    # A real export writes every cell, empty ones too: 4,000 rows × 35 columns, two thirds of them empty.
    letters = [hf.column_letters(c) for c in range(35)]
    head = "".join(
        hf.inline(f"{col}1", name)
        for col, name in zip(letters, [*EXPECTED, *(f"指标{j}" for j in range(30))], strict=True)
    )
    rows = [f'<row r="1">{head}</row>']
    for r in range(2, 4_002):
        cells = [
            f'<c r="{col}{r}"><v>{r + j}</v></c>' if j % 3 == 0 else f'<c r="{col}{r}"/>'
            for j, col in enumerate(letters)
        ]
        rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    data = hf.xlsx([("Sheet1", hf.sheet_xml("".join(rows)))])
    raw = reader.read_table(data, "gaps.xlsx", limits=ReadLimits(max_empty_cells=50_000))
    assert raw.shape == (4_001, 35) and raw.iloc[4_000, 3] == str(4_001 + 3)


def test_huge_shared_string_in_a_small_file_is_refused_by_its_ratio() -> None:
    data = hf.shared_string_bomb(megabytes=64)
    assert len(data) < 200_000
    with pytest.raises(SpreadsheetError, match=r"sharedStrings\.xml.*压缩比") as info:
        reader.read_table(data, "sst.xlsx")
    _no_english(str(info.value).replace("xl/sharedStrings.xml", ""))
    _normal_read_still_works()


def test_csv_with_100000_columns_is_refused() -> None:
    assert "120,000 列" in _refusal(reader.read_table, hf.wide_csv(columns=120_000, rows=5), "wide.csv")
    _normal_read_still_works()


def test_cell_longer_than_excel_allows_is_refused() -> None:
    text = "统一社会信用代码,企业名称\r\n914403001922038216," + "长" * 40_000 + "\r\n"
    with pytest.raises(SpreadsheetError, match=r"第 2 行 B 列.*40,000 个字符"):
        reader.read_table(text.encode("utf-8"), "long.csv")


def test_reading_past_the_time_limit_is_stopped() -> None:
    lines = ["a,b,c,d,e,f,g,h"] + [f"{i},{i},{i},{i},{i},{i},{i},{i}" for i in range(400_000)]
    data = "\r\n".join(lines).encode()
    with pytest.raises(SpreadsheetError, match="秒仍未完成"):
        reader.read_table(data, "slow.csv", limits=ReadLimits(seconds=0.05))
    _normal_read_still_works()


def test_reading_past_the_memory_limit_is_stopped() -> None:
    lines = ["a,b,c,d,e,f,g,h"] + [f"{i},{i},{i},{i},{i},{i},{i},{i}" for i in range(300_000)]
    with pytest.raises(SpreadsheetError, match="内存上限"):
        reader.read_table("\r\n".join(lines).encode(), "big.csv", limits=ReadLimits(memory=32 << 20))
    _normal_read_still_works()


def test_encrypted_workbook_says_how_to_remove_the_password() -> None:
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    out = io.BytesIO()
    msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(_save(wb))).encrypt("Secret123", out)
    message = _refusal(reader.read_table, out.getvalue(), "加密.xlsx")
    assert "已加密" in message and "文件 → 信息 → 保护工作簿 → 用密码进行加密" in message and "WPS" in message


def test_broken_workbook_message_has_no_library_text() -> None:
    data = hf.xlsx([("Sheet1", "<worksheet><sheetData><row r='1'><c r='A1'><v>1</v>")])  # truncated XML
    _refusal(reader.read_table, data, "broken.xlsx")


# --- which sheet -------------------------------------------------------------------------------------


COVER = [
    ["龙湾区 2024 年度企业研发数据报送"],
    [],
    ["报送单位：区税务局"],
    ["说明：统一社会信用代码须为 18 位"],
]
DATA_2024 = [HEADER, ROW]
DATA_2023 = [HEADER, ["914403001922038216", "华为", 999, 40]]


def test_hidden_draft_sheet_first_is_never_read() -> None:
    data = workbook(("旧稿", DATA_2023), ("数据", DATA_2024), hidden=("旧稿",), active=1)
    result = reader.read_upload(data, "x.xlsx", expected=EXPECTED)
    assert result.sheet == "数据"
    assert result.frame.iloc[1, 2] == "1234.5"
    assert result.hidden_sheets == ["旧稿"]
    assert "“数据”" in result.describe() and "已跳过隐藏的工作表 “旧稿”" in result.describe()
    # Without header names (score-file) the first *visible* sheet is read, still never the hidden one.
    assert reader.read_table(data, "x.xlsx").iloc[1, 2] == "1234.5"


def test_cover_sheet_first_still_finds_the_data_sheet() -> None:
    data = workbook(("封面", COVER), ("数据", DATA_2024))
    result = reader.read_upload(data, "x.xlsx", expected=EXPECTED)
    assert (result.sheet, result.reason) == ("数据", "唯一含表头的可见工作表")
    assert result.frame.iloc[0].tolist() == HEADER


def test_several_data_sheets_the_active_one_is_read_and_the_others_named() -> None:
    data = workbook(("2023年", DATA_2023), ("2024年", DATA_2024), active=1)
    result = reader.read_upload(data, "x.xlsx", expected=EXPECTED)
    assert result.sheet == "2024年" and "活动工作表" in result.reason
    assert result.other_data_sheets == ["2023年"]
    assert "另有工作表 “2023年” 也含表头" in result.describe()


def test_several_data_sheets_none_active_asks_which() -> None:
    data = workbook(("封面", COVER), ("2023年", DATA_2023), ("2024年", DATA_2024), active=0)
    with pytest.raises(SheetChoiceNeeded) as info:
        reader.read_upload(data, "x.xlsx", expected=EXPECTED)
    assert info.value.candidates == ["2023年", "2024年"]
    assert "“2023年”、“2024年”" in str(info.value)
    chosen = reader.read_upload(data, "x.xlsx", expected=EXPECTED, sheet="2023年")
    assert chosen.sheet == "2023年" and chosen.frame.iloc[1, 2] == "999"


def test_a_list_sheet_sharing_only_code_and_name_does_not_compete_with_the_data_sheet() -> None:
    items = [
        ["统一社会信用代码", "企业名称", "名称", "级别"],
        ["914403001922038216", "华为", "国家重点研发计划", "国家级"],
    ]
    data = workbook(("科技项目", items), ("数据", DATA_2024), active=0)
    result = reader.read_upload(data, "x.xlsx", expected=EXPECTED)
    assert (result.sheet, result.reason) == ("数据", "表头与模板最吻合的可见工作表")
    assert result.other_data_sheets == ["科技项目"]


def test_a_hidden_sheet_is_refused_even_by_name() -> None:
    data = workbook(("数据", DATA_2024), ("旧稿", DATA_2023), hidden=("旧稿",))
    with pytest.raises(SpreadsheetError, match="隐藏的工作表，不会读取"):
        reader.read_upload(data, "x.xlsx", expected=EXPECTED, sheet="旧稿")


def test_only_hidden_sheets_is_refused() -> None:
    data = hf.xlsx([("Sheet1", hf.sheet_xml(f'<row r="1">{hf.inline("A1", "x")}</row>'), "hidden")])
    with pytest.raises(SpreadsheetError, match="没有可见的工作表"):
        reader.read_table(data, "x.xlsx")


# --- percent formats and error cells -----------------------------------------------------------------


def test_percent_formatted_cells_read_as_the_percentage_excel_shows() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["资产负债率", "研发占比", "增长率", "文本百分比", "普通数字", "百分比格式的文字"])
    ws.append([0.381, 0.05, 0.1 + 0.2, "34.9%", 61.5, "暂无"])
    ws.append([1, 0.123456, -0.015, None, 0.381, None])
    for col, fmt in (("A", "0.0%"), ("B", "0%"), ("C", "0.00%"), ("F", "0.0%")):
        for row in (2, 3):
            ws[f"{col}{row}"].number_format = fmt
    result = reader.read_upload(_save(wb), "pct.xlsx")
    raw = result.frame
    assert raw.iloc[1].tolist() == ["38.1%", "5%", "30%", "34.9%", "61.5", "暂无"]
    assert raw.iloc[2, :3].tolist() == ["100%", "12.3456%", "-1.5%"]
    assert raw.iloc[2, 4] == "0.381"  # General format: the number as stored
    assert result.percent_cells == 6


def test_percent_style_written_like_libreoffice() -> None:
    # LibreOffice: built-in numFmtId 10 (0.00%) via cellXfs, t="n" on every number, no sharedStrings.
    rows = (
        f'<row r="1">{hf.inline("A1", "资产负债率")}{hf.inline("B1", "营业收入")}</row>'
        '<row r="2"><c r="A2" s="1" t="n"><v>0.381</v></c><c r="B2" s="0" t="n"><v>0.381</v></c></row>'
        '<row r="3"><c r="A3" s="2" t="n"><v>0.38100000000000001</v></c><c r="B3" s="3" t="n"><v>12</v></c></row>'
    )
    raw = reader.read_table(hf.xlsx([("Sheet1", hf.sheet_xml(rows, "A1:B3"))]), "lo.xlsx")
    assert raw.iloc[1].tolist() == ["38.1%", "0.381"]
    assert raw.iloc[2].tolist() == ["38.1%", "12"]


def test_error_cells_are_read_as_their_error_value() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["研发费用总额", "营业收入"])
    ws.append(["#DIV/0!", 100])
    ws.append(["#N/A", "#VALUE!"])
    ws.append(["#REF!", "#NAME?"])
    ws.append(["#NUM!", "#NULL!"])
    result = reader.read_upload(_save(wb), "err.xlsx")
    assert result.frame.iloc[1:, 0].tolist() == ["#DIV/0!", "#N/A", "#REF!", "#NUM!"]
    assert result.frame.iloc[1:, 1].tolist() == ["100", "#VALUE!", "#NAME?", "#NULL!"]
    assert result.error_cells == 7


def test_cached_formula_errors_and_shared_formulas_like_excel_and_wps_write_them() -> None:
    rows = (
        f'<row r="1">{hf.inline("A1", "研发费用")}{hf.inline("B1", "营业收入")}{hf.inline("C1", "占比")}</row>'
        '<row r="2"><c r="A2"><v>5</v></c><c r="B2"><v>0</v></c>'
        '<c r="C2" s="1" t="e"><f t="shared" ref="C2:C3" si="0">A2/B2</f><v>#DIV/0!</v></c></row>'
        '<row r="3"><c r="A3"><v>5</v></c><c r="B3"><v>20</v></c>'
        '<c r="C3" s="1"><f t="shared" si="0"/><v>0.25</v></c></row>'
    )
    raw = reader.read_table(hf.xlsx([("Sheet1", hf.sheet_xml(rows, "A1:C3"))]), "wps.xlsx")
    assert raw.iloc[1].tolist() == ["5", "0", "#DIV/0!"]
    assert raw.iloc[2].tolist() == ["5", "20", "25%"]


def test_formulas_written_by_a_program_without_a_result_read_as_their_text_never_empty() -> None:
    # openpyxl (a department's script) writes <f>…</f><v/>: no cached result, which calamine reads as
    # an empty cell — "keep the existing value", silently. The last row holds nothing but formulas.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["研发费用总额", "营业收入", "备注"])
    ws.append(["=10+20", 100, '=IF(A2>0,"a&b","")'])
    ws.append([5, "=A3*2", None])
    ws.append(["=SUM(A2:A3)", "=B2/4", None])
    result = reader.read_upload(_save(wb), "openpyxl.xlsx")
    assert result.frame.iloc[1:].fillna("").values.tolist() == [
        ["=10+20", "100", '=IF(A2>0,"a&b","")'],
        ["5", "=A3*2", ""],
        ["=SUM(A2:A3)", "=B2/4", ""],
    ]
    mask, problems, fixes = sp.excel_error_report(result.frame.iloc[1:, 1])
    assert mask.tolist() == [False, True, True]
    assert problems[1].startswith("单元格是公式，但文件中没有保存它的计算结果")
    assert "Excel 或 WPS 打开" in fixes[1] and "选择性粘贴" in fixes[1]


def test_formula_results_excel_caches_are_values_and_an_empty_text_result_stays_empty() -> None:
    rows = (
        f'<row r="1">{hf.inline("A1", "研发费用")}{hf.inline("B1", "营业收入")}{hf.inline("C1", "备注")}</row>'
        '<row r="2"><c r="A2"><f>10+20</f><v>30</v></c><c r="B2"><f t="shared" ref="B2:B3" si="0">A2*2</f>'
        '<v>60</v></c><c r="C2" t="str"><f>IF(A2&gt;0,"","x")</f><v></v></c></row>'
        '<row r="3"><c r="A3"><v>5</v></c><c r="B3"><f t="shared" si="0"/></c></row>'
    )
    raw = reader.read_table(hf.xlsx([("Sheet1", hf.sheet_xml(rows, "A1:C3"))]), "excel.xlsx")
    assert raw.iloc[1].fillna("").tolist() == ["30", "60", ""]
    assert raw.iloc[2].fillna("").tolist() == ["5", "=（公式）", ""]  # a shared follower nobody calculated


@pytest.mark.parametrize("dimension", [None, "A1", "A1:C3"], ids=["no-dimension", "lying-A1", "honest"])
def test_inline_strings_without_or_with_lying_dimension(dimension: str | None) -> None:
    rows = (
        f'<row r="1">{hf.inline("A1", "统一社会信用代码")}{hf.inline("B1", "企业名称")}'
        f"{hf.inline('C1', '研发费用总额')}</row>"
        f'<row r="2">{hf.inline("A2", "914403001922038216")}{hf.inline("B2", "华为")}<c r="C2"><v>12.5</v></c></row>'
        f'<row r="3">{hf.inline("A3", "91440300708461136T")}{hf.inline("B3", "腾讯")}<c r="C3"><v>7</v></c></row>'
    )
    raw = reader.read_table(hf.xlsx([("Sheet1", hf.sheet_xml(rows, dimension))]), "lo.xlsx")
    assert raw.shape == (3, 3)
    assert raw.iloc[2].tolist() == ["91440300708461136T", "腾讯", "7"]


def test_excel_error_report_names_the_error() -> None:
    import pandas as pd

    mask, problems, fix = sp.excel_error_report(
        pd.Series(["#DIV/0!", "12", None, " #n/a ", "#REF"], dtype="str")
    )
    assert mask.tolist() == [True, False, False, True, False]
    assert problems[0] == "单元格是 Excel 错误值 #DIV/0!（除数为 0，公式计算出错）"
    assert problems[3].startswith("单元格是 Excel 错误值 #N/A")
    assert "修正该公式" in fix[0] and "留空" in fix[0]


def test_libreoffice_error_codes_in_a_csv_are_errors_too() -> None:
    # LibreOffice's csv holds cells as shown: Err:502 (invalid argument, e.g. SQRT(-1)) where Excel has no code.
    import pandas as pd

    mask, problems, _ = sp.excel_error_report(
        pd.Series(["Err:502", " err:504", "Err:50", "Err:5021", "Err:502x", "12"], dtype="str")
    )
    assert mask.tolist() == [True, True, False, False, False, False]
    assert problems[0] == "单元格是 LibreOffice 错误值 Err:502（公式计算出错）"
    assert problems[1] == "单元格是 LibreOffice 错误值 Err:504（公式计算出错）"


# --- Excel 97–2003 (.xls): the same reading rules from the BIFF records ------------------------------


def test_xls_percent_formats_read_as_the_percentage_excel_shows() -> None:
    rows = [
        ["资产负债率", "研发占比", "增长率", "普通数字", "公式占比", "文本"],
        [0.381, 0.05, 0.1 + 0.2, 61.5, xls_files.Formula("A2/2", 0.1905), "34.9%"],  # NUMBER cells
        [1, 2, -0.015, 0.381, xls_files.Formula("B3/8", 0.25), "暂无"],
    ]  # 1 and 2 are RK/MULRK cells
    formats = {("S", 0): "0.0%", ("S", 1): "0%", ("S", 2): "0.00%", ("S", 4): "0.0%", ("S", 5): "0.0%"}
    result = reader.read_upload(xls_files.workbook(("S", rows), formats=formats), "pct.xls")
    raw = result.frame
    assert raw.iloc[1].tolist() == ["38.1%", "5%", "30%", "61.5", "19.05%", "34.9%"]
    assert raw.iloc[2].tolist() == ["100%", "200%", "-1.5%", "0.381", "25%", "暂无"]
    assert result.percent_cells == 8 and result.error_cells == 0


def test_xls_error_cells_cached_by_formulas_or_typed_are_read_as_their_error_value() -> None:
    rows = [
        ["研发费用总额", "营业收入", "占比"],
        [xls_files.Formula("1/0", "#DIV/0!"), 100, xls_files.Formula("NA()", "#N/A")],
        ["#VALUE!", xls_files.Formula("A9", "#REF!"), xls_files.Formula("A2*2", 5)],
        ["#NAME?", "#NUM!", "#NULL!"],
    ]
    result = reader.read_upload(xls_files.workbook(("S", rows)), "err.xls")
    assert result.frame.iloc[1:, 0].tolist() == ["#DIV/0!", "#VALUE!", "#NAME?"]
    assert result.frame.iloc[1:, 1].tolist() == ["100", "#REF!", "#NUM!"]
    assert result.frame.iloc[1:, 2].tolist() == ["#N/A", "5", "#NULL!"]
    assert result.error_cells == 7


def test_xls_sheet_choice_follows_the_xlsx_rule() -> None:
    data = [HEADER, ROW]
    hidden_best = xls_files.workbook(
        ("旧稿", [[*HEADER, "营业收入"], [*ROW, 1]]),
        ("封面", [["2024年度报送"]]),
        ("数据", data),
        hidden=("旧稿",),
        active=1,
    )
    result = reader.read_upload(hidden_best, "a.xls", expected=EXPECTED)
    assert result.sheet == "数据" and result.hidden_sheets == ["旧稿"]
    active = xls_files.workbook(("上半年", data), ("全年", data), active=1)
    result = reader.read_upload(active, "b.xls", expected=EXPECTED)
    assert (
        result.sheet == "全年"
        and "当前活动工作表" in result.reason
        and result.other_data_sheets == ["上半年"]
    )
    with pytest.raises(SheetChoiceNeeded) as info:
        reader.read_upload(
            xls_files.workbook(("说明", [["见各表"]]), ("上半年", data), ("全年", data)),
            "c.xls",
            expected=EXPECTED,
        )
    assert info.value.candidates == ["上半年", "全年"]
    with pytest.raises(SpreadsheetError, match="隐藏的工作表"):
        reader.read_upload(hidden_best, "a.xls", expected=EXPECTED, sheet="旧稿")


def _patched_record(data: bytes, record: bytes, at: int, value: bytes) -> bytes:
    """Overwrite bytes ``at`` into the body of the one record whose header is ``record``."""
    pos = data.index(record)
    assert data.find(record, pos + 1) == -1
    start = pos + 4 + at
    return data[:start] + value + data[start + len(value) :]


def test_xls_declared_range_beyond_the_limits_is_refused_before_reading() -> None:
    data = xls_files.workbook(("S", [HEADER, ROW]))
    # DIMENSIONS (0x0200, 14 bytes): first row, last row + 1 (u32 each), first column, last column + 1.
    bomb = _patched_record(data, b"\x00\x02\x0e\x00", 4, (65536).to_bytes(4, "little"))
    bomb = _patched_record(bomb, b"\x00\x02\x0e\x00", 10, (256).to_bytes(2, "little"))
    message = _refusal(reader.read_upload, bomb, "dim.xls")
    assert "A1:IV65536" in message and "65,536 行 × 256 列" in message and "Ctrl+End" in message
    _normal_read_still_works()


def test_xls_with_a_broken_sheet_directory_is_refused_in_chinese() -> None:
    data = xls_files.workbook(("S", [HEADER, ROW]))
    bounds = data.index(b"\x85\x00")  # BOUNDSHEET: the sheet's stream offset points nowhere
    broken = data[: bounds + 4] + (10**9).to_bytes(4, "little") + data[bounds + 8 :]
    assert "已损坏" in _refusal(reader.read_upload, broken, "broken.xls")
    _normal_read_still_works()


def test_encrypted_xls_says_how_to_remove_the_password() -> None:
    data = xls_files.workbook(("S", [HEADER, ROW]))
    # An encrypted .xls has a FILEPASS record in its globals; everything after it is unreadable.
    encrypted = data.replace(b"\x3d\x00\x12\x00", b"\x2f\x00\x12\x00", 1)  # WINDOW1 → FILEPASS
    assert encrypted != data
    with pytest.raises(SpreadsheetError, match="已加密.*用密码进行加密"):
        reader.read_upload(encrypted, "pw.xls")
