"""The one confirmation dialog: irreversible or bulk actions say what will happen before they happen.

``confirm(title, lines, confirm_label=..., action=...)`` opens an ``st.dialog`` listing ``lines`` (plain
text, shown as text) with 确认 and 取消. ``action`` runs only on 确认; a ServiceError it raises is shown
in the dialog (nothing happened), otherwise the whole page reruns so it shows the new state.
``reason_label`` adds a required text field whose text is passed to ``action(reason)``; ``refusal`` shows
why the action cannot happen now and disables the confirm button (the dialog still says what it would do).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from services.errors import ServiceError
from ui.service_call import show_refusal


def confirm(
    title: str,
    lines: Sequence[str],
    *,
    confirm_label: str,
    action: Callable[..., None],
    warnings: Sequence[str] = (),
    reason_label: str | None = None,
    refusal: str | None = None,
) -> None:
    """Open the confirmation dialog (call it when the user asked for the action)."""

    @st.dialog(title)
    def _dialog() -> None:
        for line in lines:
            st.text(line)
        for warning in warnings:
            st.warning(warning, icon=":material/warning:")
        if refusal:
            st.error(refusal, icon=":material/block:")
        reason = st.text_area(reason_label, max_chars=500, key="confirm_reason") if reason_label else None
        left, right = st.columns(2)
        if left.button(
            confirm_label, type="primary", width="stretch", key="confirm_ok", disabled=bool(refusal)
        ):
            try:
                if reason_label:
                    action(reason)
                else:
                    action()
            except ServiceError as exc:
                show_refusal(exc, icon=":material/error:")
                return
            st.rerun()
        if right.button("取消", width="stretch", key="confirm_cancel"):
            st.rerun()

    _dialog()
