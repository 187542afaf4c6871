"""Officer pages at 23:40 UTC (07:40 the next day in Beijing): what was written "now" shows by default,
and 工作台's count is the length of the queue 填报审核 opens on."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import func, select

from core import clock
from db.models import Submission, utcnow
from db.session import session_scope
from services import audit
from tests.app.conftest import actor_of, page_as

EVENING = datetime(2026, 12, 1, 23, 40, tzinfo=UTC)


def _submit_one_now() -> str:
    """Move one waiting report to "just now" and return its enterprise's name."""
    from db.models import Enterprise

    with session_scope() as session:
        sub = session.execute(select(Submission).where(Submission.state == "submitted")
                              .order_by(Submission.id.desc())).scalars().first()
        sub.submitted_at = utcnow()
        session.add(sub)
        return session.get(Enterprise, sub.enterprise_id).name


def test_review_queue_and_workbench_agree_in_the_evening(fresh_db: str) -> None:
    officer = actor_of("officer1")
    with clock.frozen(EVENING):
        name = _submit_one_now()
        with session_scope() as session:
            waiting = session.execute(select(func.count()).select_from(Submission)
                                      .where(Submission.state == "submitted")).scalar_one()
        queue = page_as("pages/officer/review.py", officer).run()
        assert not queue.exception, queue.exception
        assert any(f"共 {waiting} 条" in c.value for c in queue.caption)
        shown = queue.dataframe[0].value
        assert name in set(shown["企业名称"])
        workbench = page_as("pages/officer/workbench.py", officer).run()
        assert not workbench.exception, workbench.exception
        text = " ".join(m.value for m in workbench.markdown)
        assert re.search(rf"有 \*\*{waiting}\*\* 份企业填报等待审核（今天新提交 1 份）", text), text


def test_audit_log_default_view_shows_the_event_just_written(fresh_db: str) -> None:
    officer = actor_of("officer1")
    with clock.frozen(EVENING):
        with session_scope() as session:
            audit.record(session, actor=officer, action="evening.check", entity="Test", entity_id=1)
        at = page_as("pages/admin/audit.py", officer).run()
        assert not at.exception, at.exception
        assert "evening.check" in set(at.dataframe[0].value["操作"])


def test_an_end_date_before_the_start_says_so(fresh_db: str) -> None:
    at = page_as("pages/admin/audit.py", actor_of("officer1")).run()
    at.date_input(key="audit_dates").set_value((datetime(2026, 5, 2).date(), datetime(2026, 5, 1).date())).run()
    assert not at.exception, at.exception
    assert any("早于开始日期" in w.value for w in at.warning)
    assert not at.dataframe  # nothing filtered to an unexplained empty table
