"""manage.py model list / import / export / publish and compute --model-version (subprocesses, SQLite)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from sqlalchemy import select

from core.model_loading import parse_model
from db.models import AuditEvent, ModelVersion, ScoreRun
from db.session import make_engine, session_scope
from tests.integration.test_cli import failed, ok, run

ROOT = Path(__file__).resolve().parents[2]
NATIONAL = ROOT / "core" / "models" / "national-guide.toml"

pytestmark = pytest.mark.xdist_group("cli")


def _session(db: Path):
    return session_scope(make_engine(f"sqlite:///{db}"))


def test_model_versions_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    ok(run("init-db", db=db))
    ok(run("seed-demo", "--enterprises", "60", db=db))  # default model, a final 2024 and a 2025 run
    listed = ok(run("model", "list", db=db)).stdout
    assert "2022.1" in listed and "已发布" in listed

    out = ok(run("model", "import", str(NATIONAL), "--name", "国家指引版试行", db=db)).stdout
    assert "已导入为草稿" in out and "guide-2024.1" in out
    with _session(db) as session:
        draft = session.execute(
            select(ModelVersion).where(ModelVersion.version == "guide-2024.1")
        ).scalar_one()
        assert draft.state == "draft" and draft.name == "国家指引版试行"
    assert "草稿" in ok(run("model", "list", db=db)).stdout

    exported = tmp_path / "guide.toml"
    ok(run("model", "export", "guide-2024.1", "--out", str(exported), db=db))
    with exported.open("rb") as fh:
        again = parse_model(tomllib.load(fh))
    with _session(db) as session:
        stored = session.execute(
            select(ModelVersion).where(ModelVersion.version == "guide-2024.1")
        ).scalar_one()
        assert again == parse_model(stored.definition)  # export round-trips
    second = ok(run("model", "import", str(exported), db=db)).stdout
    assert "guide-2024.1-2" in second  # a taken version label gets a suffix

    old_runs = ok(run("verify-run", "--run", "1", db=db)).stdout
    ok(run("model", "publish", "guide-2024.1", db=db))
    failed(run("model", "publish", "guide-2024.1", db=db), "已发布")
    with _session(db) as session:
        events = (
            session.execute(select(AuditEvent).where(AuditEvent.action == "model.publish")).scalars().all()
        )
        assert any(e.after.get("version") == "guide-2024.1" for e in events)
        first = session.get(ScoreRun, 1)
        default_id = first.model_version_id
    assert ok(run("verify-run", "--run", "1", db=db)).stdout == old_runs  # old runs keep their version

    computed = ok(run("compute", "--year", "2025", "--model-version", "guide-2024.1", db=db)).stdout
    assert "稳定期" in computed
    default_run = ok(run("compute", "--year", "2025", "--model-version", "2022.1", db=db)).stdout
    assert "成熟期" in default_run
    with _session(db) as session:
        runs = session.execute(select(ScoreRun).order_by(ScoreRun.id)).scalars().all()
        national = session.execute(
            select(ModelVersion).where(ModelVersion.version == "guide-2024.1")
        ).scalar_one()
        assert runs[-2].model_version_id == national.id and runs[-1].model_version_id == default_id
        assert session.get(ScoreRun, 1).model_version_id == default_id


def test_model_import_refuses_a_bad_file_in_chinese(tmp_path: Path) -> None:
    db = tmp_path / "bad.db"
    ok(run("init-db", db=db))
    text = NATIONAL.read_text(encoding="utf-8").replace(
        "points = { startup = 12, growth = 13, stable = 13 }",
        "points = { startup = 12, growth = 13, stable = 14 }",
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    pools = NATIONAL.parent / "national-guide-pools.toml"
    (tmp_path / pools.name).write_text(pools.read_text(encoding="utf-8"), encoding="utf-8")
    message = failed(run("model", "import", str(bad), db=db), "稳定期", "101", "100")
    assert "错误" in message
    assert "尚无模型版本" in ok(run("model", "list", db=db)).stdout
    failed(run("model", "export", "nope", "--out", str(tmp_path / "x.toml"), db=db), "找不到评价模型版本")
