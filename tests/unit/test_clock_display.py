from datetime import UTC, date, datetime

import pandas as pd

from core.clock import display_time


def test_utc_times_are_shown_in_beijing_time() -> None:
    assert display_time(datetime(2026, 11, 23, 16, 30, tzinfo=UTC)) == "2026-11-24 00:30"
    assert display_time(pd.Timestamp("2026-11-23 05:32:19", tz="UTC"), seconds=True) == "2026-11-23 13:32:19"


def test_dates_and_missing_values() -> None:
    assert display_time(date(2026, 11, 30)) == "2026-11-30"
    assert display_time(None) == "" and display_time(float("nan")) == "" and display_time(pd.NaT) == ""
