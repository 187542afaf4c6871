"""Which kind of deployment this process is: one rule, read by the app and the command line."""

from __future__ import annotations

from collections.abc import Mapping

from core import settings


def is_production(environ: Mapping[str, str] | None = None) -> bool:
    """``APP_ENV`` is ``production`` (or ``prod``), in any case and spacing."""
    return settings.load(environ).production
