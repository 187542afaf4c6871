"""The audit chain holds under concurrent writers, and its anchor catches a truncation or a
deleted tail — on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from db.models import AuditChainHead, AuditEvent
from services import audit
from services.actor import Actor

ROOT = Path(__file__).resolve().parents[2]
SYSTEM = Actor.system()
WRITERS = 20
EVENTS_EACH = 3


def _verify_cli(engine: Engine) -> subprocess.CompletedProcess:
    url = engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "verify-audit"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def _record(engine: Engine, n: int, tag: str = "t") -> None:
    with Session(engine) as session:
        for k in range(n):
            audit.record(
                session, actor=SYSTEM, action="test", entity="thing", entity_id=k, after={"tag": tag}
            )
            session.commit()


def test_twenty_concurrent_writers_leave_an_intact_chain(db_engine: Engine) -> None:
    """20 threads, each its own connection, released together and appending 3 events each: every event
    is chained onto the one committed before it, and verify-audit agrees."""
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            with Session(db_engine) as session:
                barrier.wait()
                for k in range(EVENTS_EACH):
                    # A write before the event (as a service does) and one without: both orders queue.
                    audit.record(
                        session, actor=SYSTEM, action="test", entity="writer", entity_id=i, after={"k": k}
                    )
                    session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    with Session(db_engine) as session:
        report = audit.verify_chain(session, actor=SYSTEM)
        head = session.get(AuditChainHead, 1)
        assert report.ok, (report.broken_id, report.problem, report.anchor_problem)
        assert report.checked == WRITERS * EVENTS_EACH == head.count
        prevs = session.execute(select(AuditEvent.prev_hash)).scalars().all()
        assert len(set(prevs)) == len(prevs)  # no two events chained onto the same predecessor
    cli = _verify_cli(db_engine)
    assert cli.returncode == 0 and f"完好：共 {WRITERS * EVENTS_EACH} 条" in cli.stdout


def test_the_application_cannot_empty_or_shorten_the_audit_trail(db_engine: Engine) -> None:
    _record(db_engine, 3)
    refused = [
        "DELETE FROM auditevent WHERE id = (SELECT max(id) FROM auditevent)",
        "DELETE FROM auditchainhead",
        "UPDATE auditchainhead SET count = 0",
    ]
    if db_engine.dialect.name == "postgresql":
        refused += ["TRUNCATE auditevent", "TRUNCATE auditchainhead", "TRUNCATE auditevent, auditchainhead"]
    for statement in refused:
        with (
            db_engine.connect() as connection,
            pytest.raises(DBAPIError, match="append-only|permission denied"),
        ):
            connection.execute(text(statement))
    with Session(db_engine) as session:
        assert session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == 3
        assert audit.verify_chain(session, actor=SYSTEM).ok


def _bypass_guards(connection, engine: Engine) -> None:  # noqa: ANN001
    """What only the database's superuser (or, for SQLite, whoever holds the file) can do."""
    if engine.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        connection.execute(text("DROP TRIGGER auditevent_no_delete"))


@pytest.mark.parametrize("tamper", ["truncate", "delete_last"])
def test_truncating_or_deleting_the_last_event_fails_verify_audit(db_engine: Engine, tamper: str) -> None:
    _record(db_engine, 4)
    assert _verify_cli(db_engine).returncode == 0
    with db_engine.begin() as connection:
        _bypass_guards(connection, db_engine)
        if tamper == "truncate":
            statement = (
                "TRUNCATE auditevent" if db_engine.dialect.name == "postgresql" else "DELETE FROM auditevent"
            )
        else:
            statement = "DELETE FROM auditevent WHERE id = (SELECT max(id) FROM auditevent)"
        connection.execute(text(statement))
    with Session(db_engine) as session:
        report = audit.verify_chain(session, actor=SYSTEM)
    assert not report.ok and report.broken_id is None
    assert report.checked == (0 if tamper == "truncate" else 3)
    assert ("被删除" in report.anchor_problem) and "锚点记载 4 条" in report.anchor_problem
    cli = _verify_cli(db_engine)
    assert cli.returncode == 1 and "锚点" in cli.stderr and "Traceback" not in cli.stderr
    assert "完好：共" not in cli.stdout


def test_a_rolled_back_append_leaves_the_anchor_where_it_was(db_engine: Engine) -> None:
    _record(db_engine, 2)
    with Session(db_engine) as session:
        audit.record(session, actor=SYSTEM, action="test", entity="thing")
        session.flush()
        session.rollback()
    _record(db_engine, 1)
    with Session(db_engine) as session:
        report = audit.verify_chain(session, actor=SYSTEM)
        assert report.ok and report.checked == 3 == session.get(AuditChainHead, 1).count
