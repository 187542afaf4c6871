"""数据导入 page: what a file says is shown as text, and a workbook with two data sheets asks which.

The files are uploaded through the page's own file uploader and dry-run by its buttons, as an officer
would; the database is checked to have been left alone where nothing may be written.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from db.models import Enterprise
from db.session import session_scope
from db.values import current_code_values_by_credit_code, stored_values
from tests import xls_files
from tests.app.conftest import _database_url, actor_of, page_as
from tests.app.test_security_pages import _markdown_sources
from tests.workbooks import workbook
from ui.text import plain

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EVIL_HEADER = "**粗体** <b>x</b> [链接](http://x)"


def _enterprises(n: int = 3) -> list[tuple[str, str]]:
    with session_scope() as session:
        return [
            tuple(r)
            for r in session.execute(
                select(Enterprise.credit_code, Enterprise.name).order_by(Enterprise.id).limit(n)
            ).all()
        ]


def _values() -> int:
    with session_scope() as session:
        return len(stored_values(session))


def _upload(at, name: str, data: bytes, department: str = "税务"):  # noqa: ANN001, ANN202 - AppTest
    at.selectbox(key="import_department").set_value(department)
    at.number_input(key="import_year").set_value(2025)
    at.file_uploader(key="import_file").set_value((name, data, XLSX))
    return at.run()


def _dry_run_button(at):  # noqa: ANN001, ANN202 - AppTest
    return next(b for b in at.button if b.label.startswith("试导入"))


def test_a_refusal_quoting_a_markdown_header_shows_it_literally(fresh_db: str) -> None:
    ents = _enterprises()
    head = ["统一社会信用代码", "企业名称", "研发费用总额", EVIL_HEADER]
    data = workbook(("数据", [head, *[[c, n, 50 + i, 60 + i] for i, (c, n) in enumerate(ents)]]))
    before = _values()
    at = _upload(page_as("pages/officer/imports.py", actor_of("officer1")).run(), "税务.xlsx", data)
    _dry_run_button(at).click().run()
    assert not at.exception, at.exception
    # The unknown header holds numbers: the mapping step asks for it, quoting it as plain text.
    assert f"列“{EVIL_HEADER}”对应：" in [t.value for t in at.text]
    at.selectbox(key="map_0").set_value("T01").run()  # …mapped onto an indicator another column already has
    next(b for b in at.button if b.label == "按以上对应重新试导入").click().run()
    assert not at.exception, at.exception
    errors = [str(e.value) for e in at.error]
    assert any(plain(f"列“{EVIL_HEADER}”与列“研发费用总额”都对应指标") in e for e in errors), errors
    # Nothing Streamlit renders as Markdown carries the header's markup unescaped.
    sources = _markdown_sources(at)
    assert not [s for s in sources if "**粗体**" in s or "<b>" in s or "](http://x)" in s], sources
    assert _values() == before


def test_two_visible_data_sheets_are_offered_and_the_dry_run_names_the_one_read(fresh_db: str) -> None:
    ents = _enterprises()
    head = ["统一社会信用代码", "企业名称", "研发费用总额", "营业收入"]
    first = [head, *[[c, n, 10 + i, 800] for i, (c, n) in enumerate(ents)]]
    second = [head, *[[c, n, 60 + i, 900] for i, (c, n) in enumerate(ents)]]
    data = workbook(("填报说明", [["请分年度填写"]]), ("2023年", first), ("2024年", second), active=0)
    before = _values()
    at = _upload(page_as("pages/officer/imports.py", actor_of("officer1")).run(), "两年.xlsx", data)
    _dry_run_button(at).click().run()
    assert not at.exception, at.exception
    assert any(
        "2023年" in str(w.value) and "2024年" in str(w.value) and "选择工作表" in str(w.value)
        for w in at.warning
    )
    choice = at.selectbox(key="import_sheet")
    assert list(choice.options) == ["2023年", "2024年"]
    assert not [t for t in at.text if "试导入结果" in str(t.value)] and not at.subheader  # no dry run yet
    assert _values() == before
    choice.set_value("2024年").run()
    _dry_run_button(at).click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.subheader][:1] == ["试导入结果"]
    texts = [str(t.value) for t in at.text]
    assert any("读取的工作表：“2024年”" in t and "指定的工作表" in t for t in texts), texts
    assert _values() == before  # a dry run writes no value
    next(b for b in at.button if b.label == "确认导入").click().run()
    assert not at.exception, at.exception
    with session_scope() as session:
        stored = current_code_values_by_credit_code(session, code="T01", year=2025)
        stored = stored[stored.credit_code.isin([c for c, _ in ents])]
    assert dict(zip(stored.credit_code, stored.value_num, strict=True)) == {
        c: 60.0 + i for i, (c, _) in enumerate(ents)
    }  # the chosen sheet's numbers


@pytest.mark.parametrize("kind", ["et", "txt"])
def test_wps_et_and_excel_unicode_text_pass_the_uploader_and_are_read(fresh_db: str, kind: str) -> None:
    # WPS saves .et; Excel's "Unicode 文本" is a .txt of tabs in UTF-16. The uploader turned both away with
    # Streamlit's English "files are not allowed" before the reader, which reads either by its content.
    ents = _enterprises()
    head = ["统一社会信用代码", "企业名称", "研发费用总额", "营业收入"]
    rows = [head, *[[c, n, 30 + i, 800] for i, (c, n) in enumerate(ents)]]
    if kind == "et":
        data = xls_files.workbook(("数据", rows))
    else:
        data = "\r\n".join("\t".join(str(v) for v in r) for r in rows).encode("utf-16")
    at = page_as("pages/officer/imports.py", actor_of("officer1")).run()
    assert f".{kind}" in at.file_uploader(key="import_file").proto.type  # what the browser lets through
    at = _upload(at, f"税务.{kind}", data)
    _dry_run_button(at).click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.subheader][:1] == ["试导入结果"]
    texts = [str(t.value) for t in at.text]
    assert any(f"{len(ents)} 行；可写入 {2 * len(ents)} 个数值" in t for t in texts), texts


@pytest.fixture
def seeded_url(db_engine: Engine) -> Iterator[str]:
    """A small seeded database on each backend (SQLite and, with TEST_DATABASE_URL, PostgreSQL)."""
    from demo import seed_demo

    with session_scope(db_engine) as session:
        seed_demo(session, enterprises=30, local_demo=True)
    with _database_url(db_engine.url.render_as_string(hide_password=False)) as url:
        yield url


def test_import_report_tables_are_readable(seeded_url: str) -> None:
    """The dry run's tables go through the one table component: a refused file's problems, the changes of
    a clean one and the batch history read as Chinese text (no None/nan/True), and a change filter that
    matches nothing says so in a sentence instead of an empty grid."""
    from tests.app.readable import assert_readable

    ents = _enterprises()
    head = ["统一社会信用代码", "企业名称", "研发费用总额", "营业收入"]
    bad = [head, [ents[0][0], ents[0][1], "约五十万", 800], [ents[1][0], ents[1][1], None, 900]]
    at = _upload(
        page_as("pages/officer/imports.py", actor_of("officer1")).run(), "税务.xlsx", workbook(("数据", bad))
    )
    _dry_run_button(at).click().run()
    assert not at.exception, at.exception
    assert at.error and at.dataframe, "a refused file shows its problems in a table"
    assert_readable(at)

    good = [head, *[[c, n, 10 + i, 800] for i, (c, n) in enumerate(ents)]]
    at = _upload(
        page_as("pages/officer/imports.py", actor_of("officer1")).run(), "税务.xlsx", workbook(("数据", good))
    )
    _dry_run_button(at).click().run()
    assert not at.exception, at.exception
    assert at.dataframe
    assert_readable(at)
    at.text_input(key="diff_query").input("没有这家企业").run()
    assert "没有符合筛选条件的变化。" in [c.value for c in at.caption]
    next(b for b in at.button if b.label == "确认导入").click().run()
    assert not at.exception, at.exception
    assert_readable(at)  # the history table of the batch just written
