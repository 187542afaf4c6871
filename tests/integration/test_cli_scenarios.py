"""Scenario commands of manage.py as subprocesses: --help, outputs, Chinese errors, non-zero exits."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import create_engine, text

from tests.integration.test_cli import failed, ok, run

pytestmark = pytest.mark.xdist_group("cli")
COMMANDS = ("export-subsidies", "export-pool", "bank-whitelist", "monitoring-report")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    """A seeded database, its run in 公示 and its final run."""
    db = tmp_path_factory.mktemp("cli-scenarios") / "demo.db"
    ok(run("init-db", db=db))
    ok(run("seed-demo", "--enterprises", "150", db=db))
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as c:
        notice = c.execute(text("SELECT id FROM scorerun WHERE state = 'notice'")).scalar_one()
        final = c.execute(text("SELECT id FROM scorerun WHERE state = 'final'")).scalar_one()
    engine.dispose()
    return db, notice, final


def test_help_for_every_scenario_command() -> None:
    top = ok(run("--help")).stdout
    for name in COMMANDS:
        assert name in top
        assert "usage" in ok(run(name, "--help")).stdout


def test_export_subsidies(demo, tmp_path: Path) -> None:  # noqa: ANN001
    db, notice, _ = demo
    out = tmp_path / "扶持.xlsx"
    printed = ok(run("export-subsidies", "--run", str(notice), "--out", str(out), db=db)).stdout
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["扶持名单", "名额与预算"]
    rows = list(wb["扶持名单"].values)
    assert rows[0][:4] == ("序号", "企业名称", "统一社会信用代码", "所属阶段")
    amounts = [r[6] for r in rows[1:]]
    plan = {r[0]: r for r in list(wb["名额与预算"].values)[1:]}
    assert sum(amounts) == plan["合计"][-1]  # 实际金额 of the 合计 row
    assert f"合计 {sum(amounts):g} 万元" in printed
    csv_out = tmp_path / "扶持.csv"
    ok(run("export-subsidies", "--run", str(notice), "--out", str(csv_out), db=db))
    assert len(list(csv.reader(io.StringIO(csv_out.read_text(encoding="utf-8-sig"))))) == len(rows)


def test_export_subsidies_bad_input(demo, tmp_path: Path) -> None:  # noqa: ANN001
    db, _, _ = demo
    failed(run("export-subsidies", "--run", "999", "--out", str(tmp_path / "a.xlsx"), db=db), "不存在")
    failed(run("export-subsidies", "--run", "1", "--out", str(tmp_path / "a.pdf"), db=db), "不受支持")
    failed(run("export-subsidies", "--run", "x", "--out", str(tmp_path / "a.xlsx"), db=db), "正整数")
    failed(
        run("export-subsidies", "--run", "1", "--out", str(tmp_path / "no" / "a.xlsx"), db=db), "目录不存在"
    )


def test_export_pool(demo, tmp_path: Path) -> None:  # noqa: ANN001
    db, notice, _ = demo
    out = tmp_path / "pools.xlsx"
    printed = ok(run("export-pool", "--run", str(notice), "--out", str(out), db=db)).stdout
    wb = openpyxl.load_workbook(out)
    assert (
        wb.sheetnames[0] == "汇总" and "国家高新技术企业" in wb.sheetnames and "国家高新技术企业" in printed
    )
    one = tmp_path / "hte.csv"
    ok(run("export-pool", "--pool", "hte", "--out", str(one), db=db))
    rows = list(csv.reader(io.StringIO(one.read_text(encoding="utf-8-sig"))))
    assert rows[0][-1] == "未满足条件" and len(rows) > 1
    failed(run("export-pool", "--pool", "金牌", "--out", str(one), db=db), "培育库“金牌”不存在")
    failed(run("export-pool", "--out", str(tmp_path / "all.csv"), db=db), "csv 只能导出一个培育库")


def test_bank_whitelist(demo, tmp_path: Path) -> None:  # noqa: ANN001
    db, notice, _ = demo
    out = tmp_path / "w.csv"
    printed = ok(
        run(
            "bank-whitelist",
            "--run",
            str(notice),
            "--bank",
            "温州银行",
            "--tier",
            "创新竞跑榜",
            "--out",
            str(out),
            db=db,
        )
    ).stdout
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["序号", "企业名称", "统一社会信用代码"]
    assert f"名单 {len(rows) - 1} 家" in printed and "审计日志" in printed
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as c:
        codes = {r[0] for r in c.execute(text("SELECT credit_code FROM enterprise WHERE NOT bank_consent"))}
        audited = c.execute(
            text("SELECT count(*) FROM auditevent WHERE action = 'bank_whitelist.export'")
        ).scalar()
    engine.dispose()
    assert not {r[2] for r in rows[1:]} & codes
    assert audited == 1
    failed(
        run("bank-whitelist", "--bank", "温州银行", "--tier", "金牌", "--out", str(out), db=db),
        "榜单“金牌”不存在",
    )
    failed(run("bank-whitelist", "--bank", "温州银行", "--out", str(out), db=db), "参数有误")
    failed(
        run("bank-whitelist", "--bank", "温州银行", "--min-total", "-5", "--out", str(out), db=db), "不小于 0"
    )
    failed(run("bank-whitelist", "--bank", "", "--top", "3", "--out", str(out), db=db), "银行名称")


def test_monitoring_report(demo, tmp_path: Path) -> None:  # noqa: ANN001
    db, notice, final = demo
    target = tmp_path / "report"
    printed = ok(run("monitoring-report", "--run", str(notice), "--out", str(target), db=db)).stdout
    files = sorted(p.name for p in target.iterdir())
    assert (
        len(files) == 2
        and any(f.endswith(".xlsx") for f in files)
        and any(f.endswith(".html") for f in files)
    )
    page = next(target.glob("*.html")).read_text(encoding="utf-8")
    assert "<svg" in page and f"批次 #{final}" in page and "对比" in printed
    assert "阶段分布" in openpyxl.load_workbook(next(target.glob("*.xlsx"))).sheetnames
    failed(run("monitoring-report", "--run", "999", "--out", str(target), db=db), "不存在")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    failed(run("monitoring-report", "--run", str(notice), "--out", str(a_file), db=db), "不是目录")
