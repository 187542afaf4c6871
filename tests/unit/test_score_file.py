"""core.score_file: a value-contract table scored offline, or every reason it cannot be."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from core.credit_code import make_code
from core.model_loading import load_model
from core.score_file import score_table

MODEL = load_model()


def _sheet(n: int = 12) -> pd.DataFrame:
    """A sheet as read: a title row above the header, every cell text (as a reader returns it)."""
    rng = np.random.default_rng(5)
    table = pd.DataFrame(
        {
            "credit_code": [make_code(str(800000 + i)) for i in range(n)],
            "name": [f"温州试算{i}科技有限公司" for i in range(n)],
            "G01": np.round(10 ** rng.uniform(0.5, 4.6, n), 1).astype(str),
            "T01": np.round(rng.uniform(0, 400, n), 2).astype(str),
            "T04": rng.integers(0, 20, n).astype(str),
            "staff": rng.integers(20, 200, n).astype(str),
            "T10": [json.dumps([{"level": "省", "role": "牵头"}], ensure_ascii=False)] * n,
            "N01": ["是"] + ["否"] * (n - 1),
        }
    )
    title = pd.DataFrame([["2025 年度试算"] + [""] * (table.shape[1] - 1)], columns=table.columns)
    header = pd.DataFrame([list(table.columns)], columns=table.columns)
    raw = pd.concat([title, header, table], ignore_index=True)
    raw.columns = range(raw.shape[1])
    return raw


def test_a_good_table_is_scored_and_ranked_with_its_veto() -> None:
    result = score_table(MODEL, _sheet())
    assert not result.errors and result.frame is not None
    frame = result.frame
    assert len(frame) == 12 and frame["credit_code"].iloc[0] == make_code("800000")
    assert result.vetoed == 1 and pd.isna(frame["rank"].iloc[0])  # 严重失信: vetoed, not ranked
    assert result.ranked == 11
    assert len(result.labels) == len(frame.columns)  # one Chinese label per output column


def test_problems_name_the_sheet_row_and_nothing_is_scored() -> None:
    raw = _sheet()
    raw.iloc[4, 3] = "abc"  # T01 of the third enterprise, sheet row 5
    raw.iloc[5, 6] = "[{not json"  # T10 of the fourth enterprise: the engine's parse, sheet row 6
    result = score_table(MODEL, raw)
    assert result.frame is None and result.ranked == 0
    assert any(e.startswith("第 5 行 T01 列") and "abc" in e for e in result.errors)
    assert any(e.startswith("第 6 行 T10 列") for e in result.errors)


def test_a_table_without_credit_codes_says_so() -> None:
    raw = _sheet()
    raw.iloc[1, 0] = "代码"
    result = score_table(MODEL, raw)
    assert result.frame is None and "credit_code" in result.errors[0]


def test_the_header_row_names_another_zones_classes_and_lists() -> None:
    """Under a zone model (tests/zone_model.py) every header and cell is in its words: its bonus class 附加,
    its stages and lists — the default model's 辅助加分 would name a class the zone does not have."""
    from tests.zone_model import leaks, zone_model

    zone = zone_model()
    n = 40
    rng = np.random.default_rng(3)
    table = pd.DataFrame(
        {
            "credit_code": [make_code(str(810000 + i)) for i in range(n)],
            "name": [f"星城试算{i}有限公司" for i in range(n)],
            "Y01": np.round(10 ** rng.uniform(1, 5, n), 1).astype(str),
            "K01": np.round(rng.uniform(0, 400, n), 2).astype(str),
            "P01": ["是" if i % 3 == 0 else "否" for i in range(n)],
        }
    )
    raw = pd.concat([pd.DataFrame([list(table.columns)], columns=table.columns), table], ignore_index=True)
    raw.columns = range(raw.shape[1])
    result = score_table(zone, raw)
    assert not result.errors and result.frame is not None
    assert result.labels[3:6] == ["科创能力得分", "经营质量得分", "附加（加分）"]
    shown = " ".join(result.labels) + result.frame.astype(str).to_string()
    assert not leaks(shown), leaks(shown)
    assert set(result.frame["stage"]) <= {s.name for s in zone.stages}
    assert set(result.frame["tier"]) - {""} == {"星火", "燎原"}
    assert score_table(MODEL, _sheet()).labels[5] == "辅助加分"  # the default model's header as before
