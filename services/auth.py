"""Accounts: password checks with a database lockout, password changes, user creation.

The lockout lives in the database (``User.failed_attempts`` / ``User.locked_until``) because the
authenticator's own ``max_login_attempts`` counts in a dict that Home.py rebuilds on every run.
Every function commits its own transaction (one use case = one transaction).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import bcrypt
from sqlalchemy import or_, select
from sqlmodel import Session
from sqlmodel import select as sm_select

from db.models import ROLES, Enterprise, User, utcnow
from services.actor import Actor, require_role
from services.audit import record
from services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

MAX_FAILED_ATTEMPTS = 5
LOCK_MINUTES = 15
MIN_PASSWORD_BYTES = 8
MAX_PASSWORD_BYTES = 72  # bcrypt 5 rejects longer passwords outright
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{2,63}$")

# Verifying against a dummy hash for unknown users keeps the response time the same, so timing does
# not reveal which user names exist.
_DUMMY_HASH = bcrypt.hashpw(b"not-a-real-password", bcrypt.gensalt(rounds=4))

BAD_CREDENTIALS = "用户名或密码错误。"


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
    locked_until: datetime | None = None

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


def _is_locked(user: User, now: datetime) -> bool:
    locked = _aware(user.locked_until)
    return locked is not None and locked > now


def _minutes_left(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 59) // 60)


def locked_message(until: datetime, now: datetime) -> str:
    return (f"连续 {MAX_FAILED_ATTEMPTS} 次密码错误，账户已锁定 {LOCK_MINUTES} 分钟，"
            f"请 {_minutes_left(until, now)} 分钟后再试，或联系管理员解锁。")


# ------------------------------------------------------------------ login
def _get_user(session: Session, username: str) -> User | None:
    return session.exec(sm_select(User).where(User.username == username)).first()


def authenticate(session: Session, *, username: str, password: str, now: datetime | None = None) -> AuthResult:
    """Check a login attempt and record it: 5 failures in a row lock the account for 15 minutes.

    ``now`` is injectable for tests. The password is compared as typed except for surrounding
    whitespace, which the authenticator also strips.
    """
    now = now or utcnow()
    username = (username or "").strip().lower()
    password = (password or "").strip()
    if not username or not password:
        return AuthResult(ok=False, message="请输入用户名和密码。")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return AuthResult(ok=False, message=password_too_long_message())

    user = _get_user(session, username)
    if user is None:
        verify_password(password, _DUMMY_HASH.decode())
        return AuthResult(ok=False, message=BAD_CREDENTIALS)
    if not user.active:
        return AuthResult(ok=False, message="该账户已停用，请联系管理员。")
    if _is_locked(user, now):
        return AuthResult(ok=False, message=locked_message(_aware(user.locked_until), now),
                          locked_until=_aware(user.locked_until))
    if user.locked_until is not None:
        # The lock has expired: start counting afresh.
        user.locked_until = None
        user.failed_attempts = 0

    if not verify_password(password, user.password_hash):
        user.failed_attempts = (user.failed_attempts or 0) + 1
        if user.failed_attempts >= MAX_FAILED_ATTEMPTS:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            user.failed_attempts = 0
            record(session, actor=Actor(username=user.username, role=user.role, user_id=user.id),
                   action="lock_account", entity="user", entity_id=user.id,
                   after={"locked_until": user.locked_until.isoformat()},
                   reason=f"连续 {MAX_FAILED_ATTEMPTS} 次密码错误")
            session.add(user)
            session.commit()
            return AuthResult(ok=False, message=locked_message(user.locked_until, now),
                              locked_until=user.locked_until)
        left = MAX_FAILED_ATTEMPTS - user.failed_attempts
        session.add(user)
        session.commit()
        return AuthResult(ok=False, message=f"{BAD_CREDENTIALS}再错 {left} 次账户将被锁定 {LOCK_MINUTES} 分钟。")

    user.failed_attempts = 0
    user.locked_until = None
    session.add(user)
    record(session, actor=Actor(username=user.username, role=user.role, user_id=user.id),
           action="login", entity="user", entity_id=user.id)
    session.commit()
    return AuthResult(ok=True, username=user.username, role=user.role, user_id=user.id,
                      enterprise_id=user.enterprise_id, display_name=user.display_name,
                      must_change_password=bool(user.must_change_password))


def actor_for(session: Session, username: str, *, now: datetime | None = None) -> tuple[Actor, bool] | None:
    """(Actor, must_change_password) of an active, unlocked user, else None (ends a live session)."""
    user = _get_user(session, (username or "").lower())
    if user is None or not user.active or _is_locked(user, now or utcnow()):
        return None
    actor = Actor(username=user.username, role=user.role, user_id=user.id, enterprise_id=user.enterprise_id)
    return actor, bool(user.must_change_password)


# ------------------------------------------------------------------ passwords
def password_problems(password: str, *, username: str = "", old: str | None = None) -> list[str]:
    """Chinese messages for every rule ``password`` breaks (empty when acceptable)."""
    problems: list[str] = []
    size = len(password.encode("utf-8"))
    if size < MIN_PASSWORD_BYTES:
        problems.append(f"密码至少 {MIN_PASSWORD_BYTES} 个字符。")
    if size > MAX_PASSWORD_BYTES:
        problems.append(password_too_long_message())
    if password != password.strip():
        problems.append("密码首尾不能有空格。")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        problems.append("密码须同时包含字母和数字。")
    if username and password.strip().lower() == username.strip().lower():
        problems.append("密码不能与用户名相同。")
    if old is not None and password == old:
        problems.append("新密码不能与原密码相同。")
    return problems


def change_password(session: Session, *, actor: Actor, old: str, new: str, confirm: str | None = None) -> None:
    """Change the actor's own password after checking the old one; clears the forced-change flag."""
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
    problems = password_problems(new, username=user.username, old=old)
    if problems:
        raise ValidationFailed(problems[0], [{"field": "new", "problem": p} for p in problems])
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    session.add(user)
    record(session, actor=actor, action="change_password", entity="user", entity_id=user.id)
    session.commit()


def _one_time_password() -> str:
    # 12 characters from an alphabet without look-alikes; always has a letter and a digit.
    letters = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ"
    digits = "23456789"
    body = [secrets.choice(letters + digits) for _ in range(10)]
    return "".join(body) + secrets.choice(letters) + secrets.choice(digits)


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

    one_time: str | None = None
    if password is None:
        one_time = password = _one_time_password()
    else:
        problems = password_problems(password, username=username)
        if problems:
            raise ValidationFailed(problems[0], [{"field": "password", "problem": p} for p in problems])
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


def reset_password(session: Session, *, actor: Actor, username: str) -> str:
    """Admin: give a user a new one-time password (and unlock it). Returns the password."""
    require_role(actor, "admin")
    user = _get_user(session, (username or "").lower())
    if user is None:
        raise NotFound("用户不存在。")
    one_time = _one_time_password()
    user.password_hash = hash_password(one_time)
    user.must_change_password = True
    user.failed_attempts = 0
    user.locked_until = None
    session.add(user)
    record(session, actor=actor, action="reset_password", entity="user", entity_id=user.id)
    session.commit()
    return one_time


def unlock_user(session: Session, *, actor: Actor, username: str) -> None:
    """Admin: lift a lockout now."""
    require_role(actor, "admin")
    user = _get_user(session, (username or "").lower())
    if user is None:
        raise NotFound("用户不存在。")
    before = {"locked_until": user.locked_until.isoformat() if user.locked_until else None}
    user.failed_attempts = 0
    user.locked_until = None
    session.add(user)
    record(session, actor=actor, action="unlock_user", entity="user", entity_id=user.id, before=before)
    session.commit()


# ------------------------------------------------------------------ authenticator glue
def credentials_for_authenticator(
    session: Session, *, usernames: list[str] | None = None, now: datetime | None = None
) -> dict:
    """The streamlit-authenticator credentials dict: active, unlocked users only.

    ``usernames`` narrows the query to the users this browser session can be (the one logged in,
    the one named in its cookie) so a run costs one indexed lookup however many accounts exist.
    Locked and inactive users are left out, so their re-authentication cookie stops working.
    """
    now = now or utcnow()
    stmt = select(User.username, User.display_name, User.password_hash, User.role, User.locked_until).where(
        User.active.is_(True)  # type: ignore[attr-defined]
    )
    if usernames is not None:
        names = sorted({u.lower() for u in usernames if u})
        if not names:
            return {"usernames": {}}
        stmt = stmt.where(User.username.in_(names))  # type: ignore[attr-defined]
    stmt = stmt.where(or_(User.locked_until.is_(None), User.locked_until <= now))  # type: ignore[union-attr]
    result: dict[str, dict] = {}
    for username, name, pw_hash, role, _locked in session.execute(stmt):
        result[username] = {"name": name, "password": pw_hash, "email": None, "roles": [role]}
    return {"usernames": result}

