"""Image evidence is decoded once, under a pixel limit, at upload."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from core import evidence, images


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def bomb_png(width: int = 13000, height: int = 13000) -> bytes:
    """A valid PNG declaring width×height 8-bit grey pixels, all zero: tiny on disk, huge decoded."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = b"\x00" * (width + 1)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


BROKEN_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 42  # 50 bytes: a PNG signature and nothing decodable


def good_png(size: tuple[int, int] = (1600, 900)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    content = bomb_png()
    assert len(content) < 1_000_000  # under the 10 MB upload limit: only the decoded size gives it away
    with pytest.raises(evidence.EvidenceError, match="百万像素上限"):
        evidence.check("scan.png", content)


def test_a_broken_image_is_refused_with_a_clear_message() -> None:
    with pytest.raises(evidence.EvidenceError, match="已损坏或无法识别"):
        evidence.check("photo.png", BROKEN_PNG)
    truncated = good_png()[:400]
    with pytest.raises(evidence.EvidenceError, match="已损坏或无法识别"):
        evidence.check("photo.png", truncated)


def test_just_over_the_limit_is_refused_too() -> None:
    with pytest.raises(evidence.EvidenceError, match="百万像素上限"):
        evidence.check("wide.png", bomb_png(8000, images.MAX_PIXELS // 8000 + 1))


def test_a_good_image_leaves_a_small_thumbnail() -> None:
    checked = evidence.check("photo.png", good_png())
    assert checked.content_type == "image/png" and checked.thumbnail
    with Image.open(io.BytesIO(checked.thumbnail)) as thumb:
        assert max(thumb.size) <= max(images.THUMBNAIL_SIZE) and thumb.format == "JPEG"


def test_pdf_has_no_thumbnail() -> None:
    assert evidence.check("a.pdf", b"%PDF-1.4 minimal").thumbnail is None
