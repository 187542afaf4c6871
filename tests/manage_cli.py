"""``manage.py`` as a subprocess, the way an operator runs it: for the command-line tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANAGE = ROOT / "manage.py"


def sqlite_env(db: Path | None, **extra: str) -> dict[str, str]:
    """This process's environment with UTF-8 output and ``DATABASE_URL`` on the SQLite file ``db`` (None:
    a path that cannot exist), plus ``extra``."""
    url = f"sqlite:///{db}" if db else "sqlite:////nonexistent-dir/never.db"
    return {**os.environ, "DATABASE_URL": url, "PYTHONIOENCODING": "utf-8", **extra}


def manage(
    *args: str, env: Mapping[str, str], stdin: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run ``manage.py args`` in the repository with ``env``; text output captured, never raising on exit."""
    command = [sys.executable, str(MANAGE), *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=dict(env), input=stdin, timeout=timeout, cwd=ROOT
    )


def manage_with(env: Mapping[str, str]) -> Callable[..., subprocess.CompletedProcess]:
    """:func:`manage` bound to ``env``; keyword arguments add environment variables for one call."""
    return lambda *args, **more: manage(*args, env={**env, **more})
