"""Shared fixtures: a real database per test, on SQLite and (with TEST_DATABASE_URL) PostgreSQL.

``db_engine`` is parametrised over the backends, so every test that uses it runs on both. SQLite gets a
fresh file per test (copied from a migrated template); PostgreSQL gets one migrated database per test
session, emptied after each test.
"""

from __future__ import annotations

import os
import secrets
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

from db.schema import init_db
from db.session import make_engine

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
# No 动态积分 background thread in the test process (AppTest runs Home.py here, on databases that come
# and go); tests call services.dynamic.refresh_due themselves. The e2e server turns it back on.
os.environ.setdefault("DYNAMIC_WORKER", "0")

# Tests sign cookies with a key of their own (never a committed one, never the developer's data/cookie_key).
os.environ.setdefault("COOKIE_KEY", secrets.token_hex(32))  # hex: never holds "demo"

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set"),
        ],
    ),
]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    engine.dispose()
    return path


@contextmanager
def throwaway_postgres(prefix: str) -> Iterator[str]:
    """The URL of a new, empty database on the TEST_DATABASE_URL server, dropped on leaving."""
    assert TEST_DATABASE_URL
    admin = make_engine(TEST_DATABASE_URL).execution_options(isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_engine(TEST_DATABASE_URL).url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """A throw-away database on the TEST_DATABASE_URL server, migrated once."""
    with throwaway_postgres("ip_test") as url:
        engine = make_engine(url)
        init_db(engine)
        yield engine
        engine.dispose()


def _empty_postgres(engine: Engine) -> None:
    """Empty every table and reset the audit chain's anchor.

    The audit tables refuse TRUNCATE through triggers (migration 0008), for the application's role as
    for any other. The test server's superuser empties them anyway the way an operator restoring a
    database would: with ``session_replication_role = replica``, which switches ordinary triggers off
    for this one transaction and which only a superuser may set (the application's role cannot).
    """
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(
            text("INSERT INTO auditchainhead (id, count, hash) VALUES (1, 0, :g)"), {"g": "0" * 64}
        )


@pytest.fixture(params=BACKENDS)
def db_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database (one parameter per backend)."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("postgres_engine")
        _empty_postgres(engine)
        yield engine
        _empty_postgres(engine)


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    with Session(db_engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def seeded(session: Session) -> Session:
    """The test database holding the demo (60 enterprises, their runs and the demo accounts)."""
    from demo import seed_demo

    seed_demo(session, enterprises=60)
    return session
