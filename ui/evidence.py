"""Evidence files an enterprise attached (to a report or an objection), shown to staff the same way.

File names are the enterprise's text: shown with ``st.text``, never inside Markdown. Images show the
thumbnail made at upload; the original is never decoded here (a bomb or a broken file would take the
page — and its forms — down). Every file can be downloaded as uploaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import streamlit as st

from ui.formats import file_size


class EvidenceFile(Protocol):
    id: int
    file_name: str
    content_type: str
    content: bytes
    thumbnail: bytes | None


def show_evidence(files: Sequence[EvidenceFile], *, key: str, empty: str = "未上传证明材料。") -> None:
    """One expander per file (the first open): name, image thumbnail, 下载原件."""
    if not files:
        st.caption(empty)
    for number, f in enumerate(files, start=1):
        with st.expander(f"材料 {number}（{file_size(len(f.content))}）", expanded=number == 1):
            st.text(f.file_name)
            if f.content_type.startswith("image/"):
                if f.thumbnail:
                    st.image(f.thumbnail)
                else:
                    st.info(
                        "该图片无法预览（上传时未通过图片检查或文件已损坏），请下载原件查看。",
                        icon=":material/broken_image:",
                    )
            st.download_button(
                "下载原件", f.content, file_name=f.file_name, mime=f.content_type, key=f"{key}_{f.id}"
            )
