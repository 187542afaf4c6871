"""Chinese wrappers of the Streamlit widgets whose built-in texts are English.

One place for the defaults every page shares:

* :func:`multiselect` / :func:`selectbox` — Chinese placeholders ("Choose options"), no "Select all"
  (one mis-tap must not request every service), no typing filter on short lists (so no "No results");
* :func:`file_uploader` — the per-widget upload limit matches the label (10 MB, not "50MB per file");
  the uploader's own English button and size line are relabelled by :data:`CHROME_CSS` (Streamlit has
  no parameter for them), which Home.py applies once per run with :func:`apply_chrome`.

Tables are ui.tables.show_table (readable cells, a Chinese sentence for no rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from core import evidence
from ui import uploads

FAVICON = Path(__file__).parent / "assets" / "favicon.png"  # served by this server, never fetched
MAX_UPLOAD_MB = evidence.MAX_BYTES // (1024 * 1024)  # evidence and objection files (core.evidence)
SHORT_LIST = 12  # up to this many options the dropdown is tapped, not typed into

# Streamlit's file uploader hard-codes "Upload" and "<n>MB per file • PDF, JPG": hide both (the widget
# label states the types and the limit in Chinese) and write the button's text in Chinese.
CHROME_CSS = """
<style>
[data-testid="stFileUploaderDropzoneInstructions"] { display: none; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] { display: none; }
[data-testid="stFileUploaderDropzone"] button [data-has-shortcut]::after { content: "选择文件"; }
</style>
"""


def apply_chrome() -> None:
    """Relabel the built-in English texts that have no parameter (once per run, from Home.py)."""
    st.html(CHROME_CSS)


def multiselect(label: str, options: Sequence[Any], *, placeholder: str | None = None, **kwargs: Any) -> list:
    """``st.multiselect`` with a Chinese placeholder and without "Select all"."""
    options = list(options)
    if not options:
        placeholder = placeholder or "暂无可选项"
        kwargs["disabled"] = True
    kwargs.setdefault("filter_mode", None if len(options) <= SHORT_LIST else "contains")
    return st.multiselect(label, options, placeholder=placeholder or "请选择（可多选）", select_all=False, **kwargs)


def selectbox(label: str, options: Sequence[Any], *, placeholder: str | None = None, **kwargs: Any) -> Any:
    """``st.selectbox`` with a Chinese placeholder; short lists are tapped, not filtered by typing."""
    options = list(options)
    kwargs.setdefault("filter_mode", None if len(options) <= SHORT_LIST else "contains")
    return st.selectbox(label, options, placeholder=placeholder or "请选择", **kwargs)


def file_uploader(label: str, *, type: Sequence[str] = ("pdf", "jpg", "jpeg", "png"),  # noqa: A002
                  **kwargs: Any) -> Any:
    """``st.file_uploader`` limited to :data:`MAX_UPLOAD_MB` per file (what the labels promise)."""
    kwargs.setdefault("max_upload_size", MAX_UPLOAD_MB)
    uploads.allow(kwargs["max_upload_size"])  # the server accepts files only where a page shows an uploader
    return st.file_uploader(label, type=list(type), **kwargs)
