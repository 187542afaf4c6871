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
from sqlalchemy import delete, select, update
from sqlmodel import Session
from sqlmodel import select as sm_select

from db.models import ROLES, Enterprise, LoginThrottle, User, UserSession, utcnow
from services.actor import Actor, require_live, require_role
from services.audit import record
from services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

MIN_PASSWORD_CHARS = 10  # characters, not bytes: "a密码1" is 8 bytes but 4 characters
MIN_PASSWORD_BYTES = MIN_PASSWORD_CHARS  # the old name, still read by pages
MAX_PASSWORD_BYTES = 72  # bcrypt 5 rejects longer passwords outright
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{2,63}$")

# Throttling (issue 24), three counters, each short on purpose: a stranger can slow a user down, never
# lock the account for long, and nobody can lock out everyone behind one proxy.
# * per (account, client): after FREE_ATTEMPTS failures in a row the pair waits FIRST_DELAY, doubling up to
#   MAX_PAIR_DELAY (1 min). Through a shared client (a proxy that sends no X-Forwarded-For) 12 guesses an
#   hour then keep the account waiting at most 12 × 1 min = 20 % of the hour, not 96 %.
# * per account, all clients (the global cap on guessing): a leaky bucket of ACCOUNT_BUDGET failures that
#   drains one every ACCOUNT_LEAK (sustained 30 an hour). While full, clients wait for the next drain
#   (≤ 2 min) — except clients this account logged in from in the last KNOWN_CLIENT_DAYS, so a guessing
#   campaign does not keep the owner out.
# * per client address across names (spraying): 20 free failures, waits up to 30 minutes. Loopback
#   (127.0.0.1, ::1, ::ffff:127.0.0.1) is never throttled as an address: it is the proxy everyone shares.
#   Admin accounts, and accounts known to that address, still get in with the right password.
# Attempts refused while waiting are not counted. 解除登录限制 / ``manage.py users unlock`` clears the
# account's counters and every address wait in force.
FREE_ATTEMPTS = 5
FIRST_DELAY = timedelta(seconds=15)
MAX_PAIR_DELAY = timedelta(minutes=1)
MAX_ACCOUNT_DELAY = MAX_PAIR_DELAY  # the longest wait a stranger can impose on one client of an account
ACCOUNT_BUDGET = 30
ACCOUNT_LEAK = timedelta(minutes=2)
KNOWN_CLIENT_DAYS = 30
ADDRESS_FREE_ATTEMPTS = 20
MAX_ADDRESS_DELAY = timedelta(minutes=30)
FORGET_AFTER = timedelta(hours=1)  # a failure this old no longer counts (pair and address)
UNKNOWN_CLIENT = "-"  # behind a proxy that does not say who the client is

BAD_CREDENTIALS = "用户名或密码错误。"
INACTIVE = "该账户已停用，请联系管理员。"

# Staff sessions are short (issue 11: under 7 days); enterprises keep the week they had.
SESSION_DAYS = {"admin": 1.0, "officer": 1.0, "enterprise": 7.0, "bank": 1.0}


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
        return Actor(
            username=self.username, role=self.role, user_id=self.user_id, enterprise_id=self.enterprise_id
        )


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


def _pair_prefix(username: str) -> str:
    return f"pair:{username}|"


def _pair_key(username: str, client: str | None) -> str:
    return _pair_prefix(username) + (client or UNKNOWN_CLIENT)


def _address_key(address: str) -> str:
    return f"addr:{address}"


def _ip(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address parsed, an IPv4-mapped IPv6 address (``::ffff:127.0.0.1``) as the IPv4 it maps."""
    try:
        ip = ipaddress.ip_address((address or "").strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def throttle_address(address: str | None) -> str | None:
    """The address to throttle, or None: loopback (also IPv4-mapped) means a reverse proxy in front
    (every user would share it), so it is not throttled as an address (docs/security.md)."""
    ip = _ip(address)
    if ip is None or ip.is_loopback:
        return None
    return str(ip)


def resolve_client(peer: str | None, forwarded_for: str | None = None) -> str | None:
    """The client a login comes from: the peer address, or — when the peer is a loopback proxy — the
    last X-Forwarded-For entry (the one that proxy appended; entries left of it are the client's own
    claims). None when nothing identifies the client (loopback without the header)."""
    ip = _ip(peer)
    if ip is None:
        return None
    if not ip.is_loopback:
        return str(ip)
    entries = [e.strip() for e in (forwarded_for or "").split(",") if e.strip()]
    return throttle_address(entries[-1]) if entries else None


def retry_message(until: datetime, now: datetime) -> str:
    seconds = max(1, int((until - now).total_seconds() + 0.999))
    wait = f"{seconds} 秒" if seconds < 120 else f"{(seconds + 59) // 60} 分钟"
    return f"登录失败次数过多，请 {wait}后再试；如急需登录，请联系管理员解锁。"


def _blocked_until(session: Session, keys: list[str], now: datetime) -> datetime | None:
    if not keys:
        return None
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


def _fill_bucket(session: Session, key: str, now: datetime) -> LoginThrottle:
    """One more failure in the account's leaky bucket: ``failures`` is the level, ``last_failure_at``
    the drain clock (one failure drains every ACCOUNT_LEAK); full means a wait until the next drain."""
    row = session.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0)
    clock = _aware(row.last_failure_at) or now
    drained = max(0, int((now - clock) / ACCOUNT_LEAK))
    level = max(0, row.failures - drained)
    clock = clock + drained * ACCOUNT_LEAK if level else now
    row.failures = level + 1
    row.last_failure_at = clock
    row.blocked_until = clock + ACCOUNT_LEAK if row.failures >= ACCOUNT_BUDGET else None
    session.add(row)
    return row


def _known_client(session: Session, user_id: int, client: str | None, now: datetime) -> bool:
    """Whether this account logged in from ``client`` in the last KNOWN_CLIENT_DAYS days."""
    if client is None:
        return False
    found = session.execute(
        select(UserSession.id)
        .where(
            UserSession.user_id == user_id,
            UserSession.client_address == client,
            UserSession.created_at >= now - timedelta(days=KNOWN_CLIENT_DAYS),
        )
        .limit(1)
    ).first()
    return found is not None


# ------------------------------------------------------------------ login
def _get_user(session: Session, username: str) -> User | None:
    return session.exec(sm_select(User).where(User.username == username)).first()


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    now: datetime | None = None,
    client_address: str | None = None,
) -> AuthResult:
    """Check a login attempt and record it; unknown and real names get the same message, cost and
    throttling, so neither tells whether an account exists.

    ``client_address`` is the client as :func:`resolve_client` gives it. ``now`` is injectable for tests.
    The password is compared as typed except for surrounding whitespace.
    """
    now = now or utcnow()
    username = (username or "").strip().lower()[:64]
    password = (password or "").strip()
    if not username or not password:
        return AuthResult(ok=False, message="请输入用户名和密码。")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return AuthResult(ok=False, message=password_too_long_message())

    address = throttle_address(client_address)
    user = _get_user(session, username)
    known = user is not None and _known_client(session, user.id, address, now)
    # The pair's own backoff, and the account's global cap unless this client is one the owner uses.
    blocked = _blocked_until(
        session, [_pair_key(username, address)] + ([] if known else [_user_key(username)]), now
    )
    if blocked is not None:
        return AuthResult(ok=False, message=retry_message(blocked, now), retry_after=blocked)
    address_blocked = _blocked_until(session, [_address_key(address)], now) if address else None

    matches = verify_password(password, user.password_hash if user is not None else _dummy_hash().decode())
    if address_blocked is not None and not (matches and user is not None and (user.role == "admin" or known)):
        # One address sprayed names: it waits, except an admin or an account known there with the right
        # password. Guesses at such accounts still count for them; everyone gets the same words.
        if user is not None and not matches and (user.role == "admin" or known):
            _count_failure(session, _pair_key(username, address), now, free=FREE_ATTEMPTS, cap=MAX_PAIR_DELAY)
            _fill_bucket(session, _user_key(username), now)
            session.commit()
        return AuthResult(ok=False, message=retry_message(address_blocked, now), retry_after=address_blocked)
    if user is None or not matches:
        pair = _count_failure(
            session, _pair_key(username, address), now, free=FREE_ATTEMPTS, cap=MAX_PAIR_DELAY
        )
        _fill_bucket(session, _user_key(username), now)
        if address:
            _count_failure(
                session, _address_key(address), now, free=ADDRESS_FREE_ATTEMPTS, cap=MAX_ADDRESS_DELAY
            )
        if user is not None and pair.failures == FREE_ATTEMPTS:
            record(
                session,
                actor=Actor(username=user.username, role=user.role, user_id=user.id),
                action="throttle_account",
                entity="user",
                entity_id=user.id,
                after={"blocked_until": pair.blocked_until.isoformat(), "address": address},
                reason=f"连续 {FREE_ATTEMPTS} 次密码错误",
                check_actor=False,
            )
        session.commit()
        return AuthResult(ok=False, message=BAD_CREDENTIALS)
    if not user.active:
        # Only someone who knows the password learns that the account is deactivated.
        return AuthResult(ok=False, message=INACTIVE)

    # A success clears this client's backoff; the account's bucket drains by itself (the owner logging in
    # does not hand a guesser a fresh budget).
    row = session.get(LoginThrottle, _pair_key(username, address))
    if row is not None:
        session.delete(row)
    record(
        session,
        actor=Actor(username=user.username, role=user.role, user_id=user.id),
        action="login",
        entity="user",
        entity_id=user.id,
        after={"address": address} if address else None,
        check_actor=False,
    )
    session.commit()
    return AuthResult(
        ok=True,
        username=user.username,
        role=user.role,
        user_id=user.id,
        enterprise_id=user.enterprise_id,
        display_name=user.display_name,
        must_change_password=bool(user.must_change_password),
    )


def _account_waits(session: Session, now: datetime) -> dict[str, datetime]:
    """user name → the latest wait in force on its name (account bucket or any of its clients)."""
    rows = session.execute(
        select(LoginThrottle.key, LoginThrottle.blocked_until).where(
            LoginThrottle.blocked_until.is_not(None),
            LoginThrottle.key.startswith("user:") | LoginThrottle.key.startswith("pair:"),
        )
    ).all()
    waits: dict[str, datetime] = {}
    for key, until in rows:
        until = _aware(until)
        if until is None or until <= now:
            continue
        name = key.split(":", 1)[1].rsplit("|", 1)[0] if key.startswith("pair:") else key.split(":", 1)[1]
        waits[name] = max(until, waits.get(name, until))
    return waits


def throttled_accounts(session: Session, *, actor: Actor, now: datetime | None = None) -> list[dict]:
    """Existing accounts whose logins are being delayed now (admin): username, failures, until."""
    require_role(actor, "admin")
    now = now or utcnow()
    waits = _account_waits(session, now)
    if not waits:
        return []
    names = session.execute(select(User.username).where(User.username.in_(list(waits)))).scalars().all()
    failures = dict(
        session.execute(
            select(LoginThrottle.key, LoginThrottle.failures).where(
                LoginThrottle.key.in_([_user_key(n) for n in names])
            )
        ).all()
    )
    return [
        {"username": n, "failures": failures.get(_user_key(n), 0), "blocked_until": waits[n]} for n in names
    ]


def is_throttled(session: Session, username: str, *, now: datetime | None = None) -> bool:
    """Whether some wait is in force on ``username`` (its account cap or any of its clients)."""
    return (username or "").lower() in _account_waits(session, now or utcnow())


# ------------------------------------------------------------------ sessions
@dataclass(frozen=True)
class SessionInfo:
    actor: Actor
    display_name: str
    must_change_password: bool
    expires_at: datetime


def _token_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def start_session(
    session: Session, *, user_id: int, client_address: str | None = None, now: datetime | None = None
) -> tuple[str, datetime]:
    """A new server-side session for a user who just logged in: (random session id, expiry).

    The id goes into the signed cookie; the database keeps only its sha256.
    """
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise PermissionDenied("账户不存在或已停用。")
    now = now or utcnow()
    session_id = secrets.token_urlsafe(32)
    expires = now + timedelta(days=SESSION_DAYS.get(user.role, 1.0))
    session.add(
        UserSession(
            token_hash=_token_hash(session_id),
            user_id=user.id,
            created_at=now,
            expires_at=expires,
            last_seen_at=now,
            client_address=(client_address or None),
        )
    )
    session.commit()
    return session_id, expires


def resume_session(session: Session, *, session_id: str, now: datetime | None = None) -> SessionInfo | None:
    """The live session ``session_id`` names, or None (unknown, revoked, expired, user inactive)."""
    if not session_id or len(session_id) > 200:
        return None
    now = now or utcnow()
    row = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _token_hash(session_id))
    ).first()
    if row is None:
        return None
    record_, user = row
    if record_.revoked_at is not None or _aware(record_.expires_at) <= now or not user.active:
        return None
    actor = Actor(
        username=user.username,
        role=user.role,
        user_id=user.id,
        enterprise_id=user.enterprise_id,
        bank_name=user.bank_name,
        session_ref=record_.token_hash,
    )
    return SessionInfo(actor, user.display_name, bool(user.must_change_password), _aware(record_.expires_at))


def end_session(session: Session, *, session_id: str, reason: str = "logout") -> None:
    """Revoke one session (logout)."""
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _token_hash(session_id or ""), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    session.commit()


def revoke_sessions(session: Session, *, user_id: int, reason: str) -> int:
    """Revoke every live session of a user in the caller's transaction; returns how many."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    return result.rowcount or 0


def actor_for(session: Session, username: str) -> tuple[Actor, bool] | None:
    """(Actor, must_change_password) of an active user, else None."""
    user = _get_user(session, (username or "").lower())
    if user is None or not user.active:
        return None
    actor = Actor(
        username=user.username,
        role=user.role,
        user_id=user.id,
        enterprise_id=user.enterprise_id,
        bank_name=user.bank_name,
    )
    return actor, bool(user.must_change_password)


# ------------------------------------------------------------------ passwords
# Passwords that are published (the demo password is in the README) or top the leaked-password lists:
# refused whatever their case. The demo seed hashes Demo@2025 itself (demo/seeding.py); no person may choose it.
KNOWN_PASSWORDS = frozenset(
    p.casefold()
    for p in (
        "Demo@2025",
        "Demo2025",
        "Demo@2024",
        "Demo@2026",
        "demo123456",
        "Password1",
        "Password123",
        "Passw0rd",
        "P@ssw0rd",
        "P@ssword1",
        "Password@123",
        "Admin123",
        "Admin@123",
        "Admin@2025",
        "admin123456",
        "Abc123456",
        "Abc@123456",
        "Aa123456",
        "Aa12345678",
        "Qwerty123",
        "qwerty12345",
        "1qaz2wsx",
        "1qaz2wsx3edc",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "a123456789",
        "abc1234567",
        "123456789a",
        "1234567890a",
        "woaini1314",
        "woaini520",
        "iloveyou1",
        "Welcome1",
        "Welcome123",
        "Changeme1",
        "Test123456",
    )
)


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


def change_password(
    session: Session, *, actor: Actor, old: str, new: str, confirm: str | None = None
) -> None:
    """Change the actor's own password after checking the old one; clears the forced-change flag and
    revokes every session of the user (the caller starts a fresh one for the browser in use)."""
    if actor.role == "system" or not actor.username:
        raise PermissionDenied("系统账户不能修改密码。")
    require_live(session, actor)
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
    record(
        session,
        actor=actor,
        action="change_password",
        entity="user",
        entity_id=user.id,
        after={"sessions_revoked": revoked},
        check_actor=False,
    )
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
def _check_new_account(
    session: Session, username: str, role: str, enterprise_id: int | None, bank_name: str | None = None
) -> str:
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
    if role == "bank" and not (bank_name or "").strip():
        raise ValidationFailed("合作银行账户必须填写所属银行（机构名称）。")
    if role != "bank" and bank_name:
        raise ValidationFailed("只有合作银行账户可以填写所属银行。")
    if bank_name and len(bank_name.strip()) > 100:
        raise ValidationFailed("银行名称不能超过 100 字。")
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
    bank_name: str | None = None,
) -> tuple[User, str | None]:
    """Create an account (admin or system only). Returns (user, one-time password or None).

    Without ``password`` a one-time password is generated and the user must change it at first
    login; an admin-chosen password is treated the same way. Only ``system`` (CLI, seed) may set a
    permanent password.
    """
    require_role(actor, "admin")
    require_live(session, actor)
    username = _check_new_account(session, username, role, enterprise_id, bank_name)
    bank_name = bank_name.strip() if bank_name else None
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
        bank_name=bank_name,
        must_change_password=actor.role != "system" or one_time is not None,
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor=actor,
        action="create_user",
        entity="user",
        entity_id=user.id,
        after={
            "username": username,
            "role": role,
            "enterprise_id": enterprise_id,
            **({"bank": bank_name} if bank_name else {}),
        },
        check_actor=False,
    )
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


def create_enterprise_accounts(
    session: Session, *, actor: Actor, enterprise_ids: list[int]
) -> list[NewAccount]:
    """Admin: one account per selected enterprise (user name from its credit code), each with a
    one-time password, in one transaction. Enterprises that already have an account are refused."""
    require_role(actor, "admin")
    require_live(session, actor)
    ids = list(dict.fromkeys(int(i) for i in enterprise_ids))
    if not ids:
        raise ValidationFailed("请至少选择一家企业。")
    if len(ids) > 5000:
        raise ValidationFailed("一次最多为 5000 家企业开通账户，请分批操作。")
    enterprises = {e.id: e for e in session.exec(sm_select(Enterprise).where(Enterprise.id.in_(ids))).all()}
    missing = [i for i in ids if i not in enterprises]
    if missing:
        raise NotFound(f"企业不存在：编号 {missing[:5]}")
    existing = session.execute(
        select(User.enterprise_id, User.username).where(User.enterprise_id.in_(ids))
    ).all()
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
        user = User(
            username=username,
            display_name=ent.name[:100],
            password_hash=hash_password(password),
            role="enterprise",
            enterprise_id=eid,
            must_change_password=True,
        )
        session.add(user)
        session.flush()
        record(
            session,
            actor=actor,
            action="create_user",
            entity="user",
            entity_id=user.id,
            after={"username": username, "role": "enterprise", "enterprise_id": eid, "bulk": True},
            check_actor=False,
        )
        created.append(NewAccount(username, user.display_name, "enterprise", eid, ent.credit_code, password))
    session.commit()
    return created


def _admin_target(session: Session, actor: Actor, username: str) -> User:
    require_role(actor, "admin")
    require_live(session, actor)  # before the action revokes sessions (possibly the admin's own)
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
    record(
        session,
        actor=actor,
        action="reset_password",
        entity="user",
        entity_id=user.id,
        after={"sessions_revoked": revoked},
        check_actor=False,
    )
    session.commit()
    return one_time


def _clear_throttle(session: Session, username: str) -> int:
    """Delete the account's counters (its bucket and every client's backoff) and every address that has
    been made to wait (the user may be behind one of them); returns how many rows went."""
    result = session.execute(
        delete(LoginThrottle)
        .where(
            (LoginThrottle.key == _user_key(username))
            | LoginThrottle.key.startswith(_pair_prefix(username), autoescape=True)
            | (LoginThrottle.key.startswith("addr:") & LoginThrottle.blocked_until.is_not(None))
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def unlock_user(session: Session, *, actor: Actor, username: str) -> None:
    """Admin: lift every login delay on an account now (and address waits, see :func:`_clear_throttle`)."""
    user = _admin_target(session, actor, username)
    now = utcnow()
    until = _account_waits(session, now).get(user.username)
    cleared = _clear_throttle(session, user.username)
    record(
        session,
        actor=actor,
        action="unlock_user",
        entity="user",
        entity_id=user.id,
        before={"blocked_until": until.isoformat() if until else None},
        after={"counters_cleared": cleared},
        check_actor=False,
    )
    session.commit()


def _active_admins(session: Session) -> int:
    from sqlalchemy import func

    return session.execute(
        select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True))
    ).scalar_one()


def set_active(
    session: Session, *, actor: Actor, username: str, active: bool, reason: str | None = None
) -> None:
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
    record(
        session,
        actor=actor,
        action="reactivate_user" if active else "deactivate_user",
        entity="user",
        entity_id=user.id,
        before={"active": not active},
        after={"active": active, "sessions_revoked": revoked},
        reason=(reason or "").strip() or None,
        check_actor=False,
    )
    session.commit()


def change_role(
    session: Session, *, actor: Actor, username: str, role: str, enterprise_id: int | None = None
) -> None:
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
    if "bank" in (role, user.role):
        raise ValidationFailed("合作银行账户与工作人员账户不能互相转换，请另建账户。")
    if user.role == "admin" and user.active and _active_admins(session) <= 1:
        raise Conflict("不能取消最后一个系统管理员的管理员角色。")
    before = user.role
    user.role = role
    session.add(user)
    revoked = revoke_sessions(session, user_id=user.id, reason="role_change")
    record(
        session,
        actor=actor,
        action="change_role",
        entity="user",
        entity_id=user.id,
        before={"role": before},
        after={"role": role, "sessions_revoked": revoked},
        check_actor=False,
    )
    session.commit()


def end_user_sessions(session: Session, *, actor: Actor, username: str) -> int:
    """Admin: sign a user out everywhere now."""
    user = _admin_target(session, actor, username)
    revoked = revoke_sessions(session, user_id=user.id, reason="admin")
    record(
        session,
        actor=actor,
        action="end_sessions",
        entity="user",
        entity_id=user.id,
        after={"sessions_revoked": revoked},
        check_actor=False,
    )
    session.commit()
    return revoked


USER_COLUMNS = [
    "username",
    "display_name",
    "role",
    "enterprise_id",
    "enterprise_name",
    "credit_code",
    "bank_name",
    "active",
    "must_change_password",
    "throttled_until",
    "created_at",
]


def list_users(session: Session, *, actor: Actor, search: str | None = None, now: datetime | None = None):
    """Accounts for 用户管理 (admin), with the login delay each is under now."""
    import pandas as pd

    require_role(actor, "admin")
    now = now or utcnow()
    stmt = (
        select(
            User.username,
            User.display_name,
            User.role,
            User.enterprise_id,
            Enterprise.name,
            Enterprise.credit_code,
            User.bank_name,
            User.active,
            User.must_change_password,
            User.created_at,
        )
        .outerjoin(Enterprise, Enterprise.id == User.enterprise_id)
        .order_by(User.role, User.username)
    )
    if search and search.strip():
        term = f"%{search.strip()}%"
        stmt = stmt.where(
            User.username.ilike(term) | User.display_name.ilike(term) | Enterprise.name.ilike(term)
        )
    frame = pd.DataFrame(
        [tuple(r) for r in session.execute(stmt).all()],
        columns=[c for c in USER_COLUMNS if c != "throttled_until"],
    )
    waits = _account_waits(session, now)
    frame["throttled_until"] = pd.Series(
        [waits.get(u) for u in frame["username"]], index=frame.index, dtype=object
    )
    frame = frame[USER_COLUMNS]
    return frame


def enterprises_without_account(
    session: Session, *, actor: Actor, search: str | None = None, limit: int = 200
):
    """Enterprises no account is bound to yet (admin; for bulk account creation), by name."""
    import pandas as pd

    require_role(actor, "admin")
    has_account = select(User.enterprise_id).where(User.enterprise_id.is_not(None))
    stmt = (
        select(Enterprise.id, Enterprise.credit_code, Enterprise.name)
        .where(Enterprise.id.not_in(has_account))
        .order_by(Enterprise.name)
        .limit(limit)
    )
    if search and search.strip():
        term = search.strip()
        stmt = stmt.where(
            Enterprise.name.ilike(f"%{term}%") | Enterprise.credit_code.like(f"%{term.upper()}%")
        )
    return pd.DataFrame(
        [tuple(r) for r in session.execute(stmt).all()], columns=["id", "credit_code", "name"]
    )


def accounts_xlsx(created: list[NewAccount]) -> bytes:
    """The one export of new accounts and their one-time passwords (through the one sanitiser)."""
    import pandas as pd

    from core.spreadsheet import write_xlsx

    frame = pd.DataFrame(
        [
            {
                "企业名称": a.display_name,
                "统一社会信用代码": a.credit_code or "",
                "用户名": a.username,
                "一次性密码": a.password,
            }
            for a in created
        ]
    )
    return write_xlsx(
        {
            "新开通账户": frame,
            "说明": ["一次性密码仅用于首次登录，登录后须立即修改。", "请将本文件安全交付各企业后删除。"],
        }
    )
