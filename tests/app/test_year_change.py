"""The dates that change the year, on a UTC server: at 2026-12-31 16:30 UTC it is already 2027-01-01 in
Beijing, and on a leap day the Beijing day turns into 1 March at 16:00 UTC. The evaluation year, the
reporting year and the 公示 window every form opens on follow the Beijing day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from core import clock
from db.models import ScoreRun
from db.session import session_scope
from db.values import stored_values
from services import runs
from tests.app.conftest import actor_of, page_as

# (UTC instant, Beijing day, evaluation year)
INSTANTS = [
    ("2026-12-31 15:30", date(2026, 12, 31), 2025),  # 23:30 Beijing on new year's eve
    ("2026-12-31 16:30", date(2027, 1, 1), 2026),  # UTC still in 2026; Beijing in 2027
    ("2028-02-29 03:00", date(2028, 2, 29), 2027),  # a leap day
    ("2028-02-29 23:40", date(2028, 3, 1), 2027),  # UTC on the leap day; Beijing on 1 March
]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("at", "beijing_day", "evaluation_year"), INSTANTS)
def test_clock_days_and_years(at: str, beijing_day: date, evaluation_year: int) -> None:
    with clock.frozen(utc(at)):
        assert clock.today() == beijing_day
        assert clock.this_year() == beijing_day.year
        assert clock.evaluation_year() == evaluation_year
        start, end = runs.default_notice_window()
        assert start == beijing_day and (end - start).days == runs.NOTICE_DAYS - 1


def test_the_notice_window_crosses_the_leap_day_and_the_new_year() -> None:
    assert runs.default_notice_window(date(2028, 2, 25)) == (date(2028, 2, 25), date(2028, 3, 2))
    assert runs.default_notice_window(date(2027, 2, 25)) == (date(2027, 2, 25), date(2027, 3, 3))
    assert runs.default_notice_window(date(2026, 12, 28)) == (date(2026, 12, 28), date(2027, 1, 3))


def _draft_run_id() -> int:
    """A draft run of the seeded data's newest year (computed if the seed left none)."""
    with session_scope() as session:
        draft = session.execute(select(ScoreRun.id).where(ScoreRun.state == "draft")).scalars().first()
        if draft is not None:
            return int(draft)
        year = int(stored_values(session)["year"].max())
        return int(runs.compute_run(session, actor=actor_of("officer1"), year=year).id)


@pytest.mark.parametrize(("at", "beijing_day", "evaluation_year"), INSTANTS)
def test_officer_forms_open_on_the_beijing_year_and_day(
    fresh_db: str, at: str, beijing_day: date, evaluation_year: int
) -> None:
    officer = actor_of("officer1")
    with clock.frozen(utc(at)):
        draft = _draft_run_id()
        page = page_as("pages/officer/runs.py", officer).run()
        assert not page.exception, page.exception
        assert page.number_input(key="compute_year").value == evaluation_year
        page.selectbox(key="run_select").set_value(draft).run()
        assert not page.exception, page.exception
        dates = {d.label: d.value for d in page.date_input}
        assert dates["公示开始"] == beijing_day
        assert dates["公示结束"] == runs.default_notice_window(beijing_day)[1]
        imports = page_as("pages/officer/imports.py", officer).run()
        assert not imports.exception, imports.exception
        assert imports.number_input(key="import_year").value == evaluation_year
