"""The Alembic migration builds the schema on both backends and its guards hold."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, SQLModel

from db.models import Enterprise, IndicatorValue
from db.schema import init_db
from db.session import make_engine
from services import audit
from services.actor import Actor
from tests.conftest import TEST_DATABASE_URL, throwaway_postgres


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
    # Written into the table itself: its own constraint (one current row per key) is under test.
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


def _migrate(engine: Engine, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from db.schema import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        if revision == "head":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)


def _reference_guards(engine: Engine) -> dict[str, set[str]]:
    """The foreign keys of score and indicatorvalue, and the trigger functions guarding their references."""
    with engine.connect() as connection:
        keys = connection.execute(
            text(
                "SELECT conrelid::regclass::text || '.' || conname FROM pg_constraint "
                "WHERE contype = 'f' AND conrelid IN ('score'::regclass, 'indicatorvalue'::regclass)"
            )
        ).scalars()
        functions = connection.execute(
            text(
                "SELECT DISTINCT p.proname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE NOT t.tgisinternal AND p.proname NOT LIKE 'audit%'"
            )
        ).scalars()
        return {"keys": set(keys), "functions": set(functions)}


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
def test_reference_checks_downgrade_and_upgrade() -> None:
    """Migrations 0016 and 0018 undo and redo on PostgreSQL: foreign keys back where the triggers were."""
    with throwaway_postgres("ip_migrate") as url:
        engine = make_engine(url)
        try:
            init_db(engine)
            head = _reference_guards(engine)
            assert head == {"keys": set(), "functions": {"references_exist", "referenced_rows_kept"}}
            _migrate(engine, "0017_score_subsidy_index")
            assert _reference_guards(engine) == {
                "keys": {
                    f"indicatorvalue.indicatorvalue_{c}_fkey"
                    for c in ("enterprise_id", "batch_id", "submission_id")
                },
                "functions": {
                    "score_references_exist",
                    "enterprise_scores_unreferenced",
                    "scorerun_scores_unreferenced",
                },
            }
            _migrate(engine, "0015_value_enterprise_index")
            assert _reference_guards(engine)["functions"] == set()
            assert {"score.score_enterprise_id_fkey", "score.score_run_id_fkey"} <= _reference_guards(engine)[
                "keys"
            ]
            _migrate(engine, "head")
            assert _reference_guards(engine) == head
        finally:
            engine.dispose()
