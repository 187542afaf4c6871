"""载体评价 and 金融推荐 against hand-computed fixtures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.bank import Criteria, whitelist
from core.carriers import carrier_table
from core.model_loading import load_model


@pytest.fixture(scope="module")
def model():  # noqa: ANN201
    return load_model()


def _frame() -> pd.DataFrame:
    nan = np.nan
    return pd.DataFrame(
        {
            "carrier_id": [1, 1, 1, 2, 2, None],
            "carrier": ["甲孵化器", "甲孵化器", "甲孵化器", "乙产业园", "乙产业园", None],
            "kind": ["孵化器", "孵化器", "孵化器", "产业园", "产业园", None],
            "total": [80.0, 40.0, 95.0, 60.0, 50.0, 99.0],
            "veto": [False, False, True, False, False, False],
            "tier": ["领跑", "", "", "进取", "", "领跑"],
            "subsidy": [5.0, 0.0, 0.0, 0.0, 0.0, 30.0],
            "rd": [10.0, 2.5, 100.0, nan, 4.0, 50.0],
            "revenue": [120.0, 80.0, 500.0, 300.0, 100.0, 1.0],
            "prev_revenue": [100.0, 100.0, 400.0, nan, 50.0, 1.0],
        }
    )


def test_carrier_aggregates_by_hand(model) -> None:  # noqa: ANN001
    table = carrier_table(model, _frame()).set_index("载体")
    a = table.loc["甲孵化器"]
    # ranked members 80 and 40 (the vetoed 95 is out of the comparison)
    assert (a["企业数"], a["否决"], a["平均积分"], a["积分中位数"]) == (3, 1, 60.0, 60.0)
    assert (a["创新领跑榜"], a["上榜企业"], a["上榜占比（%）"]) == (1, 1, 50.0)
    assert a["研发费用合计（万元）"] == 112.5  # R&D counts every member
    # revenue growth: (120 + 80 + 500) / (100 + 100 + 400) − 1 = 16.7 %
    assert a["营业收入增长率（%）"] == pytest.approx(16.7)
    assert (a["扶持家数"], a["扶持金额（万元）"]) == (1, 5.0)
    b = table.loc["乙产业园"]
    assert (b["平均积分"], b["积分中位数"], b["上榜占比（%）"]) == (55.0, 55.0, 50.0)
    assert b["营业收入增长率（%）"] == 100.0  # only the member with both years: 100 / 50 − 1
    assert b["研发费用合计（万元）"] == 4.0
    # ranked by mean total; the enterprise outside any carrier is not a carrier
    assert table["排名"].tolist() == [1, 2] and list(table.index) == ["甲孵化器", "乙产业园"]


def test_a_model_naming_no_rd_indicator_has_no_rd_column(model) -> None:  # noqa: ANN001
    """Without an R&D expense indicator named by the model's pools there is no R&D column — not a column
    left empty for every carrier."""
    table = carrier_table(model, _frame().drop(columns="rd"))
    assert "研发费用合计（万元）" not in table.columns
    assert table.set_index("载体").loc["甲孵化器", "平均积分"] == 60.0


def _scores() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "credit_code": [f"C{i}" for i in range(7)],
            "name": [f"企业{i}" for i in range(7)],
            "stage": ["seed", "seed", "seed", "growth", "growth", "growth", "growth"],
            "rank": pd.array([1, 2, 3, 1, 2, 3, None], dtype="Int64"),
            "total": [90.0, 70.0, 50.0, 88.0, 61.0, 59.0, 99.0],
            "veto": [False] * 6 + [True],
            "tier": ["领跑", "竞跑", "", "领跑", "进取", "", ""],
            "bank_consent": [True, False, True, True, True, True, True],
        }
    )


@pytest.mark.parametrize(
    ("criteria", "expected", "left_out"),
    [
        (Criteria("min_total", min_total=60), ["C0", "C3", "C4"], 1),  # C1 (70) did not consent; C6 vetoed
        (Criteria("tier", tier="竞跑"), ["C0", "C3"], 1),  # 领跑 + 竞跑; C1 no consent
        (Criteria("tier", tier="创新进取榜"), ["C0", "C3", "C4"], 1),  # a full list name works too
        (Criteria("top_n", top_n=2), ["C0", "C3", "C4"], 1),
    ],
)
def test_whitelist_membership_and_consent(model, criteria, expected, left_out) -> None:  # noqa: ANN001
    table = whitelist(model, _scores(), criteria)
    assert table["统一社会信用代码"].tolist() == expected
    assert table.attrs["without_consent"] == left_out
    assert table["序号"].tolist() == list(range(1, len(expected) + 1))


def test_withdrawn_consent_leaves_the_list(model) -> None:  # noqa: ANN001
    scores = _scores()
    before = whitelist(model, scores, Criteria("top_n", top_n=1))["统一社会信用代码"].tolist()
    scores.loc[scores["credit_code"] == "C3", "bank_consent"] = False
    after = whitelist(model, scores, Criteria("top_n", top_n=1))["统一社会信用代码"].tolist()
    assert before == ["C0", "C3"] and after == ["C0"]


@pytest.mark.parametrize(
    "criteria",
    [
        Criteria("min_total", min_total=-1),
        Criteria("min_total", min_total=math.nan),
        Criteria("tier", tier="金牌"),
        Criteria("top_n", top_n=0),
        Criteria("best"),
    ],
)
def test_bad_criteria_are_refused_in_chinese(model, criteria) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="[\u4e00-\u9fff]"):
        whitelist(model, _scores(), criteria)
