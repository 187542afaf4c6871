"""Authentication glue between streamlit-authenticator 0.4.2 and the database.

How a run goes (Home.py calls :func:`run_auth` before ``st.navigation``):

1. The cookie key comes from ``COOKIE_KEY`` or ``st.secrets["cookie_key"]``; with
   ``APP_ENV=production`` a missing or demo key stops the app.
2. ``stauth.Authenticate`` is built once, from a credentials dict read from the database
   (``auto_hash=False``, ``login_sleep_time=0``). The dict holds only the users this browser session
   can be — the one logged in and the one its cookie names — so a run is one indexed query however many
   accounts exist; locked and inactive users are left out, so their cookies stop working.
3. Password logins go through our own form (:func:`login_form`, on the 登录 page) whose submit
   callback runs :func:`services.auth.authenticate` *before* the script: that is where failures are
   counted and the 5-strikes/15-minutes lockout is kept, in the database. On success the callback sets
   the authenticator's session keys and this run writes the re-authentication cookie through the
   authenticator (no ``st.rerun()`` afterwards, or the cookie would never reach the browser).
4. Cookie re-authentication and logout are the authenticator's own (``login(location="unrendered")``,
   ``logout(location="sidebar")``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping

import jwt
import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities import LoginError

from db.session import session_scope
from services import auth as auth_service
from services.actor import Actor
from ui.guards import ACTOR_KEY, MUST_CHANGE_KEY, ROLE_LABELS

COOKIE_NAME = "innovation_points_auth"
COOKIE_EXPIRY_DAYS = 7.0
DEMO_COOKIE_KEY = "demo-cookie-key-not-for-production"
MIN_PRODUCTION_KEY_LENGTH = 32

_PENDING_COOKIE = "_auth_pending_cookie"
_LOGIN_ERROR = "_auth_login_error"


class ConfigError(RuntimeError):
    """The deployment is misconfigured; the message is Chinese."""


def _secret(name: str) -> str | None:
    try:
        value = st.secrets.get(name)
    except Exception:  # noqa: BLE001 - no secrets.toml at all is a normal development setup
        return None
    return str(value) if value else None


def resolve_cookie_key(
    environ: Mapping[str, str] | None = None, secret: Callable[[str], str | None] = _secret
) -> str:
    """The cookie signing key; in production a missing, short or demo key raises ConfigError."""
    environ = os.environ if environ is None else environ
    key = environ.get("COOKIE_KEY") or secret("cookie_key")
    production = environ.get("APP_ENV", "").strip().lower() in ("production", "prod")
    if production:
        if not key:
            raise ConfigError("生产环境未配置 COOKIE_KEY（环境变量或 Streamlit secrets 中的 cookie_key），系统拒绝启动。")
        if key == DEMO_COOKIE_KEY or "demo" in key.lower():
            raise ConfigError("生产环境不能使用演示用的 COOKIE_KEY，请配置随机生成的密钥。")
        if len(key) < MIN_PRODUCTION_KEY_LENGTH:
            raise ConfigError(f"生产环境的 COOKIE_KEY 至少需要 {MIN_PRODUCTION_KEY_LENGTH} 个字符。")
    return key or DEMO_COOKIE_KEY


def _cookie_username(key: str) -> str | None:
    """The user named in this browser's (validly signed) re-authentication cookie, if any."""
    try:
        token = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # noqa: BLE001 - no request context (bare scripts, some test harnesses)
        return None
    if not token:
        return None
    try:
        return str(jwt.decode(token, key, algorithms=["HS256"]).get("username") or "") or None
    except jwt.PyJWTError:
        return None


def _clear_session() -> None:
    st.session_state.pop(ACTOR_KEY, None)
    st.session_state.pop(MUST_CHANGE_KEY, None)


def run_auth() -> Actor | None:
    """Authenticate this run (cookie, pending login, logout) and return the actor, or None."""
    try:
        key = resolve_cookie_key()
    except ConfigError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()

    candidates = [st.session_state.get("username"), _cookie_username(key)]
    with session_scope() as session:
        credentials = auth_service.credentials_for_authenticator(
            session, usernames=[c for c in candidates if c]
        )
    authenticator = stauth.Authenticate(
        credentials,
        cookie_name=COOKIE_NAME,
        cookie_key=key,
        cookie_expiry_days=COOKIE_EXPIRY_DAYS,
        auto_hash=False,
        login_sleep_time=0,
    )

    if st.session_state.get("authentication_status") is True:
        if st.session_state.pop(_PENDING_COOKIE, False):
            authenticator.cookie_controller.set_cookie()
    else:
        # A cookie naming a user who is now locked or inactive raises LoginError: stay anonymous.
        with contextlib.suppress(LoginError):
            authenticator.login(location="unrendered")

    if st.session_state.get("authentication_status") is not True:
        _clear_session()
        return None

    username = st.session_state.get("username")
    with session_scope() as session:
        found = auth_service.actor_for(session, username) if username in credentials["usernames"] else None
    if found is None:
        # Locked or deactivated while logged in: end the session and its cookie.
        authenticator.logout(location="unrendered")
        _clear_session()
        st.warning("您的账户已被锁定或停用，请重新登录或联系管理员。")
        return None
    actor, must_change = found
    st.session_state[ACTOR_KEY] = actor
    st.session_state[MUST_CHANGE_KEY] = must_change

    with st.sidebar:
        st.caption(f"{st.session_state.get('name') or actor.username} · {ROLE_LABELS.get(actor.role, actor.role)}")
        authenticator.logout("退出登录", location="sidebar", key="logout_button")
    if st.session_state.get("authentication_status") is not True:
        _clear_session()
        st.toast("已退出登录。")
        return None
    return actor


def _on_login_submit() -> None:
    """Form callback: runs before the script, so Home.py already sees the new login this run."""
    username = st.session_state.get("login_username", "")
    password = st.session_state.get("login_password", "")
    with session_scope() as session:
        result = auth_service.authenticate(session, username=username, password=password)
    st.session_state["login_password"] = ""
    if not result.ok:
        st.session_state[_LOGIN_ERROR] = result.message
        return
    st.session_state.pop(_LOGIN_ERROR, None)
    st.session_state["authentication_status"] = True
    st.session_state["username"] = result.username
    st.session_state["name"] = result.display_name or result.username
    st.session_state["email"] = None
    st.session_state["roles"] = [result.role]
    st.session_state["logout"] = None
    st.session_state[_PENDING_COOKIE] = True


def login_form() -> None:
    """The 登录 form (shown on the login page to anonymous visitors)."""
    with st.form("login_form", clear_on_submit=False):
        st.text_input("用户名", key="login_username", max_chars=64, autocomplete="username")
        st.text_input(
            "密码", key="login_password", type="password", max_chars=auth_service.MAX_PASSWORD_BYTES,
            autocomplete="current-password", help=f"密码最长 {auth_service.MAX_PASSWORD_BYTES} 字节",
        )
        st.form_submit_button("登录", type="primary", on_click=_on_login_submit, width="stretch")
    message = st.session_state.get(_LOGIN_ERROR)
    if message:
        st.error(message, icon=":material/error:")


def forced_change_pages() -> list[st.Page]:
    """While a one-time password is in use, the only page is 修改密码."""
    return [st.Page("pages/common/account.py", title="修改密码", icon=":material/key:",
                    url_path="account", default=True)]
