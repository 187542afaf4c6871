"""manage.py end to end, as subprocesses against a temporary SQLite file (DATABASE_URL)."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adapters.reader_worker import read_table
from core.credit_code import make_code
from core.spreadsheet import apply_header, find_header_row, write_xlsx
from tests.manage_cli import manage, sqlite_env

COMMANDS = ("init-db", "seed-demo", "score-file", "compute", "export-lists", "create-user")

pytestmark = pytest.mark.xdist_group("cli")


def run(*args: str, db: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return manage(*args, env=sqlite_env(db), stdin=stdin)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def failed(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "demo.db"
    ok(run("init-db", db=db))
    out = ok(run("seed-demo", "--enterprises", "150", db=db)).stdout
    assert "企业 150 家" in out
    ok(run("seed-demo", "--if-empty", db=db))  # a second seed with --if-empty is a no-op
    return db


def test_help_for_every_command() -> None:
    top = ok(run("--help"))
    for name in COMMANDS:
        assert name in top.stdout
        res = ok(run(name, "--help"))
        assert "usage" in res.stdout and "--debug" in res.stdout


def test_seed_twice_without_if_empty_fails(seeded_db: Path) -> None:
    failed(run("seed-demo", "--enterprises", "150", db=seeded_db), "空数据库")


def test_compute_and_export_lists(seeded_db: Path, tmp_path: Path) -> None:
    out = ok(run("compute", "--year", "2025", db=seeded_db)).stdout
    assert "积分批次 #" in out and "种子期" in out and "成熟期" in out
    draft_id = out.split("积分批次 #", 1)[1].split("（", 1)[0]
    target = tmp_path / "lists.csv"
    # As on the officer pages, a list comes only from a run in 公示 or final, never from a draft.
    failed(run("export-lists", "--run", draft_id, "--out", str(target), db=seeded_db), "尚未公示")
    assert not target.exists()
    run_id = "2"  # the seed's 2025 run, in 公示
    ok(run("export-lists", "--run", run_id, "--out", str(target), db=seeded_db))
    rows = list(csv.reader(target.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == ["序号", "企业名称", "统一社会信用代码", "所属阶段", "榜单", "积分"]
    assert len(rows) > 10
    xlsx = tmp_path / "lists.xlsx"
    ok(run("export-lists", "--run", run_id, "--out", str(xlsx), db=seeded_db))
    back = read_table(xlsx.read_bytes(), xlsx.name)
    assert back.shape[0] == len(rows)
    failed(run("export-lists", "--run", "9999", "--out", str(target), db=seeded_db), "9999")
    failed(run("compute", "--year", "2025", "--model-version", "nope", db=seeded_db), "nope")
    failed(run("compute", "--year", "abc", db=seeded_db), "年度")


def test_create_user(seeded_db: Path) -> None:
    res = ok(run("create-user", "newofficer", "--role", "officer", db=seeded_db))
    assert "一次性密码" in res.stdout
    failed(run("create-user", "newofficer", "--role", "officer", db=seeded_db), "已存在")
    failed(run("create-user", "x1y", "--role", "enterprise", "--enterprise", "123", db=seeded_db), "18位")
    code = make_code("1")
    failed(run("create-user", "e9x", "--role", "enterprise", "--enterprise", code, db=seeded_db), code)
    res = ok(
        run(
            "create-user",
            "withpw",
            "--role",
            "admin",
            "--password-stdin",
            db=seeded_db,
            stdin="Longer#Pass2025\n",
        )
    )
    assert "一次性密码" not in res.stdout


# ------------------------------------------------------------------ score-file (no database)
def _contract(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "credit_code": [make_code(str(700000 + i)) for i in range(n)],
            "name": [f"温州测试{i}科技有限公司" if i else '=HYPERLINK("x")' for i in range(n)],
            "G01": np.round(10 ** rng.uniform(0.5, 4.6, n), 1).astype(str),
            "T01": np.round(rng.uniform(0, 400, n), 2).astype(str),
            "T04": rng.integers(0, 20, n).astype(str),
            "staff": rng.integers(20, 200, n).astype(str),
            "T09": rng.choice(["国家", "省", "市", "区", ""], n),
            "T10": [json.dumps([{"level": "省", "role": "牵头"}], ensure_ascii=False)] * n,
            "A01": rng.choice(["是", "否", "1", "0"], n),
            "N01": ["是"] + ["否"] * (n - 1),
        }
    )


def _write_csv(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False, encoding="utf-8")
    return path


def test_score_file_csv_and_xlsx_round_trip(tmp_path: Path) -> None:
    df = _contract()
    src_csv = _write_csv(df, tmp_path / "in.csv")
    src_xlsx = tmp_path / "in.xlsx"
    src_xlsx.write_bytes(write_xlsx({"数据": df}))
    out_csv, out_xlsx = tmp_path / "out.csv", tmp_path / "out.xlsx"
    ok(run("score-file", str(src_csv), "--year", "2025", "--out", str(out_csv)))
    ok(run("score-file", str(src_xlsx), "--year", "2025", "--out", str(out_xlsx)))
    a = pd.read_csv(out_csv, encoding="utf-8-sig", dtype={"credit_code": str})
    raw = read_table(out_xlsx.read_bytes(), out_xlsx.name)
    b = apply_header(raw, find_header_row(raw, ["credit_code", "name", "total"]))
    assert find_header_row(raw, ["credit_code", "name", "total"]) == 1  # Chinese labels above the codes
    assert a.columns[0] == "credit_code" and "pts_T01" in a.columns
    assert a["credit_code"].tolist() == b["credit_code"].tolist() == df["credit_code"].tolist()
    assert np.allclose(a["total"].to_numpy(), b["total"].astype(float).to_numpy())
    assert a.loc[0, "veto"] == 1 and pd.isna(a.loc[0, "rank"])
    assert str(a.loc[0, "name"]).startswith("'=")  # csv sanitised against formula injection
    assert b.loc[0, "name"] == df.loc[0, "name"]  # xlsx keeps it as inert text


def test_score_file_errors(tmp_path: Path) -> None:
    df = _contract(10)
    out = str(tmp_path / "o.csv")
    failed(run("score-file", str(tmp_path / "missing.csv"), "--year", "2025", "--out", out), "找不到输入文件")
    txt = tmp_path / "in.txt"
    txt.write_text("x")
    failed(run("score-file", str(txt), "--year", "2025", "--out", out), ".txt")
    good = _write_csv(df, tmp_path / "good.csv")
    failed(run("score-file", str(good), "--year", "2025", "--out", str(tmp_path / "o.json")), ".json")
    failed(run("score-file", str(good), "--year", "2025"), "--out")
    nocode = _write_csv(df.rename(columns={"credit_code": "代码"}), tmp_path / "nocode.csv")
    failed(run("score-file", str(nocode), "--year", "2025", "--out", out), "credit_code")
    bad = df.copy()
    bad.loc[3, "credit_code"] = bad.loc[3, "credit_code"][:-1] + (
        "0" if bad.loc[3, "credit_code"][-1] != "0" else "1"
    )
    failed(
        run("score-file", str(_write_csv(bad, tmp_path / "bad.csv")), "--year", "2025", "--out", out),
        "第 5 行 credit_code 列",
        "校验位",
    )
    nonnum = df.copy()
    nonnum.loc[6, "T01"] = "abc"
    failed(
        run("score-file", str(_write_csv(nonnum, tmp_path / "nn.csv")), "--year", "2025", "--out", out),
        "第 8 行 T01 列",
        "abc",
    )
    assert not Path(out).exists()


def test_dynamic_recomputes_due_years_and_a_named_year(tmp_path: Path) -> None:
    db = tmp_path / "dyn.db"
    ok(run("init-db", db=db))
    ok(run("seed-demo", "--enterprises", "30", db=db))
    assert "没有需要重算的年度" in ok(run("dynamic", db=db)).stdout
    assert "2025 年度动态积分已重算：30 家企业" in ok(run("dynamic", "--year", "2025", db=db)).stdout
    assert "尚无部门导入数据" in ok(run("dynamic", "--year", "2031", db=db)).stdout
