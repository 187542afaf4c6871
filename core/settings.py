"""Every environment variable the app reads, in one place: parsed, checked and documented together.

:func:`load` reads the environment as it is now (tests and ``manage.py`` may change it) and refuses a
bad value with a Chinese message naming the variable. The app checks it at start-up (Home.py through
``ui.auth.require_valid_settings``, ``manage.py`` before any command), so a typo stops the server or the
command instead of quietly falling back to a default. The cookie-key rules — no demo key anywhere, a
configured key of ≥ 32 characters in production — live here too. The README's table lists every
variable of :data:`VARIABLES` (tests/unit/test_docs.py keeps it so).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class ConfigError(ValueError):
    """The deployment is misconfigured; the message is Chinese."""


# The key that used to be committed in the code: anyone could mint cookies with it, so it is refused outright.
DEMO_COOKIE_KEY = "demo-cookie-key-not-for-production"
MIN_PRODUCTION_KEY_LENGTH = 32

# name → the default in the README's words. Read nowhere else than in this module.
VARIABLES: dict[str, str] = {
    "DATABASE_URL": "sqlite:///data/innovation.db",
    "APP_ENV": "development",
    "COOKIE_KEY": "generated into data/cookie_key",
    "COOKIE_KEY_FILE": "data/cookie_key",
    "COOKIE_SECURE": "on in production, else off",
    "DB_POOL_SIZE": "5",
    "DB_MAX_OVERFLOW": "10",
    "DYNAMIC_WORKER": "on",
    "DYNAMIC_MIN_INTERVAL": "30",
    "DYNAMIC_POLL_SECONDS": "5",
    "BANK_API_RATE_LIMIT": "60",
    "ASSISTANT_LLM_URL": "off",
    "ASSISTANT_LLM_MODEL": "default",
    "CLUSTER_EXPOSE_UPSTREAM": "off",
}

_TRUE = ("1", "true", "yes")


@dataclass(frozen=True)
class Settings:
    database_url: str | None  # None: db.session's SQLite file
    production: bool
    cookie_key: str | None
    cookie_key_file: str | None
    cookie_secure: bool
    db_pool_size: int
    db_max_overflow: int
    dynamic_worker: bool
    dynamic_min_interval: float  # seconds between two recomputes of one year
    dynamic_poll_seconds: float
    bank_api_rate_limit: int  # requests per token per minute
    assistant_llm_url: str  # "" = off
    assistant_llm_model: str
    cluster_expose_upstream: bool


def _number(
    environ: Mapping[str, str], name: str, default: float, kind: type, minimum: float, problems: list[str]
) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return kind(default)
    try:
        value = kind(raw)
    except ValueError:
        problems.append(f"环境变量 {name} 应为{'整数' if kind is int else '数字'}，现为「{raw}」。")
        return kind(default)
    if value < minimum or value != value:  # NaN is not a number of seconds either
        problems.append(f"环境变量 {name} 不能小于 {minimum:g}，现为「{raw}」。")
        return kind(default)
    return value


def check_cookie_key(key: str | None, *, production: bool) -> None:
    """Refuse the demo key everywhere, and in production a missing or short key."""
    if key and (key == DEMO_COOKIE_KEY or "demo" in key.lower()):
        raise ConfigError(
            "COOKIE_KEY 不能使用演示密钥（它写在公开的代码里），请删除该配置或改用随机生成的密钥。"
        )
    if production:
        if not key:
            raise ConfigError(
                "生产环境未配置 COOKIE_KEY（环境变量或 Streamlit secrets 中的 cookie_key），系统拒绝启动。"
            )
        if len(key) < MIN_PRODUCTION_KEY_LENGTH:
            raise ConfigError(f"生产环境的 COOKIE_KEY 至少需要 {MIN_PRODUCTION_KEY_LENGTH} 个字符。")


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of ``environ`` (default: this process's environment now); ConfigError if any is bad.

    A missing production COOKIE_KEY is not refused here: it may come from Streamlit secrets
    (``ui.auth.resolve_cookie_key`` applies :func:`check_cookie_key` to the key it finds)."""
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    production = environ.get("APP_ENV", "").strip().lower() in ("production", "prod")
    cookie_key = environ.get("COOKIE_KEY") or None
    try:
        check_cookie_key(cookie_key, production=False)
    except ConfigError as exc:
        problems.append(str(exc))
    secure = environ.get("COOKIE_SECURE", "1" if production else "").strip().lower() in _TRUE
    settings = Settings(
        database_url=environ.get("DATABASE_URL") or None,
        production=production,
        cookie_key=cookie_key,
        cookie_key_file=environ.get("COOKIE_KEY_FILE") or None,
        cookie_secure=secure,
        db_pool_size=int(_number(environ, "DB_POOL_SIZE", 5, int, 1, problems)),
        db_max_overflow=int(_number(environ, "DB_MAX_OVERFLOW", 10, int, 0, problems)),
        dynamic_worker=environ.get("DYNAMIC_WORKER", "1") != "0",
        dynamic_min_interval=_number(environ, "DYNAMIC_MIN_INTERVAL", 30, float, 0, problems),
        dynamic_poll_seconds=_number(environ, "DYNAMIC_POLL_SECONDS", 5, float, 0.01, problems),
        bank_api_rate_limit=int(_number(environ, "BANK_API_RATE_LIMIT", 60, int, 1, problems)),
        assistant_llm_url=environ.get("ASSISTANT_LLM_URL", "").strip(),
        assistant_llm_model=environ.get("ASSISTANT_LLM_MODEL", "default"),
        cluster_expose_upstream=environ.get("CLUSTER_EXPOSE_UPSTREAM") == "1",
    )
    if problems:
        raise ConfigError("配置有误，系统拒绝启动：" + "".join(problems))
    return settings
