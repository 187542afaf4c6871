"""A server's memory after many officer sessions: what a session's runs leave behind is given back at
the end of each run (ui.memory, Home.py), so N open sessions hold no more dead search results than one.

Python's automatic collector is off during the test: at 100,000 enterprises its full collections came
so rarely that each session's garbage stayed (the worst case, made certain here). Each session searches
(the whole run's result on 企业检索) and then stays on 积分榜单, as the benchmark's officers do
(benchmarks/bench_pages.py): the search page's namespace is then dead, in a reference cycle."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from streamlit.runtime.state.common import TESTING_KEY

from services.memo import join_warm_ups
from services.search import SearchResult
from tests.app.conftest import through_home
from ui import memory

SESSIONS = 6


@pytest.fixture
def as_served(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Home.py's runs collect as in a served app (ui.memory skips it under AppTest), without freezing
    the test suite's heap; Python's automatic collector off."""
    monkeypatch.setattr(memory, "served", lambda: True)
    monkeypatch.setattr(memory, "_frozen", True)
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _search_results() -> int:
    """SearchResult objects in the heap, reachable or garbage not yet collected."""
    return sum(1 for obj in gc.get_objects() if isinstance(obj, SearchResult))


def test_officer_sessions_leave_no_search_results_behind(app_db: str, as_served: None) -> None:
    gc.collect()
    before = _search_results()  # what earlier tests in this process left (their caches)
    sessions, held = [], []
    for _ in range(SESSIONS):
        at = through_home("officer1", "pages/officer/search.py")  # the whole run's search result on screen
        assert not at.exception, at.exception
        assert any("企业名称" in d.value.columns for d in at.dataframe)
        at.switch_page("pages/public/lists.py").run()
        assert not at.exception, at.exception
        # AppTest's own map of every widget's format function ever drawn (only with global.appTest: a
        # served session has none) would keep the search page alive by itself
        at.session_state[TESTING_KEY].clear()
        join_warm_ups()
        sessions.append(at)  # every session stays open, as officers' tabs do
        held.append(_search_results())
    # per-session retained objects do not grow: the sixth session's server holds what the first's did
    assert held[-1] <= held[0] <= before + 1, (before, held)
