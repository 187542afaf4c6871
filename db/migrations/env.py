"""Alembic environment.

Two ways in:

* programmatic — :func:`db.schema.init_db` puts an open connection into
  ``config.attributes["connection"]``; we run on it (inside the caller's transaction);
* command line — ``alembic upgrade head`` from the repository root uses ``sqlalchemy.url`` from
  alembic.ini if set, else ``DATABASE_URL`` (the same default as the app, via ``db.session``).

SQLite cannot ALTER most things, so autogenerate renders batch operations there.
"""

from __future__ import annotations

import sys
from logging.config import fileConfig
from pathlib import Path

from alembic import context
from sqlmodel import SQLModel

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import db.models  # noqa: E402,F401 - registers every table on SQLModel.metadata
from db.session import database_url, make_engine  # noqa: E402

config = context.config
if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or database_url()


def _configure(**kwargs) -> None:  # noqa: ANN003 - passthrough to context.configure
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection) -> None:  # noqa: ANN001 - SQLAlchemy Connection
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as connection:
            _run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
