"""AppTest helpers: one seeded SQLite demo per test session, reached through DATABASE_URL.

``app_db`` seeds a small demo (``APP_TEST_ENTERPRISES``, default 120) once; ``fresh_db`` copies it for a
test that writes. ``login_as(at, username, role)`` sets the authenticator's own session keys — what a
successful login leaves behind — so Home.py loads the actor from the database as it would after a login.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import User
from db.schema import init_db
from db.session import make_engine, session_scope
from services.actor import Actor

ROOT = Path(__file__).resolve().parents[2]
HOME = str(ROOT / "Home.py")
N_ENTERPRISES = int(os.environ.get("APP_TEST_ENTERPRISES", "120"))


# The AppTest element kinds that show text: titles, Markdown and the four alert boxes.
TEXT_KINDS = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success")


@contextmanager
def _database_url(url: str) -> Iterator[str]:
    """Point DATABASE_URL (and Streamlit's data caches) at ``url`` for the duration, then restore it."""
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    st.cache_data.clear()
    try:
        yield url
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
        st.cache_data.clear()


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from demo import seed_demo

    path = tmp_path_factory.mktemp("appdb") / "app.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    with session_scope(engine) as session:
        seed_demo(session, enterprises=N_ENTERPRISES, local_demo=True)
    engine.dispose()
    return path


@pytest.fixture
def app_db(seeded_template: Path) -> Iterator[str]:
    """The shared seeded database (read-only use)."""
    with _database_url(f"sqlite:///{seeded_template}") as url:
        yield url


@pytest.fixture
def fresh_db(seeded_template: Path, tmp_path: Path) -> Iterator[str]:
    """A private copy of the seeded database for tests that write."""
    path = tmp_path / "app.db"
    shutil.copy(seeded_template, path)
    with _database_url(f"sqlite:///{path}") as url:
        yield url


def _login_keys(at: AppTest, username: str, role: str) -> AppTest:
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["name"] = username
    at.session_state["email"] = None
    at.session_state["roles"] = [role]
    at.session_state["logout"] = None
    return at


def login_as(at: AppTest, username: str, role: str) -> AppTest:
    """Simulate a finished login: a real server-side session and the keys a login sets (cookies need a
    browser). Home.py re-checks the session record on every run, as it does for a real login."""
    from services.auth import start_session
    from ui.auth import SESSION_ID_KEY

    with session_scope() as session:
        user_id = session.execute(select(User.id).where(User.username == username)).scalar_one()
        session_id, _ = start_session(session, user_id=user_id)
    at.session_state[SESSION_ID_KEY] = session_id
    return _login_keys(at, username, role)


def page_as(path: str, actor) -> AppTest:  # noqa: ANN001 - services.actor.Actor
    """A page script run on its own, with the actor Home.py would have stored (tests the guard itself)."""
    at = AppTest.from_file(str(ROOT / path), default_timeout=60)
    if actor is not None:
        _login_keys(at, actor.username, actor.role)  # no Home.py here: the page's own guard is under test
        at.session_state["actor"] = actor
    return at


def home(timeout: float = 60) -> AppTest:
    return AppTest.from_file(HOME, default_timeout=timeout)


def actor_of(username: str) -> Actor:
    """The Actor Home.py builds for a seeded user."""
    with session_scope() as session:
        user = session.execute(select(User).where(User.username == username)).scalars().one()
        return Actor(
            username=user.username, role=user.role, user_id=user.id, enterprise_id=user.enterprise_id
        )


def through_home(username: str, path: str) -> AppTest:
    """Log in as ``username``, run Home.py, then switch to ``path`` as the navigation would."""
    at = login_as(home(), username, actor_of(username).role).run()
    assert not at.exception
    return at.switch_page(path).run()
