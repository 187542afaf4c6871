"""修改密码 — every logged-in user; the only page while a one-time password is still in use."""

import streamlit as st

from services import accounts
from services import auth as auth_service
from services.errors import ServiceError
from ui.auth import start_browser_session
from ui.guards import MUST_CHANGE_KEY, require_role
from ui.service_call import REFUSED, call_service, show_refusal

actor = require_role(allow_pending_password_change=True)

st.title("修改密码")
if st.session_state.pop("_password_changed", False):
    st.success(
        "密码已修改，其他设备上的登录已全部退出；下次登录请使用新密码。", icon=":material/check_circle:"
    )
if st.session_state.get(MUST_CHANGE_KEY):
    st.warning("您正在使用初始密码（一次性密码），请先设置新密码后再使用系统。", icon=":material/key:")

limit = auth_service.MAX_PASSWORD_BYTES
left, _ = st.columns([2, 3])
with left, st.form("change_password", clear_on_submit=True):
    old = st.text_input("原密码", type="password", max_chars=limit, autocomplete="current-password")
    new = st.text_input(
        "新密码",
        type="password",
        max_chars=limit,
        autocomplete="new-password",
        help=f"至少 {auth_service.MIN_PASSWORD_CHARS} 个字符、最长 {limit} 字节，须含字母和数字，不能是常见密码或演示密码，不能包含用户名",
    )
    confirm = st.text_input("再次输入新密码", type="password", max_chars=limit, autocomplete="new-password")
    submitted = st.form_submit_button("保存新密码", type="primary")


def _refused(exc: ServiceError) -> None:
    show_refusal(exc, icon=":material/error:")
    for problem in getattr(exc, "problems", [])[1:]:
        st.caption(problem["problem"])


if submitted:
    changed = call_service(
        accounts.change_password, on_refusal=_refused, actor=actor, old=old, new=new, confirm=confirm
    )
    if changed is not REFUSED:
        # The change revoked every session of this user (a copied cookie dies with them); this browser
        # gets a fresh one, whose cookie the next run writes. Not a login or logout, so a rerun is safe:
        # it rebuilds the navigation without the one-time-password restriction.
        start_browser_session(actor.user_id)
        st.session_state[MUST_CHANGE_KEY] = False
        st.session_state["_password_changed"] = True
        st.rerun()
