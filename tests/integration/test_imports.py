"""Department imports on both backends: formats, every bad-input kind, duplicates, outliers, atomicity."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import openpyxl
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from core.credit_code import make_code
from db.models import AuditEvent, Enterprise, ImportBatch
from db.values import stored_values
from services import corrections, imports
from services.actor import Actor
from services.errors import Conflict, PermissionDenied, ValidationFailed
from tests.seeded import add_enterprises
from tests.values import with_credit_codes
from tests.workbooks import workbook

OFFICER = Actor(username="officer1", role="officer", user_id=1)
YEAR = 2025
N = 60
CODES = [make_code(str(100 + i)) for i in range(N)]
HEAD = [
    "统一社会信用代码",
    "企业名称",
    "研发费用总额",
    "营业收入",
    "利润总额",
    "实缴税收",
    "资产负债率",
    "纳税信用A级",
    "纳税信用D级或欠税",
    "总成本费用",
]


@pytest.fixture
def db(session: Session) -> Session:
    return add_enterprises(session, CODES, [f"测试企业{i}" for i in range(len(CODES))])


def rows(n: int = N) -> list[list]:
    out = []
    for i in range(n):
        out.append(
            [
                CODES[i],
                f"测试企业{i}",
                50 + i,
                800 + 10 * i,
                -5 + i,
                20 + i,
                40 + (i % 30),
                "是" if i % 2 else "否",
                "否",
                700 + i,
            ]
        )
    return out


def to_xlsx(head: list, body: list[list], title: str | None = None) -> bytes:
    return workbook(("Sheet", [*([[title]] if title else []), head, *body]))


def to_csv(head: list, body: list[list], encoding: str = "utf-8-sig") -> bytes:
    return pd.DataFrame(body, columns=head).to_csv(index=False).encode(encoding)


def counts(session: Session) -> tuple[int, int, int]:
    session.rollback()
    values = len(stored_values(session))
    current = len(stored_values(session, current=True))
    return values, current, imports.committed_count(session)


def commit(session: Session, data: bytes, name: str = "税务.xlsx", **kw) -> imports.ImportReport:
    report = imports.commit_import(
        session, actor=OFFICER, department="税务", year=YEAR, file_name=name, data=data, **kw
    )
    session.commit()
    return report


def _commit_last_year(db: Session, data: bytes, **more: bool) -> object:
    """Import ``data`` as the tax office's file of the year before YEAR (上年.xlsx)."""
    return imports.commit_import(
        db, actor=OFFICER, department="税务", year=YEAR - 1, file_name="上年.xlsx", data=data, **more
    )


# ------------------------------------------------------------------ good files
def test_template_roundtrip_commits_values_traceable_to_batch(db: Session) -> None:
    template = imports.template_xlsx(db, actor=OFFICER, department="税务")
    wb = openpyxl.load_workbook(io.BytesIO(template))
    assert wb.sheetnames == ["数据", "填写说明"]
    ws = wb["数据"]
    header = [c.value for c in ws[1]]
    assert header[:2] == ["统一社会信用代码", "企业名称"] and "研发费用总额" in header
    for r in rows():
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    dry = imports.dry_run_import(
        db, actor=OFFICER, department="税务", year=YEAR, file_name="t.xlsx", data=buf.getvalue()
    )
    db.commit()
    assert dry.ok and dry.row_count == N and dry.status == "dry_run"
    report = imports.commit_import(db, actor=OFFICER, data=buf.getvalue(), batch_id=dry.batch_id)
    db.commit()
    assert report.status == "committed"
    values, current, committed = counts(db)
    assert committed == 1 and values == current == N * 8
    iv = stored_values(db, code="G01").to_dict("records")[0]
    assert iv["batch_id"] == dry.batch_id and iv["source"] == "税务" and iv["value_num"] >= 800
    assert iv["created_at"].tzinfo is not None and iv["is_current"] is True and iv["created_by"] == "officer1"
    flag = stored_values(db, code="A08")["value_num"].tolist()
    assert set(flag) == {0.0, 1.0}
    assert (
        db.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "import.commit")
        ).scalar_one()
        == 1
    )
    assert db.get(ImportBatch, dry.batch_id).status == "committed"


def test_reimport_retires_previous_rows_and_keeps_history(db: Session) -> None:
    commit(db, to_xlsx(HEAD, rows()))
    body = rows()
    body[0][3] = 9999
    commit(db, to_xlsx(HEAD, body), name="v2.xlsx")
    values, current, committed = counts(db)
    assert committed == 2 and values == 2 * N * 8 and current == N * 8
    now = stored_values(
        db,
        code="G01",
        current=True,
        enterprise_id=db.execute(
            select(Enterprise.id).where(Enterprise.credit_code == CODES[0])
        ).scalar_one(),
    )["value_num"].tolist()
    assert now == [9999]


def test_partial_reimport_retires_exactly_the_values_it_replaces(db: Session) -> None:
    # The first batch's rows are written enterprise by enterprise, so the rows a second file of two
    # columns for every other enterprise replaces are scattered among rows it must leave current; the
    # same file for another year touches nothing of this year.
    commit(db, to_xlsx(HEAD, rows()))
    _commit_last_year(db, to_xlsx(HEAD, rows()), confirm_duplicate=True)
    db.commit()
    part = [[r[0], r[1], 1000 + i, r[3]] for i, r in enumerate(rows()) if i % 2 == 0]
    report = commit(db, to_xlsx(HEAD[:4], part), name="部分.xlsx")
    current = with_credit_codes(db, stored_values(db, current=True)).rename(
        columns={"value_num": "value", "batch_id": "batch"}
    )
    # one current row per enterprise · year · code, for both years, every code
    assert len(current) == 2 * N * 8 and not current.duplicated(["credit_code", "year", "code"]).any()
    mine = current[current["batch"] == report.batch_id]
    assert len(mine) == len(part) * 2 and set(mine["year"]) == {YEAR}
    assert set(mine["credit_code"]) == {CODES[i] for i in range(0, N, 2)}
    assert sorted(mine[mine["code"] == "T01"]["value"]) == [1000 + i for i in range(0, N, 2)]
    assert report.diff_counts == {"新增": 0, "变更": len(part), "不变": len(part)}


def test_gbk_csv_with_text_numbers_and_fullwidth_digits(db: Session) -> None:
    body = rows()
    body[1][3] = "1,234.5"
    body[2][3] = "１２３４"
    body[3][2] = " 77 "
    report = commit(db, to_csv(HEAD, body, encoding="gbk"), name="税务.csv")
    assert report.error_count == 0 and report.row_count == N
    got = stored_values(db, code="G01")["value_num"].tolist()
    assert 1234.5 in got and 1234.0 in got


def test_title_row_above_header_and_code_headers(db: Session) -> None:
    head = ["统一社会信用代码", "企业名称", "T01", "营业收入（万元）", *HEAD[4:]]
    report = commit(db, to_xlsx(head, rows(), title="2025年度税务数据报送表"))
    assert report.row_count == N and report.mapped_columns["T01"] == "T01"
    assert report.mapped_columns["营业收入（万元）"] == "G01"


def test_xls_file(db: Session, tmp_path) -> None:
    xlwt = pytest.importorskip("xlwt")
    wb = xlwt.Workbook()
    ws = wb.add_sheet("数据")
    for j, h in enumerate(HEAD):
        ws.write(0, j, h)
    for i, r in enumerate(rows(), start=1):
        for j, v in enumerate(r):
            ws.write(i, j, v)
    buf = io.BytesIO()
    wb.save(buf)
    report = commit(db, buf.getvalue(), name="税务.xls")
    assert report.row_count == N and report.error_count == 0


@pytest.mark.xdist_group("libreoffice")
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_xls_written_by_libreoffice(db: Session, tmp_path) -> None:
    src = tmp_path / "lo.xlsx"
    src.write_bytes(to_xlsx(HEAD, rows()))
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--convert-to",
            "xls",
            "--outdir",
            str(tmp_path),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    data = (tmp_path / "lo.xls").read_bytes()
    assert data[:4] == b"\xd0\xcf\x11\xe0"
    report = commit(db, data, name="lo.xls")
    assert report.row_count == N and report.error_count == 0


# ------------------------------------------------------------------ bad inputs: message + nothing changed
BAD_FILES = {
    "wrong_type": (lambda: b"%PDF-1.7 not a table", "不是表格文件"),
    "empty": (lambda: b"", "空文件"),
    "header_only": (lambda: to_xlsx(HEAD, []), "只有表头"),
    "too_large": (lambda: b"a," * (26 * 1024 * 1024), "过大"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_file_level_rejections(db: Session, kind: str) -> None:
    make, message = BAD_FILES[kind]
    data = make()
    before = counts(db)
    batches = db.execute(select(func.count()).select_from(ImportBatch)).scalar_one()
    with pytest.raises(ValidationFailed, match=message):
        imports.dry_run_import(db, actor=OFFICER, department="税务", year=YEAR, file_name="x.xlsx", data=data)
    with pytest.raises(ValidationFailed, match=message):
        commit(db, data)
    assert counts(db) == before
    assert db.execute(select(func.count()).select_from(ImportBatch)).scalar_one() == batches


def _mutate(kind: str) -> tuple[list[list], str, str]:
    body = rows()
    if kind == "unknown_code":
        body[4][0] = make_code("999999")
        return body, "统一社会信用代码", "系统中没有"
    if kind == "invalid_check_digit":
        code = body[4][0]
        body[4][0] = code[:17] + ("1" if code[17] != "1" else "2")
        return body, "统一社会信用代码", "校验位错误"
    if kind == "duplicate":
        body[5] = list(body[4])
        return body, "统一社会信用代码", "重复"
    if kind == "non_numeric":
        body[4][3] = "一百万"
        return body, "营业收入", "不是数字"
    if kind == "negative":
        body[4][2] = -3
        return body, "研发费用总额", "不能为负数"
    if kind == "share_out_of_range":
        body[4][6] = 130
        return body, "资产负债率", "0–100"
    if kind == "category":
        body[4][7] = "也许"
        return body, "纳税信用A级", "是”或“否"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "unknown_code",
        "invalid_check_digit",
        "duplicate",
        "non_numeric",
        "negative",
        "share_out_of_range",
        "category",
    ],
)
def test_row_level_rejections(db: Session, kind: str) -> None:
    body, column, message = _mutate(kind)
    data = to_xlsx(HEAD, body)
    before = counts(db)
    dry = imports.dry_run_import(
        db, actor=OFFICER, department="税务", year=YEAR, file_name="bad.xlsx", data=data
    )
    db.commit()
    assert not dry.ok
    row = 7 if kind == "duplicate" else 6  # the later of two duplicate rows is reported
    hit = [e for e in dry.errors if e["row"] == row and message in e["problem"]]
    assert hit and hit[0]["column"] == column and hit[0]["fix"]
    with pytest.raises(ValidationFailed, match=message) as info:
        imports.commit_import(db, actor=OFFICER, data=data, batch_id=dry.batch_id)
    assert "整批未导入" in str(info.value) and info.value.problems
    assert counts(db) == before
    assert db.get(ImportBatch, dry.batch_id).status == "dry_run"
    csv = imports.report_csv(db.get(ImportBatch, dry.batch_id)).decode("utf-8-sig")
    assert "行号" in csv and message.split("”")[0] in csv


def test_unknown_department_and_permissions(db: Session) -> None:
    with pytest.raises(ValidationFailed, match="未知的部门"):
        imports.template_xlsx(db, actor=OFFICER, department="外星")
    ent = Actor(username="ent1", role="enterprise", enterprise_id=1)
    with pytest.raises(PermissionDenied):
        imports.dry_run_import(db, actor=ent, department="税务", year=YEAR, file_name="a.xlsx", data=b"x")


def test_missing_code_column(db: Session) -> None:
    with pytest.raises(ValidationFailed, match="统一社会信用代码"):
        commit(db, to_xlsx(HEAD[1:], [r[1:] for r in rows()]))


# ------------------------------------------------------------------ duplicates, outliers, atomicity
def test_same_file_twice_needs_confirmation(db: Session) -> None:
    data = to_xlsx(HEAD, rows())
    commit(db, data)
    before = counts(db)
    dry = imports.dry_run_import(
        db, actor=OFFICER, department="税务", year=YEAR, file_name="again.xlsx", data=data
    )
    db.commit()
    assert dry.duplicate_of and dry.duplicate_of["batch_id"]
    with pytest.raises(Conflict, match="已于"):
        imports.commit_import(db, actor=OFFICER, data=data, batch_id=dry.batch_id)
    db.rollback()
    assert counts(db) == before
    imports.commit_import(db, actor=OFFICER, data=data, batch_id=dry.batch_id, confirm_duplicate=True)
    db.commit()
    assert counts(db)[2] == 2


def test_outlier_flagged_not_rejected(db: Session) -> None:
    body = rows()
    body[7][2] = 5_000_000  # R&D far beyond the stage's usual range
    report = commit(db, to_xlsx(HEAD, body))
    assert report.error_count == 0 and report.flagged_count >= 1
    assert any(f["row"] == 9 and f["column"] == "研发费用总额" for f in report.flags)
    values = stored_values(db)
    flagged = values[values["flagged"]]
    assert list(zip(flagged["code"], flagged["value_num"], strict=True)) == [("T01", 5_000_000)]


def test_partial_file_is_judged_against_the_database_and_the_firms_history(db: Session) -> None:
    """Three rows cannot make a stage's usual range: the database's population and each firm's own
    earlier value do (R&D 2.27 → 1,200 万元 passed as 待核实 0)."""
    earlier = rows()
    earlier[3][2] = 2.27
    _commit_last_year(db, to_xlsx(HEAD, earlier))
    db.commit()
    partial = [rows()[i] for i in (3, 10, 20)]
    partial[0][2] = 1200  # firm 3: 2.27 last year, 11× its revenue-scale neighbours' R&D
    partial[1][2] = 63  # firm 10: 60 last year — ordinary
    report = imports.dry_run_import(
        db, actor=OFFICER, department="税务", year=YEAR, file_name="补报.xlsx", data=to_xlsx(HEAD, partial)
    )
    db.commit()
    assert report.error_count == 0
    flags = [(f["row"], f["column"], f["problem"]) for f in report.flags]
    assert [(r, c) for r, c, _ in flags] == [(2, "研发费用总额")], flags
    problem = flags[0][2]
    assert "常见范围" in problem and "与本企业此前数值 2.27 相差 10 倍以上" in problem
    # the same three rows judged only against themselves (no database population) flag nothing
    alone = imports.dry_run_import(
        db,
        actor=OFFICER,
        department="税务",
        year=YEAR + 3,
        file_name="别年.xlsx",
        data=to_xlsx(HEAD, partial),
    )
    db.commit()
    assert alone.flagged_count == 0


def test_commit_failing_midway_leaves_nothing(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    commit(db, to_xlsx(HEAD, rows()))
    before = counts(db)
    body = rows()
    body[0][3] = 4321

    def boom(*args, **kwargs):
        raise RuntimeError("killed half-way")

    monkeypatch.setattr(imports, "insert_values", boom)
    with pytest.raises(RuntimeError):
        imports.commit_import(
            db, actor=OFFICER, department="税务", year=YEAR, file_name="v2.xlsx", data=to_xlsx(HEAD, body)
        )
    # Even the caller's own transaction is still usable and holds none of the half-done work.
    db.commit()
    assert counts(db) == before
    assert (stored_values(db)["value_num"] == 4321).sum() == 0


def test_list_batches(db: Session) -> None:
    commit(db, to_xlsx(HEAD, rows()))
    frame = imports.list_batches(db, actor=OFFICER)
    assert list(frame["status"]) == ["committed"] and frame["row_count"].iloc[0] == N
    assert np.issubdtype(frame["id"].dtype, np.integer)


def test_one_value_corrected_through_a_form_goes_the_import_way(db: Session) -> None:
    """After an upheld objection the officer corrects one department value in a form: the same checks as
    a file, a traceable batch, the reason in the audit log."""
    commit(db, to_xlsx(HEAD, rows()))
    firm = db.execute(select(Enterprise).where(Enterprise.credit_code == CODES[3])).scalar_one()

    def correct(code: str, value: str, reason: str = "异议 #1", actor: Actor = OFFICER) -> object:
        return corrections.correct_value(
            db, actor=actor, enterprise_id=firm.id, year=YEAR, code=code, value=value, reason=reason
        )

    with pytest.raises(ValidationFailed, match="不是部门报送的数据"):
        correct("T02", "5")
    with pytest.raises(ValidationFailed):
        correct("G01", "一百万")
    db.rollback()
    with pytest.raises(PermissionDenied):
        correct("G01", "950", "x", actor=Actor(username="e", role="enterprise", enterprise_id=firm.id))
    report = correct("G01", "950", "异议 #1 采纳：营业收入以税务复核为准")
    [current] = stored_values(db, enterprise_id=firm.id, year=YEAR, code="G01", current=True).to_dict(
        "records"
    )
    assert (
        current["value_num"] == 950 and current["source"] == "税务" and current["batch_id"] == report.batch_id
    )
    batch = db.get(ImportBatch, report.batch_id)
    assert batch.status == "committed" and batch.file_name == f"数据更正_{CODES[3]}_G01.csv"
    event = db.execute(select(AuditEvent).where(AuditEvent.action == "value.correct")).scalar_one()
    assert (
        event.reason == "异议 #1 采纳：营业收入以税务复核为准" and event.after["batch_id"] == report.batch_id
    )
