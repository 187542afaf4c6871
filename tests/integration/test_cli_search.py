"""manage.py search: rank, credit code, name and stage of the best matches; Chinese errors, non-zero exits."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.integration.test_cli import failed, ok, run, seeded_db  # noqa: F401 - fixture

pytestmark = pytest.mark.xdist_group("cli")


def _some_enterprise(db: Path) -> tuple[str, str, str]:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT credit_code, name, name_initials FROM enterprise ORDER BY id LIMIT 1 OFFSET 7"
        ).fetchone()


def test_search_help() -> None:
    out = ok(run("search", "--help")).stdout
    assert "--limit" in out and "拼音" in out


def test_search_by_initials_name_and_code(seeded_db: Path) -> None:  # noqa: F811
    code, name, initials = _some_enterprise(seeded_db)
    out = ok(run("search", initials.split("|")[0][:5], "--limit", "50", db=seeded_db)).stdout
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["序号", "统一社会信用代码", "企业名称", "发展阶段"]
    assert any(code in line and name in line for line in lines[2:])
    first = ok(run("search", code[:14], db=seeded_db)).stdout.splitlines()[2].split()
    assert first[0] == "1" and first[1].startswith(code[:14])
    assert first[3] in {"种子期", "初创期", "成长期", "扩张期", "成熟期"}
    exact = ok(run("search", name, "--limit", "1", db=seeded_db)).stdout.splitlines()
    assert len(exact) == 3 and code in exact[2] and name in exact[2]


def test_search_bad_input(seeded_db: Path) -> None:  # noqa: F811
    failed(run("search", "   ", db=seeded_db), "不能为空")
    failed(run("search", "联翔", "--limit", "0", db=seeded_db), "正整数")
    failed(run("search", "联翔", "--limit", "abc", db=seeded_db), "正整数")
    failed(run("search", "qqqqxxxxzzzz", db=seeded_db), "未找到")
    failed(run("search", db=seeded_db), "参数有误")
    failed(run("search", "联翔", "--run", "9999", db=seeded_db), "不存在")
