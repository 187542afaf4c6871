"""Yes/no text has one meaning: the importer, the offline score input, the engine (flags and item
factors) and the list text all read the same cells the same way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import importing
from core.credit_code import make_code
from core.engine import score
from core.listtext import items_text
from core.model_loading import load_model
from core.reports import parse_score_input
from core.spreadsheet import ROW_COLUMN
from core.yesno import FALSE_TEXT, TRUE_TEXT, is_true

MODEL = load_model()
YES_CELLS = sorted(TRUE_TEXT) + ["TRUE", " 是 ", "Yes", "T"]
NO_CELLS = sorted(FALSE_TEXT) + ["FALSE", " 否 ", "No", "F"]
NEITHER = ["可能", "maybe", "2", "x"]


def test_the_sets_hold_the_union_of_the_former_readers() -> None:
    assert {"1", "1.0", "t", "✓", "√", "有", "是", "y"} <= TRUE_TEXT
    assert {"0", "0.0", "f", "无", "否", "n"} <= FALSE_TEXT
    assert not TRUE_TEXT & FALSE_TEXT


@pytest.mark.parametrize(("cell", "yes"), [(c, True) for c in YES_CELLS] + [(c, False) for c in NO_CELLS])
def test_is_true(cell: str, yes: bool) -> None:
    assert is_true(cell) is yes


def test_numbers_and_booleans() -> None:
    assert is_true(True) and is_true(1) and is_true(2.5) and is_true(np.int64(1))
    assert not (is_true(False) or is_true(0) or is_true(0.0) or is_true(float("nan")))


def test_engine_flag_reads_the_same_cells() -> None:
    cells = YES_CELLS + NO_CELLS
    rows = [{"credit_code": make_code(str(i)), "name": "企业", "A01": c} for i, c in enumerate(cells)]
    f = score(MODEL, pd.DataFrame(rows))["f_A01"].tolist()
    assert f == [1.0] * len(YES_CELLS) + [0.0] * len(NO_CELLS)


def test_engine_item_factor_reads_the_same_cells() -> None:
    # A05: a provincial award is 6 points; "not among the first three units" (top3 false) halves it.
    cells = YES_CELLS + NO_CELLS
    rows = [
        {"credit_code": make_code(str(i)), "name": "企业", "A05": [{"level": "省", "top3": c}]}
        for i, c in enumerate(cells)
    ]
    pts = score(MODEL, pd.DataFrame(rows))["pts_A05"].tolist()
    assert pts == [6.0] * len(YES_CELLS) + [3.0] * len(NO_CELLS)


def test_list_text_reads_the_same_cells() -> None:
    a05 = next(i for i in MODEL.indicators if i.code == "A05")
    for c in YES_CELLS:
        assert items_text([{"level": "省", "top3": c}], a05) == "省级·前三完成单位 1 项", c
    for c in NO_CELLS:
        assert items_text([{"level": "省", "top3": c}], a05) == "省级·非前三完成单位 1 项", c


def test_importer_reads_the_same_cells() -> None:
    a08 = next(c for c in importing.department_columns(MODEL, "税务") if c.code == "A08")
    cells = YES_CELLS + NO_CELLS + NEITHER
    codes = [make_code(str(i)) for i in range(len(cells))]
    table = pd.DataFrame({"统一社会信用代码": codes, a08.name: cells})
    table[ROW_COLUMN] = np.arange(len(table)) + 2
    v = importing.validate(MODEL, "税务", table, known_codes=set(codes))
    assert sorted(v.errors["row"].tolist()) == [len(YES_CELLS) + len(NO_CELLS) + 2 + i for i in range(4)]
    got = dict(zip(v.values["credit_code"], v.values["value_num"], strict=True))
    assert [got[c] for c in codes[: len(YES_CELLS) + len(NO_CELLS)]] == [1.0] * len(YES_CELLS) + [0.0] * len(
        NO_CELLS
    )


def test_offline_score_input_accepts_the_same_cells() -> None:
    cells = YES_CELLS + NO_CELLS + NEITHER
    table = pd.DataFrame(
        {"credit_code": [make_code(str(i)) for i in range(len(cells))], "name": "企业", "A01": cells}
    )
    table[ROW_COLUMN] = np.arange(len(table)) + 2
    _, errors = parse_score_input(MODEL, table)
    assert len(errors) == len(NEITHER)
    assert all(" A01 列" in e for e in errors)
