"""The public pages render for anonymous visitors and show only published results."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core.scoring_model import load_model
from db.models import ScoreRun
from db.schema import init_db
from db.seed import seed_demo
from db.session import make_engine

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def public_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A small seeded demo (a final 2024 run, a 2025 run in 公示) as DATABASE_URL."""
    url = f"sqlite:///{tmp_path_factory.mktemp('public') / 'public.db'}"
    engine = make_engine(url)
    init_db(engine)
    with Session(engine) as session:
        seed_demo(session, enterprises=150, seed=7)
    engine.dispose()
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    st.cache_data.clear()
    yield url
    st.cache_data.clear()
    if previous is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = previous


def run_page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60)
    at.run()
    if path != "pages/public/home.py":
        at.switch_page(path)
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def text_of(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [t.value for t in at.title] + [c.value for c in at.caption]
    parts += [w.value for w in at.warning] + [s.value for s in at.success] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


def test_home_shows_headline_figures_of_the_latest_published_run(public_db: str) -> None:
    at = run_page("pages/public/home.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["参评企业"] == "150"
    assert "2025 年度积分结果**公示中**" in text_of(at)  # the seed leaves 2025 in its notice window
    assert int(metrics["上榜企业"]) > 0


def test_model_page_lists_every_indicator_with_points_per_stage(public_db: str) -> None:
    at = run_page("pages/public/model.py")
    model = load_model()
    shown = set()
    for frame in at.dataframe:
        if "代码" in frame.value.columns:
            shown |= set(frame.value["代码"]) - {""}
    assert shown == set(model.codes)
    technology = next(f.value for f in at.dataframe if "T01" in set(f.value.get("代码", [])))
    totals = technology[technology["指标"] == "合计"].iloc[0]
    # the technology class carries 70 of the seed stage's 100 core points (scoring-model.md §2)
    assert totals[model.stages[0].name] == pytest.approx(
        sum(i.points[model.stages[0].code] for i in model.by_class("technology"))
    )
    assert model.note in text_of(at)


def test_lists_page_marks_a_run_in_notice(public_db: str) -> None:
    at = run_page("pages/public/lists.py")
    assert "公示中" in text_of(at)
    names = set()
    for frame in at.dataframe:
        if "企业名称" in frame.value.columns:
            names |= set(frame.value["企业名称"])
    assert names, "the lists page shows enterprises on the lists"


def test_public_pages_never_show_a_draft_run(public_db: str) -> None:
    engine = make_engine(public_db)
    with Session(engine) as session:
        published = session.exec(select(ScoreRun).where(ScoreRun.state == "notice")).one()
        published.state = "draft"  # as if the 2025 run had not been published yet
        session.add(published)
        session.commit()
        try:
            st.cache_data.clear()
            at = run_page("pages/public/home.py")
            assert "2024 年度积分结果已定稿" in text_of(at)
        finally:
            published.state = "notice"
            session.add(published)
            session.commit()
            st.cache_data.clear()
    engine.dispose()
