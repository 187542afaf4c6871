"""The one clock: "now" is an aware UTC datetime, "today" is the Beijing calendar day, and times are
shown to people in Beijing time (:func:`display_time`).

Servers run on UTC while every day people see is a Beijing day (UTC+8): from 16:00 to 24:00 UTC the
server's own calendar date is yesterday in Wenzhou. So nothing in the application asks the operating
system for the date or time except this module (a test scans for it), and tests set the clock with
:func:`frozen`. A whole process tree (a Streamlit server included) is set with Debian's ``faketime``.

Day rules, defined once here: a day range ``[start, end]`` covers ``day_start(start)`` up to but not
including ``day_start(end + 1)``; a notice window closes at 24:00 Beijing time on its end day.
"""

from __future__ import annotations

import math
import time as os_time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

# China has no daylight saving, so a fixed UTC+8 offset is exact and needs no time-zone database.
BEIJING = timezone(timedelta(hours=8), "北京时间")

_frozen: datetime | None = None


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    if _frozen is not None:
        return _frozen
    # The one read of the operating system's clock (nanoseconds since the epoch, as an aware UTC time).
    return datetime.fromtimestamp(os_time.time_ns() / 1_000_000_000, tz=UTC)


def today() -> date:
    """Today's date in Beijing, whatever the server's time zone."""
    return now().astimezone(BEIJING).date()


def this_year() -> int:
    """The Beijing calendar year of today."""
    return today().year


def evaluation_year() -> int:
    """The default evaluation (and reporting) year: the last complete calendar year."""
    return this_year() - 1


def day_start(day: date) -> datetime:
    """00:00 Beijing time of ``day``, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=BEIJING)


def day_end(day: date) -> datetime:
    """24:00 Beijing time of ``day`` (exclusive upper bound: the next day's 00:00)."""
    return day_start(day + timedelta(days=1))


def beijing_day(at: datetime) -> date:
    """The Beijing calendar day of an aware instant (naive values are taken as UTC, as stored)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(BEIJING).date()


def recent_days(days: int) -> tuple[date, date]:
    """The default filter range: the ``days`` days before today up to today inclusive."""
    end = today()
    return end - timedelta(days=days), end


def range_problem(start: date | None, end: date | None) -> str | None:
    """A Chinese message when a chosen day range cannot be used as it stands, else None."""
    if start is None or end is None:
        return "请选择开始和结束两个日期（只选了一天时，再点一次同一天即可）。"
    if end < start:
        return f"结束日期 {end:%Y-%m-%d} 早于开始日期 {start:%Y-%m-%d}，请重新选择。"
    return None


def range_note(start: date, end: date) -> str | None:
    """A Chinese note when a valid range spans several calendar years (results mix years)."""
    if end.year > start.year:
        return f"所选日期跨 {end.year - start.year + 1} 个年度（{start.year}–{end.year}），结果包含各年度的记录。"
    return None


def in_days(at: datetime, start: date, end: date) -> bool:
    """Whether the instant ``at`` falls on a Beijing day from ``start`` to ``end`` inclusive."""
    return day_start(start) <= at < day_end(end)


@contextmanager
def frozen(at: datetime) -> Iterator[datetime]:
    """Set the clock to ``at`` (aware) for the duration of a ``with`` block (tests)."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    previous, _frozen = _frozen, at.astimezone(UTC)
    try:
        yield _frozen
    finally:
        _frozen = previous


def display_time(value: Any, *, seconds: bool = False) -> str:
    """``2026-11-23 13:10`` for an aware datetime (converted to Beijing time), ``2026-11-23`` for a date.

    Missing values (None, NaN, NaT) give ``""``; naive datetimes are taken as already local.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp (NaT has no date)
        if value != value:  # NaT
            return ""
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(BEIJING)
        return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    return str(value)
