"""Login with a database lockout, password rules, one-time passwords, the authenticator's credentials."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from db.models import AuditEvent, Enterprise, User, utcnow
from services import accounts, auth
from services.actor import Actor
from services.errors import Conflict, PermissionDenied, ValidationFailed

SYSTEM = Actor.system()
ADMIN = Actor(username="admin", role="admin")
PASSWORD = "Kestrel-2025x"


@pytest.fixture
def user(session) -> User:  # noqa: ANN001
    enterprise = Enterprise(credit_code="91330303MA2ABCDE1X", name="测试企业")
    session.add(enterprise)
    session.commit()
    created, otp = accounts.create_user(
        session,
        actor=SYSTEM,
        username="Ent9",
        role="enterprise",
        enterprise_id=enterprise.id,
        password=PASSWORD,
    )
    assert otp is None and created.username == "ent9" and not created.must_change_password
    return created


def test_correct_password_logs_in(session, user: User) -> None:  # noqa: ANN001
    result = auth.authenticate(session, username=" ENT9 ", password=PASSWORD)
    assert result.ok and result.role == "enterprise" and result.enterprise_id == user.enterprise_id
    assert result.actor().username == "ent9"


def test_failures_throttle_with_growing_delays_that_stay_short(session, user: User) -> None:  # noqa: ANN001
    now = utcnow()
    for _ in range(4):
        result = auth.authenticate(session, username="ent9", password="wrong-1", now=now)
        assert not result.ok and result.message == auth.BAD_CREDENTIALS and result.retry_after is None
    fifth = auth.authenticate(session, username="ent9", password="wrong-1", now=now)
    assert fifth.message == auth.BAD_CREDENTIALS
    # Now even the right password waits, and the wait is the same words for any name.
    waiting = auth.authenticate(session, username="ent9", password=PASSWORD, now=now + timedelta(seconds=10))
    assert not waiting.ok and "登录失败次数过多" in waiting.message
    assert auth.authenticate(session, username="ent9", password=PASSWORD, now=now + timedelta(seconds=31)).ok
    # Delays double with each further failure but never exceed the account cap.
    t = now + timedelta(minutes=1)
    waits = []
    for _ in range(12):  # the counting step itself (each authenticate costs a bcrypt check)
        row = auth._count_failure(session, "pair:ent9|-", t, free=auth.FREE_ATTEMPTS, cap=auth.MAX_PAIR_DELAY)
        if row.blocked_until:
            waits.append(row.blocked_until - t)
            t = row.blocked_until + timedelta(seconds=1)
    assert waits[0] == auth.FIRST_DELAY and waits[1] == 2 * auth.FIRST_DELAY
    assert max(waits) == auth.MAX_PAIR_DELAY
    actions = session.execute(select(AuditEvent.action)).scalars().all()
    assert "throttle_account" in actions and "login" in actions


def test_unknown_and_real_names_get_the_same_answers(session, user: User) -> None:  # noqa: ANN001
    now = utcnow()
    for name in ("ent9", "nobody9"):
        answers = [
            auth.authenticate(session, username=name, password="wrong-1", now=now).message for _ in range(6)
        ]
        assert answers[:5] == [auth.BAD_CREDENTIALS] * 5
        assert "登录失败次数过多" in answers[5]
    assert auth._dummy_hash().startswith(b"$2b$12$")  # the real hashes' cost
    assert auth.hash_password("x1234567").startswith("$2b$12$")


def test_a_success_resets_the_count(session, user: User) -> None:  # noqa: ANN001
    for _ in range(4):
        auth.authenticate(session, username="ent9", password="bad-pass-1")
    assert auth.authenticate(session, username="ent9", password=PASSWORD).ok
    for _ in range(4):
        assert auth.authenticate(session, username="ent9", password="bad-pass-1").retry_after is None
    assert auth.authenticate(session, username="ent9", password=PASSWORD).ok


def test_address_throttling_slows_one_address_across_names(session, user: User) -> None:  # noqa: ANN001
    now = utcnow()
    for k in range(auth.ADDRESS_FREE_ATTEMPTS):
        auth.authenticate(
            session, username=f"guess{k}", password="wrong-1", now=now, client_address="10.1.2.3"
        )
    assert (
        "过多"
        in auth.authenticate(
            session, username="ent9", password=PASSWORD, now=now, client_address="10.1.2.3"
        ).message
    )
    # Another address is not affected; a loopback address (a reverse proxy) is never throttled.
    assert auth.authenticate(
        session, username="ent9", password=PASSWORD, now=now, client_address="10.9.9.9"
    ).ok
    assert auth.throttle_address("127.0.0.1") is None and auth.throttle_address("::1") is None


def test_unknown_and_inactive_users(session, user: User) -> None:  # noqa: ANN001
    assert auth.authenticate(session, username="nobody", password=PASSWORD).message == auth.BAD_CREDENTIALS
    user.active = False
    session.add(user)
    session.commit()
    # Only the right password learns that the account is deactivated.
    assert auth.authenticate(session, username="ent9", password="wrong-1").message == auth.BAD_CREDENTIALS
    assert "停用" in auth.authenticate(session, username="ent9", password=PASSWORD).message


def test_password_over_72_bytes_is_refused_clearly(session, user: User) -> None:  # noqa: ANN001
    long = "密" * 25  # 75 bytes in UTF-8
    result = auth.authenticate(session, username="ent9", password=long)
    assert not result.ok and "72 字节" in result.message
    with pytest.raises(ValidationFailed, match="72 字节"):
        auth.hash_password("a1" * 37)
    assert not auth.verify_password("a" * 73, auth.hash_password("a" * 72))


@pytest.mark.parametrize(
    ("new", "problem"),
    [
        ("short1", "至少 10"),
        ("abcdefghij", "须同时包含字母和数字"),
        ("a1" * 37, "72 字节"),
        (" Padded123", "首尾不能有空格"),
        (PASSWORD, "不能与原密码相同"),
    ],
)
def test_password_rules(session, user: User, new: str, problem: str) -> None:  # noqa: ANN001
    actor = Actor(username="ent9", role="enterprise", user_id=user.id, enterprise_id=user.enterprise_id)
    with pytest.raises(ValidationFailed) as info:
        accounts.change_password(session, actor=actor, old=PASSWORD, new=new)
    assert any(problem in p["problem"] for p in info.value.problems) or problem in str(info.value)


def test_password_equal_to_username_is_refused(session) -> None:  # noqa: ANN001
    assert "密码不能与用户名相同。" in accounts.password_problems("Officer12", username="officer12")


def test_change_password_needs_the_old_one(session, user: User) -> None:  # noqa: ANN001
    actor = Actor(username="ent9", role="enterprise", user_id=user.id, enterprise_id=user.enterprise_id)
    with pytest.raises(ValidationFailed, match="原密码不正确"):
        accounts.change_password(session, actor=actor, old="wrong", new="Another2025")
    accounts.change_password(session, actor=actor, old=PASSWORD, new="Another2025")
    assert auth.authenticate(session, username="ent9", password="Another2025").ok


def test_one_time_password_forces_a_change(session, user: User) -> None:  # noqa: ANN001
    created, otp = accounts.create_user(session, actor=ADMIN, username="officer9", role="officer")
    assert otp and created.must_change_password
    first = auth.authenticate(session, username="officer9", password=otp)
    assert first.ok and first.must_change_password
    actor = first.actor()
    accounts.change_password(session, actor=actor, old=otp, new="Officer2025x")
    again = auth.authenticate(session, username="officer9", password="Officer2025x")
    assert again.ok and not again.must_change_password


def test_only_admins_create_users(session, user: User) -> None:  # noqa: ANN001
    for role in ("enterprise", "officer"):
        with pytest.raises(PermissionDenied):
            accounts.create_user(
                session,
                actor=Actor(username="x", role=role, enterprise_id=user.enterprise_id),
                username="someone",
                role="officer",
            )
    with pytest.raises(Conflict):
        accounts.create_user(session, actor=ADMIN, username="ENT9", role="officer")
    with pytest.raises(ValidationFailed):
        accounts.create_user(session, actor=ADMIN, username="noenterprise", role="enterprise")


def test_admin_reset_and_unlock(session, user: User) -> None:  # noqa: ANN001
    for _ in range(5):
        auth.authenticate(session, username="ent9", password="bad-pass-1")
    assert auth.is_throttled(session, "ent9")
    accounts.unlock_user(session, actor=ADMIN, username="ent9")
    assert not auth.is_throttled(session, "ent9")
    assert auth.authenticate(session, username="ent9", password=PASSWORD).ok
    otp = accounts.reset_password(session, actor=ADMIN, username="ent9")
    result = auth.authenticate(session, username="ent9", password=otp)
    assert result.ok and result.must_change_password


def test_cookie_key_rules(tmp_path) -> None:  # noqa: ANN001
    from ui.auth import DEMO_COOKIE_KEY, ConfigError, resolve_cookie_key

    none = lambda _name: None  # noqa: E731
    strong = "k" * 40
    assert resolve_cookie_key({"COOKIE_KEY": strong}, none, tmp_path / "k") == strong
    assert resolve_cookie_key({"APP_ENV": "production", "COOKIE_KEY": strong}, none) == strong
    assert resolve_cookie_key({"APP_ENV": "production"}, lambda _name: strong) == strong
    for env in (
        {"APP_ENV": "production"},
        {"APP_ENV": "production", "COOKIE_KEY": "short"},
        {"COOKIE_KEY": DEMO_COOKIE_KEY},
        {"APP_ENV": "test", "COOKIE_KEY": DEMO_COOKIE_KEY},
    ):
        with pytest.raises(ConfigError):
            resolve_cookie_key(env, none, tmp_path / "k")
