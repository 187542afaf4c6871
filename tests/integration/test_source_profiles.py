"""Source profiles on both backends: files as 企查查, 天眼查, financing lists and government
rosters write them — names only, mixed keys, units in text — through the one dry run / commit / undo."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select
from sqlmodel import Session

from core import identity
from core.credit_code import make_code
from db.models import Enterprise, ImportBatch
from db.values import stored_values
from services import imports
from services.actor import Actor
from services.errors import ValidationFailed
from tests.patent_lists import PATENT_HEAD, patent_number, patent_row, wrong_check_number
from tests.seeded import add_enterprises
from tests.values import with_credit_codes
from tests.workbooks import workbook

OFFICER = Actor(username="officer1", role="officer", user_id=1)
YEAR = 2025
CODES = [make_code(str(7000 + i)) for i in range(8)]
NAMES = [
    "温州甲科技有限公司",
    "温州乙电子股份有限公司",
    "浙江丙新材料有限公司",
    "温州丁智能装备有限公司",
    "温州戊生物医药有限公司",
    "温州己光电科技有限公司",
    "温州庚精密机械有限公司",
    "温州辛软件有限公司",
]
# The business-register columns 企查查 and 天眼查 exports both carry, in this order.
REGISTER = ["登记状态", "法定代表人", "注册资本", "实缴资本", "成立日期", "统一社会信用代码"]
# A 企查查 export's header row, column for column.
QCC_HEAD = [
    "序号",
    "企业名称",
    *REGISTER,
    "企业地址",
    "电话",
    "邮箱",
    "纳税人识别号",
    "注册号",
    "组织机构代码",
    "参保人数",
    "参保人数所属年报",
    "企业类型",
    "国标行业门类",
    "国标行业大类",
    "国标行业中类",
    "国标行业小类",
    "企业规模",
    "曾用名",
    "英文名",
    "官网",
    "经营范围",
]


@pytest.fixture
def db(session: Session) -> Session:
    return add_enterprises(session, CODES, NAMES)


def xlsx(head: list, body: list[list]) -> bytes:
    return workbook(("Sheet", [head, *body]))


def dry(session: Session, department: str, file_name: str, data: bytes, **kw: object) -> imports.ImportReport:
    """The officer's dry run of ``data`` as ``department``'s file for :data:`YEAR`."""
    return imports.dry_run_import(
        session, actor=OFFICER, department=department, year=YEAR, file_name=file_name, data=data, **kw
    )


def qcc_row(name="", code="", tax="", org="", staff=None, report_year=YEAR, former="") -> list:
    cells = dict.fromkeys(QCC_HEAD, "-")
    cells.update(
        {
            "企业名称": name,
            "统一社会信用代码": code,
            "纳税人识别号": tax,
            "组织机构代码": org,
            "参保人数": staff,
            "参保人数所属年报": f"{report_year}年报",
            "曾用名": former,
            "注册资本": "1000万元人民币",
        }
    )
    return [cells[h] for h in QCC_HEAD]


def current(session: Session, code: str) -> dict[str, tuple]:
    rows = with_credit_codes(session, stored_values(session, code=code, year=YEAR, current=True))
    return {
        r["credit_code"]: (
            None if pd.isna(r["value_num"]) else r["value_num"],
            r["value_text"],
            r["source"],
            r["batch_id"],
        )
        for r in rows.to_dict("records")
    }


def bad_check(code: str) -> str:
    return code[:-1] + ("1" if code[-1] != "1" else "2")


def test_qichacha_mixed_keys_match_methods_and_pending_fuzzy(db: Session):
    data = xlsx(
        QCC_HEAD,
        [
            qcc_row(name=NAMES[0], code=CODES[0], staff=120),  # row 2: credit code
            qcc_row(name="", org=f"{CODES[1][8:16]}-{CODES[1][16]}", staff=80),  # row 3: 组织机构代码 only
            qcc_row(name="", tax=CODES[2], staff=45),  # row 4: 纳税人识别号 only
            qcc_row(name=NAMES[3], staff=30),  # row 5: name only
            qcc_row(name="温州戊生物科技有限公司", former=NAMES[4], staff=66),  # row 6: renamed, 曾用名
            qcc_row(name="温州己光电科技公司", staff=99),  # row 7: fuzzy → waits
            qcc_row(name=NAMES[6], code=bad_check(CODES[6]), staff=12),  # row 8: bad check char
            qcc_row(name=NAMES[7], code=CODES[7], staff=500, report_year=YEAR - 1),  # row 9: another year
            qcc_row(name="杭州不在本区有限公司", staff=7),  # row 10: not registered
        ],
    )
    report = dry(db, "企查查", "企查查导出.xlsx", data)
    db.commit()
    assert report.ok
    methods = {m["row"]: m["method"] for m in report.matches}
    assert methods == {
        2: identity.CREDIT,
        3: identity.ORG,
        4: identity.TAX,
        5: identity.NAME,
        6: identity.FORMER,
        8: identity.NAME,
        9: identity.CREDIT,
    }
    assert [p["row"] for p in report.pending] == [7]
    assert report.pending[0]["candidates"][0]["credit_code"] == CODES[5]
    assert any(f["row"] == 8 and "统一社会信用代码" in f["problem"] for f in report.flags)
    assert {s["row"] for s in report.skipped} >= {7, 9, 10}
    assert current(db, "insured_staff") == {}  # a dry run writes nothing

    done = imports.commit_import(db, actor=OFFICER, data=data, batch_id=report.batch_id)
    db.commit()
    stored = current(db, "insured_staff")
    assert {c: v[0] for c, v in stored.items()} == {
        CODES[0]: 120,
        CODES[1]: 80,
        CODES[2]: 45,
        CODES[3]: 30,
        CODES[4]: 66,
        CODES[6]: 12,
    }
    assert (
        CODES[5] not in stored and CODES[7] not in stored
    )  # unconfirmed and other-year rows changed nothing
    assert {v[2] for v in stored.values()} == {"企查查"}
    batch = db.get(ImportBatch, done.batch_id)
    # provenance: the file, and per row the key used and the match method
    assert batch.file_name == "企查查导出.xlsx"
    by_row = {m["row"]: m for m in batch.details["matches"]}
    assert by_row[3] == {
        "row": 3,
        "credit_code": CODES[1],
        "method": identity.ORG,
        "key": f"{CODES[1][8:16]}-{CODES[1][16]}",
    }

    # the officer accepts the fuzzy candidate: only then row 7 is written
    again = dry(db, "企查查", "企查查导出.xlsx", data, accepted_matches={7: CODES[5]})
    assert {m["row"]: m["method"] for m in again.matches}[7] == identity.FUZZY
    imports.commit_import(db, actor=OFFICER, data=data, batch_id=again.batch_id, confirm_duplicate=True)
    db.commit()
    assert current(db, "insured_staff")[CODES[5]][0] == 99
    # undo is the existing one
    imports.undo_batch(db, actor=OFFICER, batch_id=again.batch_id)
    db.commit()
    assert CODES[5] not in current(db, "insured_staff")


def test_financing_amounts_units_in_text_rates_and_undisclosed(db: Session):
    head = ["序号", "融资日期", "融资轮次", "融资金额", "投资机构", "公司全称", "所属行业"]
    data = xlsx(
        head,
        [
            [1, "2025-03-01", "A轮", "2亿元人民币", "某资本", NAMES[0], "制造"],
            [2, "2025-09-12", "B轮", "305843.0395万元人民币", "某基金", NAMES[0], "制造"],
            [3, "2025-05-20", "天使轮", "500万美元", "某天使", NAMES[1], "软件"],
            [4, "2025-06-01", "Pre-A轮", "未披露", "某投资", NAMES[2], "材料"],
            [5, "2025-07-01", "A轮", "数千万人民币", "某投资", NAMES[3], "装备"],
            [6, "2025-07-02", "A+轮", "1200万人民币", "某投资", NAMES[3], "装备"],
            [7, "2024-12-30", "种子轮", "300万人民币", "某投资", NAMES[4], "医药"],
            [8, "2025-01-05", "A轮", "三百万", "某投资", NAMES[6], "机械"],
        ],
    )
    assert imports.recognise_profile(data, "融资.xlsx") == "融资事件"
    report = dry(db, "融资事件", "融资.xlsx", data)
    assert report.ok
    imports.commit_import(db, actor=OFFICER, data=data, batch_id=report.batch_id)
    db.commit()
    stored = {c: v[0] for c, v in current(db, "G07").items()}
    # 20000 + 305843.0395 万元; 500 万美元 × 7.1884 (2025's declared rate)
    assert stored == {
        CODES[0]: pytest.approx(325843.0395, abs=1e-9),
        CODES[1]: pytest.approx(3594.2, abs=1e-9),
    }
    flagged = {f["row"]: f["problem"] for f in report.flags}
    assert "未披露" in flagged[5] and "约数" in flagged[6] and "无法识别" in flagged[9]
    # 未披露 / 数千万 never became a number (丁's 1200 万 alone would understate it), other years are out
    assert (
        CODES[2] not in stored
        and CODES[3] not in stored
        and CODES[4] not in stored
        and CODES[6] not in stored
    )


def test_government_rosters_names_only_tax_id_and_org_code(db: Session):
    sme = xlsx(
        ["认定年份", "企业名称", "区县市"],
        [
            [YEAR, NAMES[0], "龙湾区"],
            [YEAR, NAMES[1], "龙湾区"],
            [YEAR - 1, NAMES[2], "龙湾区"],
            [YEAR, "温州不存在有限公司", "鹿城区"],
        ],
    )
    assert imports.recognise_profile(sme, "科小.xlsx") == "科技型中小企业名单"
    r = dry(db, "科技型中小企业名单", "科小.xlsx", sme)
    assert {m["method"] for m in r.matches} == {identity.NAME}
    imports.commit_import(db, actor=OFFICER, data=sme, batch_id=r.batch_id)
    tax = xlsx(
        ["序号", "纳税人识别号", "纳税人名称", "评价年度"],
        [[1, CODES[3], NAMES[3], YEAR], [2, "330303" + CODES[4][8:17], "旧税号企业", YEAR]],
    )
    r2 = dry(db, "纳税信用A级名单", "A级.xlsx", tax)
    assert {m["row"]: m["method"] for m in r2.matches} == {2: identity.TAX, 3: identity.TAX}
    imports.commit_import(db, actor=OFFICER, data=tax, batch_id=r2.batch_id)
    hte = xlsx(
        ["企业名称", "证书编号", "认定年份", "组织机构代码", "发证日期"],
        [["改名后的名字", "GR202333000001", YEAR - 2, CODES[5][8:17], "2023-12-08"]],
    )
    r3 = dry(db, "高新技术企业名单", "高企.xlsx", hte)
    assert r3.matches[0]["method"] == identity.ORG
    imports.commit_import(db, actor=OFFICER, data=hte, batch_id=r3.batch_id)
    db.commit()
    assert {c: v[0] for c, v in current(db, "A02").items()} == {CODES[0]: 1.0, CODES[1]: 1.0}
    assert {c: v[0] for c, v in current(db, "A08").items()} == {CODES[3]: 1.0, CODES[4]: 1.0}
    assert {c: v[0] for c, v in current(db, "A01").items()} == {CODES[5]: 1.0}


def _national18(session: Session) -> None:
    from core.model_loading import load_model
    from services.model_versions import publish_model_version, register_model

    admin = Actor(username="admin", role="admin", user_id=2)
    version = register_model(
        session,
        actor=admin,
        definition=load_model(
            __import__("pathlib").Path(__file__).resolve().parents[2] / "core" / "models" / "national-18.toml"
        ).to_dict(),
    )
    publish_model_version(session, actor=admin, version_id=version.id)
    session.commit()


def test_patent_lists_count_once_per_enterprise_across_two_files(db: Session):
    _national18(db)

    head = ["序号", *PATENT_HEAD]
    first = xlsx(
        head,
        [
            [
                1,
                *patent_row(
                    patent_number("202510000001"),
                    "2025-01-02",
                    "一",
                    NAMES[0],
                    publication="CN1A",
                    holder=NAMES[0],
                ),
            ],
            [
                2,
                *patent_row(
                    patent_number("202510000002"),
                    "2025-02-02",
                    "二",
                    f"{NAMES[0]};{NAMES[1]}",
                    publication="CN2A",
                ),
            ],
            [
                3,
                *patent_row(
                    patent_number("202580000003"),
                    "2025-03-02",
                    "三",
                    NAMES[0],
                    publication="CN3A",
                    pct="PCT/CN2025/000003",
                ),
            ],
            [
                4,
                *patent_row(
                    patent_number("202520000004"),
                    "2025-03-09",
                    "四",
                    NAMES[0],
                    publication="CN4U",
                    granted="2025-08-01",
                    status="授权",
                ),
            ],
            [5, *patent_row(wrong_check_number("202510000005"), "2025-04-01", "五", NAMES[1])],
        ],
    )
    r1 = dry(db, "专利清单", "专利一.xlsx", first)
    assert any(f["row"] == 5 and "申请号表明是“实用新型”" in f["problem"] for f in r1.flags)
    assert any(f["row"] == 6 and "校验位" in f["problem"] for f in r1.flags)
    imports.commit_import(db, actor=OFFICER, data=first, batch_id=r1.batch_id)
    db.commit()
    assert {c: v[0] for c, v in current(db, "N05").items()} == {CODES[0]: 2, CODES[1]: 1}
    assert {c: v[0] for c, v in current(db, "N06").items()} == {CODES[0]: 1, CODES[1]: 0}
    # the second file (another export) repeats 000001 and 000002 and adds one new application
    second = xlsx(
        head,
        [
            [
                1,
                *patent_row(
                    patent_number("202510000001"),
                    "2025-01-02",
                    "一",
                    NAMES[0],
                    kind="发明专利",
                    publication="CN1A",
                ),
            ],
            [
                2,
                *patent_row(
                    patent_number("202510000002"),
                    "2025-02-02",
                    "二",
                    NAMES[1],
                    kind="发明专利",
                    publication="CN2A",
                ),
            ],
            [
                3,
                *patent_row(
                    patent_number("202510000006"),
                    "2025-05-02",
                    "六",
                    NAMES[0],
                    kind="发明专利",
                    publication="CN6A",
                ),
            ],
        ],
    )
    r2 = dry(db, "专利清单", "专利二.xlsx", second)
    imports.commit_import(db, actor=OFFICER, data=second, batch_id=r2.batch_id)
    db.commit()
    assert {c: v[0] for c, v in current(db, "N05").items()} == {CODES[0]: 3, CODES[1]: 1}
    assert {c: v[0] for c, v in current(db, "N06").items()} == {CODES[0]: 1, CODES[1]: 0}


def test_provenance_names_the_file_the_key_and_the_match_method(db: Session):
    from services.compare import value_provenance
    from services.runs import compute_run

    data = xlsx(["认定年份", "企业名称", "区县市"], [[YEAR, NAMES[0], "龙湾区"]])
    r = dry(db, "科技型中小企业名单", "科小名单.xlsx", data)
    imports.commit_import(db, actor=OFFICER, data=data, batch_id=r.batch_id)
    db.commit()
    run = compute_run(db, actor=OFFICER, year=YEAR)
    db.commit()
    ent = db.execute(select(Enterprise).where(Enterprise.credit_code == CODES[0])).scalar_one()
    prov = value_provenance(db, actor=OFFICER, enterprise_id=ent.id, run_id=run.id).set_index("code")
    assert (
        prov.loc["A02", "origin"]
        == f"导入批次 #{r.batch_id} 科小名单.xlsx（第 2 行，按企业名称“{NAMES[0]}”识别）"
    )


def test_tianyancha_names_only_capital_as_text_is_not_imported(db: Session):
    # a 天眼查 export's header row, column for column
    head = [
        "公司名称",
        *REGISTER,
        "参保人数",
        "所属省份",
        "所属城市",
        "所属区县",
        "电话",
        "邮箱",
        "公司类型",
        "所属行业",
        "曾用名",
        "经营范围",
    ]
    # 省份 … 经营范围: the same for both rows
    rest = ["浙江省", "温州市", "龙湾区", "-", "-", "有限责任公司", "制造业", "", "-"]
    data = xlsx(
        head,
        [
            [
                NAMES[2],
                "存续",
                "张三",
                "305843.0395万元人民币",
                "1000万元人民币",
                "2015-06-01",
                "",
                58,
                *rest,
            ],
            [NAMES[3], "存续", "李四", "500万美元", "-", "2018-01-01", CODES[3], "-", *rest],
        ],
    )
    assert imports.recognise_profile(data, "天眼查.xlsx") == "天眼查"
    r = dry(db, "天眼查", "天眼查.xlsx", data)
    assert {m["row"]: m["method"] for m in r.matches} == {2: identity.NAME, 3: identity.CREDIT}
    assert r.ok
    assert current(db, "insured_staff") == {}  # the dry run wrote nothing
    imports.commit_import(db, actor=OFFICER, data=data, batch_id=r.batch_id)
    db.commit()
    # "-" is 天眼查's "not published": no value, never a refusal of the file; 注册资本 has no indicator
    assert {c: v[0] for c, v in current(db, "insured_staff").items()} == {CODES[2]: 58}


def test_a_qichacha_export_with_rows_hidden_by_a_filter_is_refused_naming_them(db: Session):
    # Filtered down to the firms still 存续 and saved: a source's rows are matched and added up before any
    # row check, so the file is refused whole, naming the hidden rows.
    rows = [qcc_row(name=NAMES[i], code=CODES[i], staff=10 + i) for i in range(4)]
    wb = openpyxl.load_workbook(io.BytesIO(xlsx(QCC_HEAD, rows)))
    ws = wb["Sheet"]
    ws.auto_filter.ref = f"A1:{openpyxl.utils.get_column_letter(len(QCC_HEAD))}5"
    for r in (3, 5):
        ws.row_dimensions[r].hidden = True
    buf = io.BytesIO()
    wb.save(buf)
    before = db.execute(select(ImportBatch.id)).all()
    with pytest.raises(ValidationFailed, match=r"第 3、5 行（共 2 行）在表格中是隐藏的"):
        dry(db, "企查查", "企查查导出.xlsx", buf.getvalue())
    db.rollback()
    assert db.execute(select(ImportBatch.id)).all() == before
