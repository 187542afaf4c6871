"""Authentication glue between streamlit-authenticator 0.4.2, the cookie and the database.

How a run goes (Home.py calls :func:`run_auth` before ``st.navigation``):

1. The cookie key is ``COOKIE_KEY``, else ``st.secrets["cookie_key"]``, else a random key generated on
   first start into ``data/cookie_key`` (mode 600, outside git). There is no default key: the old demo
   key is refused everywhere, and production (``APP_ENV=production``) insists on a configured one.
2. The login cookie is read on the server from the HTTP request that opened the page's connection
   (``st.context.cookies``): no component reads the browser's cookies and reports them back, so a page
   load is a single run. (streamlit-authenticator's ``Authenticate`` drew such a component in every run;
   its report a moment after each page load started a second run, and Streamlit's fast rerun dropped a
   click made before it arrived.) The session keys ``authentication_status``, ``username``, ``name``,
   ``roles``, ``logout`` are still set as streamlit-authenticator set them.
3. Each login is a server-side session record (services.auth.start_session). The cookie is a JWT
   (HS256 only) carrying the session's random id; every run re-checks that record, so logout, a password
   change, deactivation or an admin's action ends the session at the next interaction, copied cookies
   included. Anything wrong with the cookie — forged, malformed, expired, revoked — means "logged out".
4. Password logins go through our own form (:func:`login_form`) whose submit callback runs
   :func:`services.auth.authenticate` *before* the script (throttling lives there, in the database).
   The cookie is written, and deleted at logout, by a few lines of script in the page itself
   (:func:`_draw_cookie_changes`, ``st.html`` with JavaScript): nothing reports back, so nothing reruns.
   A password change (:func:`change_password_callback`) keeps its outcome the way a login does.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jwt
import streamlit as st

from core import settings
from core.settings import DEMO_COOKIE_KEY, MIN_PRODUCTION_KEY_LENGTH, ConfigError  # noqa: F401 - re-exported
from db.session import PROJECT_ROOT, session_scope
from services import accounts
from services import auth as auth_service
from services.actor import Actor
from ui import pending
from ui.guards import ACTOR_KEY, MUST_CHANGE_KEY, ROLE_LABELS
from ui.service_call import REFUSED, call_service
from ui.text import plain

COOKIE_NAME = "innovation_points_auth"
DEFAULT_KEY_FILE = PROJECT_ROOT / "data" / "cookie_key"
TOKEN_ALGORITHM = "HS256"

SESSION_ID_KEY = "_auth_session_id"
_PENDING_COOKIE = "_auth_pending_cookie"  # (token, expires) this browser session must write
_COOKIE_TO_DELETE = "_auth_cookie_to_delete"  # the token of a session this browser session ended
_SESSION_TOKEN = "_auth_session_token"  # the cookie value that names this browser session's login
_LOGIN_ERROR = "_auth_login_error"
_LOGIN_OUTCOME = "_auth_login_outcome"  # filled by the login callback, taken over by run_auth
PASSWORD_OUTCOME = "_auth_password_outcome"  # filled by the password-change callback, taken over by run_auth
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
    for name in (ACTOR_KEY, MUST_CHANGE_KEY, SESSION_ID_KEY, _PENDING_COOKIE, _SESSION_TOKEN):
        st.session_state.pop(name, None)
    st.session_state["authentication_status"] = None
    st.session_state["username"] = None
    st.session_state["name"] = None
    st.session_state["roles"] = None


def _enter(info: auth_service.SessionInfo, session_id: str, token: str | None = None) -> None:
    """Set the authenticator's session keys and ours for a live session (``token``: its cookie, when new)."""
    st.session_state["authentication_status"] = True
    st.session_state["username"] = info.actor.username
    st.session_state["name"] = info.display_name or info.actor.username
    st.session_state["email"] = None
    st.session_state["roles"] = [info.actor.role]
    st.session_state["logout"] = None
    st.session_state[SESSION_ID_KEY] = session_id
    st.session_state[ACTOR_KEY] = info.actor
    st.session_state[MUST_CHANGE_KEY] = info.must_change_password
    if token is not None:
        st.session_state[_SESSION_TOKEN] = token


def _end_in_browser() -> None:
    """Forget this browser session's login; the runs that follow delete the cookie that named it."""
    token = st.session_state.get(_SESSION_TOKEN)
    _clear_session()
    if token:
        st.session_state[_COOKIE_TO_DELETE] = token
    st.session_state[_LOGGED_OUT] = True


def _js(value: object) -> str:
    """``value`` as a JavaScript literal that is safe inside a <script> element."""
    return json.dumps(value).replace("<", "\\u003c")


def cookie_script(write: tuple[str, datetime] | None, delete: str | None, *, secure: bool) -> str:
    """The page script that writes ``write`` (token, expiry) as the login cookie and deletes the cookie
    when it still holds ``delete``. Each change is made once per page: drawn again later (a rerun, another
    page), it must not undo what another tab did since (a logout there, another login)."""
    token, expires = write if write else (None, None)
    expires_ms = None
    if expires is not None:
        aware = expires if expires.tzinfo else expires.replace(tzinfo=UTC)  # the database keeps naive UTC
        expires_ms = int(aware.timestamp() * 1000)
    return f"""<script>(() => {{
  const name = {_js(COOKIE_NAME)}, write = {_js(token)}, expiresMs = {_js(expires_ms)};
  const remove = {_js(delete)}, attributes = "; path=/; SameSite=Strict" + ({_js(secure)} ? "; Secure" : "");
  const done = (window.__innovationPointsCookie = window.__innovationPointsCookie || new Set());
  const held = () => (document.cookie.split("; ").find((c) => c.startsWith(name + "=")) || "").slice(name.length + 1);
  if (remove && !done.has("-" + remove)) {{
    done.add("-" + remove);
    if (held() === remove) document.cookie = name + "=" + attributes + "; expires=Thu, 01 Jan 1970 00:00:00 GMT";
  }}
  if (write && !done.has("+" + write)) {{
    done.add("+" + write);
    document.cookie = name + "=" + write + attributes + "; expires=" + new Date(expiresMs).toUTCString();
  }}
}})();</script>"""


def _draw_cookie_changes() -> None:
    """Write the cookie of this browser session's new login, delete the one of a login it ended.

    Written from a script in the page (``st.html``), not from a component: a component's frame reports
    back, and every report starts a rerun that can drop a click made meanwhile. Nothing reports here, so
    the server cannot know when the browser has it: it is drawn in every run while the login lasts (a run
    stopped before its elements reached the browser leaves it to the next), and the script itself makes
    each change once per page. A connection opened with the cookie already in place (a reload) needs
    no writer.
    """
    write = st.session_state.get(_PENDING_COOKIE)
    delete = st.session_state.get(_COOKIE_TO_DELETE)
    if write is not None and _request_cookie() == write[0]:
        st.session_state.pop(_PENDING_COOKIE, None)
        write = None
    if write is None and delete is None:
        return
    # Secure needs HTTPS end to end (behind a TLS proxy set COOKIE_SECURE=1; production does it).
    script = cookie_script(write, delete, secure=settings.load().cookie_secure)
    with st.sidebar:
        st.html(script, unsafe_allow_javascript=True)


def run_auth() -> Actor | None:
    """Authenticate this run (pending login, live session, cookie, logout) and return the actor, or None."""
    try:
        key = resolve_cookie_key()
    except ConfigError as exc:
        st.error(plain(exc), icon=":material/error:")
        st.stop()

    _apply_outcomes()

    session_id = st.session_state.get(SESSION_ID_KEY)
    info: auth_service.SessionInfo | None = None
    if st.session_state.get("authentication_status") is True and session_id:
        with session_scope() as session:
            info = auth_service.resume_session(session, session_id=session_id)
        if info is None:
            _end_in_browser()
            _draw_cookie_changes()
            st.warning(
                "登录已失效（已退出、密码已修改、账户被停用或管理员结束了会话），请重新登录。",
                icon=":material/lock:",
            )
            return None
        _enter(info, session_id)
    elif not st.session_state.get(_LOGGED_OUT):
        token = _request_cookie()
        claims = read_token(token, key)
        info = session_from_claims(claims) if claims else None
        if info is None or claims is None:
            _clear_session()
            return None
        _enter(info, claims.session_id, token)
    else:
        _clear_session()
        _draw_cookie_changes()
        return None

    _draw_cookie_changes()
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
            _end_in_browser()
            st.session_state["logout"] = True
            _draw_cookie_changes()
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
    _enter(login.info, login.session_id, login.token)
    st.session_state.pop(_LOGGED_OUT, None)
    st.session_state.pop(_COOKIE_TO_DELETE, None)
    st.session_state[_PENDING_COOKIE] = (login.token, login.expires)


def _apply_outcomes() -> None:
    """Take over what the login and password-change callbacks decided (see ui/pending.py).

    A rerun request (a second click, a widget changed meanwhile) starts a new run at once, beside the old
    one, which is stopped at its next session-state access. A callback already checking a password carries
    on meanwhile, so a run that finds one under way waits for its outcome (bounded by
    pending.WAIT_SECONDS). An outcome is removed from its holder only once taken over: a run stopped half
    way leaves it to the next one."""
    outcome = st.session_state.get(_LOGIN_OUTCOME)
    if outcome:
        pending.settle(outcome)
        if "login" in outcome:
            st.session_state.pop(_LOGIN_ERROR, None)
            _adopt(outcome["login"])
            outcome.pop("login", None)
        elif "error" in outcome:
            st.session_state[_LOGIN_ERROR] = outcome["error"]
            outcome.pop("error", None)
    change = st.session_state.get(PASSWORD_OUTCOME)
    if change:
        pending.settle(change)
        if "login" in change:
            # The change revoked every session of this user (a copied cookie dies with them); this browser
            # has a fresh one, whose cookie the runs that follow write.
            _adopt(change["login"])
            st.session_state[MUST_CHANGE_KEY] = False
            st.session_state["_password_changed"] = True
            change.pop("login", None)


def _on_login_submit(outcome: dict[str, object]) -> None:
    """Form callback, run before the script: Home.py sees the new login in this very run.

    Once another rerun request has arrived, Streamlit ends a callback at its next st.session_state
    access, and the run the request started does not see what the callback did not write yet. The
    password check is slow enough for that on a busy server, and logins were lost half done: no session,
    or a session without its cookie. So the callback writes nothing to the session state after reading
    the form: it fills ``outcome``, a dict of the session state handed over as its argument, which
    whichever run comes next takes over (:func:`_apply_outcomes`).
    """
    username = st.session_state.get("login_username", "")
    password = st.session_state.get("login_password", "")
    outcome.clear()
    with pending.under_way(outcome):
        with session_scope() as session:
            result = auth_service.authenticate(
                session, username=username, password=password, client_address=client_address()
            )
        if result.ok:
            assert result.user_id is not None
            outcome["login"] = _new_login(result.user_id)
        else:
            outcome["error"] = result.message
    st.session_state["login_password"] = ""  # may end the callback (see above): the outcome is kept


def change_password(outcome: dict, *, actor: Actor, old: str, new: str, confirm: str) -> None:
    """The 修改密码 form's callback body, after it read the form: change the password, start this
    browser's new session, and keep the outcome — the new login, or the refusal under ``"refusal"`` — in
    ``outcome`` (no session-state access: see :func:`_on_login_submit`). The next run takes the login
    over (:func:`_apply_outcomes`); the page shows the refusal."""
    outcome.clear()
    with pending.under_way(outcome):
        changed = call_service(
            accounts.change_password,
            on_refusal=lambda exc: outcome.__setitem__("refusal", exc),
            actor=actor,
            old=old,
            new=new,
            confirm=confirm,
        )
        if changed is not REFUSED:
            outcome["login"] = _new_login(actor.user_id)


def login_form() -> None:
    """The 登录 form (shown on the login page to anonymous visitors)."""
    outcome = pending.holder(_LOGIN_OUTCOME)
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
