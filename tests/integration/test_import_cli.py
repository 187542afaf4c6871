"""`manage.py import` / `undo-import` on a real SQLite file: --map, --ignore, --accept-name-mismatch,
--list-mode, --diff, and the summary of a file that cannot be imported."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert
from sqlmodel import Session

from core.credit_code import make_code
from db.models import Enterprise
from tests.integration.test_cli import failed, ok, run
from tests.values import credit_codes, stored_rows
from tests.workbooks import workbook

pytestmark = pytest.mark.xdist_group("cli")

CODES = [make_code(str(700 + i)) for i in range(3)]
NAMES = ["瓯江电子有限公司", "龙湾机械有限公司", "温州光学有限公司"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cli.db"
    ok(run("init-db", db=path))
    engine = create_engine(f"sqlite:///{path}")
    with Session(engine) as s:
        s.execute(
            insert(Enterprise), [{"credit_code": c, "name": n} for c, n in zip(CODES, NAMES, strict=True)]
        )
        s.commit()
    engine.dispose()
    return path


def xlsx(path: Path, head: list, rows: list[list], sheets: dict[str, list[list]] | None = None) -> Path:
    """``path``, written as a workbook: ``head`` and ``rows`` on its first sheet, then ``sheets`` by name."""
    path.write_bytes(workbook(("Sheet", [head, *rows]), *(sheets or {}).items()))
    return path


def values(db: Path, code: str) -> dict:
    engine = create_engine(f"sqlite:///{db}")
    with Session(engine) as s:
        codes = credit_codes(s)
        rows = [
            (codes[v.enterprise_id], v.value_num, v.value_text)
            for v in stored_rows(s, code=code, current=True)
        ]
    engine.dispose()
    return {c: (n if t is None else t) for c, n, t in rows}


def test_unmapped_column_then_map_and_ignore(db: Path, tmp_path: Path) -> None:
    f = xlsx(
        tmp_path / "税务.xlsx",
        ["统一社会信用代码", "企业名称", "营业收入", "研发投入额", "纳税额"],
        [[c, n, 100 + i, 5, 7] for i, (c, n) in enumerate(zip(CODES, NAMES, strict=True))],
    )
    err = failed(
        run("import", str(f), "--department", "税务", "--year", "2025", db=db), "研发投入额", "--map"
    )
    out = run("import", str(f), "--department", "税务", "--year", "2025", db=db).stdout
    assert "可写入" not in out and "不能导入" in out and "未对应" in err
    assert values(db, "G01") == {}
    diff = tmp_path / "diff.csv"
    ok(
        run(
            "import",
            str(f),
            "--department",
            "税务",
            "--year",
            "2025",
            "--map",
            "研发投入额=T01",
            "--ignore",
            "纳税额",
            "--diff",
            str(diff),
            db=db,
        )
    )
    assert values(db, "T01") == dict.fromkeys(CODES, 5.0) and values(db, "G01")[CODES[2]] == 102
    assert "新增" in diff.read_text(encoding="utf-8-sig")


def test_name_mismatch_needs_the_flag(db: Path, tmp_path: Path) -> None:
    f = xlsx(tmp_path / "m.xlsx", ["统一社会信用代码", "企业名称", "营业收入"], [[CODES[0], NAMES[1], 100]])
    err = failed(
        run("import", str(f), "--department", "税务", "--year", "2025", db=db),
        "--accept-name-mismatch",
        NAMES[0],
        NAMES[1],
    )
    assert "不一致" in err and values(db, "G01") == {}
    ok(run("import", str(f), "--department", "税务", "--year", "2025", "--accept-name-mismatch", db=db))
    assert values(db, "G01") == {CODES[0]: 100.0}


def test_list_sheet_needs_a_mode_and_undo(db: Path, tmp_path: Path) -> None:
    f = xlsx(
        tmp_path / "科技.xlsx",
        ["统一社会信用代码", "企业名称", "国家高新技术企业"],
        [[CODES[0], NAMES[0], "是"]],
        sheets={
            "承担科技计划项目": [
                ["统一社会信用代码", "企业名称", "项目名称", "级别", "角色", "年份"],
                [CODES[0], NAMES[0], "智能制造", "省", "牵头", 2024],
            ]
        },
    )
    failed(run("import", str(f), "--department", "科技", "--year", "2025", db=db), "--list-mode")
    out = ok(
        run("import", str(f), "--department", "科技", "--year", "2025", "--list-mode", "replace", db=db)
    ).stdout
    assert "替换原有列表" in out and '"level": "省"' in values(db, "T10")[CODES[0]]
    batch = out.split("已导入批次 #")[1].split("：")[0]
    failed(run("undo-import", "--batch", batch, db=db), "--yes")
    out = ok(run("undo-import", "--batch", batch, "--yes", "--reason", "测试", db=db)).stdout
    assert f"已撤销导入批次 #{batch}" in out and values(db, "T10") == {} and values(db, "A01") == {}


def test_profile_import_list_recognise_and_accept_match(db: Path, tmp_path: Path):
    """--list-profiles, a profile recognised from its headers, a fuzzy name waiting for
    --accept-match ROW=CODE (the dry run writes nothing, the unconfirmed row is never written)."""
    listing = ok(run("import", "--list-profiles", db=db)).stdout
    assert "企查查" in listing and "专利清单" in listing and "融资事件" in listing
    path = xlsx(
        tmp_path / "科小名单.xlsx",
        ["认定年份", "企业名称", "区县市"],
        [[2025, NAMES[0], "龙湾区"], [2025, "龙湾机械公司", "龙湾区"]],
    )
    dry = ok(run("import", str(path), "--year", "2025", "--dry-run", db=db))
    assert "按表头识别为数据来源“科技型中小企业名单”" in dry.stdout
    assert "第 3 行“龙湾机械公司”名称相近" in dry.stderr and CODES[1] in dry.stderr
    assert values(db, "A02") == {}
    ok(run("import", str(path), "--profile", "科技型中小企业名单", "--year", "2025", db=db))
    assert values(db, "A02") == {CODES[0]: 1.0}  # the waiting row changed nothing
    ok(
        run(
            "import",
            str(path),
            "--profile",
            "科技型中小企业名单",
            "--year",
            "2025",
            "--accept-match",
            f"3={CODES[1]}",
            "--confirm-duplicate",
            db=db,
        )
    )
    assert values(db, "A02") == {CODES[0]: 1.0, CODES[1]: 1.0}
    failed(
        run("import", str(path), "--profile", "不存在", "--year", "2025", db=db), "没有名为“不存在”的数据来源"
    )
