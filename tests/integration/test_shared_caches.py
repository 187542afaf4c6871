"""Caches of one server process notice writes made through another process at once.

The other server is a real second process (``python -c``) on the same database: what it changes is
known to this process only through the database (services.memo: the audit chain's length and the
``changecounter`` rows), never through a counter in this process's memory."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from db.models import NAMES_TOPIC, Enterprise, ScoreRun, search_keys_generation
from demo import seed_demo
from services import memo
from services.actor import Actor
from services.memo import KeptPerDataVersion, change_generation, data_version, published_version
from services.search import SearchFilters, search_enterprises

ROOT = Path(__file__).resolve().parents[2]
OFFICER = Actor(username="officer1", role="officer", user_id=1)


def other_server(engine: Engine, code: str) -> None:
    """Run ``code`` in another process on the same database (``session`` is open; it commits)."""
    script = (
        "from sqlmodel import Session\nfrom db.session import get_engine\n"
        "with Session(get_engine()) as session:\n"
        + textwrap.indent(textwrap.dedent(code), "    ")
        + "\n    session.commit()\n"
    )
    env = {**os.environ, "DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=120)


def industries_kept() -> tuple[KeptPerDataVersion[set[str]], list[int]]:
    """The enterprises' industries kept per data version, and a list that grows with each build."""
    builds: list[int] = []

    def industries(own: Session) -> set[str]:
        builds.append(1)
        return set(own.execute(select(Enterprise.industry)).scalars())

    return KeptPerDataVersion(industries), builds


def test_a_rename_in_another_process_reaches_this_process_search_index(session: Session) -> None:
    seed_demo(session, enterprises=40, with_runs=True)
    engine = session.get_bind()
    target = session.execute(select(Enterprise).order_by(Enterprise.id)).scalars().first()
    before = search_enterprises(
        session, actor=OFFICER, filters=SearchFilters(query="changjiangce")
    )  # index built
    assert target.id not in set(before.frame["enterprise_id"])
    generation, local = change_generation(session, NAMES_TOPIC), search_keys_generation()
    session.commit()

    other_server(
        engine,
        f"""
        from db.models import Enterprise
        session.get(Enterprise, {target.id}).name = "温州长江测试科技有限公司"
    """,
    )
    assert search_keys_generation() == local  # this process itself saw nothing
    assert change_generation(session, NAMES_TOPIC) == generation + 1
    after = search_enterprises(session, actor=OFFICER, filters=SearchFilters(query="changjiangce"))
    assert target.id in set(after.frame["enterprise_id"])


def test_the_database_version_moves_with_a_write_in_another_process(session: Session) -> None:
    seed_demo(session, enterprises=20, with_runs=False)
    engine = session.get_bind()
    version = data_version(session)
    session.commit()
    other_server(
        engine,
        """
        from services.actor import Actor
        from services.accounts import end_user_sessions
        end_user_sessions(session, actor=Actor.system(), username="ent1")
    """,
    )
    assert data_version(session) > version
    session.commit()
    assert data_version(session) == data_version(session)  # reading it changes nothing


def test_logins_leave_the_data_version_and_what_is_kept_on_it_alone(session: Session) -> None:
    """A login is audited but changes nothing a page shows: on a deadline day hundreds of them would
    otherwise build 企业检索's choices and attributes again for every officer, each time (nor does a
    failed one); the next audited write does move it."""
    seed_demo(session, enterprises=20, with_runs=False)
    engine = session.get_bind()
    kept, builds = industries_kept()
    first, version = kept(session), data_version(session)
    session.commit()
    other_server(
        engine,
        """
        from services.auth import authenticate
        assert authenticate(session, username="ent1", password="Demo@2025").ok
        assert authenticate(session, username="officer1", password="Demo@2025").ok
        assert not authenticate(session, username="officer1", password="wrong").ok
    """,
    )
    assert data_version(session) == version
    assert kept(session) is first and len(builds) == 1
    session.commit()
    other_server(
        engine,
        """
        from services.actor import Actor
        from services.accounts import end_user_sessions
        end_user_sessions(session, actor=Actor.system(), username="ent1")
    """,
    )
    assert data_version(session) > version
    assert kept(session) is not first and len(builds) == 2


def test_a_value_kept_per_data_version_is_built_again_after_an_audited_write_in_another_process(
    session: Session,
) -> None:
    seed_demo(session, enterprises=20, with_runs=False)
    engine = session.get_bind()
    kept, builds = industries_kept()
    first = kept(session)
    assert kept(session) is first and len(builds) == 1  # kept while nothing was written
    enterprise_id = session.execute(select(Enterprise.id).order_by(Enterprise.id)).scalars().first()
    session.commit()
    other_server(  # an attribute changed together with an audited action, as every write of the app is
        engine,
        f"""
        from db.models import Enterprise
        from services.accounts import end_user_sessions
        from services.actor import Actor
        session.get(Enterprise, {enterprise_id}).industry = "量子测试业"
        end_user_sessions(session, actor=Actor.system(), username="ent1")
    """,
    )
    assert "量子测试业" in kept(session) and "量子测试业" not in first
    assert len(builds) == 2


def test_a_caller_arriving_during_a_build_waits_for_it_instead_of_building_again(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The start's warm-up and a first page both asked for 520,000 enterprises' attributes at once.
    seed_demo(session, enterprises=10, with_runs=False)
    session.commit()
    engine = session.get_bind()
    started, release, waiting = threading.Event(), threading.Event(), threading.Event()
    builds: list[int] = []

    def industries(own: Session) -> set[str]:
        builds.append(1)
        started.set()
        release.wait(60)  # held until the second caller is seen waiting (or, without the lock, building)
        return set(own.execute(select(Enterprise.industry)).scalars())

    kept = KeptPerDataVersion(industries)

    class AnnouncedLock:
        """The per-version build lock, saying so when a caller is about to wait on it."""

        def __init__(self) -> None:
            self._lock = threading.Lock()

        def __enter__(self) -> AnnouncedLock:
            if self._lock.locked():
                waiting.set()
            self._lock.acquire()
            return self

        def __exit__(self, *exc: object) -> None:
            self._lock.release()

    monkeypatch.setattr(memo, "threading", SimpleNamespace(Lock=AnnouncedLock))
    results: list[set[str]] = []

    def call() -> None:
        with Session(engine) as own:
            results.append(kept(own))

    first = threading.Thread(target=call)
    second = threading.Thread(target=call)
    first.start()
    try:
        assert started.wait(60)
        second.start()
        assert waiting.wait(60), "the second caller built the value itself instead of waiting for the build"
    finally:
        release.set()
        first.join(60)
        if second.ident is not None:  # started
            second.join(60)
    assert len(builds) == 1 and len(results) == 2 and results[0] is results[1]


def test_the_published_version_moves_with_a_publication_or_rename_but_not_with_a_login(
    session: Session,
) -> None:
    seed_demo(session, enterprises=20, with_runs=True)
    engine = session.get_bind()
    version, audited = published_version(session), data_version(session)
    session.commit()
    other_server(  # an account event (as a login is): audited, but no published list changes
        engine,
        """
        from services.actor import Actor
        from services.accounts import end_user_sessions
        end_user_sessions(session, actor=Actor.system(), username="ent1")
    """,
    )
    assert data_version(session) > audited
    assert published_version(session) == version
    session.commit()
    run_id = session.execute(select(ScoreRun.id).where(ScoreRun.state == "notice")).scalar_one()
    other_server(
        engine, f"from db.models import ScoreRun\nsession.get(ScoreRun, {run_id}).state = 'superseded'"
    )
    superseded = published_version(session)
    assert superseded != version
    session.commit()
    enterprise_id = session.execute(select(Enterprise.id).order_by(Enterprise.id)).scalars().first()
    other_server(
        engine,
        f"from db.models import Enterprise\nsession.get(Enterprise, {enterprise_id}).name = '温州改名测试有限公司'",
    )
    assert published_version(session) != superseded


def test_a_rename_in_another_process_reaches_the_big_screens_movers(session: Session) -> None:
    from services.dashboard import dashboard_data

    seed_demo(session, enterprises=40, with_runs=True)
    engine = session.get_bind()
    movers = dashboard_data(session).movers
    assert not movers.empty
    name = movers["企业名称"].iloc[0]
    enterprise_id = session.execute(select(Enterprise.id).where(Enterprise.name == name)).scalar_one()
    session.commit()
    other_server(
        engine,
        f"from db.models import Enterprise\nsession.get(Enterprise, {enterprise_id}).name = '温州大屏改名有限公司'",
    )
    assert "温州大屏改名有限公司" in set(dashboard_data(session).movers["企业名称"])


def test_an_industry_changed_in_another_process_shows_in_the_unfiltered_search(session: Session) -> None:
    """企业检索 opened with no filter reads the enterprises' attributes kept per data version (read ahead
    by the warm-up): an audited write in another process shows in its first rows at once."""
    from services.memo import forget_warm_ups, join_warm_ups
    from services.search_data import enterprise_attributes, warm_search

    seed_demo(session, enterprises=40, with_runs=True)
    engine = session.get_bind()
    session.commit()
    forget_warm_ups("search")
    assert warm_search(session, actor=OFFICER, delay=0)
    join_warm_ups()
    key = (str(engine.url), data_version(session))
    assert enterprise_attributes._kept.get(key) is not None  # read ahead by the warm-up
    before = search_enterprises(session, actor=OFFICER)
    first = int(before.head(1)["enterprise_id"].iloc[0])
    assert before.head(1)["industry"].iloc[0] != "量子测试业"
    session.commit()
    other_server(
        engine,
        f"""
        from db.models import Enterprise
        from services.accounts import end_user_sessions
        from services.actor import Actor
        session.get(Enterprise, {first}).industry = "量子测试业"
        end_user_sessions(session, actor=Actor.system(), username="ent1")
    """,
    )
    after = search_enterprises(session, actor=OFFICER)
    assert after.count == before.count
    assert after.head(1)["enterprise_id"].iloc[0] == first
    assert after.head(1)["industry"].iloc[0] == "量子测试业"
    assert before.head(1)["industry"].iloc[0] != "量子测试业"  # a result already shown stays as it was
