"""动态积分: an approval makes the year due, one worker recomputes it, the portrait shows it beside the
published 年度积分 — and nothing that reads runs (lists, the screen, "latest run") ever sees it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from core import clock, explain
from db.models import DynamicScore, DynamicState, Score, ScoreRun, Submission, User, utcnow
from db.queries import latest_run
from demo import YEARS, seed_demo
from services import dashboard, dynamic, review
from services.actor import Actor
from services.portrait import get_portrait

OFFICER = Actor(username="officer1", role="officer", user_id=1)
YEAR = YEARS[-1]


@pytest.fixture
def seeded(session: Session) -> Session:
    seed_demo(session, enterprises=60)
    session.commit()
    return session


def _ent2(session: Session) -> tuple[Actor, Submission]:
    """ent2's user and its waiting report of the published year (the seed leaves it submitted)."""
    user = session.execute(select(User).where(User.username == "ent2")).scalars().one()
    actor = Actor(
        username=user.username, role="enterprise", user_id=user.id, enterprise_id=user.enterprise_id
    )
    sub = (
        session.execute(
            select(Submission).where(Submission.enterprise_id == user.enterprise_id, Submission.year == YEAR)
        )
        .scalars()
        .one()
    )
    assert sub.state == "submitted"
    return actor, sub


def _report_more_rd_staff(session: Session, actor: Actor, sub: Submission) -> tuple[str, float]:
    """Change the waiting report so that it must move the score: many more R&D staff than before."""
    portrait = get_portrait(session, actor=actor, enterprise_id=actor.enterprise_id)
    state = next(s for s in portrait.states if s.code == "T04")
    assert state.f < 1, "the enterprise is not already at the top on T04"
    value = float(explain.as_number(state.value) or 0) * 2 + 50
    session.execute(
        update(Submission).where(Submission.id == sub.id).values(items={**(sub.items or {}), "T04": value})
    )
    session.commit()
    return "T04", value


def test_approval_moves_the_dynamic_score_not_the_annual_one(seeded: Session) -> None:
    session = seeded
    actor, sub = _ent2(session)
    code, value = _report_more_rd_staff(session, actor, sub)
    published = latest_run(session)
    annual_before = get_portrait(session, actor=actor, enterprise_id=actor.enterprise_id)
    runs_before = session.execute(select(func.count()).select_from(ScoreRun)).scalar_one()

    review.approve(session, actor=OFFICER, submission_id=sub.id, expected_version=sub.version)
    session.commit()
    assert dynamic.due_years(session, min_interval=0) == [YEAR]
    assert dynamic.refresh_due(session.get_bind(), owner="test", min_interval=0) == [YEAR]
    assert dynamic.due_years(session, min_interval=0) == []

    annual = get_portrait(session, actor=actor, enterprise_id=actor.enterprise_id)
    view = dynamic.dynamic_view(session, actor=actor, portrait=annual)
    assert view is not None and view.year == YEAR and view.pending_since is None
    # 年度积分 is the published run's, unchanged; 动态积分 counts the approved value.
    assert annual.run_id == published.id and annual.total == annual_before.total
    stored = session.execute(
        select(Score.total).where(Score.run_id == published.id, Score.enterprise_id == actor.enterprise_id)
    ).scalar_one()
    assert annual.total == pytest.approx(stored)
    assert view.total > annual.total
    name = annual.model.indicator(code).name
    row = view.changes[view.changes["指标"] == name]
    assert len(row) == 1 and row["现在"].iloc[0] == explain.fmt_value(
        value, annual.model.indicator(code).unit
    )
    assert row["分值变化"].iloc[0] > 0
    # Nothing that reads runs sees it: no new run, the same latest run, the same big screen.
    assert session.execute(select(func.count()).select_from(ScoreRun)).scalar_one() == runs_before
    assert latest_run(session).id == published.id
    dashboard.clear_cache()
    assert dashboard.dashboard_data(session).run_id == published.id


def test_a_burst_of_changes_is_one_recompute_and_one_replica_wins(seeded: Session) -> None:
    session = seeded
    for _ in range(5):
        dynamic.mark_changed(session, year=YEAR)
    session.commit()
    state = session.get(DynamicState, YEAR)
    assert state.change_seq == 5 and state.dirty_since is not None
    seq = dynamic.claim_year(session, year=YEAR, owner="replica-a", min_interval=0)
    assert seq == 5
    assert dynamic.claim_year(session, year=YEAR, owner="replica-b", min_interval=0) is None  # leased
    # A change while replica A computes: it stays due afterwards, and nothing is lost.
    dynamic.mark_changed(session, year=YEAR)
    session.commit()
    dynamic.recompute_year(session, actor=Actor.system(), year=YEAR, through_seq=seq, owner="replica-a")
    state = session.get(DynamicState, YEAR)
    assert (state.computed_seq, state.change_seq, state.lease_owner) == (5, 6, None)
    assert state.dirty_since is not None
    # The interval holds the next recompute back; once it has passed the year is due again.
    assert dynamic.due_years(session, min_interval=3600) == []
    with clock.frozen(utcnow() + timedelta(minutes=61)):
        assert dynamic.due_years(session, min_interval=3600) == [YEAR]
    # A slow recompute (a large province) rests the year for a multiple of its duration.
    session.execute(update(DynamicState).where(DynamicState.year == YEAR).values(seconds=900.0))
    session.commit()
    with clock.frozen(utcnow() + timedelta(minutes=30)):
        assert dynamic.due_years(session, min_interval=0) == []  # 4 × 900 s = one hour of rest
        assert dynamic.claim_year(session, year=YEAR, owner="replica-b", min_interval=0) is None
    rows = session.execute(
        select(func.count()).select_from(DynamicScore).where(DynamicScore.year == YEAR)
    ).scalar_one()
    assert (
        rows
        == session.execute(
            select(func.count()).select_from(Score).where(Score.run_id == latest_run(session).id)
        ).scalar_one()
    )


def test_a_year_without_department_data_is_not_scored(seeded: Session) -> None:
    session = seeded
    dynamic.mark_changed(session, year=YEAR + 1)
    session.commit()
    assert dynamic.refresh_due(session.get_bind(), owner="test", min_interval=0) == [YEAR + 1]
    state = session.get(DynamicState, YEAR + 1)
    assert "尚无部门导入数据" in state.note
    assert (
        session.execute(
            select(func.count()).select_from(DynamicScore).where(DynamicScore.year == YEAR + 1)
        ).scalar_one()
        == 0
    )


def test_another_enterprise_cannot_read_it(seeded: Session) -> None:
    from services.errors import PermissionDenied

    session = seeded
    actor, _ = _ent2(session)
    portrait = get_portrait(session, actor=actor, enterprise_id=actor.enterprise_id)
    other = Actor(username="x", role="enterprise", enterprise_id=actor.enterprise_id + 1)
    with pytest.raises(PermissionDenied):
        dynamic.dynamic_view(session, actor=other, portrait=portrait)


def test_committed_and_undone_imports_mark_the_year_a_refused_one_does_not(session: Session) -> None:
    from sqlalchemy import insert

    from db.models import Enterprise
    from services import imports
    from services.errors import ValidationFailed
    from tests.integration.test_imports import CODES, HEAD, rows, to_xlsx
    from tests.integration.test_imports import YEAR as IMPORT_YEAR

    session.execute(
        insert(Enterprise), [{"credit_code": c, "name": f"测试企业{i}"} for i, c in enumerate(CODES)]
    )
    session.commit()
    bad = rows()
    bad[1][3] = "一百万"
    with pytest.raises(ValidationFailed):
        imports.commit_import(
            session,
            actor=OFFICER,
            department="税务",
            year=IMPORT_YEAR,
            file_name="税务.xlsx",
            data=to_xlsx(HEAD, bad),
        )
    session.rollback()
    assert session.get(DynamicState, IMPORT_YEAR) is None
    report = imports.commit_import(
        session,
        actor=OFFICER,
        department="税务",
        year=IMPORT_YEAR,
        file_name="税务.xlsx",
        data=to_xlsx(HEAD, rows()),
    )
    session.commit()
    assert session.get(DynamicState, IMPORT_YEAR).change_seq == 1
    imports.undo_batch(session, actor=OFFICER, batch_id=report.batch_id, reason="测试撤销")
    session.commit()
    session.expire_all()
    assert session.get(DynamicState, IMPORT_YEAR).change_seq == 2
