"""No default cookie key, revocable server-side sessions, malformed cookies, the audit chain,
demo passwords, 用户管理 rules."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from db.models import AuditEvent, Enterprise, User, utcnow
from services import accounts, audit, auth
from services.actor import Actor
from services.errors import Conflict, PermissionDenied
from tests.manage_cli import manage_with, sqlite_env
from tests.seeded import database_session
from ui.auth import DEMO_COOKIE_KEY, make_token, read_token, resolve_cookie_key

SYSTEM = Actor.system()
PASSWORD = "Demo@2025x"


def _user(session, username: str = "officer7", role: str = "officer") -> User:  # noqa: ANN001
    user, _ = accounts.create_user(session, actor=SYSTEM, username=username, role=role, password=PASSWORD)
    return user


# ------------------------------------------------------------------ 1. no default key
def test_an_unconfigured_app_generates_its_own_key_and_refuses_demo_key_cookies(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "cookie_key"
    key = resolve_cookie_key({}, lambda _name: None, key_file)
    assert key != DEMO_COOKIE_KEY and len(key) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert resolve_cookie_key({}, lambda _name: None, key_file) == key  # kept across restarts
    far = int((utcnow() + timedelta(days=3650)).timestamp())
    # What anyone reading the old repository could mint: the old token shape and the new one.
    for claims in ({"username": "admin", "exp_date": far}, {"username": "admin", "sid": "x", "exp": far}):
        forged = jwt.encode(claims, DEMO_COOKIE_KEY, algorithm="HS256")
        assert read_token(forged, key) is None


# ------------------------------------------------------------------ 6. malformed cookies
@pytest.mark.parametrize("kind", ["alg-none", "hs512", "garbage", "expired", "no-sid", "bytes"])
def test_malformed_cookies_mean_logged_out(kind: str) -> None:
    key = "t" * 64
    far = int((utcnow() + timedelta(days=1)).timestamp())
    claims = {"username": "admin", "sid": "abc", "exp": far}
    token = {
        "alg-none": jwt.encode(claims, None, algorithm="none"),
        "hs512": jwt.encode(claims, key, algorithm="HS512"),
        "garbage": "%%%not-a-token%%%",
        "expired": jwt.encode({**claims, "exp": 1}, key, algorithm="HS256"),
        "no-sid": jwt.encode({"username": "admin", "exp": far}, key, algorithm="HS256"),
        "bytes": b"\xff\xfe",
    }[kind]
    assert read_token(token, key) is None
    good = read_token(make_token("abc", "admin", utcnow() + timedelta(hours=1), key), key)
    assert good is not None and good.session_id == "abc"


# ------------------------------------------------------------------ 5. server-side sessions
def test_a_copied_cookie_dies_with_logout_and_with_a_password_change(session) -> None:  # noqa: ANN001
    user = _user(session)
    sid, _ = auth.start_session(session, user_id=user.id)
    assert auth.resume_session(session, session_id=sid).actor.username == "officer7"
    auth.end_session(session, session_id=sid)
    assert auth.resume_session(session, session_id=sid) is None  # the copy is refused after logout

    sid, _ = auth.start_session(session, user_id=user.id)
    actor = Actor(username=user.username, role=user.role, user_id=user.id)
    accounts.change_password(session, actor=actor, old=PASSWORD, new="Changed2025x")
    assert auth.resume_session(session, session_id=sid) is None


def test_deactivation_and_admin_action_end_sessions_and_staff_expire_within_a_day(session) -> None:  # noqa: ANN001
    admin = _user(session, "admin7", "admin")
    admin_actor = Actor(username=admin.username, role="admin", user_id=admin.id)
    user = _user(session)
    sid, expires = auth.start_session(session, user_id=user.id)
    assert expires - utcnow() < timedelta(days=7)
    later = utcnow() + timedelta(days=auth.SESSION_DAYS["officer"], seconds=1)
    assert auth.resume_session(session, session_id=sid, now=later) is None
    accounts.end_user_sessions(session, actor=admin_actor, username="officer7")
    assert auth.resume_session(session, session_id=sid) is None
    sid, _ = auth.start_session(session, user_id=user.id)
    accounts.set_active(session, actor=admin_actor, username="officer7", active=False)
    assert auth.resume_session(session, session_id=sid) is None
    with pytest.raises(PermissionDenied):
        auth.start_session(session, user_id=user.id)
    # Only the sha256 of the session id is stored.
    stored = session.execute(text("SELECT token_hash FROM usersession")).scalars().all()
    assert sid not in stored and all(len(h) == 64 for h in stored)


# ------------------------------------------------------------------ 用户管理 rules
def test_the_last_admin_cannot_be_deactivated_or_demoted(session) -> None:  # noqa: ANN001
    admin = _user(session, "admin7", "admin")
    actor = Actor(username=admin.username, role="admin", user_id=admin.id)
    with pytest.raises(Conflict, match="最后一个系统管理员"):
        accounts.set_active(session, actor=actor, username="admin7", active=False)
    with pytest.raises(Conflict, match="最后一个系统管理员"):
        accounts.change_role(session, actor=actor, username="admin7", role="officer")
    _user(session, "admin8", "admin")
    accounts.set_active(session, actor=actor, username="admin8", active=False)
    accounts.set_active(session, actor=actor, username="admin8", active=True)
    accounts.change_role(session, actor=actor, username="admin8", role="officer")
    actions = session.execute(select(AuditEvent.action).where(AuditEvent.actor == "admin7")).scalars().all()
    assert actions == ["deactivate_user", "reactivate_user", "change_role"]
    with pytest.raises(PermissionDenied):
        accounts.set_active(
            session, actor=Actor(username="o", role="officer"), username="admin8", active=False
        )


def test_bulk_enterprise_accounts_get_one_time_passwords(session) -> None:  # noqa: ANN001
    from core.credit_code import make_code

    ids = []
    for k in range(3):
        ent = Enterprise(credit_code=make_code(f"91330300MA2X{k:05d}"[:17]), name=f"批量企业{k}")
        session.add(ent)
        session.flush()
        ids.append(ent.id)
    session.commit()
    created = accounts.create_enterprise_accounts(
        session, actor=Actor(username="a", role="admin"), enterprise_ids=ids
    )
    assert len({a.username for a in created}) == 3 and len({a.password for a in created}) == 3
    for account in created:
        result = auth.authenticate(session, username=account.username, password=account.password)
        assert result.ok and result.must_change_password and result.enterprise_id == account.enterprise_id
    with pytest.raises(Conflict, match="已有账户"):
        accounts.create_enterprise_accounts(
            session, actor=Actor(username="a", role="admin"), enterprise_ids=ids[:1]
        )


# ------------------------------------------------------------------ 7. the audit chain
def _events(session, n: int = 3) -> None:  # noqa: ANN001
    for k in range(n):
        audit.record(
            session,
            actor=SYSTEM,
            action="test",
            entity="thing",
            entity_id=k,
            after={"k": k, "when": utcnow()},
            reason=f"第 {k} 条",
        )
        session.commit()


def test_every_event_is_chained_and_verify_passes(session) -> None:  # noqa: ANN001
    _events(session, 4)
    report = audit.verify_chain(session, actor=SYSTEM)
    assert report.ok and report.checked == 4
    rows = session.execute(select(AuditEvent.prev_hash, AuditEvent.hash).order_by(AuditEvent.id)).all()
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]


def test_replace_into_the_audit_table_is_refused_or_detected(session, db_engine) -> None:  # noqa: ANN001
    _events(session, 3)
    second = session.execute(select(AuditEvent.id).order_by(AuditEvent.id).offset(1).limit(1)).scalar_one()
    if db_engine.dialect.name == "sqlite":
        statement = (
            "REPLACE INTO auditevent (id, at, actor, actor_role, action, entity, reason, prev_hash, hash) "
            "SELECT id, at, actor, actor_role, action, entity, '改过的理由', prev_hash, hash "
            "FROM auditevent WHERE id = :id"
        )
    else:
        statement = (
            "INSERT INTO auditevent (id, at, actor, actor_role, action, entity, reason, prev_hash, hash) "
            "SELECT id, at, actor, actor_role, action, entity, '改过的理由', prev_hash, hash "
            "FROM auditevent WHERE id = :id ON CONFLICT (id) DO UPDATE SET reason = EXCLUDED.reason"
        )
    with db_engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text(statement), {"id": second})
    session.expire_all()
    assert audit.verify_chain(session, actor=SYSTEM).ok


def test_verify_reports_the_first_broken_link(session, db_engine) -> None:  # noqa: ANN001
    _events(session, 4)
    ids = session.execute(select(AuditEvent.id).order_by(AuditEvent.id)).scalars().all()
    # Someone with the database owner's rights lifts the guard and rewrites the second event.
    with db_engine.begin() as connection:
        if db_engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER auditevent_no_update"))
        else:
            connection.execute(text("ALTER TABLE auditevent DISABLE TRIGGER auditevent_no_update"))
        connection.execute(text("UPDATE auditevent SET reason = '改过的理由' WHERE id = :id"), {"id": ids[1]})
        if db_engine.dialect.name == "postgresql":  # the PostgreSQL test database is shared by later tests
            connection.execute(text("ALTER TABLE auditevent ENABLE TRIGGER auditevent_no_update"))
    session.expire_all()
    report = audit.verify_chain(session, actor=SYSTEM)
    assert not report.ok and report.broken_id == ids[1] and report.checked == 2


def test_verify_audit_command(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path / "cli.db")
    manage = manage_with(env)
    assert manage("init-db").returncode == 0
    assert manage("create-user", "--help").returncode == 0
    with database_session(env["DATABASE_URL"]) as s:
        _events(s, 3)
    good = manage("verify-audit")
    assert good.returncode == 0 and "完好：共 3 条" in good.stdout
    with database_session(env["DATABASE_URL"]) as s:
        s.execute(text("DROP TRIGGER auditevent_no_delete"))
        s.execute(text("DELETE FROM auditevent WHERE id = 2"))
    bad = manage("verify-audit")
    assert bad.returncode == 1 and "编号 3" in bad.stderr and "Traceback" not in bad.stderr


# ------------------------------------------------------------------ 1. demo passwords and production
def test_seed_demo_refuses_production_and_demo_passwords_are_one_time(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path / "seed.db")
    run = manage_with(env)
    assert run("init-db").returncode == 0
    refused = run("seed-demo", "--enterprises", "20", "--no-runs", APP_ENV="Production ")
    assert refused.returncode == 1 and "生产环境" in refused.stderr
    assert run("seed-demo", "--enterprises", "20", "--no-runs").returncode == 0
    with database_session(env["DATABASE_URL"]) as s:
        flags = set(s.execute(select(User.must_change_password)).scalars())
        result = auth.authenticate(s, username="admin", password="Demo@2025")
    assert flags == {True} and result.ok and result.must_change_password


# ------------------------------------------------------------------ 8. services refuse impossible input
def test_services_refuse_impossible_input(session) -> None:  # noqa: ANN001
    import dataclasses

    from demo import seed_demo
    from services import runs, self_report
    from services.errors import ValidationFailed
    from services.portrait import get_portrait, simulate_changes

    seed_demo(session, enterprises=30, local_demo=True)
    ent = session.execute(select(User).where(User.username == "ent1")).scalar_one()
    enterprise = Actor(username="ent1", role="enterprise", user_id=ent.id, enterprise_id=ent.enterprise_id)
    with pytest.raises(ValidationFailed, match="1999 年度不在填报期内"):
        self_report.get_or_create_draft(session, actor=enterprise, enterprise_id=ent.enterprise_id, year=1999)

    portrait = get_portrait(session, actor=enterprise, enterprise_id=ent.enterprise_id)
    draft = runs.compute_run(session, actor=Actor(username="officer1", role="officer"), year=portrait.year)
    with pytest.raises(PermissionDenied, match="已公示或已定稿"):
        simulate_changes(
            session,
            actor=enterprise,
            portrait=dataclasses.replace(portrait, run_id=draft.id),
            base_row={},
            changes={},
        )

    with pytest.raises(TypeError):
        runs.run_summary(session, run_id=draft.id)  # type: ignore[call-arg] - the actor is required
    with pytest.raises(PermissionDenied):
        runs.run_summary(session, actor=enterprise, run_id=draft.id)


def test_users_command_bulk_accounts_and_unlock(tmp_path: Path) -> None:
    import openpyxl

    env = sqlite_env(tmp_path / "users.db")
    manage = manage_with(env)
    assert manage("init-db").returncode == 0
    assert manage("seed-demo", "--enterprises", "20", "--no-runs").returncode == 0
    with database_session(env["DATABASE_URL"]) as s:
        codes = accounts.enterprises_without_account(s, actor=SYSTEM, limit=3)["credit_code"].tolist()
        for _ in range(auth.FREE_ATTEMPTS):
            auth.authenticate(s, username="officer2", password="wrong-password-1")
    (tmp_path / "codes.txt").write_text("\n".join(codes), encoding="utf-8")
    out = tmp_path / "accounts.xlsx"
    made = manage(
        "users", "create-enterprise-accounts", "--codes", str(tmp_path / "codes.txt"), "--out", str(out)
    )
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    assert len(rows) == 4 and rows[0][2:] == ("用户名", "一次性密码")
    unlocked = manage("users", "unlock", "officer2")
    assert unlocked.returncode == 0 and "已解除" in unlocked.stdout
    refused = manage("users", "deactivate", "admin")
    assert (
        refused.returncode == 1
        and "最后一个系统管理员" in refused.stderr
        and "Traceback" not in refused.stderr
    )
    with database_session(env["DATABASE_URL"]) as s:
        assert not auth.is_throttled(s, "officer2")
        assert auth.authenticate(s, username=rows[1][2], password=rows[1][3]).must_change_password
