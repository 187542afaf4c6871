"""The figures of 展示大屏: movers carry their stage, the trend and the qualification counts
cover every published year, and the average is the one definition the report prints."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core import clock
from core.reports import overall_average
from db.models import Score
from demo import YEARS, seed_demo
from services import dashboard, monitoring, runs
from services.actor import Actor
from tests.seeded import latest_published

OFFICER = Actor(username="officer1", role="officer", user_id=1)


def _publish_earlier_year(session: Session) -> int:
    """A published run for the year before the demo's first one (its growth bases make a thin year)."""
    year = YEARS[0] - 1
    run = runs.compute_run(session, actor=OFFICER, year=year)
    today = clock.today()
    runs.publish_run(
        session, actor=OFFICER, run_id=run.id, notice_start=today, notice_end=today + timedelta(days=6)
    )
    session.commit()
    return year


def test_trend_and_qualifications_cover_every_published_year(session: Session) -> None:
    seed_demo(session, enterprises=80)
    session.commit()
    earlier = _publish_earlier_year(session)
    dashboard.clear_cache()
    data = dashboard.dashboard_data(session)
    years = [earlier, *YEARS]
    assert data.year == YEARS[-1]
    assert data.trend["年度"].tolist() == years
    assert sorted(set(data.qualifications["年度"])) == years
    counts = data.qualifications.pivot(index="资质", columns="年度", values="企业数")
    assert counts.notna().all().all(), counts
    # the movers table names each mover's stage: scores are compared within a stage
    assert "阶段" in data.movers.columns and data.movers["阶段"].notna().all()


def test_the_screen_average_is_the_reports_average(session: Session) -> None:
    seed_demo(session, enterprises=80)
    session.commit()
    dashboard.clear_cache()
    data = dashboard.dashboard_data(session)
    run = latest_published(session)
    scores = pd.DataFrame(
        session.execute(select(Score.total, Score.veto, Score.rank).where(Score.run_id == run.id)).all(),
        columns=["total", "veto", "rank"],
    )
    assert scores["veto"].any(), "the demo has vetoed firms: the two definitions would differ"
    screen = float(data.trend.set_index("年度").loc[run.year, "平均积分"])
    report = monitoring.monitoring_report(session, actor=OFFICER, run_id=run.id)
    overview = report.tables["概况"].set_index("项目")["数值"]
    assert screen == overview["平均积分"] == overall_average(scores)
