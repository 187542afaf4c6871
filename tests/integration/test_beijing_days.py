"""Day rules on a UTC server: the evening hours (16:00–24:00 UTC) are already tomorrow in Beijing.

At each instant, on the last day of a notice window: a report submitted "now" is in the default review
queue (and 工作台 counts it), the default audit view shows the event just written, and objections are
accepted until 24:00 Beijing time on the end day and refused after it, with the notice's dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlmodel import Session

from core import clock
from core.credit_code import make_code
from db.models import Enterprise, ScoreRun, Submission, User, utcnow
from demo import seed_demo
from services import audit, objections, review
from services.actor import Actor
from services.errors import Conflict
from tests.seeded import file_own_objection

OFFICER = Actor(username="officer1", role="officer", user_id=2)
NOTICE_START, NOTICE_END = date(2026, 12, 1), date(2026, 12, 7)
# UTC instants around the notice's last day (Beijing = UTC+8).
INSTANTS = [
    "2026-12-06 23:40",
    "2026-12-07 00:20",
    "2026-12-07 15:59",
    "2026-12-07 16:01",
    "2026-12-07 23:40",
]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def submit_now(session: Session, name: str, *, year: int, at: datetime | None = None) -> None:
    """One enterprise whose report is submitted at ``at`` (default: the clock's now)."""
    code = make_code(str(901 + session.execute(select(func.count()).select_from(Enterprise)).scalar_one()))
    session.execute(insert(Enterprise), [{"credit_code": code, "name": name}])
    enterprise_id = session.execute(select(Enterprise.id).where(Enterprise.credit_code == code)).scalar_one()
    now = at or utcnow()
    session.execute(
        insert(Submission),
        [
            {
                "enterprise_id": enterprise_id,
                "year": year,
                "state": "submitted",
                "items": {"T04": 3},
                "version": 1,
                "submitted_at": now,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    session.commit()


@pytest.mark.parametrize("at", INSTANTS)
def test_a_report_submitted_now_is_in_the_default_queue(session: Session, at: str) -> None:
    with clock.frozen(utc(at)):
        submit_now(session, "温州晚班科技有限公司", year=2025)
        defaults = review.default_filters(session, actor=OFFICER)
        assert (defaults["submitted_from"], defaults["submitted_to"]) == (None, None)  # no date bound
        assert review.date_filter_default(session, actor=OFFICER)[1] == clock.today()
        queue = review.pending_queue(session, actor=OFFICER)
        assert list(queue["name"]) == ["温州晚班科技有限公司"]
        # The page's own call with the same defaults agrees with 工作台's count.
        assert len(review.list_reviews(session, actor=OFFICER, **defaults)) == len(queue) == 1
        # A date filter set to today (Beijing) keeps it: "now" is today in Beijing, not the server's date.
        today = clock.today()
        assert len(review.list_reviews(session, actor=OFFICER, submitted_from=today, submitted_to=today)) == 1
        assert (
            review.waiting_hidden_by_dates(session, actor=OFFICER, submitted_from=today, submitted_to=today)
            == 0
        )


def test_the_default_queue_never_hides_an_old_waiting_report(session: Session) -> None:
    with clock.frozen(utc("2024-01-10 12:00")):
        submit_now(session, "温州老件科技有限公司", year=2023)
    with clock.frozen(utc("2026-12-07 23:40")):
        assert len(review.pending_queue(session, actor=OFFICER)) == 1
        # A date filter the officer switches on opens on a range that still holds it.
        assert review.date_filter_default(session, actor=OFFICER)[0] == date(2024, 1, 10)


@pytest.mark.parametrize("at", INSTANTS)
def test_a_report_stamped_after_now_waits_in_the_default_queue(session: Session, at: str) -> None:
    """A server whose clock lags the database's (or a replica's) sees reports stamped in its future."""
    with clock.frozen(utc(at)):
        ahead = clock.now() + timedelta(days=2, hours=3)
        submit_now(session, "温州快钟科技有限公司", year=2025, at=ahead)
        submit_now(session, "温州准钟科技有限公司", year=2025)
        queue = review.pending_queue(session, actor=OFFICER)
        assert set(queue["name"]) == {"温州快钟科技有限公司", "温州准钟科技有限公司"}
        start, end = review.date_filter_default(session, actor=OFFICER)
        assert end == clock.beijing_day(ahead) > clock.today()
        assert len(review.list_reviews(session, actor=OFFICER, submitted_from=start, submitted_to=end)) == 2
        # A range that ends today hides the one from the future, and says how many it hides.
        today = clock.today()
        shown = review.list_reviews(session, actor=OFFICER, submitted_from=today, submitted_to=today)
        assert list(shown["name"]) == ["温州准钟科技有限公司"]
        assert (
            review.waiting_hidden_by_dates(session, actor=OFFICER, submitted_from=today, submitted_to=today)
            == 1
        )
        # A state filter that shows no waiting reports hides none "by date".
        assert (
            review.waiting_hidden_by_dates(
                session, actor=OFFICER, states=("approved",), submitted_from=today, submitted_to=today
            )
            == 0
        )


@pytest.mark.parametrize("at", INSTANTS)
def test_the_default_audit_view_shows_the_event_just_written(session: Session, at: str) -> None:
    with clock.frozen(utc(at)):
        audit.record(session, actor=OFFICER, action="run.publish", entity="ScoreRun", entity_id=1)
        session.commit()
        date_from, date_to = clock.recent_days(audit.DEFAULT_DAYS)
        events = audit.query_events(session, actor=OFFICER, date_from=date_from, date_to=date_to)
        assert list(events["action"]) == ["run.publish"]


@pytest.fixture
def notice_run(session: Session) -> tuple[ScoreRun, Actor]:
    seed_demo(session, enterprises=40)
    run = session.execute(select(ScoreRun).where(ScoreRun.state == "notice")).scalar_one()
    run.notice_start, run.notice_end = NOTICE_START, NOTICE_END
    session.add(run)
    session.commit()
    user = session.execute(select(User).where(User.username == "ent1")).scalar_one()
    return run, Actor(username="ent1", role="enterprise", user_id=user.id, enterprise_id=user.enterprise_id)


@pytest.mark.parametrize(
    ("at", "accepted"),
    [
        ("2026-11-30 15:59", False),  # 11-30 23:59 Beijing: the window has not opened
        ("2026-11-30 16:00", True),  # 12-01 00:00 Beijing
        ("2026-12-06 23:40", True),  # the server's date is still 12-06; Beijing is 12-07 07:40
        ("2026-12-07 00:20", True),
        ("2026-12-07 15:30", True),  # 23:30 Beijing on the end day
        ("2026-12-07 15:59", True),
        ("2026-12-07 16:01", False),  # 00:01 the next Beijing day
        ("2026-12-07 16:10", False),  # 00:10 the next Beijing day
        ("2026-12-07 23:40", False),
    ],
)
def test_objections_close_at_24_00_beijing_on_the_end_day(
    session: Session, notice_run, at: str, accepted: bool
) -> None:
    run, ent = notice_run
    with clock.frozen(utc(at)):
        assert objections.window_open(run) is accepted
        if accepted:
            obj = file_own_objection(session, ent, run.id)
            assert obj.state == "open"
        else:
            with pytest.raises(Conflict) as refused:
                file_own_objection(session, ent, run.id)
            assert "公示期 2026-12-01 至 2026-12-07" in str(refused.value)
            assert "2026-12-07 24:00（北京时间）" in str(refused.value)


@pytest.mark.parametrize(
    ("at", "year"), [("2026-12-31 15:30", 2025), ("2026-12-31 16:30", 2026), ("2028-02-29 23:40", 2027)]
)
def test_the_reporting_year_follows_the_beijing_new_year(session: Session, at: str, year: int) -> None:
    from services.self_report import current_year

    with clock.frozen(utc(at)):
        assert current_year(session) == year  # no data yet: the year being evaluated
