"""One-shot messages that survive a rerun.

A page or a widget callback stores ``(kind, text, *extra)`` under a session key, where ``kind`` names a
Streamlit call (``"success"``, ``"warning"``, ``"error"`` …); the next run shows it once with
:func:`show_flash`.
"""

from __future__ import annotations

import streamlit as st


def show_flash(key: str) -> tuple | None:
    """Pop the message stored under ``key``, show it with ``st.<kind>``, and return it (None if none)."""
    message = st.session_state.pop(key, None)
    if message:
        getattr(st, message[0])(message[1])
    return message
