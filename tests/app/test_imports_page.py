"""数据导入 page (issue 8): what a file says is shown as text.

The files are uploaded through the page's own file uploader and dry-run by its buttons, as an officer
would; the database is checked to have been left alone where nothing may be written.
"""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy import func, select

from db.models import Enterprise, IndicatorValue
from db.session import session_scope
from tests.app.conftest import actor_of, page_as
from tests.app.test_security_pages import _markdown_sources
from ui.text import plain

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EVIL_HEADER = "**粗体** <b>x</b> [链接](http://x)"


def _workbook(*sheets: tuple[str, list[list]], active: int = 0) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets:
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.active = active
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _enterprises(n: int = 3) -> list[tuple[str, str]]:
    with session_scope() as session:
        return [tuple(r) for r in session.execute(select(Enterprise.credit_code, Enterprise.name)
                                                  .order_by(Enterprise.id).limit(n)).all()]


def _values() -> int:
    with session_scope() as session:
        return session.execute(select(func.count()).select_from(IndicatorValue)).scalar_one()


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
    data = _workbook(("数据", [head, *[[c, n, 50 + i, 60 + i] for i, (c, n) in enumerate(ents)]]))
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

