"""我的积分 — the enterprise's own portrait (ui.portrait, shared with the officers' 企业画像) and a what-if panel."""

import time

import streamlit as st

from db.session import session_scope
from services.dynamic import dynamic_view
from services.errors import ServiceError
from services.portrait import get_portrait, simulation_base
from ui.freshness import data_version
from ui.guards import require_role
from ui.portrait import render_dynamic, render_portrait, render_what_if
from ui.service_call import call_service, show_refusal

actor = require_role("enterprise")
CACHE_KEY = "_portrait_cache"
CACHE_SECONDS = 60


def _load():
    """The portrait and the simulator's base row, kept for a minute per session (reruns are cheap) while
    the database has not changed (a write on any server, e.g. an approval, shows on the next load)."""
    version = data_version()
    cached = st.session_state.get(CACHE_KEY)
    if (
        cached
        and cached[0] == (actor.enterprise_id, version)
        and time.monotonic() - cached[1] < CACHE_SECONDS
    ):
        return cached[2], cached[3]
    portrait, base = call_service(_read, on_refusal=_no_portrait, stop=True)
    st.session_state[CACHE_KEY] = ((actor.enterprise_id, version), time.monotonic(), portrait, base)
    return portrait, base


def _read(session) -> tuple:  # noqa: ANN001 - the call's db session
    portrait = get_portrait(session, actor=actor, enterprise_id=actor.enterprise_id)
    return portrait, simulation_base(session, actor=actor, portrait=portrait)


def _no_portrait(exc: ServiceError) -> None:
    st.title("我的积分")
    show_refusal(exc, kind="info", icon=":material/info:")


p, base_row = _load()

st.title("我的积分")
st.page_link("pages/enterprise/assistant.py", label="对积分有疑问？问智能助手", icon=":material/forum:")
with session_scope() as session:  # not cached with the portrait: a recompute shows on the next rerun
    dynamic = dynamic_view(session, actor=actor, portrait=p)
render_dynamic(p, dynamic)
render_portrait(p, viewer="enterprise")
render_what_if(p, actor=actor, base_row=base_row)
