"""Spreadsheets built the way attackers and odd office tools build them, byte by byte.

Shared by the reader tests (tests/unit/test_spreadsheet_bounds.py) and the benchmark that times each
refusal (benchmarks/bench_hostile_files.py). Every builder returns the file's bytes.
"""

from __future__ import annotations

import io
import zipfile

from core.spreadsheet.ooxml import column_letters

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    "{sheets}"
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "{shared}"
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="0.0%"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    # 0 general, 1 built-in 0%, 2 custom 0.0%, 3 text "@"
    '<cellXfs count="4"><xf numFmtId="0" xfId="0"/><xf numFmtId="9" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" xfId="0" applyNumberFormat="1"/><xf numFmtId="49" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs></styleSheet>"
)
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
)


def sheet_xml(rows_xml: str, dimension: str | None = None) -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f"{SHEET_HEAD}{dim}<sheetData>{rows_xml}</sheetData></worksheet>"


def xlsx(
    sheets: list[tuple[str, str]] | list[tuple[str, str, str]],
    *,
    shared: str | None = None,
    active: int | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
    level: int = 9,
) -> bytes:
    """A minimal workbook: ``sheets`` = ``[(name, sheet xml[, state])]``; ``shared`` = sharedStrings xml."""
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(len(sheets))
    )
    shared_ct = (
        (
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        )
        if shared is not None
        else ""
    )
    view = f'<bookViews><workbookView activeTab="{active}"/></bookViews>' if active is not None else ""
    entries = "".join(
        f'<sheet name="{s[0]}" sheetId="{i + 1}" r:id="rId{i + 1}"'
        + (f' state="{s[2]}"' if len(s) > 2 else "")
        + "/>"
        for i, s in enumerate(sheets)
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f"{view}<sheets>{entries}</sheets></workbook>"
    )
    rels = "".join(
        f'<Relationship Id="rId{i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'relationships/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
        for i in range(len(sheets))
    )
    n = len(sheets)
    rels += (
        f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/styles" Target="styles.xml"/>'
    )
    if shared is not None:
        rels += (
            f'<Relationship Id="rId{n + 2}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/sharedStrings" Target="sharedStrings.xml"/>'
        )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression, compresslevel=level) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES.format(sheets=overrides, shared=shared_ct))
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("xl/workbook.xml", workbook)
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
            "</Relationships>",
        )
        z.writestr("xl/styles.xml", STYLES)
        for i, s in enumerate(sheets):
            z.writestr(f"xl/worksheets/sheet{i + 1}.xml", s[1])
        if shared is not None:
            z.writestr("xl/sharedStrings.xml", shared)
    return buf.getvalue()


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def far_cell(*, dimension: str | None = "A1:XFD1048576") -> bytes:
    """One value in A1 and one at XFD1048576 (the last cell Excel has): ~2 KB asking for 512 GB.
    ``dimension="A1"`` is the lying variant (some generators never update it); None omits it."""
    rows = f'<row r="1">{inline("A1", "统一社会信用代码")}</row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    return xlsx([("Sheet1", sheet_xml(rows, dimension))])


def merge_bomb(ref: str = "A3:IV1000000") -> bytes:
    """A two-row table and one merge of ``ref`` under it: ~1 KB whose merge covers 255 million cells."""
    rows = (
        f'<row r="1">{inline("A1", "统一社会信用代码")}{inline("B1", "研发费用总额")}</row>'
        f'<row r="2">{inline("A2", "914403001922038216")}<c r="B2"><v>12</v></c></row>'
        f'<row r="3">{inline("A3", "91330300MA2AAAAA1X")}<c r="B3"><v>5</v></c></row>'
    )
    sheet = sheet_xml(rows).replace(
        "</worksheet>", f'<mergeCells count="1"><mergeCell ref="{ref}"/></mergeCells></worksheet>'
    )
    return xlsx([("Sheet1", sheet)])


def tag_soup(count: int = 20_000) -> bytes:
    """A hidden first row (so the reader looks for hidden rows) and a text cell holding "<row " ``count``
    times without a ">" — not XML (calamine refuses it), but a pattern that does not stop at the next
    tag reads the rest of the part from every one of them: ~2 KB."""
    rows = (
        f'<row r="1" hidden="1">{inline("A1", "统一社会信用代码")}</row>'
        f'<row r="2"><c r="A2" t="inlineStr"><is><t>{"<row " * count}</t></is></c></row>'
    )
    return xlsx([("Sheet1", sheet_xml(rows))])


def cell_bomb(rows: int = 2_000, cols: int = 2_000) -> bytes:
    """``rows × cols`` cells that all hold an empty shared string: millions of cells in about 1 MB."""
    body = []
    for r in range(1, rows + 1):
        cells = "".join(f'<c r="{column_letters(c)}{r}" t="s"><v>0</v></c>' for c in range(cols))
        body.append(f'<row r="{r}">{cells}</row>')
    shared = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        "<si><t></t></si></sst>"
    )
    return xlsx([("Sheet1", sheet_xml("".join(body)))], shared=shared)


def empty_cell_bomb(rows: int = 2_500, cols: int = 2_000) -> bytes:
    """A real header row, then ``rows × cols`` addressed cells with nothing in them (``<c r="B7"/>``,
    what a generator that "formats the whole area" writes): within the column and cell limits, 5 million
    cells by default, about 13 MB."""
    letters = [column_letters(c) for c in range(cols)]
    head = f'<row r="1">{inline("A1", "统一社会信用代码")}{inline("B1", "企业名称")}{inline("C1", "研发费用总额")}</row>'
    body = [head]
    for r in range(2, rows + 2):
        body.append(f'<row r="{r}">' + "".join([f'<c r="{col}{r}"/>' for col in letters]) + "</row>")
    return xlsx([("Sheet1", sheet_xml("".join(body)))], level=1)  # level 9 takes a minute on this XML


def compressed_cell_bomb(rows: int = 2_000, cols: int = 2_500) -> bytes:
    """The same cells without their optional ``r`` attribute: identical bytes, so ``rows × cols`` cells
    (5 million by default) deflate to well under 1 MB."""
    row = "<row>" + '<c t="s"><v>0</v></c>' * cols + "</row>"
    shared = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        "<si><t></t></si></sst>"
    )
    return xlsx([("Sheet1", sheet_xml(row * rows))], shared=shared)


def shared_string_bomb(megabytes: int = 400) -> bytes:
    """One shared string of ``megabytes`` MB (a single repeated letter) in a ~400 KB file."""
    block = "A" * (1 << 20)
    text = block * megabytes
    shared = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        f"<si><t>{text}</t></si></sst>"
    )
    rows = f'<row r="1">{inline("A1", "统一社会信用代码")}<c r="B1" t="s"><v>0</v></c></row>'
    return xlsx([("Sheet1", sheet_xml(rows, "A1:B1"))], shared=shared)


def wide_csv(columns: int = 120_000, rows: int = 20) -> bytes:
    """A csv whose lines have ``columns`` fields."""
    line = ",".join(f"c{j}" for j in range(columns))
    return ("\r\n".join([line] * rows) + "\r\n").encode("utf-8")
