"""Source profiles, pure part: amounts with units, patent numbers, patent counting."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from core import source_profiles as sp
from core.credit_code import make_code
from core.importing import TemplateColumn
from core.spreadsheet import ROW_COLUMN
from tests.patent_lists import PATENT_HEAD, patent_number, patent_row, wrong_check_number

RATES = {2025: Decimal("7.1884")}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("305843.0395万元人民币", Decimal("305843.0395")),
        ("2亿元", Decimal("20000")),
        ("1,200万人民币", Decimal("1200")),
        ("500万美元", Decimal("3594.2000")),
        ("1.5亿美元", Decimal("107826.0000")),
        ("80000元", Decimal("8")),
    ],
)
def test_amounts_parsed_exactly(text, value):
    a = sp.parse_amount(text, 2025, RATES)
    assert (a.status, a.value) == ("ok", value)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("未披露", "text"),
        ("数千万人民币", "text"),
        ("近亿元", "text"),
        ("超1亿元", "text"),
        ("1200", "refused"),
        ("三百万", "refused"),
        ("abc", "refused"),
    ],
)
def test_undisclosed_kept_as_text_others_refused(text, status):
    a = sp.parse_amount(text, 2025, RATES)
    assert a.status == status and a.value is None


def test_dollars_without_a_declared_rate_are_refused():
    a = sp.parse_amount("500万美元", 2019, RATES)
    assert a.status == "refused" and "2019" in a.message


def test_patent_numbers_type_and_check_character():
    p = sp.parse_patent("CN201710601862.3")  # the check character of a real application (weights 2–9, 2–5)
    assert (p.number, p.kind, p.problem) == ("201710601862.3", "发明", None)
    assert sp.parse_patent("ZL 2017 1 0601862.3").number == "201710601862.3"
    assert sp.parse_patent("201710601862.4").problem.startswith("申请号“201710601862.4”的校验位应为“3”")
    body = "20192" + "0123456"
    assert sp.parse_patent(f"CN{body}.{sp.patent_check(body)}").kind == "实用新型"
    assert sp.parse_patent(f"{'20198' + '0000001'}.{sp.patent_check('201980000001')}").kind == "PCT"
    assert (
        sp.parse_patent("97101765" + sp.patent_check("97101765")).kind == "发明"
    )  # the 8-digit numbers before 2003


INV = TemplateColumn(
    code="T13", name="与主营业务相关的发明专利申请量", unit="件", kind="number", department="专利清单"
)
PCT = TemplateColumn(
    code="T14", name="与主营业务相关的PCT专利申请量", unit="件", kind="number", department="专利清单"
)
A, B = make_code("51"), make_code("52")
REG = pd.DataFrame({"credit_code": [A, B], "name": ["温州甲科技有限公司", "温州乙电子有限公司"]})


def patents(rows: list[list]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=PATENT_HEAD)
    df.insert(0, ROW_COLUMN, range(2, 2 + len(df)))
    return df


def test_patents_counted_by_type_once_per_enterprise_across_files():
    p = sp.get_profile("专利清单")
    first = patents(
        [
            patent_row(
                patent_number("202510000001"), "2025-01-02", "一", "温州甲科技有限公司", status="实审"
            ),
            patent_row(
                patent_number("202510000002"),
                "2025-02-02",
                "二",
                "温州甲科技有限公司；温州乙电子有限公司",
                status="实审",
            ),
            patent_row(
                patent_number("202520000003"), "2025-03-02", "三", "温州甲科技有限公司", status="授权"
            ),
            patent_row(
                patent_number("202580000004"),
                "2025-04-02",
                "四",
                "温州甲科技有限公司",
                status="实审",
                pct="PCT/CN2025/1",
            ),
            patent_row(
                patent_number("202410000005"), "2024-12-30", "五", "温州甲科技有限公司", status="实审"
            ),
            patent_row(
                wrong_check_number("202510000006"), "2025-05-01", "六", "温州甲科技有限公司", status="实审"
            ),
        ]
    )
    built = sp.build(p, first, year=2025, registry=REG, columns=[INV, PCT])
    got = built.table.set_index("统一社会信用代码")
    assert got.loc[A, INV.name] == 2 and got.loc[A, PCT.name] == 1  # 实用新型 and last year's not counted
    assert got.loc[B, INV.name] == 1  # a joint application counts for each applicant
    flags = {f["row"]: f["problem"] for f in built.flags}
    assert (
        "申请号表明是“实用新型”" in flags[4]
    )  # 专利类型 disagrees with the type digit: flagged, counted by number
    assert "校验位" in flags[7] and built.refused == 1
    # a second file repeats 000001 and adds 000007: A's count is 3, not 4
    second = patents(
        [
            patent_row(
                patent_number("202510000001"),
                "2025-01-02",
                "一",
                "温州甲科技有限公司",
                kind="发明专利",
                status="实审",
            ),
            patent_row(
                patent_number("202510000007"),
                "2025-06-02",
                "七",
                "温州甲科技有限公司",
                kind="发明专利",
                status="实审",
            ),
        ]
    )
    again = sp.build(
        p, second, year=2025, registry=REG, columns=[INV, PCT], known_patents={A: set(built.patents[A])}
    )
    assert again.table.set_index("统一社会信用代码").loc[A, INV.name] == 3
    assert again.table.set_index("统一社会信用代码").loc[A, PCT.name] == 1


def test_profiles_recognised_from_headers():
    assert sp.recognise(PATENT_HEAD).name == "专利清单"
    assert (
        sp.recognise(
            ["公司名称", "登记状态", "成立日期", "统一社会信用代码", "参保人数", "注册资本", "实缴资本"]
        ).name
        == "天眼查"
    )
    assert sp.recognise(["认定年份", "企业名称", "区县市"]).name == "科技型中小企业名单"
    assert sp.recognise(["统一社会信用代码", "企业名称", "研发费用总额"]) is None
