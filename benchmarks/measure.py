"""Figures the benchmarks print: percentiles, a process's resident memory and CPU seconds (Linux /proc)."""

from __future__ import annotations

import os
from pathlib import Path

# Debian's Chromium for the browser benchmarks (never `playwright install`), and the app idle in it.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0…1) of ``values`` by nearest rank; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def rss_mib(pid: int | str = "self") -> float | None:
    """Resident memory of a process (this one by default) in MiB; None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int | str = "self") -> float | None:
    """User + system CPU seconds a process has used so far; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def backend_cpu(session) -> tuple[int, float] | None:  # noqa: ANN001 - a SQLAlchemy session
    """(pid, CPU seconds so far) of the session's PostgreSQL backend when the server runs on this machine
    (its /proc entry is readable), else None: the database's share of a benchmark's CPU."""
    if session.connection().dialect.name != "postgresql":
        return None
    pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    seconds = cpu_seconds(pid)
    return None if seconds is None else (pid, seconds)


def database_backends_cpu(session) -> dict[int, float] | None:  # noqa: ANN001 - a SQLAlchemy session
    """{pid: CPU seconds so far} of every PostgreSQL backend connected to the session's database (a run
    reads on pooled connections of its own too) when the server runs on this machine, else None."""
    if session.connection().dialect.name != "postgresql":
        return None
    pids = (
        session.connection()
        .exec_driver_sql("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        .scalars()
    )
    seconds = {pid: cpu_seconds(pid) for pid in pids}
    return None if any(s is None for s in seconds.values()) else seconds  # type: ignore[return-value]
