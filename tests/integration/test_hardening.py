"""What a hostile visitor tries first, each reproduced and shown refused or bounded.

Throttling behind a same-host proxy, revocation of what is already on screen, objection floods, weak
passwords, database file modes. (Uploads and ``clear_cache`` against a real server:
tests/e2e/test_hostile_server.py.)
"""

from __future__ import annotations

import os
import stat
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import Enterprise, User, utcnow
from services import accounts, auth
from services.actor import Actor
from services.errors import PermissionDenied, ValidationFailed
from tests.manage_cli import manage, sqlite_env

SYSTEM = Actor.system()
GOOD = "Kestrel-2025x"
WEAK = ["a密码1", "Demo@2025", "demo@2025", "DEMO@2025", "Password1", "1qaz2wsx3edc", "short1"]


def _manage(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return manage(*args, env=env, stdin=stdin)


# ------------------------------------------------------------------ 6. password policy
@pytest.mark.parametrize("weak", WEAK)
def test_weak_passwords_are_refused_on_create(session, weak: str) -> None:  # noqa: ANN001
    with pytest.raises(ValidationFailed):
        accounts.create_user(session, actor=SYSTEM, username="officer7", role="officer", password=weak)
    with pytest.raises(ValidationFailed, match="用户名"):
        accounts.create_user(
            session, actor=SYSTEM, username="officer7", role="officer", password="officer7-2025x"
        )
    assert session.execute(select(User).where(User.username == "officer7")).first() is None


def test_reset_and_change_hold_to_the_policy(session) -> None:  # noqa: ANN001
    user, _ = accounts.create_user(session, actor=SYSTEM, username="officer7", role="officer", password=GOOD)
    one_time = accounts.reset_password(session, actor=SYSTEM, username="officer7")
    assert accounts.password_problems(one_time, username="officer7") == []
    actor = Actor(username="officer7", role="officer", user_id=user.id)
    for weak in [*WEAK, "officer7", "Officer7!x2025"]:
        with pytest.raises(ValidationFailed):
            accounts.change_password(session, actor=actor, old=one_time, new=weak, confirm=weak)
    assert auth.authenticate(session, username="officer7", password=one_time).must_change_password
    accounts.change_password(session, actor=actor, old=one_time, new="Harbour-lights-42")
    assert auth.authenticate(session, username="officer7", password="Harbour-lights-42").ok


def test_cli_create_user_refuses_the_demo_password_and_the_demo_seed_keeps_it(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path / "pw.db")
    assert _manage(env, "init-db").returncode == 0
    refused = _manage(
        env, "create-user", "officer9", "--role", "officer", "--password-stdin", stdin="Demo@2025\n"
    )
    assert refused.returncode != 0 and "演示密码" in refused.stderr and "Traceback" not in refused.stderr
    assert _manage(env, "seed-demo", "--enterprises", "12", "--no-runs", "--local-demo").returncode == 0
    from db.session import make_engine, session_scope

    engine = make_engine(env["DATABASE_URL"])
    with session_scope(engine) as s:
        assert auth.authenticate(s, username="officer1", password="Demo@2025").ok  # the seed, by design
        assert s.execute(select(User).where(User.username == "officer9")).first() is None
    engine.dispose()


# ------------------------------------------------------------------ 7. database file modes
def test_init_db_creates_the_database_and_its_wal_private(tmp_path: Path) -> None:
    db = tmp_path / "data" / "innovation.db"
    env = sqlite_env(db)
    old_umask = os.umask(0o022)  # the usual umask: without care the files come out 644
    try:
        assert _manage(env, "init-db").returncode == 0
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
        from db.session import make_engine

        engine = make_engine(env["DATABASE_URL"])
        with engine.connect() as connection:  # an open connection keeps -wal and -shm on disk
            connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS probe (x)")
            connection.commit()
            side = [db.with_name(db.name + s) for s in ("-wal", "-shm")]
            assert all(p.exists() for p in side)
            assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in [db, *side]} == {
                "innovation.db": 0o600,
                "innovation.db-wal": 0o600,
                "innovation.db-shm": 0o600,
            }
        engine.dispose()
        # a database made readable by an older version is tightened by the next init-db
        db.chmod(0o644)
        assert _manage(env, "init-db").returncode == 0
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
    finally:
        os.umask(old_umask)


# ------------------------------------------------------------------ 1. login throttling behind a proxy
def _staff(session) -> tuple[User, User, User]:  # noqa: ANN001
    admin, _ = accounts.create_user(session, actor=SYSTEM, username="admin", role="admin", password=GOOD)
    officer, _ = accounts.create_user(
        session, actor=SYSTEM, username="officer1", role="officer", password=GOOD
    )
    enterprise = Enterprise(credit_code="91330303MA2ABCDE1X", name="测试企业")
    session.add(enterprise)
    session.commit()
    ent, _ = accounts.create_user(
        session, actor=SYSTEM, username="ent1", role="enterprise", enterprise_id=enterprise.id, password=GOOD
    )
    return admin, officer, ent


def test_the_proxy_address_is_loopback_and_forwarded_clients_are_read_only_from_it() -> None:
    assert (
        auth.throttle_address("::ffff:127.0.0.1") is None and auth.resolve_client("::ffff:127.0.0.1") is None
    )
    assert auth.throttle_address("::ffff:10.1.2.3") == "10.1.2.3"
    # a proxy on this host appends the client; what the client wrote itself (left of it) is ignored
    assert auth.resolve_client("::ffff:127.0.0.1", "6.6.6.6, 10.0.0.5") == "10.0.0.5"
    assert auth.resolve_client("127.0.0.1", "garbage") is None
    # a client reaching the app directly cannot choose its identity with the header
    assert auth.resolve_client("10.0.0.7", "10.0.0.5") == "10.0.0.7"


def test_random_names_behind_the_proxy_lock_nobody_out(session) -> None:  # noqa: ANN001
    _staff(session)
    now = utcnow()
    proxy = auth.resolve_client("::ffff:127.0.0.1")
    for k in range(60):
        auth.authenticate(
            session,
            username=f"x{k}{uuid.uuid4().hex[:6]}",
            password="wrong-guess-1",
            now=now,
            client_address=proxy,
        )
    for name in ("admin", "officer1", "ent1"):
        assert auth.authenticate(session, username=name, password=GOOD, now=now, client_address=proxy).ok


def test_a_sprayed_address_waits_but_admin_and_unlock_get_through(session) -> None:  # noqa: ANN001
    _staff(session)
    now = utcnow()
    office = auth.resolve_client("::ffff:127.0.0.1", "10.0.0.5")  # everyone in one office, one address
    for k in range(auth.ADDRESS_FREE_ATTEMPTS + 5):
        auth.authenticate(
            session, username=f"guess{k}", password="wrong-guess-1", now=now, client_address=office
        )
    refused = auth.authenticate(session, username="ent1", password=GOOD, now=now, client_address=office)
    assert not refused.ok and "过多" in refused.message
    wrong = auth.authenticate(
        session, username="admin", password="wrong-guess-1", now=now, client_address=office
    )
    assert not wrong.ok and wrong.message == refused.message  # a wrong guess at admin learns nothing more
    assert auth.authenticate(session, username="admin", password=GOOD, now=now, client_address=office).ok
    accounts.unlock_user(session, actor=SYSTEM, username="ent1")  # what manage.py users unlock calls
    assert auth.authenticate(session, username="ent1", password=GOOD, now=now, client_address=office).ok


def test_twelve_guesses_an_hour_keep_the_owner_out_at_most_a_fifth_of_the_time(session) -> None:  # noqa: ANN001
    _staff(session)
    start = utcnow()
    refused_minutes = 0
    minutes = 5 * 60
    for minute in range(minutes):
        t = start + timedelta(minutes=minute)
        if minute % 5 == 0:  # the attacker, through the same proxy as the owner (no X-Forwarded-For)
            auth.authenticate(
                session, username="officer1", password="wrong-guess-1", now=t, client_address=None
            )
        refused_minutes += auth.is_throttled(session, "officer1", now=t + timedelta(seconds=30))
    assert refused_minutes / minutes <= 0.2
    assert auth.authenticate(
        session, username="officer1", password=GOOD, now=start + timedelta(minutes=minutes, seconds=61)
    ).ok


def test_a_guessing_campaign_from_many_addresses_is_capped_but_the_owner_gets_in(session) -> None:  # noqa: ANN001
    _, officer, _ = _staff(session)
    auth.start_session(session, user_id=officer.id, client_address="10.0.0.8")  # the officer's own PC
    now = utcnow()
    for k in range(auth.ACCOUNT_BUDGET):
        auth.authenticate(
            session,
            username="officer1",
            password=f"guess-{k}x",
            now=now,
            client_address=f"198.51.100.{k + 1}",
        )
    elsewhere = auth.authenticate(
        session, username="officer1", password=GOOD, now=now, client_address="198.51.100.200"
    )
    assert not elsewhere.ok and elsewhere.retry_after <= now + auth.ACCOUNT_LEAK
    assert auth.authenticate(
        session, username="officer1", password=GOOD, now=now, client_address="10.0.0.8"
    ).ok


# ------------------------------------------------------------------ 3. revocation reaches what is on screen
def _browser_actor(session, username: str) -> Actor:  # noqa: ANN001
    """The actor a page holds after a login (the one a dialog or a callback keeps using)."""
    user = session.execute(select(User).where(User.username == username)).scalar_one()
    session_id, _ = auth.start_session(session, user_id=user.id)
    info = auth.resume_session(session, session_id=session_id)
    assert info is not None and info.actor.session_ref is not None
    return info.actor


def test_writes_from_a_screen_opened_before_deactivation_are_refused(session) -> None:  # noqa: ANN001
    from core import clock
    from db.models import ScoreRun
    from demo import seed_demo
    from services import bank, runs
    from services.errors import PermissionDenied

    seed_demo(session, enterprises=30, local_demo=True)
    notice = session.execute(select(ScoreRun).where(ScoreRun.state == "notice")).scalars().first()
    assert notice is not None and notice.notice_end is not None
    # the day after the 公示 window: an officer may finalise (no early-定稿 reason needed)
    with clock.frozen(clock.day_end(notice.notice_end) + timedelta(hours=12)):
        officer = _browser_actor(session, "officer1")  # the 定稿 dialog is open with this actor
        enterprise = _browser_actor(session, "ent1")  # the bank consent toggle's callback holds this one
        consent = bank.get_bank_consent(
            session, actor=enterprise, enterprise_id=enterprise.enterprise_id
        ).consent

        accounts.set_active(session, actor=SYSTEM, username="officer1", active=False)
        accounts.set_active(session, actor=SYSTEM, username="ent1", active=False)
        with pytest.raises(PermissionDenied, match="登录已失效"):
            runs.finalize_run(session, actor=officer, run_id=notice.id)
        with pytest.raises(PermissionDenied, match="登录已失效"):
            bank.set_bank_consent(
                session, actor=enterprise, enterprise_id=enterprise.enterprise_id, consent=not consent
            )
        session.expire_all()
        assert session.get(ScoreRun, notice.id).state == "notice"
        assert (
            bank.get_bank_consent(session, actor=enterprise, enterprise_id=enterprise.enterprise_id).consent
            == consent
        )
        # an actor built by code (no login) for the deactivated account is refused as well
        code_built = Actor(username="ent1", role="enterprise", enterprise_id=enterprise.enterprise_id)
        with pytest.raises(PermissionDenied):
            bank.set_bank_consent(
                session, actor=code_built, enterprise_id=enterprise.enterprise_id, consent=not consent
            )
        # the refusal was the revocation: a live officer finalises the same run
        assert (
            runs.finalize_run(session, actor=_browser_actor(session, "officer2"), run_id=notice.id).state
            == "final"
        )


def test_a_logout_elsewhere_or_a_role_change_ends_writes_from_open_screens(session) -> None:  # noqa: ANN001
    from demo import seed_demo
    from services import bank
    from services.errors import PermissionDenied

    seed_demo(session, enterprises=30, local_demo=True)
    enterprise = _browser_actor(session, "ent2")
    officer = _browser_actor(session, "officer2")
    ent_id = enterprise.enterprise_id
    bank.set_bank_consent(session, actor=enterprise, enterprise_id=ent_id, consent=True)  # live: allowed
    accounts.end_user_sessions(session, actor=SYSTEM, username="ent2")  # 结束所有会话
    with pytest.raises(PermissionDenied, match="登录已失效"):
        bank.set_bank_consent(session, actor=enterprise, enterprise_id=ent_id, consent=False)
    accounts.change_role(session, actor=SYSTEM, username="officer2", role="admin")
    with pytest.raises(PermissionDenied, match="登录已失效"):
        accounts.unlock_user(
            session,
            actor=Actor(username="officer2", role="admin", session_ref=officer.session_ref),
            username="ent2",
        )


# ------------------------------------------------------------------ 5. objection flood
def test_an_objection_flood_is_capped_merged_and_closed_in_bulk(session) -> None:  # noqa: ANN001
    from db.models import Objection, ScoreRun
    from demo import seed_demo
    from services import objections
    from services.errors import Conflict
    from services.model_versions import get_model

    seed_demo(session, enterprises=30, local_demo=True)
    run = next(
        r
        for r in session.execute(select(ScoreRun).where(ScoreRun.state == "notice")).scalars()
        if objections.window_open(r)
    )
    ent = session.execute(select(User).where(User.username == "ent1")).scalar_one()
    actor = Actor(username="ent1", role="enterprise", user_id=ent.id, enterprise_id=ent.enterprise_id)
    codes = list(get_model(session, run.model_version_id).codes)[:15]
    refused = 0
    for k in range(300):  # the flood: 300 objections, 15 indicators over and over
        try:
            objections.file_objection(
                session,
                actor=actor,
                run_id=run.id,
                enterprise_id=ent.enterprise_id,
                indicator_code=codes[k % len(codes)],
                reason=f"数据有误 {k % 40}",
            )
            session.commit()
        except Conflict:
            session.rollback()
            refused += 1
    rows = (
        session.execute(
            select(Objection).where(Objection.run_id == run.id, Objection.enterprise_id == ent.enterprise_id)
        )
        .scalars()
        .all()
    )
    assert len(rows) == objections.MAX_OBJECTIONS_PER_RUN and refused > 0
    assert len({r.indicator_code for r in rows}) == len(rows)  # one per indicator: the repeats were merged
    first = min(rows, key=lambda r: r.id)
    assert "数据有误 0" in first.reason and "——补充：数据有误 15" in first.reason
    assert first.reason.count("数据有误 0") == 1  # an identical reason adds nothing

    officer = Actor(username="officer1", role="officer")
    with pytest.raises(ValidationFailed, match="理由"):
        objections.close_objections(session, actor=officer, objection_ids=[r.id for r in rows], answer=" ")
    with pytest.raises(PermissionDenied):
        objections.close_objections(
            session, actor=actor, objection_ids=[r.id for r in rows], answer="重复提交"
        )
    closed = objections.close_objections(
        session, actor=officer, objection_ids=[r.id for r in rows], answer="重复提交，已统一核查，数据无误。"
    )
    session.commit()
    assert closed == len(rows)
    left = objections.list_objections(session, actor=officer, run_id=run.id, states=("open",))
    assert left[left["enterprise_id"] == ent.enterprise_id].empty
    answered = objections.list_objections(session, actor=actor, run_id=run.id)
    assert set(answered["state_label"]) == {"已驳回"} and set(answered["answer"]) == {
        "重复提交，已统一核查，数据无误。"
    }
