"""The import workflow: units, header aliases and the mapping step, name/code mismatches, skipped rows,
placeholder messages, long-form list sheets, the dry-run diff and undoing a batch — files built with
openpyxl the way offices build them, on both backends."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from sqlalchemy import func, insert, select
from sqlmodel import Session

from core.credit_code import make_code
from core.spreadsheet import write_csv
from db.models import AuditEvent, Enterprise, ImportBatch, Submission, utcnow
from db.values import stored_values
from services import imports, review
from services.actor import Actor
from services.errors import Conflict, ValidationFailed
from tests.seeded import add_enterprises
from tests.values import stored_rows
from tests.workbooks import workbook

OFFICER = Actor(username="officer1", role="officer", user_id=1)
YEAR = 2025
N = 40
CODES = [make_code(str(300 + i)) for i in range(N)]
NAMES = [f"温州测试科技有限公司{i}" for i in range(N)]
HEAD = ["统一社会信用代码", "企业名称", "研发费用总额", "营业收入", "利润总额"]


@pytest.fixture
def db(session: Session) -> Session:
    return add_enterprises(session, CODES, NAMES)


def body(n: int = N) -> list[list]:
    return [[CODES[i], NAMES[i], 50 + i, 800 + 10 * i, 5 + i] for i in range(n)]


def xlsx(
    head: list,
    rows: list[list],
    *,
    above: list[list] | None = None,
    extra_sheets: dict[str, list[list]] | None = None,
) -> bytes:
    """A workbook whose sheet 数据 holds ``above`` (a title), ``head`` and ``rows``; then ``extra_sheets``."""
    return workbook(("数据", [*(above or []), head, *rows]), *(extra_sheets or {}).items())


def dry(session: Session, data: bytes, department: str = "税务", **kw) -> imports.ImportReport:
    report = imports.dry_run_import(
        session, actor=OFFICER, department=department, year=YEAR, file_name="f.xlsx", data=data, **kw
    )
    session.commit()
    return report


def commit(session: Session, report: imports.ImportReport, data: bytes, **kw) -> imports.ImportReport:
    done = imports.commit_import(session, actor=OFFICER, data=data, batch_id=report.batch_id, **kw)
    session.commit()
    return done


def state(session: Session) -> tuple[int, int, tuple]:
    """(rows, current rows, all current values) — equal before and after means nothing changed."""
    session.rollback()
    rows = len(stored_values(session))
    cur = sorted(
        (v.enterprise_id, v.code, v.value_num, v.value_text) for v in stored_rows(session, current=True)
    )
    return rows, len(cur), tuple(cur)


def current(session: Session, credit_code: str, code: str):
    session.rollback()
    enterprise_id = session.execute(
        select(Enterprise.id).where(Enterprise.credit_code == credit_code)
    ).scalar()
    if enterprise_id is None:
        return None
    found = [
        (v.value_num, v.value_text)
        for v in stored_rows(session, enterprise_id=enterprise_id, code=code, current=True)
    ]
    assert len(found) <= 1, found
    return found[0] if found else None


def refused(session: Session, data: bytes, match: str, **kw) -> imports.ImportReport:
    """Dry run, then a commit that is refused with ``match``; nothing changes."""
    before = state(session)
    report = dry(session, data, **kw.pop("dry_kw", {}))
    with pytest.raises(ValidationFailed, match=match):
        imports.commit_import(session, actor=OFFICER, data=data, batch_id=report.batch_id, **kw)
    session.rollback()
    assert state(session) == before
    return report


# ------------------------------------------------------------------ 4. units inside numbers
def test_percent_sign_in_amount_column_is_refused_with_row_column_fix(db: Session) -> None:
    rows = body()
    rows[3][2] = "3.5%"
    report = refused(db, xlsx(HEAD, rows), "百分号")
    (err,) = [e for e in report.errors if e["row"] == 5]
    assert err["column"] == "研发费用总额" and "百分号" in err["problem"] and "不要填百分数" in err["fix"]
    assert "可写入" not in report.summary()


def test_percent_formatted_number_in_amount_column_is_refused_when_read_as_percent(db: Session) -> None:
    """The reader hands a percent-formatted cell over as the text Excel shows ("3.5%")."""
    from core import importing
    from core.model_loading import load_model

    col = next(c for c in importing.department_columns(load_model(), "税务") if c.code == "T01")
    import pandas as pd

    values, problem, _fix = importing.parse_amounts(pd.Series(["3.5%", "12"], dtype="str"), col)
    assert problem[0] and "百分号" in problem[0] and values[1] == 12


def test_amounts_with_wan_and_yi_yuan_are_converted_exactly(db: Session) -> None:
    rows = body()
    rows[0][3] = "120万元"
    rows[1][3] = "1.2亿元"
    rows[2][3] = "0.3亿元"
    data = xlsx(HEAD, rows)
    report = dry(db, data)
    assert report.ok, report.errors
    commit(db, report, data)
    assert current(db, CODES[0], "G01")[0] == 120
    assert current(db, CODES[1], "G01")[0] == 12000
    assert current(db, CODES[2], "G01")[0] == 3000  # 0.3 × 10000 in floats would be 3000.0000000000005


def test_other_text_in_an_amount_cell_is_refused_not_stripped(db: Session) -> None:
    rows = body()
    rows[0][3] = "120万美元"
    rows[1][2] = "5人"
    report = refused(db, xlsx(HEAD, rows), "整批未导入")
    problems = {(e["row"], e["column"]): e["problem"] for e in report.errors}
    assert problems[(2, "营业收入")] == "不是数字"
    assert "单位" in problems[(3, "研发费用总额")]


# ------------------------------------------------------------------ 5. aliases, header units, mapping step
def test_header_aliases_from_the_model_and_units_in_headers(db: Session) -> None:
    head = ["统一社会信用代码", "企业名称", "研发费用(万元)", "营业收入（元）", "利润总额（亿元）"]
    rows = [[CODES[i], NAMES[i], 50 + i, 12345678.9 + i, 0.25] for i in range(N)]
    data = xlsx(head, rows)
    report = dry(db, data)
    assert report.ok and report.mapped_columns == {
        "研发费用(万元)": "T01",
        "营业收入（元）": "G01",
        "利润总额（亿元）": "G03",
    }
    assert any("营业收入（元）" in n and "÷ 10000" in n for n in report.notes)
    assert any("利润总额（亿元）" in n and "× 10000" in n for n in report.notes)
    commit(db, report, data)
    assert current(db, CODES[0], "T01")[0] == 50
    assert current(db, CODES[0], "G01")[0] == 1234.56789  # exact decimal, no float noise
    assert current(db, CODES[0], "G03")[0] == 2500


def test_header_unit_that_does_not_fit_is_refused(db: Session) -> None:
    head = ["统一社会信用代码", "企业名称", "营业收入（%）"]
    before = state(db)
    with pytest.raises(ValidationFailed, match="单位"):
        dry(db, xlsx(head, [[CODES[0], NAMES[0], 5]]))
    assert state(db) == before


def test_unmapped_data_column_blocks_until_mapped_or_ignored(db: Session) -> None:
    head = [*HEAD, "研发投入额", "法定代表人"]
    rows = [[*r, 70 + i, f"张{i}"] for i, r in enumerate(body())]
    data = xlsx(head, rows)
    report = refused(db, data, "没有对应到指标")
    assert not report.ok and [u["header"] for u in report.unmapped] == ["研发投入额"]
    assert "法定代表人" in report.ignored_columns
    assert "可写入" not in report.summary() and "未对应" in report.summary()
    # Marked 不导入: commits without it.
    ignored = dry(db, data, ignore=["研发投入额"])
    assert ignored.ok
    commit(db, ignored, data)
    assert current(db, CODES[0], "T01")[0] == 50
    # Mapped to an indicator the file does not otherwise carry (T08 is 科技's): the 综合 import takes it.
    mapped = dry(db, data, department="综合", column_map={"研发投入额": "T08"})
    assert mapped.ok and mapped.mapped_columns["研发投入额"] == "T08"
    imports.commit_import(db, actor=OFFICER, data=data, batch_id=mapped.batch_id, confirm_duplicate=True)
    db.commit()
    assert current(db, CODES[1], "T08")[0] == 71


def test_unmapped_columns_get_suggestions(db: Session) -> None:
    head = [*HEAD, "研发费用金额"]
    report = dry(db, xlsx(head, [[*r, 1] for r in body()]))
    (u,) = report.unmapped
    assert u["suggestions"] and u["suggestions"][0]["code"] == "T01"


# ------------------------------------------------------------------ 6. name and code disagree
def test_name_of_another_enterprise_is_flagged_and_needs_confirmation(db: Session) -> None:
    rows = body()
    rows[2][1] = NAMES[7]  # the code of enterprise 2 with the name of enterprise 7
    data = xlsx(HEAD, rows)
    report = refused(db, data, "不是同一家企业")
    (m,) = report.mismatches
    assert m["row"] == 4 and m["file_name"] == NAMES[7] and m["registered_name"] == NAMES[2]
    assert m["other_code"] == CODES[7] and report.ok
    commit(db, report, data, accept_name_mismatch=True)
    assert current(db, CODES[2], "G01")[0] == 820
    event = db.execute(select(AuditEvent).where(AuditEvent.action == "import.commit")).scalar_one()
    assert "名称不一致" in event.reason


def test_a_name_nobody_else_has_is_not_a_mismatch(db: Session) -> None:
    rows = body()
    rows[2][1] = "温州测试科技（简称）"
    assert not dry(db, xlsx(HEAD, rows)).mismatches


# ------------------------------------------------------------------ rows that are not enterprises
def test_totals_notes_units_and_blank_rows_are_skipped_and_listed(db: Session) -> None:
    rows = body(5)
    grid = [
        rows[0],
        rows[1],
        [None] * 5,
        rows[2],
        rows[3],
        rows[4],
        ["合计", None, 260, 4100, 35],
        ["注：数据来源于税务局金税系统", None, None, None, None],
    ]
    data = xlsx(HEAD, grid, above=[["2025年度研发费用统计表"]])
    # A units row right under the header: 营业收入 in 元 — converted, not stored 10000× too large.
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["数据"]
    ws.insert_rows(3)
    for col, unit in ((3, "万元"), (4, "元"), (5, "万元")):
        ws.cell(row=3, column=col, value=unit)
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    report = dry(db, data)
    assert report.ok, report.errors
    assert not any("为空" in e["problem"] for e in report.errors)
    skipped = {s["row"]: s["reason"] for s in report.skipped}
    assert skipped == {3: "单位行", 6: "空行", 10: "合计行", 11: "注释行"}
    assert report.row_count == 5
    commit(db, report, data)
    assert current(db, CODES[0], "G01")[0] == 0.08  # 800 元


def test_row_with_data_but_no_code_is_still_an_error(db: Session) -> None:
    rows = body(3)
    rows[1][0] = None
    report = refused(db, xlsx(HEAD, rows), "整批未导入")
    assert any(e["row"] == 3 and e["column"] == "统一社会信用代码" for e in report.errors)


@pytest.mark.parametrize("cell", ["—", "/", "无", "-"])
def test_placeholder_in_numeric_cell_says_blank_or_zero(db: Session, cell: str) -> None:
    rows = body()
    rows[0][2] = cell
    report = refused(db, xlsx(HEAD, rows), "整批未导入")
    (err,) = report.errors
    assert err["row"] == 2 and err["fix"] == "留空表示未提供，填 0 表示没有"
    assert "可写入" not in report.summary()


# ------------------------------------------------------------------ dry-run diff
def test_dry_run_shows_what_will_change(db: Session) -> None:
    data = xlsx(HEAD, body())
    first = dry(db, data)
    assert first.diff_counts == {"新增": 3 * N, "变更": 0, "不变": 0}
    commit(db, first, data)
    rows = body()
    rows[0][3] = 999
    rows = [r[:4] for r in rows] + []
    head = HEAD[:4] + ["研发人员数"]
    rows = [[*r, 3] for r in rows]
    second = dry(db, xlsx(head, rows), department="综合")
    assert second.diff_counts == {"新增": N, "变更": 1, "不变": 2 * N - 1}
    changed = second.diff_frame("变更")
    assert list(changed["统一社会信用代码"]) == [CODES[0]] and list(changed["当前值"]) == ["800"]
    assert list(changed["导入后"]) == ["999"] and list(changed["指标"]) == ["营业收入"]
    assert len(second.diff_frame(code="T04")) == N
    assert len(second.diff_frame(query=NAMES[5])) == 3
    csv = write_csv(second.diff_frame()).decode("utf-8-sig")
    assert "当前值" in csv and NAMES[0] in csv


def test_diff_download_is_sanitised(db: Session) -> None:
    db.execute(insert(Enterprise), [{"credit_code": make_code("9999"), "name": '=HYPERLINK("x")'}])
    db.commit()
    data = xlsx(HEAD, [[make_code("9999"), '=HYPERLINK("x")', 1, 2, 3]])
    report = dry(db, data)
    csv = write_csv(report.diff_frame()).decode("utf-8-sig")
    assert "'=HYPERLINK" in csv


# ------------------------------------------------------------------ long-form list sheets
def _fill_template(
    session: Session, department: str, data_rows: list[list], sheets: dict[str, list[list]]
) -> bytes:
    template = imports.template_xlsx(session, actor=OFFICER, department=department)
    wb = openpyxl.load_workbook(io.BytesIO(template))
    for r in data_rows:
        wb["数据"].append(r)
    for name, rows in sheets.items():
        for r in rows:
            wb[name].append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_template_has_one_sheet_per_list_indicator_from_the_model(db: Session) -> None:
    from core.importing import DEPARTMENTS
    from core.model_loading import load_model
    from core.scoring_model import ItemsRule

    wb = openpyxl.load_workbook(io.BytesIO(imports.template_xlsx(db, actor=OFFICER, department=ALL)))
    model = load_model()
    lists = [i for i in model.indicators if isinstance(i.rule, ItemsRule)]
    assert {i.code for i in lists} == {"T10", "T12", "A04", "A05", "A06"}
    assert all(i.item_fields for i in lists)
    # A06 is self-reported only: no department imports it, so no department template has its sheet.
    lists = [i for i in lists if any(d in i.source for d in DEPARTMENTS)]
    assert {i.code for i in lists} == {"T10", "T12", "A04", "A05"}
    for ind in lists:
        header = [c.value for c in wb[ind.name][1]]
        assert header == ["统一社会信用代码", "企业名称", *(f.label for f in ind.item_fields)]
    data_header = [c.value for c in wb["数据"][1]]
    assert not set(data_header) & {i.name for i in lists}
    assert wb.sheetnames[0] == "数据" and wb.sheetnames[-1] == "填写说明"
    said = " ".join(str(c.value) for row in wb["填写说明"].iter_rows() for c in row if c.value)
    assert "被筛选或隐藏的行和列不算已排除" in said  # what the dry run will hold against a filtered sheet


ALL = "综合"


def test_list_sheet_round_trip_replace_then_add(db: Session) -> None:
    t10 = [
        [CODES[0], NAMES[0], "智能传感器研发", "省级", "牵头", 2024],
        [CODES[0], NAMES[0], "工业互联网平台", "市", "参与", 2023],
        [CODES[0], NAMES[0], "新材料应用", "市级", "参与", 2024],
        [CODES[1], NAMES[1], "国家重点研发计划课题", "国家", "参与", 2022],
    ]
    data = _fill_template(db, "科技", [], {"承担科技计划项目": t10})
    report = dry(db, data, department="科技")
    assert report.ok and report.list_codes == ["T10"] and report.needs_list_mode
    with pytest.raises(ValidationFailed, match="替换"):
        imports.commit_import(db, actor=OFFICER, data=data, batch_id=report.batch_id)
    db.rollback()
    report = dry(db, data, department="科技", list_mode="replace")
    assert any("替换原有列表" in n for n in report.notes)
    shown = report.diff_frame().set_index("统一社会信用代码")["导入后"]
    assert shown[CODES[0]] == "省级·牵头 1 项；市级·参与 2 项"
    commit(db, report, data)
    items = json.loads(current(db, CODES[0], "T10")[1])
    assert [i["level"] for i in items] == ["省", "市", "市"] and items[0]["name"] == "智能传感器研发"
    assert items[0]["year"] == 2024 and items[1]["role"] == "参与"
    # Add: the new items follow the current ones; an item already there is not added twice.
    more = _fill_template(
        db, "科技", [], {"承担科技计划项目": [t10[0], [CODES[0], NAMES[0], "新项目", "区", "牵头", 2025]]}
    )
    added = dry(db, more, department="科技", list_mode="add")
    assert added.diff_frame("变更")["导入后"].tolist() == ["省级·牵头 1 项；市级·参与 2 项；区级·牵头 1 项"]
    commit(db, added, more)
    assert len(json.loads(current(db, CODES[0], "T10")[1])) == 4


def test_list_sheet_with_code_and_level_merged_over_an_enterprises_items(db: Session) -> None:
    # How offices draw a list: one enterprise's projects under its code and name merged down over
    # them, a level merged over the items that share it. The covered cells hold nothing of their own:
    # the rows under the top were refused as having no credit code, and the level as missing.
    t10 = [
        [CODES[0], NAMES[0], "智能传感器研发", "省级", "牵头", 2024],
        [None, None, "工业互联网平台", "市级", "参与", 2023],
        [None, None, "新材料应用", None, "参与", 2024],
        [CODES[1], NAMES[1], "国家重点研发计划课题", "国家", "参与", 2022],
    ]
    template = imports.template_xlsx(db, actor=OFFICER, department="科技")
    wb = openpyxl.load_workbook(io.BytesIO(template))
    ws = wb["承担科技计划项目"]
    for r in t10:
        ws.append(r)
    for ref in ("A2:A4", "B2:B4", "D3:D4"):
        ws.merge_cells(ref)
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    report = dry(db, data, department="科技", list_mode="replace")
    assert report.ok, report.errors
    shown = report.diff_frame().set_index("统一社会信用代码")["导入后"]
    assert shown[CODES[0]] == "省级·牵头 1 项；市级·参与 2 项"
    assert any("5 个合并单元格" in n for n in report.notes)  # what was read, said
    commit(db, report, data)
    items = json.loads(current(db, CODES[0], "T10")[1])
    assert [(i["name"], i["level"]) for i in items] == [
        ("智能传感器研发", "省"),
        ("工业互联网平台", "市"),
        ("新材料应用", "市"),
    ]
    assert [i["level"] for i in json.loads(current(db, CODES[1], "T10")[1])] == ["国家"]


def test_list_sheet_of_another_department_is_refused_not_dropped(db: Session) -> None:
    grid = [
        ["统一社会信用代码", "企业名称", "标准名称", "标准编号", "级别", "角色", "年份"],
        [CODES[0], NAMES[0], "工业传感器通用规范", "T/ZJ 001-2024", "团体", "主导", 2024],
    ]
    data = xlsx(HEAD, body(2), extra_sheets={"参与制修订标准": grid})
    before = state(db)
    with pytest.raises(ValidationFailed, match="市监"):
        dry(db, data, department="税务")
    assert state(db) == before
    report = dry(db, data, department=ALL, list_mode="replace")
    assert report.ok and report.list_codes == ["T12"]


def test_list_sheet_rows_are_checked_per_row(db: Session) -> None:
    t10 = [
        [CODES[0], NAMES[0], "项目A", "乡镇", "牵头", 2024],
        [CODES[1], NAMES[1], "项目B", "省", "主持", "去年"],
    ]
    data = _fill_template(db, "科技", [], {"承担科技计划项目": t10})
    report = refused(db, data, "整批未导入", dry_kw={"department": "科技", "list_mode": "replace"})
    problems = {(e["row"], e["column"]) for e in report.errors}
    assert (2, "承担科技计划项目：级别") in problems and (3, "承担科技计划项目：角色") in problems
    assert (3, "承担科技计划项目：年份") in problems


def test_list_sheet_error_cells_and_uncalculated_formulas_are_refused_not_stored_as_text(db: Session) -> None:
    # An item's name looked up with VLOOKUP: #N/A where it failed, and the formula itself where a
    # script (openpyxl) wrote it without a result. Neither is a project name.
    t10 = [
        [CODES[0], NAMES[0], "#N/A", "省级", "牵头", 2024],
        [CODES[1], NAMES[1], "=VLOOKUP(A3,项目库!A:B,2,0)", "市级", "参与", 2023],
        [CODES[2], NAMES[2], "智能传感器研发", "市级", "参与", 2024],
    ]
    data = _fill_template(db, "科技", [], {"承担科技计划项目": t10})
    report = refused(db, data, "整批未导入", dry_kw={"department": "科技", "list_mode": "replace"})
    problems = {(e["row"], e["column"]): e for e in report.errors}
    assert set(problems) == {(2, "承担科技计划项目：项目名称"), (3, "承担科技计划项目：项目名称")}
    assert problems[(2, "承担科技计划项目：项目名称")]["problem"].startswith("单元格是 Excel 错误值 #N/A")
    assert "修正该公式" in problems[(2, "承担科技计划项目：项目名称")]["fix"]
    assert problems[(3, "承担科技计划项目：项目名称")]["problem"].startswith("单元格是公式")
    assert "用 Excel 或 WPS 打开" in problems[(3, "承担科技计划项目：项目名称")]["fix"]


def test_list_sheet_rows_hidden_by_a_filter_are_refused_by_row(db: Session) -> None:
    # The officer filtered the projects to this year's and saved: the filtered-out row is still in the
    # file, unseen. Neither imported nor dropped without a word.
    t10 = [
        [CODES[0], NAMES[0], "智能传感器研发", "省级", "牵头", 2024],
        [CODES[1], NAMES[1], "旧项目", "市级", "参与", 2021],
        [CODES[2], NAMES[2], "新材料中试", "市级", "参与", 2024],
    ]
    data = _fill_template(db, "科技", [], {"承担科技计划项目": t10})
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["承担科技计划项目"]
    ws.auto_filter.ref = "A1:F4"
    ws.auto_filter.add_filter_column(5, ["2024"])
    ws.row_dimensions[3].hidden = True
    buf = io.BytesIO()
    wb.save(buf)
    report = refused(db, buf.getvalue(), "整批未导入", dry_kw={"department": "科技", "list_mode": "replace"})
    assert [(e["row"], e["column"]) for e in report.errors] == [(3, "承担科技计划项目：统一社会信用代码")]
    assert "隐藏" in report.errors[0]["problem"] and "清除筛选" in report.errors[0]["fix"]
    assert any("工作表“承担科技计划项目”的第 3 行（共 1 行）在表格中是隐藏的" in n for n in report.notes)


def test_list_value_reads_as_text_in_portrait_and_review(db: Session) -> None:
    from services import portrait

    a05 = [
        [CODES[0], NAMES[0], "浙江省科学技术进步奖", "省级", None, 2024],
        [CODES[0], NAMES[0], "温州市科学技术奖", "市", None, 2024],
    ]
    data = _fill_template(db, "综合", [[CODES[0], NAMES[0], *([None] * 30)]], {"科技奖励": a05})
    report = dry(db, data, department=ALL, list_mode="replace")
    assert report.ok, (report.errors, report.unmapped)
    commit(db, report, data)
    ent_id = db.execute(select(Enterprise.id).where(Enterprise.credit_code == CODES[0])).scalar_one()
    # A self-report with another list: the review diff shows both as text, never JSON.
    now = utcnow()
    db.execute(
        insert(Submission),
        [
            {
                "enterprise_id": ent_id,
                "year": YEAR,
                "state": "submitted",
                "version": 1,
                "items": {"A05": [{"level": "国家", "top3": False}]},
                "submitted_at": now,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    db.commit()
    sub_id = db.execute(select(Submission.id)).scalar_one()
    detail = review.get_review(db, actor=OFFICER, submission_id=sub_id)
    row = detail.items.set_index("code").loc["A05"]
    assert row["current"] == "省级 1 项；市级 1 项" and row["value"] == "国家级·非前三完成单位 1 项"
    # The portrait (from a score run over the imported values) shows the list as text too.
    from core import clock
    from services.runs import compute_run, publish_run

    run = compute_run(db, actor=OFFICER, year=YEAR)
    db.commit()
    publish_run(db, actor=OFFICER, run_id=run.id, notice_start=clock.today(), notice_end=clock.today())
    db.commit()
    view = portrait.get_portrait(db, actor=OFFICER, enterprise_id=ent_id, year=YEAR)
    table = view.indicators.set_index("code")
    assert table.loc["A05", "value_text"] == "省级 1 项；市级 1 项"


# ------------------------------------------------------------------ undo
def _approve_self_report(session: Session, ent_id: int, items: dict) -> None:
    now = utcnow()
    session.execute(
        insert(Submission),
        [
            {
                "enterprise_id": ent_id,
                "year": YEAR,
                "state": "submitted",
                "version": 1,
                "items": items,
                "submitted_at": now,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    session.commit()
    sub = session.execute(select(Submission).where(Submission.enterprise_id == ent_id)).scalar_one()
    review.approve(session, actor=OFFICER, submission_id=sub.id, expected_version=sub.version)
    session.commit()


def test_undo_with_two_batches_and_an_approved_self_report(db: Session) -> None:
    head = ["统一社会信用代码", "企业名称", "研发人员数", "营业收入"]
    ids = dict(db.execute(select(Enterprise.credit_code, Enterprise.id)).all())
    d1 = xlsx(head, [[CODES[i], NAMES[i], 10, 100] for i in range(3)])
    b1 = commit(db, dry(db, d1, department=ALL), d1)
    d2 = xlsx(head, [[CODES[i], NAMES[i], 20, 200] for i in range(2)])
    b2 = commit(db, dry(db, d2, department=ALL), d2)
    # Enterprise 0's 研发人员数 is then replaced by an approved self-report.
    _approve_self_report(db, ids[CODES[0]], {"T04": 25})
    runs_before = db.execute(select(func.count()).select_from(ImportBatch)).scalar_one()
    from db.models import RunBreakdown, Score
    from services.runs import compute_run

    compute_run(db, actor=OFFICER, year=YEAR)
    db.commit()
    scores_before = db.execute(
        select(Score.enterprise_id, Score.total, Score.breakdown).order_by(Score.id)
    ).all()
    packed_before = db.execute(select(RunBreakdown.run_id, RunBreakdown.data)).all()
    assert packed_before

    done = imports.undo_batch(db, actor=OFFICER, batch_id=b2.batch_id, reason="报送口径错误")
    db.commit()
    # Batch 2's values went back to batch 1's, except the self-reported one, which is left and listed.
    assert current(db, CODES[1], "T04")[0] == 10 and current(db, CODES[1], "G01")[0] == 100
    assert current(db, CODES[0], "G01")[0] == 100
    assert current(db, CODES[0], "T04")[0] == 25
    assert current(db, CODES[2], "T04")[0] == 10  # batch 2 never touched it
    assert done.reverted == 3 and done.restored == 3
    left = done.left_alone.to_dict("records")
    assert len(left) == 1 and left[0]["credit_code"] == CODES[0] and left[0]["code"] == "T04"
    assert "自报" in left[0]["replaced_by"] and left[0]["name"] == NAMES[0]
    assert db.get(ImportBatch, b2.batch_id).status == "reverted"
    event = db.execute(select(AuditEvent).where(AuditEvent.action == "import.undo")).scalar_one()
    assert event.reason == "报送口径错误" and event.after["restored"] == 3
    with pytest.raises(Conflict, match="已撤销"):
        imports.undo_batch(db, actor=OFFICER, batch_id=b2.batch_id)
    db.rollback()

    # Undo batch 1 too: its values disappear (nothing before them), the self-report stays.
    done1 = imports.undo_batch(db, actor=OFFICER, batch_id=b1.batch_id)
    db.commit()
    assert current(db, CODES[1], "T04") is None and current(db, CODES[2], "G01") is None
    assert current(db, CODES[0], "T04")[0] == 25
    assert done1.left_alone["code"].tolist() == ["T04"]
    # Score runs keep their stored inputs: nothing about them changed.
    assert (
        db.execute(select(Score.enterprise_id, Score.total, Score.breakdown).order_by(Score.id)).all()
        == scores_before
    )
    assert db.execute(select(RunBreakdown.run_id, RunBreakdown.data)).all() == packed_before
    # Reverted batch 2's rows never come back; history keeps every row.
    assert db.execute(select(func.count()).select_from(ImportBatch)).scalar_one() == runs_before
    assert len(stored_values(db)) == 6 + 4 + 1


def test_undo_after_a_later_batch_leaves_its_values(db: Session) -> None:
    head = ["统一社会信用代码", "企业名称", "营业收入"]
    d1 = xlsx(head, [[CODES[0], NAMES[0], 100], [CODES[1], NAMES[1], 100]])
    b1 = commit(db, dry(db, d1), d1)
    d2 = xlsx(head, [[CODES[0], NAMES[0], 300]])
    b2 = commit(db, dry(db, d2), d2)
    done = imports.undo_batch(db, actor=OFFICER, batch_id=b1.batch_id)
    db.commit()
    assert current(db, CODES[0], "G01")[0] == 300 and current(db, CODES[1], "G01") is None
    assert done.left_alone["replaced_by"].tolist() == [f"导入批次 #{b2.batch_id}"]


def test_undo_needs_staff_and_a_committed_batch(db: Session) -> None:
    from services.errors import PermissionDenied

    data = xlsx(HEAD, body(2))
    report = dry(db, data)
    with pytest.raises(Conflict, match="试导入"):
        imports.undo_batch(db, actor=OFFICER, batch_id=report.batch_id)
    with pytest.raises(PermissionDenied):
        imports.undo_batch(
            db, actor=Actor(username="e", role="enterprise", enterprise_id=1), batch_id=report.batch_id
        )


def test_commit_writes_what_the_dry_run_checked_and_a_new_dry_run_checks_afresh(db: Session) -> None:
    newcomer = make_code("888888")
    rows = body(3)
    rows[0][0] = newcomer
    rows[0][1] = "新登记企业"
    data = xlsx(HEAD, rows)
    first = dry(db, data)
    assert any("系统中没有" in e["problem"] for e in first.errors)
    db.execute(insert(Enterprise), [{"credit_code": newcomer, "name": "新登记企业"}])
    db.commit()
    # The commit confirms the dry run the officer saw; it never writes something that run refused.
    with pytest.raises(ValidationFailed, match="系统中没有"):
        imports.commit_import(db, actor=OFFICER, data=data, batch_id=first.batch_id)
    db.rollback()
    second = dry(db, data)
    assert second.ok
    done = commit(db, second, data)
    assert done.timings["read"] == 0  # the file was not read a second time
    assert current(db, newcomer, "G01")[0] == 800


def test_commit_compares_afresh_when_the_current_values_changed_since_the_dry_run(db: Session) -> None:
    # File A is checked first; before it is committed, file B commits other values for the same
    # enterprises. A's commit must replace B's rows (not the ones its dry run saw) and count its changes
    # against B's values; without a change in between it reuses its dry run's comparison.
    data_a = xlsx(HEAD, body())
    dry_a = dry(db, data_a)
    assert dry_a.diff_counts == {"新增": N * 3, "变更": 0, "不变": 0}
    rows_b = body()
    for r in rows_b[:5]:
        r[3] = 5000
    data_b = xlsx(HEAD, rows_b)
    commit(db, dry(db, data_b), data_b)
    done = commit(db, dry_a, data_a)
    assert done.diff_counts == {"新增": 0, "变更": 5, "不变": N * 3 - 5}
    rows, n_current, _values = state(db)
    assert rows == 2 * N * 3 and n_current == N * 3
    assert current(db, CODES[0], "G01")[0] == 800
    assert len(stored_values(db, batch_id=done.batch_id, current=True)) == N * 3
    # Nothing changed since this dry run: the commit reuses its comparison (and still writes every value).
    dry_again = dry(db, data_b)
    again = commit(db, dry_again, data_b, confirm_duplicate=True)
    assert again.diff_counts == dry_again.diff_counts == {"新增": 0, "变更": 5, "不变": N * 3 - 5}
    assert current(db, CODES[0], "G01")[0] == 5000 and state(db)[1] == N * 3
