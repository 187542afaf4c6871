"""``manage.py backup`` / ``restore`` round trips on SQLite (online backup API, WAL included)
and PostgreSQL (pg_dump/pg_restore of the server's version, in a database of the test's own).

A restored database passes ``verify-audit`` and ``verify-run`` for every final run, and ends every
login session it holds — including one an admin ended after the backup was taken."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func, inspect, select, text
from sqlmodel import Session

from core import clock
from db.models import AuditEvent, Enterprise, ScoreRun, User
from db.schema import init_db
from db.session import make_engine
from demo import seed_demo
from services.accounts import end_user_sessions
from services.actor import Actor
from services.audit import verify_chain
from services.auth import resume_session, start_session
from services.backup import backup_database, restore_database
from services.errors import PermissionDenied
from services.memo import data_version
from services.runs import verify_run
from tests.conftest import BACKENDS, throwaway_postgres

ROOT = Path(__file__).resolve().parents[2]
MANAGE = ROOT / "manage.py"
AT = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)

pytestmark = pytest.mark.xdist_group("cli")


def _no_autocheckpoint(dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API callback
    # A busy server: committed pages stay in -wal (no connection of ours checkpoints them).
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    """(engine, url) of an empty migrated database of this test's own."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'live.db'}"
        engine = make_engine(url)
        event.listen(engine, "connect", _no_autocheckpoint)
        init_db(engine)
        yield engine, url
        engine.dispose()
        return
    if not shutil.which("pg_dump"):
        pytest.skip("pg_dump missing (make pg-client)")
    with throwaway_postgres("ip_backup") as url:
        engine = make_engine(url)
        try:
            init_db(engine)
            yield engine, url
        finally:
            engine.dispose()


def manage(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, str(MANAGE), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def _user_id(session: Session, username: str) -> int:
    return session.execute(select(User.id).where(User.username == username)).scalar_one()


def _audit_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


def test_backup_and_restore_round_trip(store: tuple[Engine, str], tmp_path: Path) -> None:
    engine, url = store
    admin = Actor.system()
    with clock.frozen(AT), Session(engine, expire_on_commit=False) as session:
        seed_demo(session, enterprises=40)
    if engine.dialect.name == "sqlite":
        engine.dispose()  # the seed checkpointed; what follows stays in -wal
    with clock.frozen(AT + timedelta(minutes=5)), Session(engine, expire_on_commit=False) as session:
        enterprise_sid, _ = start_session(session, user_id=_user_id(session, "ent1"))
        officer_sid, _ = start_session(session, user_id=_user_id(session, "officer1"))
        end_user_sessions(session, actor=admin, username="officer2")  # an audited write, in -wal on SQLite
        assert resume_session(session, session_id=enterprise_sid) is not None
        assert resume_session(session, session_id=officer_sid) is not None
        events = _audit_count(session)
        enterprises = session.execute(select(func.count()).select_from(Enterprise)).scalar_one()
        finals = list(session.execute(select(ScoreRun.id).where(ScoreRun.state == "final")).scalars())
    assert finals

    suffix = ".db" if engine.dialect.name == "sqlite" else ".dump"
    if engine.dialect.name == "sqlite":
        # The failure: the file alone, copied while the server runs, lacks what is still in -wal.
        live = Path(engine.url.database)
        assert Path(f"{live}-wal").stat().st_size > 0
        copy = tmp_path / "copied.db"
        # cp in a process of its own, as an operator would: closing a descriptor of the live file in this
        # process would drop the POSIX locks of this process's SQLite connections.
        subprocess.run(["cp", str(live), str(copy)], check=True)
        with sqlite3.connect(copy) as raw:
            assert raw.execute("SELECT count(*) FROM auditevent").fetchone()[0] < events

    out = tmp_path / f"backup{suffix}"
    said = ok(manage("backup", "--out", str(out), url=url))
    assert "已备份" in said and "SHA-256" in said
    assert out.stat().st_mode & 0o077 == 0, "a backup holds password hashes: mode 600"
    assert not list(tmp_path.glob(".*.part"))
    if engine.dialect.name == "sqlite":
        with sqlite3.connect(out) as raw:
            assert raw.execute("SELECT count(*) FROM auditevent").fetchone()[0] == events

    # After the backup: the admin ends the enterprise's session, and an officer gets a new one.
    with clock.frozen(AT + timedelta(minutes=10)), Session(engine, expire_on_commit=False) as session:
        end_user_sessions(session, actor=admin, username="ent1")
        later_sid, _ = start_session(session, user_id=_user_id(session, "officer2"))
        session.execute(
            text("UPDATE enterprise SET name = 'after backup' WHERE id = (SELECT min(id) FROM enterprise)")
        )
        # a table the backup does not know (a later migration's): the restore removes it too
        session.execute(text("CREATE TABLE leftover (x INTEGER REFERENCES enterprise (id))"))
        session.commit()

    said = ok(manage("restore", "--from", str(out), "--yes", url=url))
    assert "审计日志完好" in said
    for run_id in finals:
        assert f"积分批次 #{run_id} 核验通过" in said

    with clock.frozen(AT + timedelta(minutes=15)), Session(engine, expire_on_commit=False) as session:
        # Every session the backup held is over, the one ended after the backup too; later ones never existed.
        assert resume_session(session, session_id=enterprise_sid) is None
        assert resume_session(session, session_id=officer_sid) is None
        assert resume_session(session, session_id=later_sid) is None
        fresh, _ = start_session(session, user_id=_user_id(session, "ent1"))
        assert resume_session(session, session_id=fresh) is not None  # people log in again as usual
        assert session.execute(select(func.count()).select_from(Enterprise)).scalar_one() == enterprises
        assert (
            session.execute(
                select(func.count()).select_from(Enterprise).where(Enterprise.name == "after backup")
            ).scalar_one()
            == 0
        )
        assert "leftover" not in inspect(session.get_bind()).get_table_names()
        report = verify_chain(session, actor=admin)
        assert report.ok, report
        actions = list(session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())
        assert actions[:events].count("end_sessions") == 1  # officer2's, before the backup; ent1's is gone
        restored = session.execute(
            select(AuditEvent).where(AuditEvent.action == "database.restore")
        ).scalar_one()
        assert restored.id > max(
            session.execute(select(AuditEvent.id).order_by(AuditEvent.id).limit(events)).scalars()
        )
        assert restored.after["sessions_revoked"] >= 2
        assert "database.backup" not in actions[:events]
        for run_id in finals:
            assert verify_run(session, actor=admin, run_id=run_id).identical
    ok(manage("verify-audit", url=url))
    for run_id in finals:
        ok(manage("verify-run", "--run", str(run_id), url=url))


def test_restore_refuses_what_is_not_a_backup_of_this_system(
    store: tuple[Engine, str], tmp_path: Path
) -> None:
    engine, url = store
    with clock.frozen(AT), Session(engine, expire_on_commit=False) as session:
        seed_demo(session, enterprises=10, with_runs=False)
        enterprises = session.execute(select(func.count()).select_from(Enterprise)).scalar_one()
    junk = tmp_path / "notes.db"
    junk.write_bytes(b"hello, this is not a database")
    result = manage("restore", "--from", str(junk), "--yes", url=url)
    assert result.returncode == 1 and "不是本系统的数据库备份" in result.stderr
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as raw:
        raw.execute("CREATE TABLE notes (x)")
    result = manage("restore", "--from", str(other), "--yes", url=url)
    assert result.returncode == 1
    expected = "不是本系统的数据库备份" if engine.dialect.name == "sqlite" else "只能恢复到同一种数据库"
    assert expected in result.stderr
    # Without --yes and without a terminal to ask on, nothing is restored.
    result = manage("restore", "--from", str(other), url=url)
    assert result.returncode == 1
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Enterprise)).scalar_one() == enterprises
        assert verify_chain(session, actor=Actor.system()).ok


@pytest.mark.parametrize("role", ["officer", "enterprise"])
def test_only_administrators_back_up_or_restore(tmp_path: Path, role: str) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
    init_db(engine)
    actor = Actor(username="someone", role=role, enterprise_id=1 if role == "enterprise" else None)
    with pytest.raises(PermissionDenied):
        backup_database(engine, actor=actor, out=tmp_path / "backup.db")
    assert not list(tmp_path.glob("*backup*"))
    ok(manage("backup", "--out", str(tmp_path / "real.db"), url=f"sqlite:///{tmp_path / 'live.db'}"))
    with pytest.raises(PermissionDenied):
        restore_database(engine, actor=actor, source=tmp_path / "real.db")
    engine.dispose()


def test_a_restore_followed_by_other_writes_to_the_same_count_is_another_data_version(
    store: tuple[Engine, str], tmp_path: Path
) -> None:
    """Page caches key on services.memo.data_version, the newest data-changing audit event: after a
    restore, another write that lands on the same event id must not let a page serve what it cached
    before (a backup is an access, not a change: it leaves the version alone)."""
    engine, _ = store
    admin = Actor.system()
    backup = tmp_path / ("first.db" if engine.dialect.name == "sqlite" else "first.dump")
    with clock.frozen(AT):
        backup_database(engine, actor=admin, out=backup)  # holds no event: recorded after the copy
        with Session(engine) as session:
            assert data_version(session) == (0, "")
        restore_database(engine, actor=admin, source=backup)  # the first data-changing event
        with Session(engine) as session:
            before = data_version(session)
        cache = {before: "state before the restore"}  # a page's value, as st.cache_data keys it

    with clock.frozen(AT + timedelta(minutes=5)):
        restore_database(engine, actor=admin, source=backup)  # back to no event, then another first one
        with Session(engine) as session:
            after = data_version(session)
            assert _audit_count(session) == 1

    assert after[0] == before[0]  # the same event id ...
    assert after != before  # ... yet another version: the cached value is not served
    assert after not in cache
