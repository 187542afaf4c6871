"""Format detection: ``"xlsx"``, ``"xls"`` or ``"csv"``, judged by the content, never by the file name.

Officers rename files, government systems export HTML or CSV with an ``.xls`` name, and a PDF named
``.xlsx`` must be refused with a clear message instead of a parser traceback. A zip is an xlsx only with
``[Content_Types].xml`` and ``xl/`` parts (Word, PowerPoint and ODS are named as such); an OLE2 container
is an .xls unless it holds an encrypted xlsx; known binary signatures are refused by name; anything else
without NUL bytes is text (csv, UTF-16 included), except HTML/XML.
"""

from __future__ import annotations

import io
import zipfile
from typing import Literal

from core.spreadsheet.errors import SAVE_AS, SpreadsheetError, display_name, encrypted_message

Format = Literal["xlsx", "xls", "csv"]


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "PDF 文档"),
    (b"\x89PNG", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF8", "GIF 图片"),
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
    (b"\x1f\x8b", "gzip 压缩包"),
    (b"{\\rtf", "RTF 文档"),
)


_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")


def detect_format(data: bytes, filename: str = "") -> Format:
    """``"xlsx"``, ``"xls"`` or ``"csv"`` judged by content; ``SpreadsheetError`` for anything else."""
    name = display_name(filename)
    if not data:
        raise SpreadsheetError(f"{name}是空文件（0 字节）")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = zf.namelist()
                mimetype = zf.read("mimetype")[:100] if "mimetype" in names else b""
        except (zipfile.BadZipFile, OSError, KeyError):
            raise SpreadsheetError(f"{name}看似 Excel（zip）文件，但已损坏，无法打开") from None
        if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
            return "xlsx"
        if any(n.startswith("word/") for n in names):
            raise SpreadsheetError(f"{name}的内容是 Word 文档，不是表格文件")
        if any(n.startswith("ppt/") for n in names):
            raise SpreadsheetError(f"{name}的内容是 PowerPoint 文档，不是表格文件")
        if b"spreadsheet" in mimetype:
            raise SpreadsheetError(f"{name}是 ODS（WPS/LibreOffice）格式，{SAVE_AS}")
        raise SpreadsheetError(f"{name}是 zip 压缩包，不是 Excel 文件；请解压后上传其中的表格")
    if data.startswith(_OLE2):
        if _ENCRYPTED_STREAM in data:  # an encrypted xlsx is an OLE2 container with this stream
            raise SpreadsheetError(encrypted_message(name))
        return "xls"
    for signature, kind in _BINARY_SIGNATURES:
        if data.startswith(signature):
            raise SpreadsheetError(f"{name}的内容是{kind}，不是表格文件（仅支持 xlsx、xls、csv）")
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "csv"  # UTF-16 text (Excel's "Unicode 文本")
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml", b"<meta")):
        raise SpreadsheetError(f"{name}实际是网页（HTML/XML）格式，只是扩展名像表格；{SAVE_AS}")
    if b"\x00" in head:
        raise SpreadsheetError(f"{name}不是可识别的表格文件（仅支持 xlsx、xls、csv）")
    return "csv"
