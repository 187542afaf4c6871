"""OOXML: what calamine does not tell us about an xlsx, read from its zip parts (bounded, no cell parse).

Before any cell is read: the zip directory (member sizes and inflate ratios — a 400 KB file inflating to
400 MB is a bomb), ``xl/workbook.xml`` (sheet order, names, hidden state, active tab, each sheet's part
through the rels), a sheet's declared ``<dimension>`` and ``xl/styles.xml`` (which ``cellXfs`` are
percentages). ``cell_census`` counts addressed and empty cells in one inflate pass (a cell bomb is refused
before calamine parses it). ``scan_cells`` streams one sheet part for what calamine hides or misreads:
error cells (``t="e"``, read as empty), numeric cells in a percent format (``0.381`` for ``38.1%``) and
formulas without a cached result (a file written by a program — openpyxl — and never calculated: read
as empty, it would silently keep the old value) and the rows and columns the sheet hides (a filter's,
a collapsed group's, hidden by hand), looking only for literal text, so a sheet without such cells costs
one inflate pass.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
# Built-in number formats that are percentages (ECMA-376 §18.8.30): 9 = 0%, 10 = 0.00%.
BUILTIN_PERCENT = frozenset({9, 10})
EXCEL_ERRORS = (
    "#DIV/0!",
    "#N/A",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#NULL!",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
    "#FIELD!",
    "#BLOCKED!",
    "#CONNECT!",
    "#BUSY!",
    "#UNKNOWN!",
)
SMALL_PART = 8 * 1024 * 1024  # workbook.xml, styles.xml, rels: never legitimately larger
CHUNK = 8 * 1024 * 1024


class PartsError(ValueError):
    """The zip structure is hostile or broken; the message is Chinese (the caller adds the file name)."""


@dataclass(frozen=True)
class SheetPart:
    name: str
    state: str  # visible / hidden / veryHidden
    path: str | None  # zip member of the sheet XML (None: unresolved relationship)


@dataclass
class WorkbookParts:
    sheets: list[SheetPart] = field(default_factory=list)
    active: int = 0  # index into sheets (workbookView activeTab; 0 when absent)
    percent_styles: frozenset[int] = frozenset()
    shared_strings: str | None = None  # zip member of the shared string table


def _mb(n: float) -> str:
    return f"{n / 1024 / 1024:,.1f} MB"


def check_zip(zf: zipfile.ZipFile, *, max_unpacked: int, max_ratio: float, ratio_floor: int) -> None:
    """Refuse zip bombs by the declared sizes (the reader's memory limit catches members that lie)."""
    infos = zf.infolist()
    if len(infos) > 10_000:
        raise PartsError(f"包含 {len(infos):,} 个内部文件，不像正常的 Excel 文件")
    total = sum(i.file_size for i in infos)
    if total > max_unpacked:
        raise PartsError(f"解压后共 {_mb(total)}，超过可读取的上限 {_mb(max_unpacked)}；请拆分后分批导入")
    for i in infos:
        if i.file_size > ratio_floor and i.file_size > max_ratio * max(i.compress_size, 1):
            raise PartsError(
                f"内部文件 {i.filename} 压缩前 {_mb(i.compress_size)}、解压后 {_mb(i.file_size)}"
                f"（压缩比 {i.file_size / max(i.compress_size, 1):,.0f}:1），不像正常的表格内容，已拒绝读取"
            )


def _read_small(zf: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if info.file_size > SMALL_PART:
        raise PartsError(f"内部文件 {name} 异常大（{_mb(info.file_size)}）")
    with zf.open(info) as f:
        data = f.read(SMALL_PART + 1)
    if len(data) > SMALL_PART:
        raise PartsError(f"内部文件 {name} 异常大")
    return data


def _parse(data: bytes | None) -> ET.Element | None:
    if not data:
        return None
    # Office XML never needs a DTD; one in these parts is an entity-expansion attempt.
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
        raise PartsError("内部 XML 含有实体声明，不是正常的 Excel 文件")
    try:
        return ET.fromstring(data)
    except ET.ParseError:
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _resolve(base_dir: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts = [p for p in base_dir.split("/") if p]
    for piece in target.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece and piece != ".":
            parts.append(piece)
    return "/".join(parts)


def workbook_parts(zf: zipfile.ZipFile) -> WorkbookParts:
    """Sheets (order, state, XML part), the active tab and the percentage styles."""
    out = WorkbookParts()
    book_path = "xl/workbook.xml"
    root_rels = _parse(_read_small(zf, "_rels/.rels"))
    if root_rels is not None:
        for rel in root_rels:
            if rel.get("Type", "").endswith("/officeDocument") and rel.get("Target"):
                book_path = _resolve("", rel.get("Target", ""))
    book = _parse(_read_small(zf, book_path))
    if book is None:
        return out
    base = book_path.rsplit("/", 1)[0] if "/" in book_path else ""
    rels: dict[str, str] = {}
    rels_root = _parse(_read_small(zf, f"{base}/_rels/{book_path.rsplit('/', 1)[-1]}.rels"))
    if rels_root is not None:
        for rel in rels_root:
            if rel.get("Id") and rel.get("Target"):
                rels[rel.get("Id", "")] = _resolve(base, rel.get("Target", ""))
    for el in book.iter():
        tag = _local(el.tag)
        if tag == "workbookView" and el.get("activeTab", "").isdigit():
            out.active = int(el.get("activeTab", "0"))
        elif tag == "sheet":
            rid = el.get(f"{{{REL_NS}}}id") or next(
                (v for k, v in el.attrib.items() if _local(k) == "id"), None
            )
            out.sheets.append(
                SheetPart(name=el.get("name", ""), state=el.get("state", "visible"), path=rels.get(rid or ""))
            )
    styles_path = next((p for p in rels.values() if p.endswith("styles.xml")), f"{base}/styles.xml")
    out.shared_strings = next((p for p in rels.values() if p.lower().endswith("sharedstrings.xml")), None)
    out.percent_styles = percent_styles(_parse(_read_small(zf, styles_path)))
    return out


def is_percent_code(code: str) -> bool:
    """A format code shows a percentage when it has a ``%`` outside quotes, escapes and brackets."""
    code = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code)
    return "%" in code


def percent_styles(styles: ET.Element | None) -> frozenset[int]:
    """Indices into ``cellXfs`` whose number format is a percentage."""
    if styles is None:
        return frozenset()
    custom: dict[int, str] = {}
    xfs: list[int] = []
    for el in styles:
        tag = _local(el.tag)
        if tag == "numFmts":
            for fmt in el:
                if fmt.get("numFmtId", "").isdigit():
                    custom[int(fmt.get("numFmtId", "0"))] = fmt.get("formatCode", "")
        elif tag == "cellXfs":
            for xf in el:
                fid = xf.get("numFmtId", "0")
                xfs.append(int(fid) if fid.isdigit() else 0)
    return frozenset(
        i
        for i, fid in enumerate(xfs)
        if (fid in custom and is_percent_code(custom[fid])) or (fid not in custom and fid in BUILTIN_PERCENT)
    )


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref\s*=\s*["\']([A-Za-z$0-9:]+)["\']')
_REF = re.compile(r"\$?([A-Za-z]{1,4})\$?(\d{1,8})")


def column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def parse_ref(ref: str) -> tuple[int, int] | None:
    """``"XFD1048576"`` → ``(1048575, 16383)`` (0-based row, column)."""
    m = _REF.fullmatch(ref)
    if not m:
        return None
    return int(m.group(2)) - 1, column_index(m.group(1))


def declared_extent(zf: zipfile.ZipFile, path: str) -> tuple[str, int, int] | None:
    """``(ref, rows, columns)`` counted from A1 as the sheet declares it, or None (absent/unreadable)."""
    try:
        with zf.open(path) as f:
            head = f.read(65536)
    except (KeyError, zipfile.BadZipFile, OSError, RuntimeError, EOFError):
        return None
    m = _DIMENSION.search(head)
    if not m:
        return None
    ref = m.group(1).decode("ascii")
    end = parse_ref(ref.split(":")[-1])
    if end is None:
        return None
    return ref, end[0] + 1, end[1] + 1


_ATTR = re.compile(rb'([\w:]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")


@dataclass
class CellScan:
    percent: list[tuple[int, int]] = field(default_factory=list)  # numeric cells in a percent format
    errors: list[tuple[int, int, str]] = field(default_factory=list)  # (row, col, "#DIV/0!")
    uncalculated: list[tuple[int, int, str]] = field(default_factory=list)  # (row, col, "=A2*2"): no result
    unplaced: int = 0  # such cells without an r="A1" attribute (cannot be placed without a full parse)
    hidden_rows: list[int] = field(default_factory=list)  # rows hidden by hand, a filter or a collapsed group
    hidden_columns: list[tuple[int, int]] = field(default_factory=list)  # (first, last) column ranges hidden


def _tag_at(body: bytes, hit: int) -> tuple[int, int] | None:
    """Start and end of the ``<c …>`` start tag containing position ``hit``, if it is a cell tag."""
    start = body.rfind(b"<", 0, hit)
    if start < 0:
        return None
    j = start + 1
    colon = body.find(b":", j, j + 12)
    space = body.find(b" ", j, j + 16)
    if colon != -1 and (space == -1 or colon < space):
        j = colon + 1
    if body[j : j + 2] not in (b"c ", b"c\t", b"c\n", b"c\r"):
        return None
    end = body.find(b">", hit)
    return (start, end) if end != -1 else None


def _attrs(tag: bytes) -> dict[bytes, bytes]:
    return {
        m.group(1).rsplit(b":", 1)[-1]: (m.group(2) if m.group(2) is not None else m.group(3))
        for m in _ATTR.finditer(tag)
    }


def _scan_body(body: bytes, needles: list[bytes], percent: frozenset[int], out: CellScan) -> None:
    seen: set[int] = set()
    for needle in needles:
        pos = body.find(needle)
        while pos != -1:
            span = _tag_at(body, pos)
            pos = body.find(needle, pos + 1)
            if span is None or span[0] in seen:
                continue
            seen.add(span[0])
            start, end = span
            attrs = _attrs(body[start:end])
            kind = attrs.get(b"t", b"n")
            ref = attrs.get(b"r")
            place = parse_ref(ref.decode("ascii", "replace")) if ref else None
            if kind == b"e":
                if place is None:
                    out.unplaced += 1
                    continue
                literal = ""
                if body[end - 1 : end] != b"/":
                    close = _CELL_END.search(body, end)
                    m = _VALUE.search(body[end : close.start() if close else end + 4096])
                    literal = m.group(1).decode("utf-8", "replace").strip() if m else ""
                out.errors.append((place[0], place[1], literal or "#N/A"))
            elif kind == b"n":
                style = attrs.get(b"s", b"0")
                if style.isdigit() and int(style) in percent:
                    if place is None:
                        out.unplaced += 1
                    else:
                        out.percent.append(place)


# A formula (``<f>…</f>`` or a self-closing shared-formula follower) followed by no value, ``<v/>`` or
# ``<v></v>``, then the cell's end: what openpyxl writes. Excel and LibreOffice always cache the result.
# ``[^<>]``: a tag never runs into the next one, so "<f <f …" without a ">" is one pass (see _HIDDEN_TAG).
_UNCALCULATED = re.compile(
    rb"(?:</(?:\w+:)?f>|<(?:\w+:)?f\b[^<>]*/>)\s*(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>"
)
# Literal text such a cell contains in a part written without prefixes or whitespace between tags (as
# every spreadsheet program and library writes it): the regex, far slower than these searches, runs only
# where one hits — or on the whole of a part that is prefixed or pretty-printed (``thorough``).
_UNCALCULATED_HINTS = (b"<v />", b"<v/>", b"<v></v>", b"</f></c>", b"/></c>")
_PREFIXED_OR_SPACED = re.compile(rb"<\w+:worksheet\b|<(?:\w+:)?sheetData>\s*<(?:\w+:)?row\b[^>]*>\s+<")
_XML_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&amp;": "&"}


def _unescape(text: str) -> str:
    return re.sub(r"&(?:lt|gt|quot|apos|amp);", lambda m: _XML_ENTITIES[m.group(0)], text)


def _scan_uncalculated(body: bytes, out: CellScan) -> None:
    """Formula cells without a cached result. ``t="str"`` with an empty value is a formula that returned
    empty text (a result); errors are ``_scan_body``'s."""
    for m in _UNCALCULATED.finditer(body):
        closing = body[m.start() + 1 : m.start() + 2] == b"/"
        # The formula's text holds no "<" (XML escapes it): its start tag is the last "<" before "</f>".
        f_start = body.rfind(b"<", 0, m.start()) if closing else m.start()
        span = _tag_at(body, f_start - 1)  # the cell's start tag ends right before the formula
        if span is None:
            continue
        attrs = _attrs(body[span[0] : span[1]])
        if attrs.get(b"t", b"n") in (b"str", b"s", b"inlineStr", b"e"):
            continue
        ref = attrs.get(b"r")
        place = parse_ref(ref.decode("ascii", "replace")) if ref else None
        if place is None:
            out.unplaced += 1
            continue
        text = ""
        if closing:
            text = body[body.find(b">", f_start) + 1 : m.start()].decode("utf-8", "replace")
        out.uncalculated.append((place[0], place[1], "=" + (_unescape(text).strip() or "（公式）")))


# A hidden row or column: ``<row r="5" hidden="1">`` (an AutoFilter's filtered-out rows and a collapsed
# group's are saved the same way), ``<col min="3" max="4" hidden="true"/>``.
# ``[^<>]`` (not ``[^>]``): a match never runs past the next tag's start, so a chunk of "<row <row …"
# without a ">" costs one pass, not one per "<row" (quadratic: 27 s for 100 KB of them).
_HIDDEN_TAG = re.compile(rb"<(?:\w+:)?(row|col)\b[^<>]*?\bhidden\s*=\s*[\"'](?:1|true)[\"'][^<>]*>")
# LibreOffice writes hidden="false" on every row: only the values that hide are looked for, by one regex
# (its literal prefix makes it a third of the cost of four ``in`` searches: ~40 ms over 100,000 rows).
_HIDDEN_HINT = re.compile(rb"hidden=[\"'](?:1|true)[\"']")


def _scan_hidden(body: bytes, out: CellScan) -> None:
    """Rows and columns the sheet hides (0-based); a hidden row without its number cannot be placed."""
    for m in _HIDDEN_TAG.finditer(body):
        attrs = _attrs(m.group(0))
        if m.group(1) == b"row":
            r = attrs.get(b"r", b"")
            if r.isdigit() and int(r) > 0:
                out.hidden_rows.append(int(r) - 1)
            else:
                out.unplaced += 1
        else:
            lo, hi = attrs.get(b"min", b""), attrs.get(b"max", b"")
            if lo.isdigit() and hi.isdigit() and 0 < int(lo) <= int(hi):
                out.hidden_columns.append((int(lo) - 1, int(hi) - 1))


def scan_cells(zf: zipfile.ZipFile, path: str, percent: frozenset[int]) -> CellScan:
    """Error cells, percent-formatted numeric cells, formulas without a result and hidden rows and
    columns of one sheet part, streamed in 8 MB chunks."""
    out = CellScan()
    needles = [b't="e"', b"t='e'"] + [
        s for i in sorted(percent) for s in (f's="{i}"'.encode(), f"s='{i}'".encode())
    ]
    tail = b""
    thorough: bool | None = None  # the part is prefixed or pretty-printed: the hints do not apply
    with zf.open(path) as f:
        while True:
            chunk = f.read(CHUNK)
            if thorough is None:
                thorough = _PREFIXED_OR_SPACED.search(chunk[:65536]) is not None
            buf = tail + chunk
            if not chunk:
                body, tail = buf, b""
            else:
                # Cut after the last complete row so that a cell and its <v> stay in one piece.
                cut = buf.rfind(b"row>")
                cut = cut + 4 if cut != -1 else buf.rfind(b"<")
                body, tail = (buf[:cut], buf[cut:]) if cut > 0 else (b"", buf)
            if len(tail) > 4 * CHUNK:  # one row larger than 32 MB: scan it in pieces
                body, tail = buf, b""
            if any(n in body for n in needles):
                _scan_body(body, needles, percent, out)
            if thorough or _HIDDEN_HINT.search(body):
                _scan_hidden(body, out)
            # One search for a formula tag first: a sheet of plain values (a department export) pays
            # one pass, not five (~0.4 s of CPU on a 100,000-row import).
            if thorough or (b"<f" in body and any(h in body for h in _UNCALCULATED_HINTS)):
                _scan_uncalculated(body, out)
            if not chunk:
                break
    return out


@dataclass
class CellCensus:
    cells: int = 0  # <c> elements
    valued: int = 0  # cells with a value that is not an empty shared string
    complete: bool = True  # False: stopped once the sheet could no longer be a cell bomb

    @property
    def empty(self) -> int:
        return max(self.cells - self.valued, 0)


_EMPTY_SI = re.compile(rb"<si>\s*(?:<t\b[^>]*/>|<t\b[^>]*>\s*</t>)?\s*</si>|<si/>")
EMPTY_SHARED_MAX = 64  # empty shared strings looked for (a real table has none or one)


def empty_shared_strings(zf: zipfile.ZipFile, path: str | None) -> frozenset[int]:
    """Indices of empty entries (``<si><t/></si>``) of the shared string table, streamed."""
    if not path:
        return frozenset()
    found: list[int] = []
    base = 0  # <si> entries before ``body``
    tail = b""
    try:
        with zf.open(path) as f:
            while len(found) < EMPTY_SHARED_MAX:
                chunk = f.read(CHUNK)
                buf = tail + chunk
                cut = buf.rfind(b"<si") if chunk else len(buf)
                body, tail = (buf[:cut], buf[cut:]) if cut > 0 else (b"", buf)
                if len(tail) > 4 * CHUNK:  # one string larger than 32 MB: not a candidate for "empty"
                    body, tail = buf, b""
                at, seen = 0, 0
                for m in _EMPTY_SI.finditer(body):
                    seen += body.count(b"<si>", at, m.start()) + body.count(b"<si ", at, m.start())
                    found.append(base + seen)
                    seen += 1
                    at = m.end()
                base += seen + body.count(b"<si>", at) + body.count(b"<si ", at)
                if not chunk:
                    break
    except (KeyError, zipfile.BadZipFile, OSError, RuntimeError, EOFError):
        return frozenset()
    return frozenset(found)


_PREFIX = re.compile(rb"<(\w+:)?worksheet\b")
EMPTY_CELL_BYTES = 11  # the shortest addressed empty cell, <c r="A1"/>


def cell_census(
    zf: zipfile.ZipFile,
    path: str,
    empty_shared: frozenset[int] = frozenset(),
    *,
    empty_share: float | None = None,
) -> CellCensus:
    """Cells and valued cells of one sheet part, by counting tags in 8 MB chunks (no parse).

    A cell is a ``<c …>`` start tag (a bare ``<c>`` carries nothing an attacker needs and is not
    counted), a value is a ``</v>`` or ``</is>``; a shared string reference to an empty string counts
    as empty. Every pattern lies inside one cell, so each chunk is cut before its last ``<c``.
    With ``empty_share``, counting stops (``complete`` False) once the bytes left could no longer hold
    enough empty cells to reach that share: a normal sheet is cleared after a fraction of its XML.
    """
    out = CellCensus()
    tail = b""
    left = zf.getinfo(path).file_size
    with zf.open(path) as f:
        chunk = f.read(CHUNK)
        m = _PREFIX.search(chunk[:65536])
        prefix = (m.group(1) or b"") if m else b""
        cell, value_end, inline_end = b"<%sc" % prefix, b"</%sv>" % prefix, b"</%sis>" % prefix
        cell_start = cell + b" "
        empty_refs = [b"<%sv>%d</%sv>" % (prefix, i, prefix) for i in sorted(empty_shared)]
        while True:
            buf = tail + chunk if tail else chunk
            cut = buf.rfind(cell) if chunk else len(buf)
            if cut <= 0 or len(buf) - cut > 4 * CHUNK:  # no cell start, or one cell over 32 MB
                cut = len(buf)
            out.cells += buf.count(cell_start, 0, cut)
            out.valued += buf.count(value_end, 0, cut) + buf.count(inline_end, 0, cut)
            for ref in empty_refs:
                out.valued -= buf.count(ref, 0, cut)
            tail = buf[cut:]
            if not chunk:
                break
            left -= len(chunk)
            if empty_share is not None and empty_share < 1:
                # empty ≥ share × cells  ⟺  empty ≥ share / (1 − share) × valued
                needed = empty_share / (1 - empty_share) * out.valued - out.empty
                if needed > max(left, 0) / EMPTY_CELL_BYTES + 1:
                    out.complete = False
                    return out
            chunk = f.read(CHUNK)
    return out


def column_letters(index: int) -> str:
    """Excel's column name of a 0-based column index: 0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
