"""The command line (``python manage.py <command> --help``): an application above services, like demo.

:func:`main` parses and runs one command; :data:`COMMANDS` maps each name to its parser builder and
handler. Commands live by concern — :mod:`cli.database`, :mod:`cli.scoring`, :mod:`cli.imports`,
:mod:`cli.accounts`, :mod:`cli.exports`, :mod:`cli.serve` — and call services (as the system actor,
under the same checks as the pages) or pure core functions; none runs SQL of its own.
"""

from cli.common import COMMANDS, CommandError
from cli.main import build_parser, main

__all__ = ["COMMANDS", "CommandError", "build_parser", "main"]
