"""Officer pages at 23:40 UTC (07:40 the next day in Beijing): what was written "now" shows by default,
and 工作台's count is the length of the queue 填报审核 opens on — every report waiting for a decision,
even one stamped after the server's "now" (a server clock behind the database's).

The frozen evening is the first one after every timestamp the seeded database holds, so the data a test
reads is never in the frozen clock's future by accident, whatever day the suite runs on.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from core import clock
from db.models import Enterprise, Submission, utcnow
from db.session import session_scope
from services import audit
from tests.app.conftest import actor_of, page_as


def evening_after_the_data() -> datetime:
    """23:40 UTC on the first evening after the newest submission timestamp in the database."""
    with session_scope() as session:
        stamps = session.execute(
            select(
                func.max(Submission.submitted_at),
                func.max(Submission.updated_at),
                func.max(Submission.created_at),
            )
        ).one()
    latest = max(t for t in stamps if t is not None)
    latest = latest if latest.tzinfo else latest.replace(tzinfo=UTC)
    evening = datetime.combine(latest.astimezone(UTC).date(), time(23, 40), tzinfo=UTC)
    return evening if evening > latest else evening + timedelta(days=1)


def _stamp_one_waiting(at: datetime) -> str:
    """Stamp the newest waiting report as submitted at ``at`` and return its enterprise's name."""
    with session_scope() as session:
        sub = (
            session.execute(
                select(Submission).where(Submission.state == "submitted").order_by(Submission.id.desc())
            )
            .scalars()
            .first()
        )
        sub.submitted_at = at
        session.add(sub)
        return session.get(Enterprise, sub.enterprise_id).name


def _waiting() -> int:
    with session_scope() as session:
        return session.execute(
            select(func.count()).select_from(Submission).where(Submission.state == "submitted")
        ).scalar_one()


def _workbench_says(officer, waiting: int, today_count: int) -> None:  # noqa: ANN001 - Actor
    workbench = page_as("pages/officer/workbench.py", officer).run()
    assert not workbench.exception, workbench.exception
    text = " ".join(m.value for m in workbench.markdown)
    assert re.search(rf"有 \*\*{waiting}\*\* 份企业填报等待审核（今天新提交 {today_count} 份）", text), text


def _queue_opens_on_every_waiting_report(officer, name: str):  # noqa: ANN001, ANN202 - Actor, AppTest
    """填报审核 as it opens: every waiting report, ``name``'s included."""
    queue = page_as("pages/officer/review.py", officer).run()
    assert not queue.exception, queue.exception
    assert any(f"共 {_waiting()} 条" in c.value for c in queue.caption)
    assert name in set(queue.dataframe[0].value["企业名称"])
    return queue


def test_review_queue_and_workbench_agree_in_the_evening(fresh_db: str) -> None:
    officer = actor_of("officer1")
    with clock.frozen(evening_after_the_data()):
        name = _stamp_one_waiting(utcnow())
        _queue_opens_on_every_waiting_report(officer, name)
        _workbench_says(officer, _waiting(), 1)


def test_a_report_stamped_after_now_is_queued_and_counted(fresh_db: str) -> None:
    officer = actor_of("officer1")
    with clock.frozen(evening_after_the_data()):
        # The database's clock is two days ahead of this server's.
        name = _stamp_one_waiting(clock.now() + timedelta(days=2))
        waiting = _waiting()
        queue = _queue_opens_on_every_waiting_report(officer, name)
        _workbench_says(officer, waiting, 0)
        # A date filter the officer sets narrows the queue and says how many waiting reports it hides.
        queue.toggle(key="review_by_date").set_value(True).run()
        assert not queue.exception, queue.exception
        queue.date_input(key="review_dates").set_value(
            (clock.today() - timedelta(days=400), clock.today())
        ).run()
        assert any(f"共 {waiting - 1} 条" in c.value for c in queue.caption)
        assert any("提交日期筛选隐去了 1 份待审核的填报" in c.value for c in queue.caption)
        assert name not in set(queue.dataframe[0].value["企业名称"])


def test_audit_log_default_view_shows_the_event_just_written(fresh_db: str) -> None:
    officer = actor_of("officer1")
    with clock.frozen(evening_after_the_data()):
        with session_scope() as session:
            audit.record(session, actor=officer, action="run.verify", entity="ScoreRun", entity_id=1)
        at = page_as("pages/admin/audit.py", officer).run()
        assert not at.exception, at.exception
        assert "复核批次" in set(at.dataframe[0].value["操作"])


def test_an_end_date_before_the_start_says_so(fresh_db: str) -> None:
    at = page_as("pages/admin/audit.py", actor_of("officer1")).run()
    at.date_input(key="audit_dates").set_value(
        (datetime(2026, 5, 2).date(), datetime(2026, 5, 1).date())
    ).run()
    assert not at.exception, at.exception
    assert any("早于开始日期" in w.value for w in at.warning)
    assert not at.dataframe  # nothing filtered to an unexplained empty table
