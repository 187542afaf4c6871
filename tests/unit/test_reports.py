"""core/reports.py: the §9 offline output, the public-notice list and input checking."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.credit_code import make_code
from core.engine import score
from core.model_loading import load_model
from core.reports import (
    NOTICE_COLUMNS,
    head_columns,
    limit_errors,
    notice_list_frame,
    parse_score_input,
    score_output_frame,
    score_output_labels,
    stage_summary_frame,
)
from core.spreadsheet import ROW_COLUMN
from tests.engine_columns import OUTPUT_HEAD


@pytest.fixture(scope="module")
def model():
    return load_model()


def _inputs(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "credit_code": [make_code(str(5000 + i)) for i in range(n)],
            "name": [f"企业{i}" for i in range(n)],
            "G01": np.round(10 ** rng.uniform(0.5, 4.6, n), 1),
            "T01": np.round(rng.uniform(0, 500, n), 2),
            "T06": rng.integers(0, 6, n).astype(float),
            "A01": rng.choice(["是", "否"], n),
            "N01": ["是", "是"] + ["否"] * (n - 2),
        }
    )


def test_score_output_columns_and_formats(model) -> None:
    scored = score(model, _inputs())
    out = score_output_frame(model, scored)
    assert head_columns(model) == OUTPUT_HEAD  # the §9 contract of the default model
    assert list(out.columns) == [*OUTPUT_HEAD, *[f"pts_{c}" for c in model.codes]]
    assert len(score_output_labels(model)) == out.shape[1]
    assert set(out["stage"]) <= {s.name for s in model.stages}
    assert set(out["veto"].unique()) <= {0, 1}
    vetoed = out["veto"] == 1
    assert vetoed.sum() == 2
    assert out.loc[vetoed, "rank"].isna().all() and out.loc[~vetoed, "rank"].notna().all()
    assert out.loc[vetoed, "percentile"].isna().all()
    assert (out["total"] == out["total"].round(2)).all()
    pts = out[[f"pts_{c}" for c in model.codes]]
    assert np.allclose(pts.to_numpy(), pts.round(4).to_numpy())
    assert (out["subsidy"] >= 0).all()
    assert out["credit_code"].tolist() == _inputs()["credit_code"].tolist()  # row order kept


def test_notice_list_order_and_filter(model) -> None:
    scored = score(model, _inputs(200, seed=2))
    lst = notice_list_frame(model, scored)
    assert list(lst.columns) == list(NOTICE_COLUMNS)
    assert lst["序号"].tolist() == list(range(1, len(lst) + 1))
    on_list = scored[(scored["tier"] != "") & ~scored["veto"]]
    assert len(lst) == len(on_list) > 0
    stage_order = [s.name for s in model.stages]
    pos = lst["所属阶段"].map(stage_order.index)
    assert pos.is_monotonic_increasing
    assert set(lst["榜单"]) <= {t.name for t in model.tiers}
    vetoed_codes = set(scored.loc[scored["veto"], "credit_code"])
    assert not vetoed_codes & set(lst["统一社会信用代码"])
    # Within a stage the list follows the rank.
    merged = lst.merge(scored, left_on="统一社会信用代码", right_on="credit_code")
    for _, g in merged.groupby("所属阶段", sort=False):
        assert g["rank"].is_monotonic_increasing


def test_stage_summary(model) -> None:
    scored = score(model, _inputs(100, seed=3))
    summary = stage_summary_frame(model, scored)
    assert summary["阶段"].tolist() == [s.name for s in model.stages]
    assert summary["企业数"].sum() == 100
    assert summary["否决"].sum() == 2


def _table(df: pd.DataFrame) -> pd.DataFrame:
    """Like apply_header's output: raw text cells plus the spreadsheet row numbers."""
    t = df.astype(object).where(df.notna(), None).map(lambda v: None if v is None else str(v))
    t[ROW_COLUMN] = np.arange(len(df)) + 2
    return t


def test_parse_score_input_reports_rows_and_columns(model) -> None:
    df = _inputs(8).astype(object)
    df.loc[2, "credit_code"] = df.loc[2, "credit_code"][:-1] + "?"
    df.loc[4, "T01"] = "十万"
    df["T10"] = None
    df.loc[5, "T10"] = "[{"
    df.loc[6, "A01"] = "可能"
    df["T09"] = None
    df.loc[7, "T09"] = "省部级"
    df.loc[3, "credit_code"] = df.loc[1, "credit_code"]
    _, errors = parse_score_input(model, _table(df))
    joined = "\n".join(errors)
    assert "第 4 行 credit_code 列" in joined  # row 2 of the frame = spreadsheet row 4
    assert "第 6 行 T01 列：“十万”不是数字" in joined
    assert "第 7 行 T10 列" in joined and "JSON" in joined
    assert "第 8 行 A01 列" in joined
    assert "第 9 行 T09 列" in joined
    assert "第 5 行 credit_code 列：与第 3 行重复" in joined


def test_parse_score_input_missing_code_column(model) -> None:
    df = _inputs(3).rename(columns={"credit_code": "代码"})
    frame, errors = parse_score_input(model, _table(df))
    assert frame.empty and "credit_code" in errors[0]


def test_parse_score_input_accepts_clean_table(model) -> None:
    df = _inputs(5)
    df["T10"] = json.dumps([{"level": "省", "role": "牵头"}], ensure_ascii=False)
    frame, errors = parse_score_input(model, _table(df))
    assert errors == []
    assert frame["G01"].dtype == np.float64
    assert (score(model, frame)["pts_T10"] > 0).all()


def test_limit_errors() -> None:
    assert limit_errors(["a"] * 3) == ["a"] * 3
    out = limit_errors([str(i) for i in range(30)], limit=5)
    assert len(out) == 6 and "25" in out[-1]


def test_score_output_of_another_model_has_its_own_class_columns() -> None:
    from core.model_loading import parse_model
    from tests.model_shapes import five_class_model

    other = parse_model(five_class_model())
    frame = pd.DataFrame(
        {
            "credit_code": [make_code("1"), make_code("2")],
            "name": ["甲", "乙"],
            "R01": [20000, 600],
            "B01": [1, 0],
        }
    )
    out = score_output_frame(other, score(other, frame))
    assert list(out.columns[3:11]) == [
        "basic",
        "invest",
        "manage",
        "output",
        "env",
        "bonus",
        "deduction",
        "total",
    ]
    assert out["stage"].tolist() == ["领军期", "成长期"]
    labels = score_output_labels(other)
    assert labels[3:8] == ["基础能力得分", "投入能力得分", "管理能力得分", "产出能力得分", "环境能力得分"]
    assert "技术创新得分" not in labels and len(labels) == out.shape[1]


def test_one_stage_average_leaves_vetoed_enterprises_out() -> None:
    from core.model_loading import load_model
    from core.reports import overall_average, stage_average

    model = load_model()
    first, last = model.stage_codes[0], model.stage_codes[-1]
    scores = pd.DataFrame(
        {
            "stage": [first, first, first, last],
            "total": [60.0, 40.0, 99.0, 70.0],
            "veto": [False, False, True, False],
        }
    )
    means = stage_average(model, scores)
    assert means[first] == 50.0 and means[last] == 70.0  # the vetoed 99 takes part in no average
    assert means.isna().sum() == len(model.stage_codes) - 2
    assert overall_average(scores) == 56.67
