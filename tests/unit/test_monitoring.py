"""监测报告 against hand-computed fixtures: stage distribution, movers and their drivers, medians,
completeness, and an offline, escaped HTML page."""

from __future__ import annotations

import io
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest

from core import monitoring
from core.model_loading import load_model


@pytest.fixture(scope="module")
def model():  # noqa: ANN201
    return load_model()


def _run(model, label: str, year: int, rows: list[dict], points: list[dict], values: list[dict]):  # noqa: ANN001, ANN202
    scores = pd.DataFrame(rows)
    scores["rank"] = pd.array(scores["rank"], dtype="Int64")
    pts = pd.DataFrame(points).reindex(columns=model.codes).fillna(0.0)
    vals = pd.DataFrame(values).reindex(columns=model.codes)
    return monitoring.RunData(label=label, year=year, model=model, scores=scores, values=vals, points=pts)


def _base(eid: int, stage: str, total: float, name: str | None = None) -> dict:
    return {
        "enterprise_id": eid,
        "credit_code": f"C{eid}",
        "name": name or f"企业{eid}",
        "stage": stage,
        "total": total,
        "rank": 1,
        "tier": "",
        "veto": False,
        "subsidy": 0.0,
        "mujun": "",
    }


@pytest.fixture
def runs(model):  # noqa: ANN001, ANN201
    previous = _run(
        model,
        "2024 年度",
        2024,
        [_base(1, "seed", 40.0), _base(2, "seed", 60.0), _base(3, "growth", 50.0)],
        [{"T01": 2.0, "G01": 1.0}, {"T01": 5.0, "G02": 8.0}, {"T06": 4.0}],
        [{"T01": 10.0, "G01": 50.0}, {"T01": 30.0, "G01": 80.0}, {"T01": 100.0, "G01": 900.0}],
    )
    current = _run(
        model,
        "2025 年度",
        2025,
        [
            _base(1, "startup", 52.5),
            _base(2, "seed", 51.0, name="<script>alert(1)</script>"),
            _base(3, "growth", 50.0),
            _base(4, "seed", 30.0),
        ],
        [{"T01": 6.0, "G01": 3.5, "T06": 1.0}, {"T01": 4.0, "G02": 0.0}, {"T06": 4.0}, {}],
        [
            {"T01": 20.0, "G01": 150.0},
            {"T01": np.nan, "G01": 90.0},
            {"T01": 120.0, "G01": 950.0},
            {"T01": 5.0, "G01": np.nan},
        ],
    )
    return current, previous


def test_stage_distribution_and_change(runs) -> None:  # noqa: ANN001
    table = monitoring.stage_distribution(*runs).set_index("阶段")
    assert table.loc["种子期", ["本年企业数", "上年企业数", "变化"]].tolist() == [2, 2, 0]
    assert table.loc["初创期", ["本年企业数", "上年企业数", "变化"]].tolist() == [1, 0, 1]
    assert table.loc["种子期", "本年占比（%）"] == 50.0 and table.loc[
        "种子期", "上年占比（%）"
    ] == pytest.approx(66.7)


def test_movers_and_the_indicators_that_moved_them(runs) -> None:  # noqa: ANN001
    risers, fallers = monitoring.movers(*runs)
    # enterprise 1: +12.5 (T01 +4, G01 +2.5, T06 +1); enterprise 2: −9 (G02 −8, T01 −1); 3 unchanged; 4 is new
    assert risers["统一社会信用代码"].tolist() == ["C1"] and risers["变化"].tolist() == [12.5]
    assert (
        risers["主要变动指标"].iloc[0]
        == "T01 研发费用总额 +4.00；G01 营业收入 +2.50；T06 有效Ⅰ类知识产权 +1.00"
    )
    assert (risers["上年阶段"].iloc[0], risers["本年阶段"].iloc[0]) == ("种子期", "初创期")
    assert fallers["统一社会信用代码"].tolist() == ["C2"] and fallers["变化"].tolist() == [-9.0]
    assert fallers["主要变动指标"].iloc[0] == "G02 营业收入增长率 -8.00；T01 研发费用总额 -1.00"


def test_indicator_medians_by_stage(runs) -> None:  # noqa: ANN001
    table = monitoring.indicator_medians(*runs)
    seed_t01 = table[(table["指标"] == "T01 研发费用总额") & (table["阶段"] == "种子期")].iloc[0]
    # this year the seed stage has 2 (missing) and 4 (5.0) → median 5; last year 10 and 30 → 20
    assert (seed_t01["本年中位数"], seed_t01["上年中位数"], seed_t01["变化"]) == (5.0, 20.0, -15.0)


def test_completeness_by_department(runs) -> None:  # noqa: ANN001
    table = monitoring.completeness(runs[0]).set_index("部门")
    tax = table.loc["税务"]  # 税务 core numeric indicators: T01 G01 G03 G04 G08 — 4 enterprises each
    assert tax["应有数据"] == 5 * 4
    assert tax["实有数据"] == 3 + 3  # T01 has 3 values, G01 3, the others none
    assert tax["完整率（%）"] == 30.0


def test_report_xlsx_sheets_and_offline_escaped_html(runs) -> None:  # noqa: ANN001
    current, previous = runs
    carriers = pd.DataFrame({"载体": ['=HYPERLINK("http://x")'], "企业数": [1]})
    report = monitoring.build_report(
        current,
        previous,
        carriers=carriers,
        pools=pd.DataFrame({"培育库": ["国家高新技术企业"], "候选企业": [3]}),
        title="监测",
    )
    wb = openpyxl.load_workbook(io.BytesIO(report.to_xlsx()))
    assert wb.sheetnames == [
        "概况",
        "阶段分布",
        "榜单企业",
        "积分上升最多",
        "积分下降最多",
        "指标中位数",
        "载体评价",
        "培育库",
        "数据完整性",
    ]
    assert wb["载体评价"]["A2"].data_type == "s"  # the formula-like name stays text
    page = report.to_html()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("<svg") == 3  # stage distribution, movers, completeness
    external = set(re.findall(r"""(?:src|href)\s*=\s*["']([^"'#][^"']*)""", page))
    assert not external, external  # nothing fetched from any host
    assert "<link" not in page and "@import" not in page and "url(" not in page and "<img" not in page


def test_report_without_a_previous_final_run(runs) -> None:  # noqa: ANN001
    report = monitoring.build_report(
        runs[0], None, carriers=pd.DataFrame(), pools=pd.DataFrame(), title="监测"
    )
    assert "积分上升最多" not in report.tables
    assert "上年企业数" not in report.tables["阶段分布"].columns
