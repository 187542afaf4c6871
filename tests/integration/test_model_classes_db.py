"""Score stores a subtotal per declared class: a run under a 5-class model, and the migration of old rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlmodel import Session, select

from core.credit_code import make_code
from core.model_loading import parse_model
from db.models import Enterprise, ModelVersion, Score
from db.queries import scores_frame, subtotal_column
from db.schema import MIGRATIONS_DIR
from db.session import make_engine
from services.actor import Actor
from services.runs import compute_run, verify_run
from tests.conftest import TEST_DATABASE_URL, throwaway_postgres
from tests.model_shapes import five_class_model
from tests.values import add_values

YEAR = 2025
OFFICER = Actor(username="officer1", role="officer", user_id=2)


def _store_model(session: Session, definition: dict) -> ModelVersion:
    model = parse_model(definition)
    version = ModelVersion(
        name=model.name, version=model.version, state="published", definition=model.to_dict()
    )
    session.add(version)
    session.commit()
    return version


def test_run_under_a_five_class_model_stores_every_class_subtotal(session: Session) -> None:
    version = _store_model(session, five_class_model())
    model = parse_model(version.definition)
    inv = [i.code for i in model.by_class("invest")]
    rows = {
        "1": {"R01": 20000, "B01": 1, **{c: 60 for c in inv}},
        "2": {"R01": 800, "D01": 1},
        "3": {"R01": 900},
    }
    for seed, values in rows.items():
        enterprise = Enterprise(credit_code=make_code(seed), name=f"企业{seed}")
        session.add(enterprise)
        session.flush()
        for code, value in values.items():
            add_values(
                session,
                {
                    "enterprise_id": enterprise.id,
                    "year": YEAR,
                    "code": code,
                    "value_num": value,
                    "source": "统计",
                },
            )
    session.commit()

    run = compute_run(session, actor=OFFICER, year=YEAR, model_version_id=version.id)
    stored = {s.enterprise_id: s for s in session.exec(select(Score).where(Score.run_id == run.id)).all()}
    first = next(s for s in stored.values() if s.stage == "s4")
    assert set(first.subtotals) == {"basic", "invest", "manage", "output", "env", "plus", "minus"}
    assert first.subtotal("invest") == pytest.approx(200)
    assert first.subtotal("plus") == 40 and first.bonus == 40
    assert first.technology is None and first.growth is None  # the model has no such classes
    assert first.subtotal("technology") is None
    frame = scores_frame(session, run_id=run.id).set_index("credit_code")
    assert frame.loc[make_code("2"), "sub_minus"] == 30
    assert subtotal_column(frame, "invest").loc[make_code("1")] == pytest.approx(200)
    assert subtotal_column(frame, "technology").isna().all()
    report = verify_run(session, actor=OFFICER, run_id=run.id)
    assert report.identical, report.differences


def _alembic(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _migrate_old_rows(url: str) -> None:
    engine = make_engine(url)
    try:
        config = _alembic(url)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO modelversion (id, name, version, state, definition, created_at) "
                    "VALUES (1, 'm', 'v', 'published', '{}', '2025-01-01 00:00:00+00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO scorerun (id, year, model_version_id, input_fingerprint, state, enterprise_count, "
                    "created_at) VALUES (1, 2025, 1, 'x', 'final', 1, '2025-01-01 00:00:00+00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO enterprise (id, credit_code, name, bank_consent, created_at) "
                    "VALUES (1, :code, '甲', false, '2025-01-01 00:00:00+00:00')"
                ),
                {"code": make_code("1")},
            )
            connection.execute(
                text(
                    "INSERT INTO score (run_id, enterprise_id, stage, technology, growth, core, bonus, deduction, "
                    "total, veto, subsidy, missing_count) "
                    "VALUES (1, 1, 'growth', 41.5, 22.25, 63.75, 50, 10, 103.75, false, 0, 2)"
                )
            )
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        with Session(engine) as session:
            row = session.exec(select(Score)).one()
            assert row.subtotals == {"technology": 41.5, "growth": 22.25, "bonus": 50, "deduction": 10}
            assert row.subtotal("growth") == 22.25 and row.technology == 41.5
    finally:
        engine.dispose()


def test_migration_moves_existing_rows_sqlite(tmp_path: Path) -> None:
    _migrate_old_rows(f"sqlite:///{tmp_path / 'old.db'}")


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
def test_migration_moves_existing_rows_postgres() -> None:
    with throwaway_postgres("ip_mig") as url:
        _migrate_old_rows(url)
