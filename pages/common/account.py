"""修改密码 — every logged-in user; the only page while a one-time password is still in use."""

import streamlit as st

from services import auth as auth_service
from services.errors import ServiceError
from ui import pending
from ui.auth import PASSWORD_OUTCOME, change_password
from ui.guards import MUST_CHANGE_KEY, require_role
from ui.service_call import show_refusal

actor = require_role(allow_pending_password_change=True)

st.title("修改密码")
if st.session_state.pop("_password_changed", False):
    st.success(
        "密码已修改，其他设备上的登录已全部退出；下次登录请使用新密码。", icon=":material/check_circle:"
    )
if st.session_state.get(MUST_CHANGE_KEY):
    st.warning("您正在使用初始密码（一次性密码），请先设置新密码后再使用系统。", icon=":material/key:")

limit = auth_service.MAX_PASSWORD_BYTES
# The change is made in the form's callback, its outcome kept in a holder until a run takes it over
# (ui/pending.py): a rerun that starts meanwhile cannot leave it half done (every session revoked, this
# browser's new one not yet started).
outcome = pending.holder(PASSWORD_OUTCOME)


def _change() -> None:
    old, new, confirm = (st.session_state.get(k) or "" for k in ("pw_old", "pw_new", "pw_confirm"))
    change_password(outcome, actor=actor, old=old, new=new, confirm=confirm)


left, _ = st.columns([2, 3])
with left, st.form("change_password", clear_on_submit=True):
    st.text_input("原密码", type="password", max_chars=limit, autocomplete="current-password", key="pw_old")
    st.text_input(
        "新密码",
        type="password",
        max_chars=limit,
        autocomplete="new-password",
        help=f"至少 {auth_service.MIN_PASSWORD_CHARS} 个字符、最长 {limit} 字节，须含字母和数字，不能是常见密码或演示密码，不能包含用户名",
        key="pw_new",
    )
    st.text_input(
        "再次输入新密码", type="password", max_chars=limit, autocomplete="new-password", key="pw_confirm"
    )
    st.form_submit_button("保存新密码", type="primary", on_click=_change)


def _refused(exc: ServiceError) -> None:
    show_refusal(exc, icon=":material/error:")
    for problem in getattr(exc, "problems", [])[1:]:
        st.caption(problem["problem"])


refusal = pending.settle(outcome).pop("refusal", None)
if refusal is not None:
    _refused(refusal)
