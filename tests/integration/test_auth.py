"""Login with a database lockout, password rules, one-time passwords, the authenticator's credentials."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from db.models import AuditEvent, Enterprise, User, utcnow
from services import auth
from services.actor import Actor
from services.errors import Conflict, PermissionDenied, ValidationFailed

SYSTEM = Actor.system()
ADMIN = Actor(username="admin", role="admin")
PASSWORD = "Demo@2025"


@pytest.fixture
def user(session) -> User:  # noqa: ANN001
    enterprise = Enterprise(credit_code="91330303MA2ABCDE1X", name="测试企业")
    session.add(enterprise)
    session.commit()
    created, otp = auth.create_user(session, actor=SYSTEM, username="Ent9", role="enterprise",
                                    enterprise_id=enterprise.id, password=PASSWORD)
    assert otp is None and created.username == "ent9" and not created.must_change_password
    return created


def test_correct_password_logs_in(session, user: User) -> None:  # noqa: ANN001
    result = auth.authenticate(session, username=" ENT9 ", password=PASSWORD)
    assert result.ok and result.role == "enterprise" and result.enterprise_id == user.enterprise_id
    assert result.actor().username == "ent9"


def test_five_failures_lock_for_fifteen_minutes_then_unlock(session, user: User) -> None:  # noqa: ANN001
    now = utcnow()
    for attempt in range(1, 5):
        result = auth.authenticate(session, username="ent9", password="wrong-1", now=now)
        assert not result.ok and f"再错 {5 - attempt} 次" in result.message
    fifth = auth.authenticate(session, username="ent9", password="wrong-1", now=now)
    assert not fifth.ok and "已锁定 15 分钟" in fifth.message and fifth.locked_until is not None
    # Locked: even the right password is refused, with the lock message.
    sixth = auth.authenticate(session, username="ent9", password=PASSWORD, now=now + timedelta(minutes=14))
    assert not sixth.ok and "锁定" in sixth.message
    assert auth.credentials_for_authenticator(session, now=now + timedelta(minutes=14))["usernames"] == {}
    later = auth.authenticate(session, username="ent9", password=PASSWORD, now=now + timedelta(minutes=15, seconds=1))
    assert later.ok
    session.refresh(user)
    assert user.failed_attempts == 0 and user.locked_until is None
    actions = session.execute(select(AuditEvent.action)).scalars().all()
    assert "lock_account" in actions and "login" in actions


def test_a_success_resets_the_count(session, user: User) -> None:  # noqa: ANN001
    for _ in range(4):
        auth.authenticate(session, username="ent9", password="bad-pass-1")
    assert auth.authenticate(session, username="ent9", password=PASSWORD).ok
    assert not auth.authenticate(session, username="ent9", password="bad-pass-1").ok
    session.refresh(user)
    assert user.failed_attempts == 1 and user.locked_until is None


def test_unknown_and_inactive_users(session, user: User) -> None:  # noqa: ANN001
    assert auth.authenticate(session, username="nobody", password=PASSWORD).message == auth.BAD_CREDENTIALS
    user.active = False
    session.add(user)
    session.commit()
    assert "停用" in auth.authenticate(session, username="ent9", password=PASSWORD).message
    assert auth.credentials_for_authenticator(session)["usernames"] == {}


def test_password_over_72_bytes_is_refused_clearly(session, user: User) -> None:  # noqa: ANN001
    long = "密" * 25  # 75 bytes in UTF-8
    result = auth.authenticate(session, username="ent9", password=long)
    assert not result.ok and "72 字节" in result.message
    with pytest.raises(ValidationFailed, match="72 字节"):
        auth.hash_password("a1" * 37)
    assert not auth.verify_password("a" * 73, auth.hash_password("a" * 72))


@pytest.mark.parametrize(
    ("new", "problem"),
    [("short1", "至少 8"), ("abcdefghij", "须同时包含字母和数字"), ("a1" * 37, "72 字节"),
     (" Padded123", "首尾不能有空格"), (PASSWORD, "不能与原密码相同")],
)
def test_password_rules(session, user: User, new: str, problem: str) -> None:  # noqa: ANN001
    actor = Actor(username="ent9", role="enterprise", user_id=user.id, enterprise_id=user.enterprise_id)
    with pytest.raises(ValidationFailed) as info:
        auth.change_password(session, actor=actor, old=PASSWORD, new=new)
    assert any(problem in p["problem"] for p in info.value.problems) or problem in str(info.value)


def test_password_equal_to_username_is_refused(session) -> None:  # noqa: ANN001
    assert "密码不能与用户名相同。" in auth.password_problems("Officer12", username="officer12")


def test_change_password_needs_the_old_one(session, user: User) -> None:  # noqa: ANN001
    actor = Actor(username="ent9", role="enterprise", user_id=user.id, enterprise_id=user.enterprise_id)
    with pytest.raises(ValidationFailed, match="原密码不正确"):
        auth.change_password(session, actor=actor, old="wrong", new="Another2025")
    auth.change_password(session, actor=actor, old=PASSWORD, new="Another2025")
    assert auth.authenticate(session, username="ent9", password="Another2025").ok


def test_one_time_password_forces_a_change(session, user: User) -> None:  # noqa: ANN001
    created, otp = auth.create_user(session, actor=ADMIN, username="officer9", role="officer")
    assert otp and created.must_change_password
    first = auth.authenticate(session, username="officer9", password=otp)
    assert first.ok and first.must_change_password
    actor = first.actor()
    auth.change_password(session, actor=actor, old=otp, new="Officer2025x")
    again = auth.authenticate(session, username="officer9", password="Officer2025x")
    assert again.ok and not again.must_change_password


def test_only_admins_create_users(session, user: User) -> None:  # noqa: ANN001
    for role in ("enterprise", "officer"):
        with pytest.raises(PermissionDenied):
            auth.create_user(session, actor=Actor(username="x", role=role, enterprise_id=user.enterprise_id),
                             username="someone", role="officer")
    with pytest.raises(Conflict):
        auth.create_user(session, actor=ADMIN, username="ENT9", role="officer")
    with pytest.raises(ValidationFailed):
        auth.create_user(session, actor=ADMIN, username="noenterprise", role="enterprise")


def test_admin_reset_and_unlock(session, user: User) -> None:  # noqa: ANN001
    for _ in range(5):
        auth.authenticate(session, username="ent9", password="bad-pass-1")
    auth.unlock_user(session, actor=ADMIN, username="ent9")
    assert auth.authenticate(session, username="ent9", password=PASSWORD).ok
    otp = auth.reset_password(session, actor=ADMIN, username="ent9")
    result = auth.authenticate(session, username="ent9", password=otp)
    assert result.ok and result.must_change_password


def test_credentials_dict_is_narrowed_and_prehashed(session, user: User) -> None:  # noqa: ANN001
    creds = auth.credentials_for_authenticator(session, usernames=["ENT9", "ghost"])
    assert list(creds["usernames"]) == ["ent9"]
    entry = creds["usernames"]["ent9"]
    assert entry["password"].startswith("$2") and entry["roles"] == ["enterprise"]
    assert auth.credentials_for_authenticator(session, usernames=[])["usernames"] == {}


def test_cookie_key_rules() -> None:
    from ui.auth import DEMO_COOKIE_KEY, ConfigError, resolve_cookie_key

    none = lambda _name: None  # noqa: E731
    assert resolve_cookie_key({}, none) == DEMO_COOKIE_KEY
    strong = "k" * 40
    assert resolve_cookie_key({"APP_ENV": "production", "COOKIE_KEY": strong}, none) == strong
    assert resolve_cookie_key({"APP_ENV": "production"}, lambda _name: strong) == strong
    for env in ({"APP_ENV": "production"}, {"APP_ENV": "production", "COOKIE_KEY": DEMO_COOKIE_KEY},
                {"APP_ENV": "production", "COOKIE_KEY": "short"}):
        with pytest.raises(ConfigError):
            resolve_cookie_key(env, none)
