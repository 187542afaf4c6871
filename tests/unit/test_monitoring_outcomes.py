"""监测报告 · the money side, against hand-computed fixtures: credit, loans and subsidies paid
per stage and list; funded enterprises' next-year score change against similar unfunded ones."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core import monitoring
from core.model_loading import load_model


@pytest.fixture(scope="module")
def model():  # noqa: ANN201
    return load_model()


def _scores(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["enterprise_id", "stage", "total", "veto", "tier"])


def test_funded_against_similar_unfunded_by_hand(model) -> None:  # noqa: ANN001
    # (id, last year's stage, total and veto, this year's stage and total); funded: 1, 4, 5, 7, 9.
    # 8 is gone this year; 7 was vetoed last year (left out whatever it scores now).
    years = [
        (1, "seed", 42.0, False, "seed", 50.0),
        (2, "seed", 45.0, False, "seed", 48.0),
        (3, "seed", 47.0, False, "seed", 46.0),
        (4, "seed", 55.0, False, "startup", 60.0),
        (5, "growth", 71.0, False, "growth", 70.0),
        (6, "growth", 78.0, False, "growth", 74.0),
        (7, "growth", 75.0, True, "growth", 99.0),
        (8, "seed", 41.0, False, None, None),
        (9, "growth", 72.0, False, "growth", 79.0),
    ]
    previous = _scores([(i, stage, total, veto, "") for i, stage, total, veto, _, _ in years])
    current = _scores([(i, stage, total, False, "") for i, _, _, _, stage, total in years if stage])
    cells, summary = monitoring.funded_comparison(model, previous, current, np.array([1, 4, 5, 7, 9]))
    # seed 40–50: funded 1 (+8) vs unfunded 2 (+3), 3 (−1) → mean +1, difference 7
    # seed 50–60: funded 4 (+5), no unfunded → no difference
    # growth 70–80: funded 5 (−1), 9 (+7) → +3 vs unfunded 6 (−4) → difference 7
    assert cells["阶段"].tolist() == ["种子期", "种子期", "成长期"]
    assert cells["上年分数段"].tolist() == ["40–50", "50–60", "70–80"]
    assert cells["获资助企业"].tolist() == [1, 1, 2]
    assert cells["获资助平均变化"].tolist() == [8.0, 5.0, 3.0]
    assert cells["同类未获资助企业"].tolist() == [2, 0, 1]
    assert cells["同类未获资助平均变化"].tolist()[0] == 1.0 and math.isnan(cells["同类未获资助平均变化"][1])
    assert cells["差值"].tolist()[0] == 7.0 and math.isnan(cells["差值"][1]) and cells["差值"][2] == 7.0
    values = dict(zip(summary["项目"], summary["数值"], strict=True))
    assert values["获资助企业（两年均参评）"] == 4  # 1, 4, 5, 9 (7 vetoed last year)
    assert values["其中有同类未获资助企业可比"] == 3  # 1, 5, 9
    assert values["获资助企业平均积分变化"] == 4.75  # (8 + 5 − 1 + 7) / 4
    assert values["可比获资助企业平均积分变化"] == pytest.approx(4.67)  # (1·8 + 2·3) / 3
    assert values["同类未获资助企业平均积分变化（按获资助家数加权）"] == pytest.approx(
        -2.33
    )  # (1·1 + 2·(−4)) / 3
    assert values["差值（获资助 − 同类未获资助）"] == 7.0  # (1·7 + 2·7) / 3


def test_a_different_band_changes_who_is_similar(model) -> None:  # noqa: ANN001
    previous = _scores([(1, "seed", 42.0, False, ""), (2, "seed", 58.0, False, "")])
    current = _scores([(1, "seed", 52.0, False, ""), (2, "seed", 58.0, False, "")])
    narrow, _ = monitoring.funded_comparison(model, previous, current, np.array([1]))
    assert narrow["同类未获资助企业"].tolist() == [0]
    wide, summary = monitoring.funded_comparison(model, previous, current, np.array([1]), band=20.0)
    assert wide["上年分数段"].tolist() == ["40–60"] and wide["差值"].tolist() == [10.0]


def test_outcomes_per_stage_and_list(model) -> None:  # noqa: ANN001
    scores = _scores(
        [
            (1, "seed", 80.0, False, "领跑"),
            (2, "seed", 60.0, False, "竞跑"),
            (3, "growth", 50.0, False, ""),
            (4, "growth", 90.0, True, ""),
        ]
    )
    loans = pd.DataFrame(
        {
            "enterprise_id": [1, 1, 2, 3, 99],
            "decision": ["credit", "credit", "loan", "reject", "loan"],
            "amount": [100.0, 50.0, 80.0, None, 1000.0],
        }
    )  # 99 is not in the run: not counted
    payments = pd.DataFrame({"enterprise_id": [1, 2], "state": ["paid", "confirmed"], "amount": [20.0, 10.0]})
    outcomes = monitoring.Outcomes(loans=loans, payments=payments)
    by_stage = monitoring.outcome_table(model, scores, outcomes, by="stage").set_index("阶段")
    assert by_stage.loc["种子期"].to_dict() == {
        "参评企业": 2,
        "授信企业": 1,
        "授信金额（万元）": 150.0,
        "放款企业": 1,
        "放款金额（万元）": 80.0,
        "已拨付扶持企业": 1,
        "已拨付扶持金额（万元）": 20.0,
    }
    assert by_stage.loc["成长期", ["参评企业", "授信企业", "放款企业"]].tolist() == [2, 0, 0]
    assert by_stage.loc["合计", ["参评企业", "授信金额（万元）", "放款金额（万元）"]].tolist() == [
        4,
        150.0,
        80.0,
    ]
    by_list = monitoring.outcome_table(model, scores, outcomes, by="tier").set_index("榜单")
    assert by_list.loc["创新领跑榜", ["授信企业", "已拨付扶持金额（万元）"]].tolist() == [1, 20.0]
    assert by_list.loc["创新竞跑榜", ["放款企业", "放款金额（万元）"]].tolist() == [1, 80.0]
    assert by_list.loc["未上榜", "参评企业"] == 2  # 3 unlisted, 4 vetoed


def test_the_report_has_the_outcome_sections_only_for_final_runs(model) -> None:  # noqa: ANN001
    def run(label: str, year: int, rows: list[tuple]) -> monitoring.RunData:
        scores = _scores(rows).assign(
            credit_code=lambda f: "C" + f["enterprise_id"].astype(str),
            name=lambda f: "企业" + f["enterprise_id"].astype(str),
            subsidy=0.0,
            mujun="",
            rank=pd.array([1] * len(rows), dtype="Int64"),
        )
        empty = pd.DataFrame(index=range(len(rows)), columns=model.codes, dtype=float)
        return monitoring.RunData(label, year, model, scores, empty, empty.fillna(0.0))

    previous = run("2024 年度", 2024, [(1, "seed", 42.0, False, ""), (2, "seed", 45.0, False, "")])
    current = run("2025 年度", 2025, [(1, "seed", 50.0, False, "领跑"), (2, "seed", 48.0, False, "")])
    outcomes = monitoring.Outcomes(
        loans=pd.DataFrame(columns=["enterprise_id", "decision", "amount"]),
        payments=pd.DataFrame({"enterprise_id": [1], "state": ["paid"], "amount": [20.0]}),
        funded=np.array([1]),
    )
    empty = pd.DataFrame()
    report = monitoring.build_report(
        current, previous, carriers=empty, pools=empty, title="t", outcomes=outcomes
    )
    assert {"融资与扶持（按阶段）", "融资与扶持（按榜单）", "扶持资金拨付", "获资助企业次年积分变化"} <= set(
        report.tables
    )
    assert report.tables["扶持资金拨付"].set_index("拨付状态").loc["已拨付", "家数"] == 1
    assert "同类" in report.to_html()
    draft = monitoring.build_report(current, previous, carriers=empty, pools=empty, title="t")
    assert "融资与扶持（按阶段）" not in draft.tables and "尚未定稿" in draft.notes["概况"]
