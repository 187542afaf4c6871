"""Signing in: password hashing, login with throttling, server-side sessions.

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
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import bcrypt
from sqlalchemy import delete, select, update
from sqlmodel import Session
from sqlmodel import select as sm_select

from db.models import LoginThrottle, User, UserSession, utcnow
from services.actor import Actor
from services.audit import Recorder
from services.errors import PermissionDenied, ValidationFailed

_record_user = Recorder("user", check_actor=False)

MIN_PASSWORD_CHARS = 10  # characters, not bytes: "a密码1" is 8 bytes but 4 characters
MAX_PASSWORD_BYTES = 72  # bcrypt 5 rejects longer passwords outright

# Throttling, three counters, each short on purpose: a stranger can slow a user down, never
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

# Staff sessions are short (under 7 days); enterprises keep the week they had.
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


def clear_throttle(session: Session, username: str) -> int:
    """Delete the account's counters (its bucket and every client's backoff) and every address that has
    been made to wait (the user may be behind one of them), in the caller's transaction; returns how many
    rows went."""
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


# ------------------------------------------------------------------ login
def find_user(session: Session, username: str) -> User | None:
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
    user = find_user(session, username)
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
            _record_user(
                session,
                _actor_of(user),
                "throttle_account",
                user.id,
                after={"blocked_until": pair.blocked_until.isoformat(), "address": address},
                reason=f"连续 {FREE_ATTEMPTS} 次密码错误",
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
    _record_user(
        session,
        _actor_of(user),
        "login",
        user.id,
        after={"address": address} if address else None,
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


def account_waits(session: Session, now: datetime) -> dict[str, datetime]:
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


def is_throttled(session: Session, username: str, *, now: datetime | None = None) -> bool:
    """Whether some wait is in force on ``username`` (its account cap or any of its clients)."""
    return (username or "").lower() in account_waits(session, now or utcnow())


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
    actor = _actor_of(user, session_ref=record_.token_hash)
    return SessionInfo(actor, user.display_name, bool(user.must_change_password), _aware(record_.expires_at))


def _actor_of(user: User, session_ref: str | None = None) -> Actor:
    """The acting identity of an account (with the session it acts in, when known)."""
    return Actor(
        username=user.username,
        role=user.role,
        user_id=user.id,
        enterprise_id=user.enterprise_id,
        bank_name=user.bank_name,
        session_ref=session_ref,
    )


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
    user = find_user(session, (username or "").lower())
    if user is None or not user.active:
        return None
    return _actor_of(user), bool(user.must_change_password)
