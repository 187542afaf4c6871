#!/usr/bin/env python
"""Command line over services/ and core/: ``python manage.py <command> --help``.

The commands live in the :mod:`cli` package; this file only makes the project importable when run
from anywhere (make, cron) and hands over to :func:`cli.main`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli import main  # noqa: E402 - after the path is set

if __name__ == "__main__":
    sys.exit(main())
