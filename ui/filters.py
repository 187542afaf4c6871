"""Shared filter widgets: a Beijing-day date range that says what is wrong instead of filtering to nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from core import clock


def day_range(
    container: Any, label: str, *, default: tuple[date, date], key: str
) -> tuple[date, date] | None:
    """A date-range input defaulting to ``default`` (Beijing days, end inclusive).

    Returns the chosen ``(start, end)``, or None — after showing why — when the range cannot be used
    (one day picked only, or an end before the start); a range over several years gets a note.
    """
    chosen = container.date_input(label, value=default, format="YYYY-MM-DD", key=key)
    start, end = (tuple(chosen) + (None, None))[:2] if isinstance(chosen, (tuple, list)) else (chosen, chosen)
    problem = clock.range_problem(start, end)
    if problem:
        st.warning(problem)
        return None
    note = clock.range_note(start, end)
    if note:
        st.caption(note)
    return start, end
