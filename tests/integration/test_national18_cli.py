"""The national guide's 18 as a model: ``score-file`` agrees with hand-computed totals, and a
run computed under it in the database verifies (``verify-run``)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, insert, select
from sqlmodel import Session

from core.credit_code import make_code
from db.models import Enterprise
from tests.integration.test_cli import ok, run
from tests.values import add_values

pytestmark = pytest.mark.xdist_group("cli")

MODEL = Path(__file__).resolve().parents[2] / "core" / "models" / "national-18.toml"
HEAD = [
    "N01",
    "prev_N01",
    "N04",
    "N05",
    "N06",
    "N07",
    "N08",
    "N09",
    "prev_N09",
    "N11",
    "N12",
    "N13",
    "N14",
    "N15",
    "N16",
    "N17",
    "N18",
]
ROWS = [
    [100, 80, 25, 3, 0, 50, 500, 1000, 800, 5, 10, 10, 5, 1, 0, 2, 1500],
    [500, 500, 35, 10, 1, 1000, 5000, 10000, 10000, 12, 100, -5, 20, 0, 1, 0, 6000],
    [3000, 2000, 10, 5, 3, 0, 50000, 50000, 40000, 0.5, 300, 20, 0, 2, 2, 1, 0],
    [20, None, 0, 0, 0, 0, 0, 500, None, 0, 0, 0, 0, 0, 0, 0, 0],
    [1900, 1000, 30, 6, 2, 600, 12000, 19000, 10000, 10, 150, 15, 10, 3, 1, 2, 3000],
]
# Worked by hand from the model's bands and caps (stage by 营业收入 N09):
#  1 初创期: 技术 5+5.6(增速25%)+10(占比10%)+5.6+8+0+3 = 37.2; 成长 4+4+5.6+3.6+3.5+4.8 = 25.5; 辅助 2.5+2.5+0+5+5 = 15
#  2 成长期: 技术 5+3.2+7(5%)+8+8+2.5+6 = 39.7; 成长 4+4+3.2+6+7+0(−5%) = 24.2; 辅助 5+0+5+0+10 = 20
#  3 稳定期: 技术 10+8+10(6%)+3.2+4+5+0 = 40.2; 成长 8+4+5.6+0+7+8 = 32.6; 辅助 0+5+5+2.5+0 = 12.5
#  4 初创期, no previous year: 技术 1+0+7(4%)+0 = 8; 成长 0+2+0+0+0+2.4 = 4.4; 辅助 0
#  5 成长期: 技术 10+8+10+8+8+5+6 = 55; 成长 8+7.6+8+6+7+8 = 44.6; 辅助 5+5+5+5+10 = 30 (= the cap)
EXPECTED = [
    (37.2, 25.5, 15.0, 77.7),
    (39.7, 24.2, 20.0, 83.9),
    (40.2, 32.6, 12.5, 85.3),
    (8.0, 4.4, 0.0, 12.4),
    (55.0, 44.6, 30.0, 129.6),
]
CODES = [make_code(str(8800 + i)) for i in range(len(ROWS))]


def test_score_file_agrees_with_hand_computed_totals(tmp_path: Path):
    src = tmp_path / "inputs.csv"
    frame = pd.DataFrame(ROWS, columns=HEAD)
    frame.insert(0, "name", [f"企业{i + 1}" for i in range(len(ROWS))])
    frame.insert(0, "credit_code", CODES)
    frame.to_csv(src, index=False)
    out = tmp_path / "scores.csv"
    ok(run("score-file", str(src), "--year", "2025", "--model", str(MODEL), "--out", str(out)))
    got = pd.read_csv(out, encoding="utf-8-sig", dtype={"credit_code": str}).set_index("credit_code")
    for code, (tech, growth, bonus, total) in zip(CODES, EXPECTED, strict=True):
        row = got.loc[code]
        assert (row["technology"], row["growth"], row["bonus"], row["total"]) == pytest.approx(
            (tech, growth, bonus, total), abs=1e-9
        ), code
    assert got["stage"].tolist() == ["初创期", "成长期", "稳定期", "初创期", "成长期"]


def test_a_run_under_the_national_18_verifies(tmp_path: Path):
    db = tmp_path / "n18.db"
    ok(run("init-db", db=db))
    engine = create_engine(f"sqlite:///{db}")
    with Session(engine) as s:
        s.execute(
            insert(Enterprise), [{"credit_code": c, "name": f"企业{i + 1}"} for i, c in enumerate(CODES)]
        )
        ids = dict(s.execute(select(Enterprise.credit_code, Enterprise.id)).all())
        values = []
        for code, row in zip(CODES, ROWS, strict=True):
            for head, v in zip(HEAD, row, strict=True):
                if v is None:
                    continue
                year, ind = (2024, head[5:]) if head.startswith("prev_") else (2025, head)
                values.append(
                    {
                        "enterprise_id": ids[code],
                        "year": year,
                        "code": ind,
                        "value_num": float(v),
                        "source": "测试",
                        "created_by": "test",
                        "is_current": True,
                    }
                )
        add_values(s, *values)
        s.commit()
    engine.dispose()
    ok(run("model", "import", str(MODEL), db=db))
    ok(run("model", "publish", "guide-18.1", db=db))
    out = ok(run("compute", "--year", "2025", "--model-version", "guide-18.1", db=db)).stdout
    run_id = re.search(r"积分批次 #(\d+)", out).group(1)
    verified = ok(run("verify-run", "--run", run_id, db=db)).stdout
    assert f"积分批次 #{run_id} 核验通过：5 家企业" in verified
