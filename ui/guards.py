"""Role guards: every restricted page starts with :func:`require_role`.

Home.py authenticates and stores the current :class:`~services.actor.Actor` in the session; a page
that finds no actor, or an actor of another role, stops with a Chinese message. Hiding a page in the
navigation is not authorisation, and the services repeat every check themselves.
"""

from __future__ import annotations

import streamlit as st

from services.actor import Actor

ACTOR_KEY = "actor"
MUST_CHANGE_KEY = "must_change_password"

ROLE_LABELS = {
    "enterprise": "企业用户",
    "officer": "工作人员",
    "admin": "系统管理员",
    "bank": "合作银行",
    "system": "系统",
}


def current_actor() -> Actor | None:
    """The logged-in actor, or None (anonymous, or the session's login no longer matches)."""
    if st.session_state.get("authentication_status") is not True:
        return None
    actor = st.session_state.get(ACTOR_KEY)
    if not isinstance(actor, Actor) or actor.username != st.session_state.get("username"):
        return None
    return actor


def require_role(*roles: str, allow_pending_password_change: bool = False) -> Actor:
    """The current actor if it has one of ``roles`` (none given: any logged-in user); else st.stop().

    A user who still has to replace a one-time password is stopped everywhere except the page that
    passes ``allow_pending_password_change`` (修改密码).
    """
    actor = current_actor()
    if actor is None:
        st.warning("请先登录后再访问此页面。", icon=":material/lock:")
        st.stop()
    if st.session_state.get(MUST_CHANGE_KEY) and not allow_pending_password_change:
        st.warning("首次登录请先修改密码。", icon=":material/key:")
        st.stop()
    if roles and actor.role not in roles:
        allowed = "、".join(ROLE_LABELS.get(r, r) for r in roles)
        st.error(
            f"此页面仅限{allowed}访问，您当前的身份是{ROLE_LABELS.get(actor.role, actor.role)}。",
            icon=":material/block:",
        )
        st.stop()
    return actor
