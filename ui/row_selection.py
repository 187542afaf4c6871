"""Ticked table rows belong to the rows they were ticked on, not to positions.

Streamlit keeps a table's row selection as positions. When the rows shown change under it — a bulk
approval removes the approved reports from the queue, another officer decides one, a filter changes — the
same positions would tick other rows nobody chose. :func:`selection_key` gives the table a widget key
that changes whenever the rows shown are no longer those of the last run, so every tick is cleared then.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import streamlit as st


def selection_key(name: str, ids: Sequence[Hashable]) -> str:
    """The widget key of table ``name`` showing rows ``ids`` (in display order): ``name`` until the rows
    change, then ``name_1``, ``name_2`` … (a new widget: no row ticked)."""
    state = st.session_state.setdefault(f"_{name}_rows", {"generation": 0, "ids": None})
    shown = tuple(ids)
    if state["ids"] is not None and state["ids"] != shown:
        state["generation"] += 1
    state["ids"] = shown
    return name if state["generation"] == 0 else f"{name}_{state['generation']}"
