"""展示大屏 aggregates: published runs only, no enterprise input values, small groups left out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from db.models import Enterprise, Score
from db.values import replace_values, stored_values
from demo import YEARS, seed_demo
from services import dashboard
from services.actor import Actor
from services.runs import compute_run
from tests.seeded import latest_published, private_values

OFFICER = Actor(username="officer1", role="officer", user_id=1)
FRAMES = ("stages", "distribution", "movers", "carriers", "trend", "qualifications", "streets")
# Every column the screen may show: aggregates, and for listed enterprises what the public lists show.
ALLOWED_COLUMNS = {
    "stage",
    "阶段",
    "参评企业",
    "参与排名",
    "平均积分",
    "最高积分",
    "扶持金额（万元）",
    "分数段",
    "bin_start",
    "企业数",
    "企业名称",
    "榜单",
    "积分",
    "上年积分",
    "变化",
    "载体",
    "类型",
    "上榜企业",
    "年度",
    "资质",
    "上年企业数",
    "街道",
}


@pytest.fixture
def seeded(session: Session) -> Session:
    seed_demo(session, enterprises=80)
    session.commit()
    dashboard.clear_cache()
    return session


def _frames_equal(a: dashboard.DashboardData, b: dashboard.DashboardData) -> None:
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_dtype=False)
    for name in ("run_id", "year", "state", "evaluated", "ranked", "on_lists", "subsidy_total"):
        assert getattr(a, name) == getattr(b, name), name


def test_figures_are_the_published_runs(seeded: Session) -> None:
    session = seeded
    run = latest_published(session)
    data = dashboard.dashboard_data(session)
    assert data is not None and data.run_id == run.id and data.year == YEARS[-1]
    rows = session.execute(
        select(Score.stage, Score.tier, Score.veto, Score.total).where(Score.run_id == run.id)
    ).all()
    assert data.evaluated == len(rows)
    assert data.on_lists == sum(1 for r in rows if r.tier and not r.veto)
    per_stage = pd.Series([r.stage for r in rows]).value_counts()
    assert dict(zip(data.stages["stage"], data.stages["参评企业"], strict=True)) == {
        s: int(per_stage.get(s, 0)) for s in data.stages["stage"]
    }
    assert data.distribution["企业数"].sum() == len(rows)
    assert data.trend["年度"].tolist() == list(YEARS)
    # Movers are on this year's lists and gained on last year.
    listed = {
        n
        for (n,) in session.execute(
            select(Enterprise.name)
            .join(Score, Score.enterprise_id == Enterprise.id)
            .where(Score.run_id == run.id, Score.tier.is_not(None), Score.tier != "", Score.veto.is_(False))
        )
    }
    assert set(data.movers["企业名称"]) <= listed
    assert (data.movers["变化"] > 0).all()
    # The cache answers the second call with the same object.
    assert dashboard.dashboard_data(session) is data


def test_a_draft_run_changes_nothing_on_the_screen(seeded: Session) -> None:
    session = seeded
    before = dashboard.dashboard_data(session)
    # New data for the published year, and a draft run computed from it: every stage count moves.
    g01 = stored_values(session, year=YEARS[-1], code="G01", current=True)
    replace_values(
        session,
        year=YEARS[-1],
        rows=g01[["enterprise_id", "code", "value_text", "source", "flagged"]].assign(value_num=50_000.0),
        created_by="officer1",
    )
    session.commit()
    draft = compute_run(session, actor=OFFICER, year=YEARS[-1])
    assert draft.state == "draft"
    draft_stages = pd.Series(
        session.execute(select(Score.stage).where(Score.run_id == draft.id)).scalars().all()
    )
    published_mature = int(before.stages.set_index("stage").loc["mature", "参评企业"])
    assert (draft_stages == "mature").sum() > published_mature
    dashboard.clear_cache()
    after = dashboard.dashboard_data(session)
    assert after.run_id != draft.id
    _frames_equal(before, after)


def test_no_input_value_of_any_enterprise(seeded: Session) -> None:
    session = seeded
    data = dashboard.dashboard_data(session)
    for name in FRAMES:
        frame = getattr(data, name)
        allowed = ALLOWED_COLUMNS | set(data.tier_names)  # list sizes per stage, named by the run's model
        assert set(frame.columns) <= allowed, (name, set(frame.columns) - allowed)
    # No revenue or R&D value of a named enterprise appears anywhere among the screen's numbers.
    named = set(data.movers["企业名称"])
    private = private_values(session, named)
    shown = np.concatenate(
        [
            pd.to_numeric(getattr(data, n)[c], errors="coerce").dropna().to_numpy(dtype=float)
            for n in FRAMES
            for c in getattr(data, n).columns
        ]
    )
    assert named and private
    assert not np.isin(np.round(private, 2), np.round(shown, 2)).any()


def test_small_groups_are_not_shown(seeded: Session) -> None:
    session = seeded
    data = dashboard.dashboard_data(session)
    assert (data.carriers["企业数"] >= dashboard.MIN_GROUP).all()
    assert (data.streets["企业数"] >= dashboard.MIN_GROUP).all()
    # A street with two enterprises stays off the screen.
    ids = session.execute(select(Enterprise.id).order_by(Enterprise.id).limit(2)).scalars().all()
    session.execute(update(Enterprise).where(Enterprise.id.in_(ids)).values(street="测试小街道"))
    session.commit()
    dashboard.clear_cache()
    assert "测试小街道" not in set(dashboard.dashboard_data(session).streets["街道"])


def test_nothing_published_gives_none(session: Session) -> None:
    dashboard.clear_cache()
    assert dashboard.dashboard_data(session) is None
