"""A Score row refers to an existing enterprise and run, on both backends: SQLite's foreign keys, and on
PostgreSQL the statement triggers of migrations 0016 and 0018 (checked once per statement, not per row)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from db.models import Enterprise, Score, ScoreRun
from services.model_versions import ensure_default_model
from tests.conftest import BACKENDS
from tests.locks import waits_for_a_lock

POSTGRES_ONLY = BACKENDS[1:]  # the triggers' concurrency and isolation rules


def _enterprise_and_run(session: Session) -> tuple[int, int, int]:
    """(an enterprise with a Score row in a run, another without, that run's id), committed."""
    version = ensure_default_model(session)
    scored = Enterprise(credit_code="91330300MA2AAAAA0X", name="甲公司")
    unscored = Enterprise(credit_code="91330300MA2AAAAB0X", name="乙公司")
    run = ScoreRun(year=2025, model_version_id=version.id, input_fingerprint="0" * 64)
    session.add_all([scored, unscored, run])
    session.flush()
    session.add(_score(run.id, scored.id))
    session.commit()
    return scored.id, unscored.id, run.id


def _score(run_id: int, enterprise_id: int) -> Score:
    return Score(
        run_id=run_id, enterprise_id=enterprise_id, stage="S1", core=1, bonus=0, deduction=0, total=1
    )


def test_a_score_row_needs_its_enterprise_and_its_run(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        scored, unscored, run = _enterprise_and_run(session)
        session.add(_score(run, unscored))  # both exist: stored
        session.commit()
        for run_id, enterprise_id in ((run, 999_999), (999_999, unscored)):
            session.add(_score(run_id, enterprise_id))
            with pytest.raises(IntegrityError):
                session.commit()
            session.rollback()
        with pytest.raises(IntegrityError):  # an update to a missing enterprise is refused too
            session.execute(
                text("UPDATE score SET enterprise_id = 999999 WHERE enterprise_id = :e"), {"e": scored}
            )
        session.rollback()


def test_a_referenced_enterprise_or_run_cannot_go(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        scored, unscored, run = _enterprise_and_run(session)
        for statement, params in (
            ("DELETE FROM enterprise WHERE id = :i", {"i": scored}),
            ("DELETE FROM scorerun WHERE id = :i", {"i": run}),
            ("UPDATE enterprise SET id = 999999 WHERE id = :i", {"i": scored}),
        ):
            with pytest.raises(IntegrityError):
                session.execute(text(statement), params)
            session.rollback()
        # Other columns change freely, and an enterprise no Score row names may go.
        session.execute(text("UPDATE enterprise SET name = '甲有限公司' WHERE id = :i"), {"i": scored})
        session.execute(text("UPDATE scorerun SET state = 'notice' WHERE id = :i"), {"i": run})
        session.execute(text("DELETE FROM enterprise WHERE id = :i"), {"i": unscored})
        session.commit()


@pytest.mark.parametrize("db_engine", POSTGRES_ONLY, indirect=True)
def test_a_delete_waits_for_the_run_writing_scores_then_refuses(db_engine: Engine) -> None:
    """The race a foreign key's row lock closes: a run writes Score rows for an enterprise (not yet
    committed) while another transaction deletes that enterprise. The delete waits for the run, then
    sees its rows and is refused; no Score row is left without its enterprise."""
    with Session(db_engine) as session:
        _, unscored, run = _enterprise_and_run(session)
    outcome: list[BaseException | None] = []
    with Session(db_engine) as writing:
        writing.add(_score(run, unscored))
        writing.flush()  # the run's rows are written and checked, not committed

        def delete() -> None:
            try:
                with db_engine.begin() as connection:
                    connection.execute(text("DELETE FROM enterprise WHERE id = :i"), {"i": unscored})
                outcome.append(None)
            except DBAPIError as exc:
                outcome.append(exc)

        deleting = threading.Thread(target=delete)
        deleting.start()
        assert waits_for_a_lock(db_engine, "DELETE FROM enterprise"), "the delete did not wait for the run"
        assert deleting.is_alive() and not outcome
        writing.commit()
        deleting.join(timeout=30)
    assert isinstance(outcome[0], IntegrityError)
    with db_engine.connect() as connection:
        orphans = "SELECT count(*) FROM score s WHERE NOT EXISTS (SELECT 1 FROM enterprise e WHERE e.id = s.enterprise_id)"
        assert connection.execute(text(orphans)).scalar_one() == 0


@pytest.mark.parametrize("db_engine", POSTGRES_ONLY, indirect=True)
def test_score_rows_are_not_written_at_repeatable_read(db_engine: Engine) -> None:
    """One snapshot for the whole transaction could miss a delete committed meanwhile: refused."""
    with Session(db_engine) as session:
        _, unscored, run = _enterprise_and_run(session)
    with (
        db_engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection,
        pytest.raises(DBAPIError, match="READ COMMITTED"),
    ):
        connection.execute(
            text(
                "INSERT INTO score (run_id, enterprise_id, stage, core, bonus, deduction, total, veto, "
                "subsidy, missing_count) VALUES (:r, :e, 'S1', 1, 0, 0, 1, false, 0, 0)"
            ),
            {"r": run, "e": unscored},
        )
