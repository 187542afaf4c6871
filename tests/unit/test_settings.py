"""core/settings.py: one reading of the environment, checked — a typo refuses to start, defaults hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core import settings
from core.settings import DEMO_COOKIE_KEY, ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_when_nothing_is_set() -> None:
    config = settings.load({})
    assert config.database_url is None and not config.production and config.cookie_key is None
    assert (config.db_pool_size, config.db_max_overflow, config.bank_api_rate_limit) == (5, 10, 60)
    assert (config.dynamic_min_interval, config.dynamic_poll_seconds) == (30.0, 5.0)
    assert config.dynamic_worker and not config.cookie_secure and not config.cluster_expose_upstream
    assert (config.assistant_llm_url, config.assistant_llm_model) == ("", "default")


def test_values_are_read_and_typed() -> None:
    config = settings.load(
        {
            "APP_ENV": " Production ",
            "DB_POOL_SIZE": "7",
            "DYNAMIC_MIN_INTERVAL": "2.5",
            "DYNAMIC_WORKER": "0",
            "ASSISTANT_LLM_URL": " http://llm.local/v1 ",
        }
    )
    assert config.production and config.cookie_secure  # production implies a Secure cookie
    assert config.db_pool_size == 7 and config.dynamic_min_interval == 2.5 and not config.dynamic_worker
    assert config.assistant_llm_url == "http://llm.local/v1"
    assert not settings.load({"APP_ENV": "production", "COOKIE_SECURE": "0"}).cookie_secure


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DB_POOL_SIZE", "five"),
        ("DB_POOL_SIZE", "0"),
        ("DB_MAX_OVERFLOW", "-1"),
        ("BANK_API_RATE_LIMIT", "1.5"),
        ("DYNAMIC_MIN_INTERVAL", "nan"),
        ("DYNAMIC_POLL_SECONDS", "0"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        settings.load({name: value})


def test_the_demo_cookie_key_is_refused_at_load() -> None:
    with pytest.raises(ConfigError, match="演示密钥"):
        settings.load({"COOKIE_KEY": DEMO_COOKIE_KEY})


def test_manage_py_refuses_to_run_a_command_with_a_bad_setting(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "DYNAMIC_POLL_SECONDS": "soon",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "init-db"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DYNAMIC_POLL_SECONDS" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.db").exists()  # refused before touching the database
