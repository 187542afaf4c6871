"""Evidence files: the type is decided by the content (magic bytes), never by the file name; images
are decoded once here, under a pixel limit, and leave a thumbnail (core/images.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from core import images

MAX_BYTES = 10 * 1024 * 1024
# (signature, content type, label); the name's extension is ignored on purpose.
SIGNATURES = (
    (b"%PDF-", "application/pdf", "PDF"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "PNG"),
    (b"\xff\xd8\xff", "image/jpeg", "JPEG"),
)
ALLOWED_LABEL = "PDF、JPG、PNG"


class EvidenceError(ValueError):
    """The file is not acceptable evidence; the message is Chinese and says what to do."""


@dataclass(frozen=True)
class Evidence:
    file_name: str
    content_type: str
    size: int
    sha256: str
    thumbnail: bytes | None = None  # images only


def sniff(content: bytes) -> str | None:
    """The content type by signature, or None."""
    for signature, content_type, _label in SIGNATURES:
        if content.startswith(signature):
            return content_type
    return None


def check(file_name: str, content: bytes, *, max_bytes: int = MAX_BYTES) -> Evidence:
    """Accept a pdf/png/jpeg of at most ``max_bytes`` or raise EvidenceError."""
    name = (file_name or "").strip().replace("\\", "/").rsplit("/", 1)[-1] or "附件"
    if not content:
        raise EvidenceError(f"文件“{name}”是空文件，请重新选择。")
    if len(content) > max_bytes:
        raise EvidenceError(
            f"文件“{name}”大小为 {len(content) / 1024 / 1024:.1f} MB，超过 {max_bytes // 1024 // 1024} MB 上限，"
            "请压缩或拆分后上传。"
        )
    content_type = sniff(content)
    if content_type is None:
        raise EvidenceError(
            f"文件“{name}”不是有效的 {ALLOWED_LABEL} 文件（按文件内容识别，与扩展名无关），请转换格式后上传。"
        )
    thumb = None
    if content_type.startswith("image/"):
        try:
            thumb = images.thumbnail(content, name)
        except images.ImageRejected as exc:
            raise EvidenceError(str(exc)) from None
    return Evidence(name[:255], content_type, len(content), hashlib.sha256(content).hexdigest(), thumb)
