"""The public pages render for anonymous visitors and show only published results."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core.model_loading import load_model
from db.models import Enterprise, ScoreRun
from db.session import make_engine
from tests.app.conftest import N_ENTERPRISES, ROOT
from tests.seeded import database_session, private_values
from ui.bigscreen import short_name


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


def test_home_shows_headline_figures_of_the_latest_published_run(app_db: str) -> None:
    at = run_page("pages/public/home.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["参评企业"] == f"{N_ENTERPRISES:,}"
    assert "2025 年度积分结果**公示中**" in text_of(at)  # the seed leaves 2025 in its notice window
    assert int(metrics["上榜企业"]) > 0


def test_model_page_lists_every_indicator_with_points_per_stage(app_db: str) -> None:
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
    # The page names the zone's published model; the model file's internal note is not shown.
    assert f"「{model.name}」（版本 {model.version}）" in text_of(at)
    assert "可由主管部门调整" not in text_of(at)
    assert "None" not in "\n".join(frame.value.to_string() for frame in at.dataframe)


def test_home_and_run_summary_share_one_stage_average(app_db: str) -> None:
    from db.session import session_scope
    from services.public import public_overview
    from services.runs import run_summary
    from tests.app.conftest import actor_of

    with session_scope() as session:
        overview = public_overview(session)
        summary = run_summary(session, actor=actor_of("officer1"), run_id=overview.run_id)
    home = overview.by_stage.set_index("stage")["平均积分"]
    officers = summary.drop(index="all")["mean_total"]
    pd.testing.assert_series_equal(home, officers, check_names=False)


def test_lists_page_marks_a_run_in_notice(app_db: str) -> None:
    at = run_page("pages/public/lists.py")
    assert "公示中" in text_of(at)
    names = set()
    for frame in at.dataframe:
        if "企业名称" in frame.value.columns:
            names |= set(frame.value["企业名称"])
    assert names, "the lists page shows enterprises on the lists"


def test_public_pages_never_show_a_draft_run(fresh_db: str) -> None:
    engine = make_engine(fresh_db)
    with Session(engine) as session:
        published = session.exec(select(ScoreRun).where(ScoreRun.state == "notice")).one()
        published.state = "draft"  # as if the 2025 run had not been published yet
        session.add(published)
        session.commit()
    engine.dispose()
    at = run_page("pages/public/home.py")
    assert "2024 年度积分结果已定稿" in text_of(at)


def test_big_screen_shows_the_published_run_without_private_values(app_db: str) -> None:
    at = run_page("pages/public/dashboard.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["参评企业"] == f"{N_ENTERPRISES:,}"
    assert any("2025 年度" in str(t.value) for t in at.title)
    assert any("公示中" in str(c.value) for c in at.caption)
    tables = [t.value for t in at.table]
    movers = [t for t in tables if "企业名称" in t.columns]  # beside it: 资质企业数 per year
    assert movers, "the movers table is shown"
    shown_names = set(movers[0]["企业名称"])  # without their legal form (ui.bigscreen.short_name)
    shown = "\n".join(frame.to_csv() for frame in tables) + "\n".join(str(m.value) for m in at.metric)
    with database_session(app_db) as session:
        names = [
            n for n in session.execute(select(Enterprise.name)).scalars() if short_name(n) in shown_names
        ]
        assert len(names) >= len(shown_names)
        private = private_values(session, names)
    assert private
    tokens = set(re.findall(r"\d[\d,]*(?:\.\d+)?", shown))
    # Exact renderings of a named enterprise's revenue or R&D (whole numbers only where they are large
    # enough not to be a count).
    leaked = [v for v in private if f"{v:.2f}" in tokens or (v >= 1000 and f"{v:,.0f}" in tokens)]
    assert not leaked


def test_big_screen_carousel_shows_one_view(app_db: str) -> None:
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60)
    at.query_params["mode"] = "carousel"
    at.run()
    at.switch_page("pages/public/dashboard.py").run()
    assert not at.exception
    assert any(" · " in str(t.value) and str(t.value).count("·") == 2 for t in at.title)
    assert at.toggle[0].value is True


def test_the_supervisors_run_after_a_start_reads_the_officer_pages_data(app_db: str) -> None:
    """deploy.cluster.warm_up's anonymous run (``?warm_up=start``) ends once 榜单与扶持, 培育库, 展示大屏
    and 企业检索's data are read; a visitor's anonymous run starts no such reads."""
    from db.session import session_scope
    from deploy.cluster import WARM_UP_PARAM
    from services import dashboard, memo, public, scenarios

    def clear() -> None:
        memo.join_warm_ups()  # one an earlier test started (an officer's login) would fill the caches later
        for cache in (scenarios._LISTS, scenarios._POOLS, public._BOARDS):
            cache.clear()
        dashboard.clear_cache()
        memo.forget_warm_ups("scenarios")
        memo.forget_warm_ups("search")

    clear()
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    memo.join_warm_ups()
    assert not scenarios._LISTS.values() and not scenarios._POOLS.values() and not public._BOARDS.values()

    clear()
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=120)
    at.query_params[WARM_UP_PARAM] = "start"
    at.run()
    assert not at.exception, at.exception
    assert len(scenarios._LISTS.values()) == 1 and len(scenarios._POOLS.values()) == 1
    assert dashboard._CACHE.values()
    (board,) = public._BOARDS.values()  # 积分榜单's newest year, as the page then reads it
    with session_scope() as session:
        newest = public.published_years(session)[0]
        assert public.published_board(session, year=newest) is board
    assert board.run is not None and board.run["year"] == newest and board.lists is not None
    assert len(board.lists)
