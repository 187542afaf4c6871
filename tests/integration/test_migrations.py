"""The Alembic migration builds the schema on both backends and its guards hold."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, SQLModel

from db.models import Enterprise, IndicatorValue
from db.schema import init_db
from services import audit
from services.actor import Actor


def test_upgrade_creates_every_table(db_engine: Engine) -> None:
    names = set(inspect(db_engine).get_table_names())
    assert {t.name for t in SQLModel.metadata.sorted_tables} <= names
    assert "alembic_version" in names


def test_init_db_is_idempotent(db_engine: Engine) -> None:
    init_db(db_engine)
    with db_engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == _head()


def _head() -> str:
    """The one head revision of the migration scripts (a second head would be a broken chain)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from db.schema import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    (head,) = ScriptDirectory.from_config(config).get_heads()
    return head


def _audit_row(session: Session) -> int:
    event = audit.record(session, actor=Actor.system(), action="test", entity="test")
    session.commit()
    return event.id


def test_audit_event_refuses_update(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        event_id = _audit_row(session)
    with db_engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text("UPDATE auditevent SET reason = 'x' WHERE id = :id"), {"id": event_id})
    with db_engine.connect() as connection:
        assert connection.execute(text("SELECT reason FROM auditevent")).scalar_one() is None


def test_audit_event_refuses_delete(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        _audit_row(session)
    with db_engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text("DELETE FROM auditevent"))
    with db_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM auditevent")).scalar_one() == 1


def test_one_current_indicator_value(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        enterprise = Enterprise(credit_code="91330300MA2AAAAA0X", name="甲公司")
        session.add(enterprise)
        session.commit()

        def value(current: bool, num: float) -> IndicatorValue:
            return IndicatorValue(
                enterprise_id=enterprise.id,
                year=2024,
                code="T01",
                value_num=num,
                source="税务",
                is_current=current,
            )

        # History rows (not current) may repeat freely.
        session.add_all([value(False, 1.0), value(False, 2.0), value(True, 3.0)])
        session.commit()
        session.add(value(True, 4.0))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        # Another year or code is a different key.
        session.add(
            IndicatorValue(enterprise_id=enterprise.id, year=2025, code="T01", value_num=5.0, source="税务")
        )
        session.commit()
