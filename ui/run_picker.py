"""The run selector of the scenario pages: published runs only (公示中 or 已定稿), newest first; with
:func:`published_run_view`, the page's view of the chosen run."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from db.session import session_scope
from services.actor import Actor
from services.scenarios import published_runs, run_label
from ui.service_call import call_service

T = TypeVar("T")


def pick_published_run(actor: Actor, *, key: str) -> int:
    """The chosen run id; stops the page with a Chinese note when no run is published yet."""
    with session_scope() as session:
        runs = [(r.id, run_label(r)) for r in published_runs(session, actor=actor)]
    if not runs:
        st.info("暂无公示中或已定稿的积分批次：在“积分计算与公示”中计算并开始公示后即可使用。")
        st.stop()
    labels = dict(runs)
    return st.selectbox("积分批次", list(labels), format_func=labels.get, key=key)


def published_run_view(actor: Actor, view_of: Callable[..., T], *, key: str) -> tuple[int, T]:
    """The chosen run and ``view_of(session, actor=, run_id=)`` of it (a refusal is shown; the page stops)."""
    run_id = int(pick_published_run(actor, key=key))
    return run_id, call_service(view_of, stop=True, actor=actor, run_id=run_id)
