"""How times are shown to people: stored as UTC, read in Beijing time.

China has no daylight saving, so a fixed UTC+8 offset is exact and needs no time-zone database.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from typing import Any

BEIJING = timezone(timedelta(hours=8), "北京时间")


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
