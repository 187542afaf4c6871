"""Authentication glue between streamlit-authenticator 0.4.2, the cookie and the database.

How a run goes (Home.py calls :func:`run_auth` before ``st.navigation``):

1. The cookie key is ``COOKIE_KEY``, else ``st.secrets["cookie_key"]``, else a random key generated on
   first start into ``data/cookie_key`` (mode 600, outside git). There is no default key: the old demo
   key is refused everywhere, and production (``APP_ENV=production``) insists on a configured one.
2. ``stauth.Authenticate`` is built once per run for its cookie component and its session keys
   (``authentication_status``, ``username``, ``name``, ``roles``, ``logout``). Its own cookie login is
   not used: it decodes the cookie without catching every error (``alg=none`` or HS512 tracebacked) and
   its token is stateless (a copied cookie outlived logout and password changes).
3. Each login is a server-side session record (services.auth.start_session). The cookie is a JWT
   (HS256 only) carrying the session's random id; every run re-checks that record, so logout, a password
   change, deactivation or an admin's action ends the session at the next interaction, copied cookies
   included. Anything wrong with the cookie — forged, malformed, expired, revoked — means "logged out".
4. Password logins go through our own form (:func:`login_form`) whose submit callback runs
   :func:`services.auth.authenticate` *before* the script (throttling lives there, in the database).
   Every run from then on draws the cookie component that writes the cookie, until the browser reports
   it written (:func:`_write_pending_cookie`); nothing calls ``st.rerun()`` right after a login.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
import streamlit as st
import streamlit_authenticator as stauth

from core import settings
from core.settings import DEMO_COOKIE_KEY, MIN_PRODUCTION_KEY_LENGTH, ConfigError  # noqa: F401 - re-exported
from db.session import PROJECT_ROOT, session_scope
from services import auth as auth_service
from services.actor import Actor
from ui.guards import ACTOR_KEY, MUST_CHANGE_KEY, ROLE_LABELS
from ui.text import plain

COOKIE_NAME = "innovation_points_auth"
DEFAULT_KEY_FILE = PROJECT_ROOT / "data" / "cookie_key"
TOKEN_ALGORITHM = "HS256"

SESSION_ID_KEY = "_auth_session_id"
_PENDING_COOKIE = "_auth_pending_cookie"  # (token, expires) to write until the browser reports it written
_LOGIN_ERROR = "_auth_login_error"
_LOGIN_OUTCOME = "_auth_login_outcome"  # filled by the login callback, taken over by run_auth
LOGIN_WAIT_SECONDS = 30  # a run waits this long at most for a password check under way
_LOGGED_OUT = "_auth_logged_out"  # this browser session logged out: ignore the (stale) request cookie


def _secret(name: str) -> str | None:
    try:
        value = st.secrets.get(name)
    except Exception:  # noqa: BLE001 - no secrets.toml at all is a normal development setup
        return None
    return str(value) if value else None


def _generated_key(path: Path) -> str:
    """The key in ``path``, created (random, mode 600) on first use; concurrent starts agree on one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= MIN_PRODUCTION_KEY_LENGTH:
            return key
        raise ConfigError(f"密钥文件 {path} 内容无效，请删除后重启（所有用户需重新登录）。") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key


def resolve_cookie_key(
    environ: Mapping[str, str] | None = None,
    secret: Callable[[str], str | None] = _secret,
    key_file: Path | None = None,
) -> str:
    """The cookie signing key (see the module docstring); raises ConfigError when unusable."""
    config = settings.load(environ)  # every variable checked; a demo COOKIE_KEY refused
    key = config.cookie_key or secret("cookie_key")
    settings.check_cookie_key(key, production=config.production)
    if key:
        return key
    return _generated_key(Path(config.cookie_key_file or key_file or DEFAULT_KEY_FILE))


def require_valid_settings() -> None:
    """Start-up check for the app: every environment variable and the cookie key, or a Chinese error."""
    try:
        resolve_cookie_key()
    except ConfigError as exc:
        st.error(plain(exc), icon=":material/error:")
        st.stop()


# ------------------------------------------------------------------ the token
@dataclass(frozen=True)
class TokenClaims:
    session_id: str
    username: str


def make_token(session_id: str, username: str, expires: datetime, key: str) -> str:
    return jwt.encode(
        {"sid": session_id, "username": username, "exp": int(expires.timestamp())},
        key,
        algorithm=TOKEN_ALGORITHM,
    )


def read_token(token: object, key: str) -> TokenClaims | None:
    """The claims of a valid token, or None for anything else (forged, other algorithm, expired, garbage)."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        return None
    try:
        claims = jwt.decode(token, key, algorithms=[TOKEN_ALGORITHM], options={"require": ["exp", "sid"]})
    except Exception:  # noqa: BLE001 - every failure means the same thing: not logged in
        return None
    sid, username = claims.get("sid"), claims.get("username")
    if not isinstance(sid, str) or not isinstance(username, str):
        return None
    return TokenClaims(sid, username)


def session_from_claims(claims: TokenClaims) -> auth_service.SessionInfo | None:
    with session_scope() as session:
        info = auth_service.resume_session(session, session_id=claims.session_id)
    if info is None or info.actor.username != claims.username:
        return None
    return info


# ------------------------------------------------------------------ the run
def client_address() -> str | None:
    """The client of this session: the address Streamlit saw, or behind a proxy on this host the address
    that proxy appended to X-Forwarded-For (services.auth.resolve_client); None when unknown."""
    try:
        address = st.context.ip_address
        forwarded = st.context.headers.get("X-Forwarded-For")
    except Exception:  # noqa: BLE001 - no request context (bare scripts, test harnesses)
        return None
    return auth_service.resolve_client(
        address if isinstance(address, str) else None, forwarded if isinstance(forwarded, str) else None
    )


def _request_cookie() -> str | None:
    try:
        token = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # noqa: BLE001 - no request context (bare scripts, some test harnesses)
        return None
    return token if isinstance(token, str) else None


def _clear_session() -> None:
    for name in (ACTOR_KEY, MUST_CHANGE_KEY, SESSION_ID_KEY, _PENDING_COOKIE):
        st.session_state.pop(name, None)
    st.session_state["authentication_status"] = None
    st.session_state["username"] = None
    st.session_state["name"] = None
    st.session_state["roles"] = None


def _enter(info: auth_service.SessionInfo, session_id: str) -> None:
    """Set the authenticator's session keys and ours for a live session."""
    st.session_state["authentication_status"] = True
    st.session_state["username"] = info.actor.username
    st.session_state["name"] = info.display_name or info.actor.username
    st.session_state["email"] = None
    st.session_state["roles"] = [info.actor.role]
    st.session_state["logout"] = None
    st.session_state[SESSION_ID_KEY] = session_id
    st.session_state[ACTOR_KEY] = info.actor
    st.session_state[MUST_CHANGE_KEY] = info.must_change_password


def _cookie_options(expires: datetime) -> dict:
    """The login cookie's attributes, as the cookie component (universal-cookie) takes them."""
    options: dict[str, object] = {"path": "/", "expires": expires.isoformat(), "sameSite": "strict"}
    # Secure needs HTTPS end to end (behind a TLS proxy set COOKIE_SECURE=1; production does it).
    if settings.load().cookie_secure:
        options["secure"] = True
    return options


def _write_pending_cookie(cookies: Any) -> None:  # extra_streamlit_components' CookieManager
    """Write the login cookie in every run until the browser reports it written.

    The cookie component writes it only once its frame has loaded, and a frame is removed by the first
    run that no longer draws it: when another rerun came first (the cookie component's own report after
    a page load, a click — easily so on a busy server), a cookie drawn in one run only never reached
    the browser, and the next page load or new tab showed the person as logged out.
    """
    pending = st.session_state.get(_PENDING_COOKIE)
    if pending is None:
        return
    token, expires = pending
    written = cookies.cookie_manager(
        method="set",
        cookie=COOKIE_NAME,
        value=token,
        options=_cookie_options(expires),
        key=f"set_{token[-16:]}",  # one writer per login: its report is about this token only
        default=False,
    )
    if written is True or cookies.cookies.get(COOKIE_NAME) == token:
        st.session_state.pop(_PENDING_COOKIE, None)


def run_auth() -> Actor | None:
    """Authenticate this run (pending login, live session, cookie, logout) and return the actor, or None."""
    try:
        key = resolve_cookie_key()
    except ConfigError as exc:
        st.error(plain(exc), icon=":material/error:")
        st.stop()

    authenticator = stauth.Authenticate(
        {"usernames": {}},
        cookie_name=COOKIE_NAME,
        cookie_key=key,
        cookie_expiry_days=max(auth_service.SESSION_DAYS.values()),
        auto_hash=False,
        login_sleep_time=0,
    )
    cookies = authenticator.cookie_controller.cookie_model.cookie_manager

    _apply_login_outcome()

    session_id = st.session_state.get(SESSION_ID_KEY)
    info: auth_service.SessionInfo | None = None
    if st.session_state.get("authentication_status") is True and session_id:
        with session_scope() as session:
            info = auth_service.resume_session(session, session_id=session_id)
        if info is None:
            _clear_session()
            with contextlib.suppress(KeyError):
                cookies.delete(COOKIE_NAME)
            st.session_state[_LOGGED_OUT] = True
            st.warning(
                "登录已失效（已退出、密码已修改、账户被停用或管理员结束了会话），请重新登录。",
                icon=":material/lock:",
            )
            return None
        _enter(info, session_id)
    elif not st.session_state.get(_LOGGED_OUT):
        claims = read_token(_request_cookie(), key)
        info = session_from_claims(claims) if claims else None
        if info is None or claims is None:
            _clear_session()
            return None
        _enter(info, claims.session_id)
    else:
        _clear_session()
        return None

    _write_pending_cookie(cookies)
    actor = info.actor
    with st.sidebar:
        # The display name is user text (an enterprise's name): plain text, never Markdown.
        st.text(
            f"{st.session_state.get('name') or actor.username} · {ROLE_LABELS.get(actor.role, actor.role)}"
        )
        if st.button("退出登录", key="logout_button"):
            with session_scope() as session:
                auth_service.end_session(
                    session, session_id=session_id or st.session_state.get(SESSION_ID_KEY, "")
                )
            with contextlib.suppress(KeyError):
                cookies.delete(COOKIE_NAME)
            _clear_session()
            st.session_state[_LOGGED_OUT] = True
            st.session_state["logout"] = True
            st.toast("已退出登录。")
            return None
    return actor


@dataclass(frozen=True)
class _NewLogin:
    """A started server-side session and its cookie, not yet in this browser session's state."""

    session_id: str
    info: auth_service.SessionInfo
    token: str
    expires: datetime


def _new_login(user_id: int) -> _NewLogin:
    """A new server-side session for ``user_id`` (database only: no st.session_state access)."""
    key = resolve_cookie_key()
    with session_scope() as session:
        session_id, expires = auth_service.start_session(
            session, user_id=user_id, client_address=client_address()
        )
        info = auth_service.resume_session(session, session_id=session_id)
    assert info is not None
    return _NewLogin(session_id, info, make_token(session_id, info.actor.username, expires, key), expires)


def _adopt(login: _NewLogin) -> None:
    """Make ``login`` this browser session's; the cookie is written by the runs that follow."""
    _enter(login.info, login.session_id)
    st.session_state.pop(_LOGGED_OUT, None)
    st.session_state[_PENDING_COOKIE] = (login.token, login.expires)


def start_browser_session(user_id: int) -> None:
    """A new server-side session for this browser; its cookie is written by the next run_auth."""
    _adopt(_new_login(user_id))


def _apply_login_outcome() -> None:
    """Take over what the login callback decided: a started session, or an error message to show.

    With Streamlit's fast reruns a rerun request (the cookie component's report a moment after a page
    load, a second click) starts a new run at once, beside the old one; the old one is stopped at its
    next session-state access. A login callback already checking the password carries on meanwhile,
    so a run that finds one under way waits for its outcome (bounded by LOGIN_WAIT_SECONDS)."""
    outcome = st.session_state.get(_LOGIN_OUTCOME)
    if not outcome:
        return
    deadline = time.monotonic() + LOGIN_WAIT_SECONDS
    while "checking" in outcome and time.monotonic() < deadline:
        time.sleep(0.05)
    if "login" in outcome:
        st.session_state.pop(_LOGIN_ERROR, None)
        _adopt(outcome["login"])
        outcome.pop("login", None)  # only now: a run stopped half way leaves it to the next one
    elif "error" in outcome:
        st.session_state[_LOGIN_ERROR] = outcome["error"]
        outcome.pop("error", None)


def _on_login_submit(outcome: dict[str, object]) -> None:
    """Form callback, run before the script: Home.py sees the new login in this very run.

    Once another rerun request has arrived, Streamlit ends a callback at its next st.session_state
    access, and the run the request started does not see what the callback did not write yet. The
    password check is slow enough for that on a busy server, and logins were lost half done: no session,
    or a session without its cookie. So the callback writes nothing to the session state after reading
    the form: it fills ``outcome``, a dict of the session state handed over as its argument, which
    whichever run comes next takes over (:func:`_apply_login_outcome`).
    """
    username = st.session_state.get("login_username", "")
    password = st.session_state.get("login_password", "")
    outcome.clear()
    outcome["checking"] = True
    try:
        with session_scope() as session:
            result = auth_service.authenticate(
                session, username=username, password=password, client_address=client_address()
            )
        if result.ok:
            assert result.user_id is not None
            outcome["login"] = _new_login(result.user_id)
        else:
            outcome["error"] = result.message
    finally:
        outcome.pop("checking", None)
    st.session_state["login_password"] = ""  # may end the callback (see above): the outcome is kept


def login_form() -> None:
    """The 登录 form (shown on the login page to anonymous visitors)."""
    outcome = st.session_state.setdefault(_LOGIN_OUTCOME, {})
    with st.form("login_form", clear_on_submit=False):
        st.text_input("用户名", key="login_username", max_chars=64, autocomplete="username")
        st.text_input(
            "密码",
            key="login_password",
            type="password",
            max_chars=auth_service.MAX_PASSWORD_BYTES,
            autocomplete="current-password",
            help=f"密码最长 {auth_service.MAX_PASSWORD_BYTES} 字节",
        )
        st.form_submit_button(
            "登录", type="primary", on_click=_on_login_submit, args=(outcome,), width="stretch"
        )
    message = st.session_state.get(_LOGIN_ERROR)
    if message:
        st.error(message, icon=":material/error:")


def forced_change_pages() -> list[st.Page]:
    """While a one-time password is in use, the only page is 修改密码."""
    return [
        st.Page(
            "pages/common/account.py",
            title="修改密码",
            icon=":material/key:",
            url_path="account",
            default=True,
        )
    ]
