"""One-shot messages that survive a rerun.

A page or a widget callback stores ``(kind, text, *extra)`` under a session key with :func:`flash`, where
``kind`` names a Streamlit call (``"success"``, ``"warning"``, ``"error"`` …); the next run shows it once
with :func:`show_flash`. :func:`flash_refusal` is the ``on_refusal`` of ``ui.service_call.call_service``
for a callback: the service's message, flashed as an error.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from services.errors import ServiceError


def flash(key: str, kind: str, text: str) -> None:
    """Store ``text`` under ``key``, to be shown with ``st.<kind>`` on the next run."""
    st.session_state[key] = (kind, text)


def flash_refusal(key: str) -> Callable[[ServiceError], None]:
    """A refusal handler that flashes the service's message under ``key`` as an error."""

    def refused(exc: ServiceError) -> None:
        flash(key, "error", str(exc))

    return refused


def show_flash(key: str) -> tuple | None:
    """Pop the message stored under ``key``, show it with ``st.<kind>``, and return it (None if none)."""
    message = st.session_state.pop(key, None)
    if message:
        getattr(st, message[0])(message[1])
    return message
