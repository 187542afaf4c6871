from __future__ import annotations

import pytest

from core.evidence import MAX_BYTES, EvidenceError, check, sniff

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


def _image(fmt: str) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 10, 10)).save(out, format=fmt)
    return out.getvalue()


# Real, decodable images: a signature followed by zeros is a broken image and is refused.
PNG = _image("PNG")
JPEG = _image("JPEG")


@pytest.mark.parametrize(
    ("content", "kind"), [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg")]
)
def test_type_comes_from_the_content_not_the_name(content: bytes, kind: str) -> None:
    assert sniff(content) == kind
    evidence = check("证书.txt", content)  # a misleading name does not matter
    assert evidence.content_type == kind and evidence.size == len(content) and len(evidence.sha256) == 64


def test_a_renamed_file_is_refused() -> None:
    with pytest.raises(EvidenceError, match="按文件内容识别"):
        check("scan.pdf", b"MZ\x90\x00 not a pdf")


def test_empty_and_too_large() -> None:
    with pytest.raises(EvidenceError, match="空文件"):
        check("a.pdf", b"")
    with pytest.raises(EvidenceError, match="10 MB"):
        check("big.pdf", PDF + b"0" * MAX_BYTES)
    assert check("ok.pdf", PDF + b"0" * (MAX_BYTES - len(PDF))).size == MAX_BYTES


def test_the_name_is_kept_without_its_path() -> None:
    assert check("C:\\Users\\x\\营业执照.png", PNG).file_name == "营业执照.png"
