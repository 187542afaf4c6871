"""Accounts: password checks with throttling, server-side sessions, password changes, 用户管理.

Throttling lives in the database (``LoginThrottle``, keyed by the typed user name whether it exists or
not, and by client address) because the authenticator's own ``max_login_attempts`` counts in a dict that
Home.py rebuilds on every run. Unknown and real names get the same message, the same bcrypt cost and the
same throttling, so no answer tells whether an account exists. Sessions are rows (``UserSession``) that
logout, password change/reset, deactivation, role change and an admin's "end sessions" revoke.
Every function commits its own transaction (one use case = one transaction).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import bcrypt
from sqlalchemy import literal, select, update
from sqlmodel import Session
from sqlmodel import select as sm_select

from db.models import ROLES, Enterprise, LoginThrottle, User, UserSession, utcnow
from services.actor import Actor, require_role
from services.audit import record
from services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

MIN_PASSWORD_CHARS = 10  # characters, not bytes: "a密码1" is 8 bytes but 4 characters
MIN_PASSWORD_BYTES = MIN_PASSWORD_CHARS  # the old name, still read by pages
MAX_PASSWORD_BYTES = 72  # bcrypt 5 rejects longer passwords outright
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{2,63}$")

# Throttling: after FREE_ATTEMPTS failures in a row a name (or address) must wait, and the wait doubles
# with every further failure, up to a cap. The cap per account is short on purpose: a stranger typing an
# officer's name can delay that officer by minutes, never lock them out for long; the address cap is
# longer because it only ever slows the address that fails. Attempts refused while waiting are not
# counted, so the wait cannot be pushed further by hammering.
FREE_ATTEMPTS = 5
FIRST_DELAY = timedelta(seconds=30)
MAX_ACCOUNT_DELAY = timedelta(minutes=5)
ADDRESS_FREE_ATTEMPTS = 20
MAX_ADDRESS_DELAY = timedelta(minutes=30)
FORGET_AFTER = timedelta(hours=1)  # a failure this old no longer counts

BAD_CREDENTIALS = "用户名或密码错误。"
INACTIVE = "该账户已停用，请联系管理员。"

# Staff sessions are short (issue 11: under 7 days); enterprises keep the week they had.
SESSION_DAYS = {"admin": 1.0, "officer": 1.0, "enterprise": 7.0}


@lru_cache(maxsize=1)
def _dummy_hash() -> bytes:
    """A hash with the same cost as real ones: unknown and real users then take the same time."""
    return bcrypt.hashpw(b"not-a-real-password", bcrypt.gensalt())


@dataclass(frozen=True)
class AuthResult:
    ok: bool
    message: str = ""
    username: str | None = None
    role: str | None = None
    user_id: int | None = None
    enterprise_id: int | None = None
    display_name: str | None = None
    must_change_password: bool = False
    retry_after: datetime | None = None

    def actor(self) -> Actor:
        assert self.ok and self.username and self.role
        return Actor(username=self.username, role=self.role, user_id=self.user_id,
                     enterprise_id=self.enterprise_id)


# ------------------------------------------------------------------ hashing
def password_too_long_message() -> str:
    return f"密码不能超过 {MAX_PASSWORD_BYTES} 字节（约 {MAX_PASSWORD_BYTES} 个英文字符或 24 个汉字）。"


def hash_password(password: str) -> str:
    """bcrypt hash of ``password`` (raises ValidationFailed over 72 bytes)."""
    data = password.encode("utf-8")
    if len(data) > MAX_PASSWORD_BYTES:
        raise ValidationFailed(password_too_long_message())
    return bcrypt.hashpw(data, bcrypt.gensalt()).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """True when ``password`` matches; over-long passwords and malformed hashes never match."""
    data = password.encode("utf-8")
    if len(data) > MAX_PASSWORD_BYTES or not password_hash:
        return False
    try:
        return bcrypt.checkpw(data, password_hash.encode("ascii"))
    except ValueError:
        return False


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands datetimes back naive in some paths; they are stored as UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# ------------------------------------------------------------------ throttling
def _user_key(username: str) -> str:
    return f"user:{username}"


def _address_key(address: str) -> str:
    return f"addr:{address}"


def throttle_address(address: str | None) -> str | None:
    """The address to throttle, or None: loopback means a reverse proxy in front (every user would
    share it), so it is not throttled — the proxy must rate-limit instead (docs/security.md)."""
    if not address:
        return None
    try:
        if ipaddress.ip_address(address).is_loopback:
            return None
    except ValueError:
        return None
    return address


def retry_message(until: datetime, now: datetime) -> str:
    seconds = max(1, int((until - now).total_seconds() + 0.999))
    wait = f"{seconds} 秒" if seconds < 120 else f"{(seconds + 59) // 60} 分钟"
    return f"登录失败次数过多，请 {wait}后再试；如急需登录，请联系管理员解锁。"


def _blocked_until(session: Session, keys: list[str], now: datetime) -> datetime | None:
    rows = session.execute(select(LoginThrottle.blocked_until).where(LoginThrottle.key.in_(keys))).scalars()
    latest = max((_aware(b) for b in rows if b is not None), default=None)
    return latest if latest is not None and latest > now else None


def _delay(failures: int, free: int, cap: timedelta) -> timedelta | None:
    if failures < free:
        return None
    return min(FIRST_DELAY * (2 ** min(failures - free, 20)), cap)


def _count_failure(session: Session, key: str, now: datetime, *, free: int, cap: timedelta) -> LoginThrottle:
    row = session.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0)
    last = _aware(row.last_failure_at)
    if last is not None and now - last > FORGET_AFTER:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    delay = _delay(row.failures, free, cap)
    row.blocked_until = now + delay if delay else None
    session.add(row)
    return row


# ------------------------------------------------------------------ login
def _get_user(session: Session, username: str) -> User | None:
    return session.exec(sm_select(User).where(User.username == username)).first()


def authenticate(session: Session, *, username: str, password: str, now: datetime | None = None,
                 client_address: str | None = None) -> AuthResult:
    """Check a login attempt and record it; unknown and real names get the same message, cost and
    throttling, so neither tells whether an account exists.

    ``now`` is injectable for tests. The password is compared as typed except for surrounding whitespace.
    """
    now = now or utcnow()
    username = (username or "").strip().lower()[:64]
    password = (password or "").strip()
    if not username or not password:
        return AuthResult(ok=False, message="请输入用户名和密码。")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return AuthResult(ok=False, message=password_too_long_message())

    address = throttle_address(client_address)
    keys = [_user_key(username)] + ([_address_key(address)] if address else [])
    blocked = _blocked_until(session, keys, now)
    if blocked is not None:
        return AuthResult(ok=False, message=retry_message(blocked, now), retry_after=blocked)

    user = _get_user(session, username)
    matches = verify_password(password, user.password_hash if user is not None else _dummy_hash().decode())
    if user is None or not matches:
        account = _count_failure(session, _user_key(username), now, free=FREE_ATTEMPTS, cap=MAX_ACCOUNT_DELAY)
        if address:
            _count_failure(session, _address_key(address), now, free=ADDRESS_FREE_ATTEMPTS, cap=MAX_ADDRESS_DELAY)
        if user is not None and account.failures == FREE_ATTEMPTS:
            record(session, actor=Actor(username=user.username, role=user.role, user_id=user.id),
                   action="throttle_account", entity="user", entity_id=user.id,
                   after={"blocked_until": account.blocked_until.isoformat(), "address": address},
                   reason=f"连续 {FREE_ATTEMPTS} 次密码错误")
        session.commit()
        return AuthResult(ok=False, message=BAD_CREDENTIALS)
    if not user.active:
        # Only someone who knows the password learns that the account is deactivated.
        return AuthResult(ok=False, message=INACTIVE)

    row = session.get(LoginThrottle, _user_key(username))
    if row is not None:
        session.delete(row)
    record(session, actor=Actor(username=user.username, role=user.role, user_id=user.id),
           action="login", entity="user", entity_id=user.id, after={"address": address} if address else None)
    session.commit()
    return AuthResult(ok=True, username=user.username, role=user.role, user_id=user.id,
                      enterprise_id=user.enterprise_id, display_name=user.display_name,
                      must_change_password=bool(user.must_change_password))


def throttled_accounts(session: Session, *, actor: Actor, now: datetime | None = None) -> list[dict]:
    """Existing accounts whose logins are being delayed now (admin): username, failures, until."""
    require_role(actor, "admin")
    now = now or utcnow()
    rows = session.execute(
        select(User.username, LoginThrottle.failures, LoginThrottle.blocked_until)
        .join(LoginThrottle, LoginThrottle.key == literal("user:") + User.username)
        .where(LoginThrottle.blocked_until.is_not(None))
    ).all()
    return [{"username": u, "failures": f, "blocked_until": _aware(b)} for u, f, b in rows if _aware(b) > now]


def is_throttled(session: Session, username: str, *, now: datetime | None = None) -> bool:
    return _blocked_until(session, [_user_key((username or "").lower())], now or utcnow()) is not None


# ------------------------------------------------------------------ sessions
@dataclass(frozen=True)
class SessionInfo:
    actor: Actor
    display_name: str
    must_change_password: bool
    expires_at: datetime


def _token_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def start_session(session: Session, *, user_id: int, client_address: str | None = None,
                  now: datetime | None = None) -> tuple[str, datetime]:
    """A new server-side session for a user who just logged in: (random session id, expiry).

    The id goes into the signed cookie; the database keeps only its sha256.
    """
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise PermissionDenied("账户不存在或已停用。")
    now = now or utcnow()
    session_id = secrets.token_urlsafe(32)
    expires = now + timedelta(days=SESSION_DAYS.get(user.role, 1.0))
    session.add(UserSession(token_hash=_token_hash(session_id), user_id=user.id, created_at=now,
                            expires_at=expires, last_seen_at=now, client_address=(client_address or None)))
    session.commit()
    return session_id, expires


def resume_session(session: Session, *, session_id: str, now: datetime | None = None) -> SessionInfo | None:
    """The live session ``session_id`` names, or None (unknown, revoked, expired, user inactive)."""
    if not session_id or len(session_id) > 200:
        return None
    now = now or utcnow()
    row = session.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _token_hash(session_id))
    ).first()
    if row is None:
        return None
    record_, user = row
    if record_.revoked_at is not None or _aware(record_.expires_at) <= now or not user.active:
        return None
    actor = Actor(username=user.username, role=user.role, user_id=user.id, enterprise_id=user.enterprise_id)
    return SessionInfo(actor, user.display_name, bool(user.must_change_password), _aware(record_.expires_at))


def end_session(session: Session, *, session_id: str, reason: str = "logout") -> None:
    """Revoke one session (logout)."""
    session.execute(
        update(UserSession).where(UserSession.token_hash == _token_hash(session_id or ""),
                                  UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    session.commit()


def revoke_sessions(session: Session, *, user_id: int, reason: str) -> int:
    """Revoke every live session of a user in the caller's transaction; returns how many."""
    result = session.execute(
        update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    return result.rowcount or 0


def actor_for(session: Session, username: str) -> tuple[Actor, bool] | None:
    """(Actor, must_change_password) of an active user, else None."""
    user = _get_user(session, (username or "").lower())
    if user is None or not user.active:
        return None
    actor = Actor(username=user.username, role=user.role, user_id=user.id, enterprise_id=user.enterprise_id)
    return actor, bool(user.must_change_password)


# ------------------------------------------------------------------ passwords
# Passwords that are published (the demo password is in the README) or top the leaked-password lists:
# refused whatever their case. The demo seed hashes Demo@2025 itself (db/seed.py); no person may choose it.
KNOWN_PASSWORDS = frozenset(p.casefold() for p in (
    "Demo@2025", "Demo2025", "Demo@2024", "Demo@2026", "demo123456", "Password1", "Password123", "Passw0rd",
    "P@ssw0rd", "P@ssword1", "Password@123", "Admin123", "Admin@123", "Admin@2025", "admin123456",
    "Abc123456", "Abc@123456", "Aa123456", "Aa12345678", "Qwerty123", "qwerty12345", "1qaz2wsx",
    "1qaz2wsx3edc", "1q2w3e4r", "1q2w3e4r5t", "a123456789", "abc1234567", "123456789a", "1234567890a",
    "woaini1314", "woaini520", "iloveyou1", "Welcome1", "Welcome123", "Changeme1", "Test123456",
))


def password_problems(password: str, *, username: str = "", old: str | None = None) -> list[str]:
    """Chinese messages for every rule ``password`` breaks (empty when acceptable).

    The one policy for every password a person sets (create, forced change after a reset, change): at
    least :data:`MIN_PASSWORD_CHARS` characters, letters and digits, not a published or common password,
    not the user name (nor containing it), not the old one.
    """
    problems: list[str] = []
    if password.strip().casefold() in KNOWN_PASSWORDS:
        problems.append("该密码是公开的演示密码或常见弱密码，请另设一个。")
    if len(password) < MIN_PASSWORD_CHARS:
        problems.append(f"密码至少 {MIN_PASSWORD_CHARS} 个字符。")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        problems.append(password_too_long_message())
    if password != password.strip():
        problems.append("密码首尾不能有空格。")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        problems.append("密码须同时包含字母和数字。")
    name = username.strip().casefold()
    if name and password.strip().casefold() == name:
        problems.append("密码不能与用户名相同。")
    elif len(name) >= 3 and name in password.casefold():
        problems.append("密码不能包含用户名。")
    if old is not None and password == old:
        problems.append("新密码不能与原密码相同。")
    return problems


def check_new_password(password: str, *, username: str, old: str | None = None, field: str = "new") -> None:
    """Raise ValidationFailed (all problems listed) unless ``password`` meets :func:`password_problems`."""
    problems = password_problems(password, username=username, old=old)
    if problems:
        raise ValidationFailed(problems[0], [{"field": field, "problem": p} for p in problems])


def change_password(session: Session, *, actor: Actor, old: str, new: str, confirm: str | None = None) -> None:
    """Change the actor's own password after checking the old one; clears the forced-change flag and
    revokes every session of the user (the caller starts a fresh one for the browser in use)."""
    if actor.role == "system" or not actor.username:
        raise PermissionDenied("系统账户不能修改密码。")
    user = _get_user(session, actor.username)
    if user is None:
        raise NotFound("用户不存在。")
    if user.id != actor.user_id and actor.user_id is not None:
        raise PermissionDenied("只能修改自己的密码。")
    if confirm is not None and confirm != new:
        raise ValidationFailed("两次输入的新密码不一致。")
    if not verify_password(old.strip(), user.password_hash):
        raise ValidationFailed("原密码不正确。")
    check_new_password(new, username=user.username, old=old)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    session.add(user)
    revoked = revoke_sessions(session, user_id=user.id, reason="password_change")
    record(session, actor=actor, action="change_password", entity="user", entity_id=user.id,
           after={"sessions_revoked": revoked})
    session.commit()


def one_time_password(username: str = "") -> str:
    """12 characters from an alphabet without look-alikes; always has a letter and a digit, and meets
    :func:`password_problems` (drawn again in the rare case it contains ``username``)."""
    letters = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ"
    digits = "23456789"
    while True:
        body = [secrets.choice(letters + digits) for _ in range(10)]
        password = "".join(body) + secrets.choice(letters) + secrets.choice(digits)
        if not password_problems(password, username=username):
            return password


# ------------------------------------------------------------------ 用户管理 (admin)
def _check_new_account(session: Session, username: str, role: str, enterprise_id: int | None) -> str:
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise ValidationFailed("用户名须为 3–64 位小写字母、数字或 . _ -，并以字母或数字开头。")
    if role not in ROLES:
        raise ValidationFailed(f"角色必须是 {'/'.join(ROLES)} 之一。")
    if role == "enterprise":
        if enterprise_id is None:
            raise ValidationFailed("企业账户必须关联一家企业。")
        if session.get(Enterprise, enterprise_id) is None:
            raise NotFound("关联的企业不存在。")
    elif enterprise_id is not None:
        raise ValidationFailed("只有企业账户可以关联企业。")
    if _get_user(session, username) is not None:
        raise Conflict(f"用户名 {username} 已存在。")
    return username


def create_user(
    session: Session,
    *,
    actor: Actor,
    username: str,
    role: str,
    enterprise_id: int | None = None,
    password: str | None = None,
    display_name: str | None = None,
) -> tuple[User, str | None]:
    """Create an account (admin or system only). Returns (user, one-time password or None).

    Without ``password`` a one-time password is generated and the user must change it at first
    login; an admin-chosen password is treated the same way. Only ``system`` (CLI, seed) may set a
    permanent password.
    """
    require_role(actor, "admin")
    username = _check_new_account(session, username, role, enterprise_id)
    one_time: str | None = None
    if password is None:
        one_time = password = one_time_password(username=username)
    else:
        check_new_password(password, username=username, field="password")
    user = User(
        username=username,
        display_name=(display_name or username).strip()[:100],
        password_hash=hash_password(password),
        role=role,
        enterprise_id=enterprise_id,
        must_change_password=actor.role != "system" or one_time is not None,
    )
    session.add(user)
    session.flush()
    record(session, actor=actor, action="create_user", entity="user", entity_id=user.id,
           after={"username": username, "role": role, "enterprise_id": enterprise_id})
    session.commit()
    return user, one_time


@dataclass(frozen=True)
class NewAccount:
    username: str
    display_name: str
    role: str
    enterprise_id: int | None
    credit_code: str | None
    password: str


def _suggest_username(credit_code: str, taken: set[str]) -> str:
    base = "e" + credit_code.lower()[-8:]
    name, k = base, 2
    while name in taken:
        name, k = f"{base}-{k}", k + 1
    return name


def create_enterprise_accounts(session: Session, *, actor: Actor, enterprise_ids: list[int]) -> list[NewAccount]:
    """Admin: one account per selected enterprise (user name from its credit code), each with a
    one-time password, in one transaction. Enterprises that already have an account are refused."""
    require_role(actor, "admin")
    ids = list(dict.fromkeys(int(i) for i in enterprise_ids))
    if not ids:
        raise ValidationFailed("请至少选择一家企业。")
    if len(ids) > 5000:
        raise ValidationFailed("一次最多为 5000 家企业开通账户，请分批操作。")
    enterprises = {e.id: e for e in session.exec(sm_select(Enterprise).where(Enterprise.id.in_(ids))).all()}
    missing = [i for i in ids if i not in enterprises]
    if missing:
        raise NotFound(f"企业不存在：编号 {missing[:5]}")
    existing = session.execute(select(User.enterprise_id, User.username).where(User.enterprise_id.in_(ids))).all()
    if existing:
        names = "、".join(f"{enterprises[e].name}（{u}）" for e, u in existing[:5])
        raise Conflict(f"以下企业已有账户：{names}。请取消选择，或对其使用“重置密码”。")
    taken = set(session.execute(select(User.username)).scalars())
    created: list[NewAccount] = []
    for eid in ids:
        ent = enterprises[eid]
        username = _suggest_username(ent.credit_code, taken)
        taken.add(username)
        password = one_time_password(username=username)
        user = User(username=username, display_name=ent.name[:100], password_hash=hash_password(password),
                    role="enterprise", enterprise_id=eid, must_change_password=True)
        session.add(user)
        session.flush()
        record(session, actor=actor, action="create_user", entity="user", entity_id=user.id,
               after={"username": username, "role": "enterprise", "enterprise_id": eid, "bulk": True})
        created.append(NewAccount(username, user.display_name, "enterprise", eid, ent.credit_code, password))
    session.commit()
    return created


def _admin_target(session: Session, actor: Actor, username: str) -> User:
    require_role(actor, "admin")
    user = _get_user(session, (username or "").strip().lower())
    if user is None:
        raise NotFound("用户不存在。")
    return user


def reset_password(session: Session, *, actor: Actor, username: str) -> str:
    """Admin: give a user a new one-time password, lift throttling, end its sessions. Returns the password."""
    user = _admin_target(session, actor, username)
    one_time = one_time_password(username=user.username)
    user.password_hash = hash_password(one_time)
    user.must_change_password = True
    session.add(user)
    _clear_throttle(session, user.username)
    revoked = revoke_sessions(session, user_id=user.id, reason="password_reset")
    record(session, actor=actor, action="reset_password", entity="user", entity_id=user.id,
           after={"sessions_revoked": revoked})
    session.commit()
    return one_time


def _clear_throttle(session: Session, username: str) -> bool:
    row = session.get(LoginThrottle, _user_key(username))
    if row is None:
        return False
    session.delete(row)
    return True


def unlock_user(session: Session, *, actor: Actor, username: str) -> None:
    """Admin: lift the login delay of an account now."""
    user = _admin_target(session, actor, username)
    row = session.get(LoginThrottle, _user_key(user.username))
    before = {"failures": row.failures if row else 0,
              "blocked_until": row.blocked_until.isoformat() if row and row.blocked_until else None}
    _clear_throttle(session, user.username)
    record(session, actor=actor, action="unlock_user", entity="user", entity_id=user.id, before=before)
    session.commit()


def _active_admins(session: Session) -> int:
    from sqlalchemy import func

    return session.execute(select(func.count()).select_from(User)
                           .where(User.role == "admin", User.active.is_(True))).scalar_one()


def set_active(session: Session, *, actor: Actor, username: str, active: bool, reason: str | None = None) -> None:
    """Admin: deactivate (ends every session at once) or reactivate an account; the last active admin
    cannot be deactivated."""
    user = _admin_target(session, actor, username)
    if user.active == active:
        raise Conflict("该账户已是停用状态。" if not active else "该账户已是启用状态。")
    if not active and user.role == "admin" and _active_admins(session) <= 1:
        raise Conflict("不能停用最后一个系统管理员账户。")
    user.active = active
    session.add(user)
    revoked = 0 if active else revoke_sessions(session, user_id=user.id, reason="deactivated")
    record(session, actor=actor, action="reactivate_user" if active else "deactivate_user", entity="user",
           entity_id=user.id, before={"active": not active}, after={"active": active, "sessions_revoked": revoked},
           reason=(reason or "").strip() or None)
    session.commit()


def change_role(session: Session, *, actor: Actor, username: str, role: str, enterprise_id: int | None = None) -> None:
    """Admin: switch an account between officer and admin (an enterprise account stays bound to its
    enterprise; a staff account cannot become one). The last active admin keeps the admin role.
    The user's sessions end, so the new role applies from the next login."""
    user = _admin_target(session, actor, username)
    if role not in ROLES:
        raise ValidationFailed(f"角色必须是 {'/'.join(ROLES)} 之一。")
    if role == user.role:
        raise Conflict("角色未变化。")
    if "enterprise" in (role, user.role):
        raise ValidationFailed("企业账户与工作人员账户不能互相转换，请另建账户。")
    if user.role == "admin" and user.active and _active_admins(session) <= 1:
        raise Conflict("不能取消最后一个系统管理员的管理员角色。")
    before = user.role
    user.role = role
    session.add(user)
    revoked = revoke_sessions(session, user_id=user.id, reason="role_change")
    record(session, actor=actor, action="change_role", entity="user", entity_id=user.id,
           before={"role": before}, after={"role": role, "sessions_revoked": revoked})
    session.commit()


def end_user_sessions(session: Session, *, actor: Actor, username: str) -> int:
    """Admin: sign a user out everywhere now."""
    user = _admin_target(session, actor, username)
    revoked = revoke_sessions(session, user_id=user.id, reason="admin")
    record(session, actor=actor, action="end_sessions", entity="user", entity_id=user.id,
           after={"sessions_revoked": revoked})
    session.commit()
    return revoked


USER_COLUMNS = ["username", "display_name", "role", "enterprise_id", "enterprise_name", "credit_code", "active",
                "must_change_password", "throttled_until", "created_at"]


def list_users(session: Session, *, actor: Actor, search: str | None = None, now: datetime | None = None):
    """Accounts for 用户管理 (admin), with the login delay each is under now."""
    import pandas as pd

    require_role(actor, "admin")
    now = now or utcnow()
    stmt = (select(User.username, User.display_name, User.role, User.enterprise_id, Enterprise.name,
                   Enterprise.credit_code, User.active, User.must_change_password, LoginThrottle.blocked_until,
                   User.created_at)
            .outerjoin(Enterprise, Enterprise.id == User.enterprise_id)
            .outerjoin(LoginThrottle, LoginThrottle.key == literal("user:") + User.username)
            .order_by(User.role, User.username))
    if search and search.strip():
        term = f"%{search.strip()}%"
        stmt = stmt.where(User.username.ilike(term) | User.display_name.ilike(term) | Enterprise.name.ilike(term))
    frame = pd.DataFrame([tuple(r) for r in session.execute(stmt).all()], columns=USER_COLUMNS)
    frame["throttled_until"] = frame["throttled_until"].map(
        lambda v: _aware(v) if v is not None and _aware(v) > now else None)
    return frame


def enterprises_without_account(session: Session, *, actor: Actor, search: str | None = None, limit: int = 200):
    """Enterprises no account is bound to yet (admin; for bulk account creation), by name."""
    import pandas as pd

    require_role(actor, "admin")
    has_account = select(User.enterprise_id).where(User.enterprise_id.is_not(None))
    stmt = (select(Enterprise.id, Enterprise.credit_code, Enterprise.name)
            .where(Enterprise.id.not_in(has_account)).order_by(Enterprise.name).limit(limit))
    if search and search.strip():
        term = search.strip()
        stmt = stmt.where(Enterprise.name.ilike(f"%{term}%") | Enterprise.credit_code.like(f"%{term.upper()}%"))
    return pd.DataFrame([tuple(r) for r in session.execute(stmt).all()], columns=["id", "credit_code", "name"])


def accounts_xlsx(created: list[NewAccount]) -> bytes:
    """The one export of new accounts and their one-time passwords (through the one sanitiser)."""
    import pandas as pd

    from core.spreadsheet import write_xlsx

    frame = pd.DataFrame([{"企业名称": a.display_name, "统一社会信用代码": a.credit_code or "", "用户名": a.username,
                           "一次性密码": a.password} for a in created])
    return write_xlsx({"新开通账户": frame, "说明": ["一次性密码仅用于首次登录，登录后须立即修改。",
                                                 "请将本文件安全交付各企业后删除。"]})
