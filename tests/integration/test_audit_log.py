"""The audit log: filters and export for staff; nobody can change or delete an event."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session

from core import clock
from db.models import AuditEvent
from services import audit
from services.actor import Actor
from services.errors import PermissionDenied

OFFICER = Actor(username="officer1", role="officer")
ADMIN = Actor(username="admin", role="admin")


def add_events(session: Session) -> None:
    audit.record(
        session,
        actor=OFFICER,
        action="submission.approve",
        entity="Submission",
        entity_id=1,
        before={"state": "submitted"},
        after={"state": "approved"},
    )
    audit.record(
        session,
        actor=OFFICER,
        action="submission.return",
        entity="Submission",
        entity_id=2,
        reason='=HYPERLINK("http://x")请补充',
    )
    audit.record(session, actor=ADMIN, action="import.commit", entity="ImportBatch", entity_id=7)
    session.commit()


def test_filters_and_export(session: Session) -> None:
    add_events(session)
    assert len(audit.query_events(session, actor=ADMIN)) == 3
    assert list(audit.query_events(session, actor=OFFICER, action="submission")["entity_id"]) == [
        "2",
        "1",
    ]
    assert len(audit.query_events(session, actor=OFFICER, actor_name="ADMIN")) == 1
    assert len(audit.query_events(session, actor=OFFICER, text="补充")) == 1
    assert len(audit.query_events(session, actor=OFFICER, entity="ImportBatch", entity_id=7)) == 1
    today = clock.today()  # the days officers pick are Beijing days
    assert (
        len(audit.query_events(session, actor=OFFICER, date_from=today - timedelta(days=1), date_to=today))
        == 3
    )
    assert len(audit.query_events(session, actor=OFFICER, date_to=today - timedelta(days=2))) == 0
    csv = audit.export_events(session, actor=OFFICER, fmt="csv").decode("utf-8-sig")
    assert "'=HYPERLINK" in csv and "操作人" in csv
    wb = openpyxl.load_workbook(io.BytesIO(audit.export_events(session, actor=ADMIN)))
    cell = next(c for c in wb.active["J"] if isinstance(c.value, str) and c.value.startswith("=HYPERLINK"))
    assert cell.data_type == "s"  # inert text, not a live formula
    with pytest.raises(PermissionDenied):
        audit.query_events(session, actor=Actor(username="e", role="enterprise", enterprise_id=1))


def test_no_service_function_writes_events() -> None:
    import inspect

    import services

    names = [n for n in dir(audit) if callable(getattr(audit, n))]
    assert not any(n.startswith(("update", "delete", "remove", "edit")) for n in names)
    source = inspect.getsource(audit)
    assert "update(" not in source and "delete(" not in source
    assert services  # the package imports


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_database_refuses_changes(session: Session, statement: str) -> None:
    add_events(session)
    stmt = update(AuditEvent).values(reason="tampered") if statement == "update" else delete(AuditEvent)
    with pytest.raises(DatabaseError, match="append-only"):
        session.execute(stmt)
        session.flush()
    session.rollback()
    assert session.execute(text("SELECT count(*) FROM auditevent")).scalar_one() == 3


def test_date_filter_uses_beijing_days(session: Session) -> None:
    """17:30 UTC on 23 November is already 24 November in Beijing, and is filed under that day."""
    event = audit.record(session, actor=OFFICER, action="run.publish", entity="ScoreRun", entity_id=1)
    event.at = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)
    session.commit()
    on_24th = audit.query_events(
        session, actor=OFFICER, date_from=datetime(2026, 11, 24).date(), date_to=datetime(2026, 11, 24).date()
    )
    assert list(on_24th["entity_id"]) == ["1"]
    assert audit.query_events(session, actor=OFFICER, date_to=datetime(2026, 11, 23).date()).empty
    assert audit.display_frame(on_24th)["时间"].iloc[0] == "2026-11-24 01:30:00"
