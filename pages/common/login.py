"""登录 — the password login for enterprises and staff (anonymous visitors only)."""

import streamlit as st

from ui.auth import login_form
from ui.guards import current_actor

st.title("登录")
if current_actor() is not None:
    st.success("您已登录。")
    st.stop()

left, _ = st.columns([2, 3])
with left:
    login_form()
    st.caption(
        "企业账户由园区管理部门开通；首次登录须修改初始密码。多次密码错误后需等待片刻才能再试，管理员可立即解锁。"
    )
