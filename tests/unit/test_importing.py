"""core.importing: templates from the model, header mapping, validation and outlier flags (no database)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core import importing
from core.credit_code import make_code
from core.model_loading import load_model
from core.spreadsheet import ROW_COLUMN

MODEL = load_model()


def test_department_columns_follow_the_model_sources() -> None:
    derived = {d.target for d in MODEL.derivations}
    for dept in importing.DEPARTMENTS:
        cols = importing.department_columns(MODEL, dept)
        assert cols, dept
        for c in cols:
            assert c.code not in derived
            source = next(
                (i.source for i in MODEL.indicators if i.code == c.code),
                next((b.source for b in MODEL.base_fields if b.code == c.code), ""),
            )
            assert dept in source
    every = {c.code for c in importing.department_columns(MODEL, importing.ALL_DEPARTMENTS)}
    assert every == {c.code for d in importing.DEPARTMENTS for c in importing.department_columns(MODEL, d)}


def test_header_mapping_accepts_code_name_and_name_with_unit() -> None:
    cols = importing.department_columns(MODEL, "税务")
    first = cols[0]
    m = importing.map_headers(
        ["统一社会信用代码", " 企业名称 ", first.code, f"{cols[1].name}（{cols[1].unit}）", "备注"], cols
    )
    assert m.code_column == "统一社会信用代码" and m.name_column == " 企业名称 "
    assert (
        m.columns[first.code].code == first.code and m.columns[f"{cols[1].name}（{cols[1].unit}）"] is cols[1]
    )
    assert m.ignored == ["备注"]


def _table(rows: list[list], head: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=head).astype("str")
    df[ROW_COLUMN] = np.arange(len(df)) + 2
    return df


def test_validate_reports_each_problem_with_row_and_fix() -> None:
    cols = {c.code: c for c in importing.department_columns(MODEL, "税务")}
    head = ["统一社会信用代码", cols["G01"].name, cols["G08"].name, cols["A08"].name]
    good = make_code("1")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    t = _table([[good, "1,200", "50", "是"], [bad, "x", "150", "maybe"], [good, "-3", "20", "否"]], head)
    v = importing.validate(MODEL, "税务", t, known_codes={good})
    problems = {(e.row, e.column): e.problem for e in v.errors.itertuples()}
    assert "校验位" in problems[(3, "统一社会信用代码")]
    assert problems[(3, cols["G01"].name)] == "不是数字"
    assert "0–100" in problems[(3, cols["G08"].name)]
    assert "是" in problems[(3, cols["A08"].name)]
    assert "重复" in problems[(4, "统一社会信用代码")] and problems[(4, cols["G01"].name)] == "不能为负数"
    assert v.error_rows == 3 and v.values.empty


def test_outliers_are_flagged_within_stage_on_compressed_scales() -> None:
    rng = np.random.default_rng(1)
    amounts = pd.Series(rng.lognormal(4, 0.5, 200))
    amounts[5] = 1e7
    groups = pd.Series(["a"] * 200)
    flag, lo, hi = importing.outlier_mask(amounts, groups)
    assert list(np.flatnonzero(flag)) == [5] and lo[0] < amounts.median() < hi[0]
    # Profit around zero: sign changes are not outliers, a huge loss is.
    profit = pd.Series(rng.normal(0, 30, 200))
    profit[7] = -1e6
    flag, _, _ = importing.outlier_mask(profit, groups, log=False)
    assert list(np.flatnonzero(flag)) == [7]
    # A small group flags nothing.
    assert not importing.outlier_mask(amounts.head(10), groups.head(10))[0].any()


def test_amount_cells_with_a_unit_read_like_the_number_parser() -> None:
    # Full-width digits and comma, spaces and a byte-order mark: the number parser's reading
    # (core.spreadsheet) with the unit converted exactly to the column's 万元.
    col = next(c for c in importing.department_columns(MODEL, "税务") if c.code == "T01")
    raw = pd.Series(
        ["１，２００万元", "\ufeff5万元", "1,234.5元", " 3 亿元", "0.1千元", " N / A ", "5件"], dtype=object
    )
    values, problem, fix = importing.parse_amounts(raw, col)
    assert values[:5].tolist() == [1200.0, 5.0, 0.12345, 30000.0, 0.01]
    assert problem[:5].tolist() == [None] * 5
    assert problem[5] == "“N/A”不是数字" and "填 0 表示没有" in fix[5]
    assert problem[6] == "单位“件”与本列单位“万元”不符"


def test_yes_no_cells_typed_full_width_or_pasted_with_invisible_characters_read_as_yes_or_no() -> None:
    cols = {c.code: c for c in importing.department_columns(MODEL, "税务")}
    head = ["统一社会信用代码", cols["A08"].name]
    codes = [make_code(str(i)) for i in range(6)]
    cells = ["是\u200b", "Ｙ", "１", "\u3000否\u3000", "ＮＯ", "是否"]
    t = _table([[c, v] for c, v in zip(codes, cells, strict=True)], head)
    v = importing.validate(MODEL, "税务", t, known_codes=set(codes))
    assert v.errors[["row", "problem"]].values.tolist() == [[7, "应填写“是”或“否”"]]
    got = dict(zip(v.values["credit_code"], v.values["value_num"], strict=True))
    assert got == {codes[0]: 1.0, codes[1]: 1.0, codes[2]: 1.0, codes[3]: 0.0, codes[4]: 0.0}
