"""manage.py's help names no stage, list, department or indicator code of the default model: the commands
serve any zone's model (tests/zone_model.py), so their examples say where the names come from."""

from __future__ import annotations

import pytest

from tests.integration.test_cli import ok, run
from tests.zone_model import leaks


@pytest.mark.parametrize("command", ["export-lists", "bank-whitelist", "ask", "import"])
def test_command_help_names_nothing_of_the_default_model(command: str) -> None:
    shown = ok(run(command, "--help")).stdout
    assert not leaks(shown), leaks(shown)
