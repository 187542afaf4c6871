"""An IndicatorValue row refers to an existing enterprise, import batch and submission, on both backends:
SQLite's foreign keys, and on PostgreSQL the statement triggers of migration 0018 (checked once per
statement, not per row, through the bulk insert imports write with)."""

from __future__ import annotations

import sqlite3
import threading

import pandas as pd
import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from db.models import Enterprise, ImportBatch, Submission
from db.values import insert_values, replace_values
from tests.conftest import BACKENDS
from tests.locks import waits_for_a_lock

# SQL on the values table itself: the references checks of the table are under test.
POSTGRES_ONLY = BACKENDS[1:]  # the triggers' concurrency, isolation and TRUNCATE rules
# The bulk write runs on the driver's cursor: its refusal is the driver's own exception.
REFUSED = (IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError)
ORPHANS = {
    "enterprise": "SELECT count(*) FROM indicatorvalue v WHERE NOT EXISTS "
    "(SELECT 1 FROM enterprise e WHERE e.id = v.enterprise_id)",
    "importbatch": "SELECT count(*) FROM indicatorvalue v WHERE v.batch_id IS NOT NULL AND NOT EXISTS "
    "(SELECT 1 FROM importbatch b WHERE b.id = v.batch_id)",
}


def _parents(session: Session) -> dict[str, int]:
    """Committed: an enterprise with values of a batch and a submission, another without any, an unused batch."""
    valued = Enterprise(credit_code="91330300MA2AAAAA0X", name="甲公司")
    unvalued = Enterprise(credit_code="91330300MA2AAAAB0X", name="乙公司")
    session.add_all([valued, unvalued])
    session.flush()
    batch, unused = (
        ImportBatch(department="税务", year=2025, file_name="税务.xlsx", sha256="0" * 64) for _ in "12"
    )
    submission = Submission(enterprise_id=valued.id, year=2025)
    session.add_all([batch, unused, submission])
    session.flush()
    ids = {
        "valued": valued.id,
        "unvalued": unvalued.id,
        "batch": batch.id,
        "unused_batch": unused.id,
        "submission": submission.id,
    }
    _write(session, valued.id, batch_id=batch.id)
    _write(session, valued.id, code="T02", submission_id=submission.id)
    session.commit()
    return ids


def _write(
    session: Session,
    enterprise_id: int,
    *,
    code: str = "T01",
    batch_id: int | None = None,
    submission_id: int | None = None,
) -> int:
    """One value through the import's bulk write (COPY on PostgreSQL)."""
    rows = pd.DataFrame(
        {
            "enterprise_id": [enterprise_id],
            "code": [code],
            "value_num": [1.5],
            "value_text": [None],
            "source": ["税务"],
            "flagged": [False],
        }
    )
    return replace_values(
        session, year=2025, rows=rows, batch_id=batch_id, submission_id=submission_id, created_by="test"
    )


def test_a_value_needs_its_enterprise_batch_and_submission(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        ids = _parents(session)
        _write(session, ids["unvalued"], batch_id=ids["batch"])  # every reference exists: stored
        session.commit()
        for enterprise_id, batch_id, submission_id in (
            (999_999, ids["batch"], None),
            (ids["unvalued"], 999_999, None),
            (ids["unvalued"], None, 999_999),
        ):
            with pytest.raises(REFUSED):
                _write(session, enterprise_id, code="T03", batch_id=batch_id, submission_id=submission_id)
            session.rollback()
        for column in ("enterprise_id", "batch_id", "submission_id"):  # an update to a missing row too
            with pytest.raises(IntegrityError):
                session.execute(text(f"UPDATE indicatorvalue SET {column} = 999999 WHERE code = 'T02'"))
            session.rollback()
        # Retiring values (is_current) and a reference set to another existing row or to none pass.
        session.execute(text("UPDATE indicatorvalue SET is_current = false"))
        session.execute(text("UPDATE indicatorvalue SET batch_id = :b"), {"b": ids["unused_batch"]})
        session.execute(text("UPDATE indicatorvalue SET submission_id = NULL"))
        session.commit()
        assert session.execute(text("SELECT count(*) FROM indicatorvalue")).scalar_one() == 3


def test_a_referenced_enterprise_batch_or_submission_cannot_go(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        ids = _parents(session)
        for statement, params in (
            ("DELETE FROM enterprise WHERE id = :i", {"i": ids["valued"]}),
            ("DELETE FROM importbatch WHERE id = :i", {"i": ids["batch"]}),
            ("DELETE FROM submission WHERE id = :i", {"i": ids["submission"]}),
            ("UPDATE importbatch SET id = 999999 WHERE id = :i", {"i": ids["batch"]}),
        ):
            with pytest.raises(IntegrityError):
                session.execute(text(statement), params)
            session.rollback()
        # Other columns change freely, and rows no value names may go.
        session.execute(
            text("UPDATE importbatch SET status = 'committed' WHERE id = :i"), {"i": ids["batch"]}
        )
        session.execute(text("DELETE FROM importbatch WHERE id = :i"), {"i": ids["unused_batch"]})
        session.execute(text("DELETE FROM enterprise WHERE id = :i"), {"i": ids["unvalued"]})
        session.commit()
        assert session.get(ImportBatch, ids["batch"]) is not None


@pytest.mark.parametrize("db_engine", POSTGRES_ONLY, indirect=True)
@pytest.mark.parametrize("parent", ["enterprise", "importbatch"])
def test_a_delete_waits_for_the_import_writing_values_then_refuses(db_engine: Engine, parent: str) -> None:
    """The race a foreign key's row lock closes: an import writes values of an enterprise and its batch
    (COPY, not yet committed) while another transaction deletes that enterprise or that batch. The
    delete waits for the import, then sees its rows and is refused; no value is left without either."""
    with Session(db_engine) as session:
        ids = _parents(session)
    target = ids["unvalued"] if parent == "enterprise" else ids["unused_batch"]
    outcome: list[BaseException | None] = []
    with Session(db_engine) as writing:
        _write(writing, ids["unvalued"], batch_id=ids["unused_batch"])  # written and checked, not committed

        def delete() -> None:
            try:
                with db_engine.begin() as connection:
                    connection.execute(text(f"DELETE FROM {parent} WHERE id = :i"), {"i": target})
                outcome.append(None)
            except DBAPIError as exc:
                outcome.append(exc)

        deleting = threading.Thread(target=delete)
        deleting.start()
        assert waits_for_a_lock(db_engine, f"DELETE FROM {parent}"), "the delete did not wait for the import"
        assert deleting.is_alive() and not outcome
        writing.commit()
        deleting.join()
    assert isinstance(outcome[0], IntegrityError)
    with db_engine.connect() as connection:
        assert connection.execute(text(ORPHANS[parent])).scalar_one() == 0
        assert connection.execute(text("SELECT count(*) FROM indicatorvalue")).scalar_one() == 3


@pytest.mark.parametrize("db_engine", POSTGRES_ONLY, indirect=True)
def test_a_referenced_batch_is_not_truncated(db_engine: Engine) -> None:
    """No other foreign key points at importbatch: the triggers refuse a TRUNCATE that would orphan
    values, and allow one that empties the values with it."""
    with Session(db_engine) as session:
        _parents(session)
    with db_engine.connect() as connection, pytest.raises(IntegrityError, match="importbatch"):
        connection.execute(text("TRUNCATE importbatch"))
    with db_engine.begin() as connection:
        connection.execute(text("TRUNCATE importbatch, indicatorvalue"))
    with db_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM importbatch")).scalar_one() == 0


@pytest.mark.parametrize("db_engine", POSTGRES_ONLY, indirect=True)
def test_values_are_not_written_at_repeatable_read(db_engine: Engine) -> None:
    """One snapshot for the whole transaction could miss a delete committed meanwhile: refused."""
    with Session(db_engine) as session:
        ids = _parents(session)
    with (
        Session(db_engine.execution_options(isolation_level="REPEATABLE READ")) as session,
        pytest.raises(psycopg.errors.FeatureNotSupported, match="READ COMMITTED"),
    ):
        insert_values(
            session,
            pd.DataFrame(
                {
                    "enterprise_id": [ids["unvalued"]],
                    "code": ["T01"],
                    "value_num": [1.0],
                    "value_text": [None],
                    "source": ["税务"],
                    "flagged": [False],
                }
            ),
            year=2025,
            batch_id=None,
            submission_id=None,
            created_by="test",
        )
