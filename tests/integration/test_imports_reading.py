"""Department imports of files as offices send them: extra and hidden sheets, percent formats, error
cells, encrypted and hostile workbooks — the stored values, the message, and that a refused file
changed nothing (both backends)."""

from __future__ import annotations

import io

import msoffcrypto.format.ooxml
import openpyxl
import pytest
import xlwt
from sqlalchemy import func, insert, select
from sqlmodel import Session

from core.credit_code import make_code
from db.models import Enterprise, ImportBatch
from db.values import stored_values
from services import imports
from services.actor import Actor
from services.errors import ValidationFailed
from tests import hostile_files as hf
from tests import xls_files
from tests.seeded import add_enterprises
from tests.values import credit_codes, stored_rows
from tests.workbooks import workbook

OFFICER = Actor(username="officer1", role="officer", user_id=1)
YEAR = 2025
CODES = [make_code(str(700 + i)) for i in range(4)]
HEAD = ["统一社会信用代码", "企业名称", "研发费用总额", "营业收入", "资产负债率"]


@pytest.fixture
def db(session: Session) -> Session:
    return add_enterprises(session, CODES, [f"读取测试企业{i}" for i in range(len(CODES))])


def body(rd: float = 50, ratio: float = 40) -> list[list]:
    return [[c, f"读取测试企业{i}", rd + i, 800 + 10 * i, ratio + i] for i, c in enumerate(CODES)]


def stored(session: Session, code: str) -> dict[str, float]:
    session.rollback()
    codes = credit_codes(session)
    return {
        codes[v.enterprise_id]: v.value_num for v in stored_rows(session, code=code, current=True, year=YEAR)
    }


def counts(session: Session) -> tuple[int, int]:
    session.rollback()
    return (
        len(stored_values(session)),
        session.execute(select(func.count()).select_from(ImportBatch)).scalar_one(),
    )


def dry(session: Session, data: bytes, file_name: str = "税务.xlsx", **kw) -> imports.ImportReport:
    report = imports.dry_run_import(
        session, actor=OFFICER, department="税务", year=YEAR, file_name=file_name, data=data, **kw
    )
    session.commit()
    return report


def commit(session: Session, data: bytes, report: imports.ImportReport, **kw) -> imports.ImportReport:
    done = imports.commit_import(session, actor=OFFICER, data=data, batch_id=report.batch_id, **kw)
    session.commit()
    return done


def test_hidden_old_draft_first_is_skipped_and_named(db: Session) -> None:
    data = workbook(
        ("2023旧稿", [HEAD, *body(rd=1)]), ("数据", [HEAD, *body(rd=50)]), hidden=("2023旧稿",), active=1
    )
    report = dry(db, data)
    assert report.ok and report.sheet == "数据"
    assert (
        "读取的工作表：“数据”" in report.sheet_note and "已跳过隐藏的工作表 “2023旧稿”" in report.sheet_note
    )
    commit(db, data, report)
    assert stored(db, "T01") == {c: 50.0 + i for i, c in enumerate(CODES)}


def test_cover_sheet_first_then_data(db: Session) -> None:
    cover = [["2024年度税务数据报送"], [], ["报送单位：国家税务总局温州市龙湾区税务局"]]
    data = workbook(("封面", cover), ("数据", [HEAD, *body()]))
    report = dry(db, data)
    assert report.ok and report.sheet == "数据" and report.row_count == len(CODES)


def test_two_data_sheets_none_active_must_be_chosen(db: Session) -> None:
    cover = [["填报说明：请分年度填写"]]
    data = workbook(
        ("说明", cover), ("2023年", [HEAD, *body(rd=10)]), ("2024年", [HEAD, *body(rd=60)]), active=0
    )
    before = counts(db)
    with pytest.raises(imports.SheetChoiceRequired) as info:
        dry(db, data)
    assert info.value.sheets == ["2023年", "2024年"]
    with pytest.raises(imports.SheetChoiceRequired):
        imports.commit_import(db, actor=OFFICER, data=data, department="税务", year=YEAR, file_name="x.xlsx")
    assert counts(db) == before
    report = dry(db, data, sheet="2024年")
    assert report.sheet == "2024年"
    commit(db, data, report)
    assert stored(db, "T01")[CODES[0]] == 60.0


def test_percent_formatted_cells_store_the_percentage_shown(db: Session) -> None:
    rows = [HEAD, *[[c, f"读取测试企业{i}", 50, 800, 0.381 + i / 100] for i, c in enumerate(CODES)]]
    rows[2][4] = "34.9%"  # typed as text
    rows[3][4] = 61.5  # typed as a plain number in a General cell…
    data = workbook(("数据", rows), percent_column="E")
    # …but the whole column E is formatted 0.0%, so Excel shows 6150.0% there: refused as out of range.
    report = dry(db, data)
    assert [(e["row"], e["value"]) for e in report.errors] == [(4, "6150%")]
    wb = openpyxl.load_workbook(io.BytesIO(data))
    wb["数据"]["E4"].number_format = "General"
    fixed = io.BytesIO()
    wb.save(fixed)
    report = dry(db, fixed.getvalue())
    assert report.ok, report.errors
    commit(db, fixed.getvalue(), report)
    assert stored(db, "G08") == {CODES[0]: 38.1, CODES[1]: 34.9, CODES[2]: 61.5, CODES[3]: 41.1}


def test_ratios_exported_as_fractions_are_refused_not_stored_a_hundred_times_too_small(db: Session) -> None:
    # A finance system's csv (GBK) gives 资产负债率 as 0.381 for 38.1%: stored as 0.381%, every ratio
    # would be wrong and no figure would look odd among the others.
    lines = [",".join(HEAD)] + [
        f"{c},读取测试企业{i},50,800,{0.381 + i / 100:g}" for i, c in enumerate(CODES)
    ]
    data = "\r\n".join(lines).encode("gbk")
    before = counts(db)
    report = dry(db, data, file_name="财务.csv")
    assert not report.ok
    assert [(e["row"], e["column"], e["value"]) for e in report.errors] == [
        (2 + i, "资产负债率", f"{0.381 + i / 100:g}") for i in range(len(CODES))
    ]
    assert "0.45 即 45%" in report.errors[0]["problem"] and "0.45 应填 45" in report.errors[0]["fix"]
    assert counts(db)[0] == before[0]
    # Written as percentages (or with % where a ratio is really under 1%), the same file imports.
    fixed = data.replace(b",0.381", b",0.381%").replace(b",0.391", b",39.1").replace(b",0.401", b",40.1")
    report = dry(db, fixed.replace(b",0.411", b",41.1"), file_name="财务.csv")
    assert report.ok, report.errors
    commit(db, fixed.replace(b",0.411", b",41.1"), report)
    assert stored(db, "G08") == {CODES[0]: 0.381, CODES[1]: 39.1, CODES[2]: 40.1, CODES[3]: 41.1}


def test_error_cells_are_errors_naming_row_and_column_and_nothing_changes(db: Session) -> None:
    good = workbook(("数据", [HEAD, *body(rd=50)]))
    commit(db, good, dry(db, good))
    rows = [HEAD, *body(rd=70)]
    rows[2][2] = "#DIV/0!"
    rows[4][3] = "#N/A"
    data = workbook(("数据", rows))
    before = counts(db)
    report = dry(db, data)
    assert not report.ok
    problems = {(e["row"], e["column"]): e for e in report.errors}
    assert problems[(3, "研发费用总额")]["problem"].startswith("单元格是 Excel 错误值 #DIV/0!")
    assert problems[(5, "营业收入")]["problem"].startswith("单元格是 Excel 错误值 #N/A")
    assert "修正该公式" in problems[(3, "研发费用总额")]["fix"]
    with pytest.raises(ValidationFailed, match="整批未导入"):
        commit(db, data, report)
    assert counts(db)[0] == before[0]
    assert stored(db, "T01")[CODES[1]] == 51.0  # the stale value is not silently kept as "new"


def test_formulas_a_program_wrote_without_results_are_refused_never_kept_as_old_values(db: Session) -> None:
    # A department's script (openpyxl) writes formulas, but only Excel/WPS/LibreOffice calculate them:
    # the file holds no result. Read as empty, the old values would silently stay "current".
    good = workbook(("数据", [HEAD, *body(rd=50)]))
    commit(db, good, dry(db, good))
    rows = [HEAD, *body(rd=70)]
    rows[1][2] = "=60+10"  # 研发费用总额, row 2
    rows[3][3] = "=D2*1.1"  # 营业收入, row 4
    rows[4] = [CODES[3], "读取测试企业3", "=C4+1", "=D4+10", "=E4+1"]  # the last row: formulas only
    data = workbook(("数据", rows))
    before = counts(db)
    report = dry(db, data)
    assert not report.ok
    problems = {(e["row"], e["column"]): e for e in report.errors}
    assert set(problems) == {
        (2, "研发费用总额"),
        (4, "营业收入"),
        (5, "研发费用总额"),
        (5, "营业收入"),
        (5, "资产负债率"),
    }
    assert problems[(2, "研发费用总额")]["value"] == "=60+10"
    assert problems[(4, "营业收入")]["problem"].startswith("单元格是公式，但文件中没有保存它的计算结果")
    assert "用 Excel 或 WPS 打开该文件" in problems[(4, "营业收入")]["fix"]
    with pytest.raises(ValidationFailed, match="整批未导入"):
        commit(db, data, report)
    assert counts(db)[0] == before[0]
    assert stored(db, "T01") == {c: 50.0 + i for i, c in enumerate(CODES)}


def test_header_drawn_over_two_rows_with_merged_cells_imports_exactly(db: Session) -> None:
    # How offices draw a report: code and name merged down over two header rows, the amounts grouped
    # under "财务指标" merged across. The best single row lacked the code column: the file was refused
    # as if it had none.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "数据"
    ws.append(["2024年度企业财务数据"])
    ws.append(["统一社会信用代码", "企业名称", "财务指标（万元）", None, "资产负债率"])
    ws.append([None, None, "研发费用总额", "营业收入", None])
    for row in body(rd=50):
        ws.append(row)
    for ref in ("A1:E1", "A2:A3", "B2:B3", "C2:D2", "E2:E3"):
        ws.merge_cells(ref)
    data = io.BytesIO()
    wb.save(data)
    report = dry(db, data.getvalue())
    assert report.ok, report.errors
    assert report.row_count == len(CODES)
    commit(db, data.getvalue(), report)
    assert stored(db, "T01") == {c: 50.0 + i for i, c in enumerate(CODES)}
    assert stored(db, "G01") == {c: 800.0 + 10 * i for i, c in enumerate(CODES)}
    assert stored(db, "G08") == {c: 40.0 + i for i, c in enumerate(CODES)}


def test_codes_copied_with_invisible_characters_import_exactly(db: Session) -> None:
    # Codes pasted from the credit-information website or a chat carry zero-width spaces and a BOM;
    # the officer could not see what the refusal pointed at.
    rows = [HEAD, *body(rd=50)]
    rows[1][0] = CODES[0] + "\u200b"
    rows[2][0] = "\ufeff" + CODES[1].lower()
    rows[3][0] = CODES[2][:9] + "\u2060" + CODES[2][9:]
    text = "\r\n".join(",".join(str(c) for c in r) for r in rows) + "\r\n"
    data = text.encode("utf-8-sig")
    report = dry(db, data, file_name="税务.csv")
    assert report.ok, report.errors
    commit(db, data, report)
    assert stored(db, "T01") == {c: 50.0 + i for i, c in enumerate(CODES)}


def test_amounts_and_headers_copied_with_invisible_characters_import_exactly(db: Session) -> None:
    # Pasted from a web page: a zero-width joiner after a figure, direction marks around another, a
    # zero-width space in a header. The refusal showed a cell that looked like a plain number.
    rows = [[*HEAD[:2], "研发费用总额\u200b", *HEAD[3:]], *body(rd=50)]
    rows[1][2] = "50\u200d"
    rows[2][3] = "\u202d810\u202c"
    rows[3][4] = "42%\u2060"
    data = workbook(("数据", rows))
    report = dry(db, data)
    assert report.ok, report.errors
    commit(db, data, report)
    assert stored(db, "T01") == {c: 50.0 + i for i, c in enumerate(CODES)}
    assert stored(db, "G01") == {c: 800.0 + 10 * i for i, c in enumerate(CODES)}
    assert stored(db, "G08") == {c: 40.0 + i for i, c in enumerate(CODES)}


def test_codes_from_a_failed_lookup_are_named_as_such(db: Session) -> None:
    # Offices fill the code column with VLOOKUP from the name: #N/A where the name was not found, and
    # the bare formula where a script wrote it. The refusal spoke of "第1位“#”" and the business licence.
    rows = [HEAD, *body()]
    rows[2][0] = "#N/A"
    rows[3][0] = "=VLOOKUP(B4,名录!A:B,2,0)"
    data = workbook(("数据", rows))
    before = counts(db)
    report = dry(db, data)
    problems = {e["row"]: e for e in report.errors if e["column"] == "统一社会信用代码"}
    assert problems[3]["problem"].startswith("单元格是 Excel 错误值 #N/A（查找不到值")
    assert "修正该公式" in problems[3]["fix"]
    assert problems[4]["value"] == "=VLOOKUP(B4,名录!A:B,2,0)"
    assert problems[4]["problem"].startswith("单元格是公式，但文件中没有保存它的计算结果")
    with pytest.raises(ValidationFailed, match="整批未导入"):
        commit(db, data, report)
    assert counts(db)[0] == before[0]


def test_encrypted_workbook_is_refused_with_the_way_out(db: Session) -> None:
    out = io.BytesIO()
    msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(workbook(("数据", [HEAD, *body()])))).encrypt("pw2025", out)
    before = counts(db)
    with pytest.raises(ValidationFailed, match="已加密.*用密码进行加密"):
        dry(db, out.getvalue())
    assert counts(db) == before


@pytest.mark.parametrize(
    "make", [hf.far_cell, lambda: hf.far_cell(dimension="A1")], ids=["declared", "hidden"]
)
def test_far_cell_bomb_is_refused_and_nothing_stored(db: Session, make) -> None:
    before = counts(db)
    with pytest.raises(ValidationFailed, match="上限"):
        dry(db, make())
    assert counts(db) == before
    report = dry(db, workbook(("数据", [HEAD, *body()])))  # the next upload is served as usual
    assert report.ok


def test_cli_refuses_several_data_sheets_until_sheet_is_given(tmp_path) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    from db.schema import init_db
    from db.session import make_engine

    root = Path(__file__).resolve().parents[2]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    init_db(engine)
    with Session(engine) as s:
        s.execute(
            insert(Enterprise), [{"credit_code": c, "name": f"读取测试企业{i}"} for i, c in enumerate(CODES)]
        )
        s.commit()
    engine.dispose()
    path = tmp_path / "两年数据.xlsx"
    path.write_bytes(
        workbook(
            ("说明", [["见各年度工作表"]]),
            ("2023年", [HEAD, *body(rd=10)]),
            ("2024年", [HEAD, *body(rd=60)]),
            active=0,
        )
    )
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "DATABASE_URL": url}

    def run(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                str(root / "manage.py"),
                "import",
                str(path),
                "--department",
                "税务",
                "--year",
                str(YEAR),
                *extra,
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=root,
            timeout=300,
        )

    refused = run("--dry-run")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "“2023年”、“2024年”" in refused.stderr and "--sheet" in refused.stderr
    done = run("--sheet", "2024年")
    assert done.returncode == 0, done.stderr
    assert "读取的工作表：“2024年”" in done.stdout and "已导入批次" in done.stdout


# --- Excel 97–2003 (.xls): the same rules, read from the BIFF records -------------------------------


def test_xls_percent_formatted_cells_store_the_percentage_shown(db: Session) -> None:
    rows = [HEAD, *[[c, f"读取测试企业{i}", 50, 800, 0.381 + i / 100] for i, c in enumerate(CODES)]]
    rows[2][4] = "34.9%"  # typed as text
    rows[3][4] = xls_files.Formula("D4/20000", 0.615)  # a formula result in the percent column
    rows[4][4] = 0.4125  # shown rounded as 41.3%: the stored value keeps its digits, as for xlsx
    data = xls_files.workbook(("数据", rows), formats={("数据", 4): "0.0%"})
    report = dry(db, data, file_name="税务.xls")
    assert report.ok, report.errors
    commit(db, data, report)
    assert stored(db, "G08") == {CODES[0]: 38.1, CODES[1]: 34.9, CODES[2]: 61.5, CODES[3]: 41.25}


def test_xls_percent_format_in_an_amount_column_is_refused_and_nothing_changes(db: Session) -> None:
    rows = [HEAD, *body()]
    data = xls_files.workbook(("数据", rows), formats={("数据", 3): "0%"})  # 营业收入 shown as 80000%
    before = counts(db)
    report = dry(db, data, file_name="税务.xls")
    assert not report.ok
    assert {(e["row"], e["column"], e["value"]) for e in report.errors} >= {(2, "营业收入", "80000%")}
    with pytest.raises(ValidationFailed, match="整批未导入"):
        commit(db, data, report)
    assert counts(db)[0] == before[0]


def test_xls_error_cells_are_errors_naming_row_and_column_and_nothing_changes(db: Session) -> None:
    good = xls_files.workbook(("数据", [HEAD, *body(rd=50)]))
    commit(db, good, dry(db, good, file_name="税务.xls"))
    rows = [HEAD, *body(rd=70)]
    rows[2][2] = xls_files.Formula("C2/0", "#DIV/0!")  # what Excel caches for a failed formula
    rows[3][4] = xls_files.Formula("VLOOKUP(A4,A1:B2,2,0)", "#N/A")
    rows[4][3] = "#VALUE!"  # an error constant (BOOLERR), as pasted values keep it
    rows[1][3] = xls_files.Formula("C2*0", "#REF!")
    data = xls_files.workbook(("数据", rows), formats={("数据", 4): "0.0%"})
    before = counts(db)
    report = dry(db, data, file_name="税务.xls")
    assert not report.ok
    problems = {(e["row"], e["column"]): e["problem"] for e in report.errors}
    assert problems[(3, "研发费用总额")].startswith("单元格是 Excel 错误值 #DIV/0!")
    assert problems[(4, "资产负债率")].startswith("单元格是 Excel 错误值 #N/A")
    assert problems[(5, "营业收入")].startswith("单元格是 Excel 错误值 #VALUE!")
    assert problems[(2, "营业收入")].startswith("单元格是 Excel 错误值 #REF!")
    with pytest.raises(ValidationFailed, match="整批未导入"):
        commit(db, data, report)
    assert counts(db)[0] == before[0]
    assert stored(db, "T01")[CODES[1]] == 51.0  # the old value, not "kept" as if the file confirmed it


def test_xls_formulas_written_without_results_are_refused_by_row_and_column(db: Session) -> None:
    # xlwt (as any program writing .xls without calculating) stores a blank result that Excel replaces
    # when it opens the file; read as an empty cell, the old value would silently stay current.
    good = xls_files.workbook(("数据", [HEAD, *body(rd=50)]))
    commit(db, good, dry(db, good, file_name="税务.xls"))
    rows = [HEAD, *body(rd=70)]
    rows[1][2] = xls_files.Formula("60+10", 70.0)  # 研发费用总额, row 2
    rows[3][3] = xls_files.Formula("D2*1.1", 880.0)  # 营业收入, row 4
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("数据")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            ws.write(r, c, xlwt.Formula(value.text) if isinstance(value, xls_files.Formula) else value)
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    before = counts(db)
    report = dry(db, data, file_name="税务.xls")
    assert not report.ok
    problems = {(e["row"], e["column"]): e for e in report.errors}
    assert set(problems) == {(2, "研发费用总额"), (4, "营业收入")}
    assert problems[(4, "营业收入")]["problem"].startswith("单元格是公式，但文件中没有保存它的计算结果")
    assert "用 Excel 或 WPS 打开该文件" in problems[(4, "营业收入")]["fix"]
    with pytest.raises(ValidationFailed, match="整批未导入"):
        commit(db, data, report)
    assert counts(db)[0] == before[0]
    assert stored(db, "G01")[CODES[2]] == 820.0


def test_xls_hidden_draft_is_never_read_and_the_active_sheet_wins(db: Session) -> None:
    data = xls_files.workbook(
        ("2023旧稿", [HEAD, *body(rd=1)]),
        ("2024上半年", [HEAD, *body(rd=30)]),
        ("2024全年", [HEAD, *body(rd=60)]),
        hidden=("2023旧稿",),
        active=2,
    )
    report = dry(db, data, file_name="税务.xls")
    assert report.ok and report.sheet == "2024全年"
    assert "当前活动工作表" in report.sheet_note and "已跳过隐藏的工作表 “2023旧稿”" in report.sheet_note
    commit(db, data, report)
    assert stored(db, "T01") == {c: 60.0 + i for i, c in enumerate(CODES)}


def test_xls_only_visible_sheet_is_read_even_when_a_hidden_one_comes_first(db: Session) -> None:
    data = xls_files.workbook(
        ("2023旧稿", [HEAD, *body(rd=1)]), ("数据", [HEAD, *body(rd=50)]), hidden=("2023旧稿",), active=1
    )
    report = dry(db, data, file_name="税务.xls")
    assert report.ok and report.sheet == "数据"
    with pytest.raises(ValidationFailed, match="隐藏"):
        dry(db, data, file_name="税务.xls", sheet="2023旧稿")


def test_xls_two_data_sheets_none_active_must_be_chosen(db: Session) -> None:
    data = xls_files.workbook(
        ("说明", [["填报说明：请分年度填写"]]),
        ("2023年", [HEAD, *body(rd=10)]),
        ("2024年", [HEAD, *body(rd=60)]),
        active=0,
    )
    before = counts(db)
    with pytest.raises(imports.SheetChoiceRequired) as info:
        dry(db, data, file_name="税务.xls")
    assert info.value.sheets == ["2023年", "2024年"]
    assert counts(db) == before
    report = dry(db, data, file_name="税务.xls", sheet="2023年")
    assert report.sheet == "2023年"
    commit(db, data, report)
    assert stored(db, "T01")[CODES[0]] == 10.0
