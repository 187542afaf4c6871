"""Home.py checks the environment (core/settings.py) before anything else: a bad value is a Chinese error
naming the variable, and no page is served."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import HOME


def test_a_bad_setting_stops_the_app_with_a_chinese_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    monkeypatch.setenv("DB_POOL_SIZE", "many")
    at = AppTest.from_file(HOME, default_timeout=60)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    errors = " ".join(e.value for e in at.error).replace("\\", "")  # plain() escapes the underscores
    assert "DB_POOL_SIZE" in errors and "整数" in errors and "many" in errors
    assert not at.metric and not at.button  # nothing of a page, not even the login form
    assert not (tmp_path / "never.db").exists()
