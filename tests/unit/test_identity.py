"""Identity resolution: one rule for every import."""

from __future__ import annotations

import pandas as pd
import pytest

from core import credit_code as cc
from core import identity as idn

A, B, C, D = (cc.make_code(s) for s in ("1001", "1002", "1003", "1004"))
REGISTRY = pd.DataFrame(
    {
        "credit_code": [A, B, C, D],
        "name": [
            "温州甲科技有限公司",
            "温州乙电子股份有限公司",
            "浙江丙新材料有限公司",
            "温州丁智能装备有限公司",
        ],
        "former_names": [None, "温州乙电子有限公司", None, None],
    }
)


def s(*values):
    return pd.Series(list(values), dtype=object)


def test_each_key_in_order_with_the_value_it_used():
    bad = A[:-1] + ("0" if A[-1] != "0" else "1")
    keys = idn.Keys(
        credit_code=s(A, None, None, None, None, bad),
        org_code=s(None, f"{B[8:16]}-{B[16]}", None, None, None, None),
        tax_id=s(None, None, C, "330303" + D[8:17], None, None),
        name=s("别的名字", None, None, None, "温州乙电子有限公司", "温州甲科技有限公司"),
    )
    out = idn.resolve(keys, REGISTRY)
    assert out["credit_code"].tolist() == [A, B, C, D, B, A]
    assert out["method"].tolist() == [idn.CREDIT, idn.ORG, idn.TAX, idn.TAX, idn.FORMER, idn.NAME]
    assert out["key"].tolist()[:3] == [A, f"{B[8:16]}-{B[16]}", C]
    # a checksum-invalid code is a warning naming the row, never a silent drop
    assert out["warning"].iloc[5].startswith("第 7 行统一社会信用代码")
    assert out["warning"].iloc[:5].isna().all()


def test_names_normalised_and_file_former_name():
    keys = idn.Keys(
        name=s("温州甲科技有限公司 ", "浙江丙新材料（温州）有限公司", "温州丁智能装备有限公司"),
        former_names=s(None, "浙江丙新材料有限公司；某旧名", None),
    )
    out = idn.resolve(keys, REGISTRY.assign(name=REGISTRY["name"].str.replace("温州丁", "温州丁 ")))
    assert out["method"].tolist() == [idn.NAME, idn.FORMER, idn.NAME]
    assert out["credit_code"].tolist() == [A, C, D]


def test_fuzzy_name_waits_with_candidates_until_accepted():
    keys = idn.Keys(name=s("温州甲科技公司", "完全不同的企业"))
    out = idn.resolve(keys, REGISTRY)
    assert out["method"].tolist() == [idn.PENDING, idn.UNMATCHED]
    assert out["credit_code"].isna().all()
    assert out["candidates"].iloc[0][0]["credit_code"] == A
    assert out["candidates"].iloc[0][0]["score"] >= idn.FUZZY_MIN_SCORE
    accepted = idn.resolve(keys, REGISTRY, accepted={2: A})
    assert accepted["credit_code"].iloc[0] == A and pd.isna(accepted["credit_code"].iloc[1])
    assert accepted["method"].tolist() == [idn.FUZZY, idn.UNMATCHED]


def test_ambiguous_name_is_not_an_exact_match():
    reg = pd.concat(
        [REGISTRY, pd.DataFrame({"credit_code": [cc.make_code("1005")], "name": ["温州甲科技有限公司"]})],
        ignore_index=True,
    )
    out = idn.resolve(idn.Keys(name=s("温州甲科技有限公司")), reg)
    assert out["method"].iloc[0] == idn.PENDING
    assert {c["credit_code"] for c in out["candidates"].iloc[0]} >= {A, cc.make_code("1005")}


def test_accept_match_syntax():
    assert idn.parse_accepted([f"5={A.lower()}"]) == {5: A}
    with pytest.raises(ValueError, match="行号"):
        idn.parse_accepted(["x=1"])
