"""Image evidence: decode fully under a pixel limit, once, at upload; keep a small thumbnail.

A 642 KB PNG can declare 13000×13000 pixels (≈ 500 MB decoded). Pillow reads the declared size
without decoding, so the limit is checked before any pixel is allocated; ``verify()`` walks the
chunks (CRCs, truncation) and ``load()`` decodes, so a file that passes decodes for real.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image

MAX_PIXELS = 40_000_000  # ≈ 8000×5000: any phone photo or scan at 600 dpi of an A4 page
THUMBNAIL_SIZE = (800, 800)
# Pillow's own bomb guard (it raises DecompressionBombError at 2× this); ours is checked first.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class ImageRejected(ValueError):
    """Not a decodable image within the limits; the message is Chinese."""


def thumbnail(content: bytes, name: str = "图片") -> bytes:
    """A PNG/JPEG thumbnail of ``content`` after a full decode, or ImageRejected."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as probe:
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise ImageRejected(
                        f"图片“{name}”为 {width}×{height} 像素，超过 {MAX_PIXELS // 1_000_000} 百万像素上限，"
                        "请缩小尺寸或转为 PDF 后上传。"
                    )
                probe.verify()
            with Image.open(io.BytesIO(content)) as image:
                image.load()
                image.thumbnail(THUMBNAIL_SIZE)
                out = io.BytesIO()
                rgb = image if image.mode in ("RGB", "L") else image.convert("RGB")
                rgb.save(out, format="JPEG", quality=80)
                return out.getvalue()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(
            f"图片“{name}”的像素数超过 {MAX_PIXELS // 1_000_000} 百万像素上限，请缩小尺寸或转为 PDF 后上传。"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - every decoder failure means the same to the user
        raise ImageRejected(f"图片“{name}”已损坏或无法识别，请重新导出图片后上传。") from exc
