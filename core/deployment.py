"""Which kind of deployment this process is: one rule, read by the app and the command line."""

from __future__ import annotations

import os
from collections.abc import Mapping


def is_production(environ: Mapping[str, str] | None = None) -> bool:
    """``APP_ENV`` is ``production`` (or ``prod``), in any case and spacing."""
    environ = os.environ if environ is None else environ
    return environ.get("APP_ENV", "").strip().lower() in ("production", "prod")
