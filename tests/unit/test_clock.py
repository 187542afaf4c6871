"""The one clock: Beijing days on a UTC server, day ranges, and no other code asking the OS for the time."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from core import clock

ROOT = Path(__file__).resolve().parents[2]
# Calls that read the operating system's clock or date: only core/clock.py may make them.
FORBIDDEN = {
    ("date", "today"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("Timestamp", "now"),
    ("Timestamp", "today"),
    ("time", "time"),
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "beijing_day"),
    [
        ("2026-12-07 15:59", date(2026, 12, 7)),  # 23:59 in Beijing
        ("2026-12-07 16:01", date(2026, 12, 8)),  # 00:01 the next Beijing day
        ("2026-12-07 23:40", date(2026, 12, 8)),
        ("2026-12-08 00:20", date(2026, 12, 8)),
        ("2026-12-31 16:00", date(2027, 1, 1)),  # the Beijing year turns eight hours before UTC's
    ],
)
def test_today_is_the_beijing_day(at: str, beijing_day: date) -> None:
    with clock.frozen(utc(at)):
        assert clock.today() == beijing_day
        assert clock.now() == utc(at)


def test_evaluation_year_follows_the_beijing_new_year() -> None:
    with clock.frozen(utc("2026-12-31 15:59")):
        assert clock.evaluation_year() == 2025
    with clock.frozen(utc("2026-12-31 16:00")):
        assert clock.evaluation_year() == 2026


def test_a_day_range_runs_to_24_00_beijing_on_its_end_day() -> None:
    start, end = date(2026, 12, 1), date(2026, 12, 7)
    assert clock.in_days(utc("2026-11-30 16:00"), start, end)  # 12-01 00:00 Beijing
    assert not clock.in_days(utc("2026-11-30 15:59"), start, end)
    assert clock.in_days(utc("2026-12-07 15:30"), start, end)  # 12-07 23:30 Beijing
    assert not clock.in_days(utc("2026-12-07 16:10"), start, end)  # 12-08 00:10 Beijing
    assert clock.day_end(end) - clock.day_start(end) == clock.day_start(date(2026, 12, 2)) - clock.day_start(
        start
    )


def test_recent_days_end_today_inclusive() -> None:
    with clock.frozen(utc("2026-12-01 23:40")):
        assert clock.recent_days(30) == (date(2026, 11, 2), date(2026, 12, 2))


def test_unusable_and_multi_year_ranges_are_explained() -> None:
    assert "早于开始日期" in clock.range_problem(date(2026, 5, 2), date(2026, 5, 1))
    assert "结束两个日期" in clock.range_problem(date(2026, 5, 2), None)
    assert clock.range_problem(date(2026, 5, 1), date(2026, 5, 1)) is None
    assert clock.range_note(date(2026, 5, 1), date(2026, 6, 1)) is None
    assert "3 个年度" in clock.range_note(date(2024, 5, 1), date(2026, 6, 1))


def test_frozen_refuses_a_naive_time_and_restores() -> None:
    with pytest.raises(ValueError), clock.frozen(datetime(2026, 1, 1)):  # noqa: DTZ001 - a naive time
        pass
    before = clock.now()
    with clock.frozen(utc("2020-01-01 00:00")):
        pass
    assert clock.now() >= before


def _clock_reads(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            if (name, node.func.attr) in FORBIDDEN:
                found.append(f"{path}:{node.lineno} {name}.{node.func.attr}()")
    return found


def test_only_the_clock_module_reads_the_system_clock() -> None:
    files = [ROOT / "Home.py", ROOT / "manage.py"]
    for folder in ("core", "services", "db", "ui", "pages", "demo", "cli"):
        files += sorted((ROOT / folder).rglob("*.py"))
    offenders = [hit for f in files if f != ROOT / "core" / "clock.py" for hit in _clock_reads(f)]
    assert offenders == [], "use core.clock instead:\n" + "\n".join(offenders)


def test_the_scan_catches_each_forbidden_call(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import datetime as dt\nfrom datetime import date, datetime\n"
        "a = date.today()\nb = datetime.now()\nc = dt.datetime.utcnow()\n",
        encoding="utf-8",
    )
    assert len(_clock_reads(sample)) == 3
