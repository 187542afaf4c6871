"""用户管理 — admins: accounts, one-time passwords, unlocking, deactivation, roles, bulk enterprise accounts."""

import pandas as pd
import streamlit as st

from core.clock import display_time
from db.session import session_scope
from services import accounts
from ui import widgets
from ui.flash import show_flash
from ui.formats import day
from ui.guards import ROLE_LABELS, require_role
from ui.service_call import REFUSED, call_service, refusal_as
from ui.tables import show_table
from ui.text import plain

actor = require_role("admin")

FLASH = "users_flash"
SECRET = "users_one_time"  # (title, xlsx bytes or None, text) shown once, then dropped
STAFF_ROLES = {"officer": ROLE_LABELS["officer"], "admin": ROLE_LABELS["admin"]}

st.title("用户管理")
show_flash(FLASH)


# The accounts table: column → heading, in the order shown.
USER_COLUMNS = {
    "username": "用户名",
    "display_name": "名称",
    "role": "角色",
    "enterprise_name": "企业",
    "credit_code": "统一社会信用代码",
    "bank_name": "所属银行",
    "active": "状态",
    "must_change_password": "初始密码",
    "throttled_until": "登录限制",
    "created_at": "开通日期",
}


def _done(kind: str, message: str) -> None:
    st.session_state[FLASH] = (kind, message)
    st.rerun()


def _call(action, **kwargs: object) -> object:  # noqa: ANN001 - a services.accounts function
    """``action`` as this admin; a refusal shown under the button (then REFUSED)."""
    return call_service(
        action, on_refusal=refusal_as("error", icon=":material/error:"), actor=actor, **kwargs
    )


def _run(action, success: str, **kwargs) -> None:  # noqa: ANN001 - a services.auth function
    result = _call(action, **kwargs)
    if result is REFUSED:
        return
    if isinstance(result, str):  # a one-time password: shown once, on the next run
        st.session_state[SECRET] = (f"{kwargs.get('username')} 的一次性密码", None, result)
    _done("success", success)


def _create_account(success, **fields: object) -> None:  # noqa: ANN001 - user → the flash text
    """Create an account (services.auth create_user); its one-time password is shown once, next run."""
    created = _call(accounts.create_user, **fields)
    if created is REFUSED:
        return
    user, otp = created
    st.session_state[SECRET] = (f"{user.username} 的一次性密码", None, otp)
    _done("success", success(user))


# ------------------------------------------------------------------ one-time secrets, shown once
secret = st.session_state.get(SECRET)
if secret:
    title, data, text = secret
    with st.container(border=True):
        st.warning(f"{title}：只显示这一次，请立即交给本人；关闭后无法再次查看。", icon=":material/key:")
        if data is not None:
            st.download_button(
                "下载账户与一次性密码（xlsx）",
                data,
                file_name="新开通账户.xlsx",
                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                type="primary",
                key="download_accounts",
            )
        if text:
            st.code(text, language=None)
        if st.button("我已保存，关闭", key="dismiss_secret"):
            st.session_state.pop(SECRET, None)
            st.rerun()

# ------------------------------------------------------------------ the accounts
search = st.text_input("搜索账户（用户名、名称或企业）", max_chars=60, key="users_search")
with session_scope() as session:
    users = accounts.list_users(session, actor=actor, search=search)
view = users.assign(
    role=users["role"].map(lambda r: ROLE_LABELS.get(r, r)),
    active=users["active"].map({True: "启用", False: "已停用"}),
    must_change_password=users["must_change_password"].map({True: "未修改", False: "已修改"}),
    throttled_until=users["throttled_until"].map(lambda v: "" if pd.isna(v) else f"等待至 {display_time(v)}"),
    created_at=users["created_at"].map(day),
)[list(USER_COLUMNS)].rename(columns=USER_COLUMNS)
st.caption(f"共 {len(users)} 个账户。")
show_table(view, key="users_table")

# ------------------------------------------------------------------ actions on one account
st.subheader("账户操作")
names = users["username"].tolist()
chosen = st.selectbox("选择账户", names, index=None, placeholder="输入或选择用户名", key="users_chosen")
if chosen:
    row = users[users["username"] == chosen].iloc[0]
    st.text(
        f"{row['display_name']} · {ROLE_LABELS.get(row['role'], row['role'])}"
        + ("" if row["active"] else " · 已停用")
    )
    c1, c2, c3, c4 = st.columns(4)
    if c1.button("重置密码", key="act_reset", help="生成一次性密码，结束该账户的所有会话"):
        _run(accounts.reset_password, f"已重置 {chosen} 的密码。", username=chosen)
    if c2.button("解除登录限制", key="act_unlock", disabled=pd.isna(row["throttled_until"])):
        _run(accounts.unlock_user, f"已解除 {chosen} 的登录限制。", username=chosen)
    if c3.button("结束所有会话", key="act_sessions", help="该账户在所有设备上立即退出登录"):
        _run(accounts.end_user_sessions, f"{chosen} 已在所有设备上退出登录。", username=chosen)
    if row["active"]:
        if c4.button("停用账户", key="act_deactivate"):
            _run(accounts.set_active, f"已停用 {chosen}。", username=chosen, active=False)
    elif c4.button("启用账户", key="act_reactivate"):
        _run(accounts.set_active, f"已启用 {chosen}。", username=chosen, active=True)
    if row["role"] in STAFF_ROLES:
        with st.form("role_form"):
            role = st.radio(
                "角色",
                list(STAFF_ROLES),
                format_func=STAFF_ROLES.get,
                horizontal=True,
                index=list(STAFF_ROLES).index(row["role"]),
            )
            if st.form_submit_button("修改角色"):
                _run(
                    accounts.change_role,
                    f"已将 {chosen} 的角色改为{STAFF_ROLES[role]}。",
                    username=chosen,
                    role=role,
                )

# ------------------------------------------------------------------ new staff account
st.subheader("新建工作人员账户")
with st.form("create_staff", clear_on_submit=True):
    f1, f2, f3 = st.columns([2, 2, 1])
    username = f1.text_input("用户名", max_chars=64, help="3–64 位小写字母、数字或 . _ -")
    display_name = f2.text_input("姓名或名称", max_chars=100)
    role = f3.selectbox("角色", list(STAFF_ROLES), format_func=STAFF_ROLES.get)
    if st.form_submit_button("创建账户", type="primary"):
        _create_account(
            lambda user: f"已创建账户 {user.username}。",
            username=username,
            role=role,
            display_name=display_name or None,
        )

# ------------------------------------------------------------------ new partner bank account
st.subheader("新建合作银行账户")
st.caption(
    "合作银行账户只能查看已定稿批次中同意向银行推荐的企业的公开积分，并报送贷款结果。"
    "系统对接用的接口令牌由系统管理员在服务器上用管理命令创建和吊销（见部署说明）。"
)
with st.form("create_bank", clear_on_submit=True):
    b1, b2, b3 = st.columns([2, 2, 2])
    bank_username = b1.text_input(
        "用户名", max_chars=64, help="3–64 位小写字母、数字或 . _ -", key="bank_username"
    )
    bank_display = b2.text_input("姓名或名称", max_chars=100, key="bank_display")
    bank_name = b3.text_input(
        "所属银行", max_chars=100, key="bank_institution", placeholder="例如：温州银行龙湾支行"
    )
    if st.form_submit_button("创建银行账户", type="primary"):
        _create_account(
            lambda user: f"已创建合作银行账户 {user.username}（{plain(user.bank_name)}）。",
            username=bank_username,
            role="bank",
            display_name=bank_display or None,
            bank_name=bank_name,
        )

# ------------------------------------------------------------------ bulk enterprise accounts
st.subheader("批量开通企业账户")
st.caption(
    "为每家所选企业开通一个账户（用户名由统一社会信用代码生成），每个账户一个一次性密码，首次登录须修改。"
    "账户清单只能下载一次。"
)
ent_search = st.text_input(
    "查找尚未开通账户的企业（名称或统一社会信用代码）", max_chars=60, key="bulk_search"
)
with session_scope() as session:
    candidates = accounts.enterprises_without_account(session, actor=actor, search=ent_search)
labels = {int(r.id): f"{r.name}（{r.credit_code}）" for r in candidates.itertuples()}
# A fresh widget after each bulk creation: the browser would otherwise send back the ids just given
# accounts, which are no longer options (Streamlit then fails to serialise the widget's value).
bulk_key = f"bulk_selected_{st.session_state.get('bulk_round', 0)}"
selected = widgets.multiselect(
    f"选择企业（显示前 {len(labels)} 家）",
    list(labels),
    format_func=lambda i: plain(labels.get(i, str(i))),
    key=bulk_key,
    placeholder="选择一家或多家企业",
)
if st.button(
    f"为所选 {len(selected)} 家企业开通账户", disabled=not selected, type="primary", key="bulk_create"
):
    created = _call(accounts.create_enterprise_accounts, enterprise_ids=selected)
    if created is not REFUSED:
        st.session_state[SECRET] = (
            f"{len(created)} 个企业账户的一次性密码",
            accounts.accounts_xlsx(created),
            None,
        )
        st.session_state["bulk_round"] = st.session_state.get("bulk_round", 0) + 1
        _done("success", f"已开通 {len(created)} 个企业账户。")
