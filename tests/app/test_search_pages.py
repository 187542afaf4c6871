"""企业检索, 企业画像 and 同阶段对比 in AppTest: search by initials, filter, export, open a portrait and
a comparison — with Chinese on screen (no codes alone, None or English placeholders)."""

from __future__ import annotations

import io
import re

import pandas as pd
from openpyxl import load_workbook
from sqlalchemy import select

from db.models import Enterprise
from db.session import session_scope
from services.search import search_enterprises
from tests.app.conftest import TEXT_KINDS, actor_of, home, login_as, page_as
from ui.selection import COMPARE_KEY, PORTRAIT_KEY


def _texts(at) -> str:  # noqa: ANN001
    parts = []
    for kind in TEXT_KINDS:
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def _table(at) -> pd.DataFrame:  # noqa: ANN001
    return next(d.value for d in at.dataframe if "企业名称" in d.value.columns)


def _target() -> tuple[int, str, str]:
    with session_scope() as session:
        return session.execute(
            select(Enterprise.id, Enterprise.name, Enterprise.name_initials)
            .order_by(Enterprise.id)
            .offset(5)
            .limit(1)
        ).one()


def test_search_by_initials_then_filter_by_stage(app_db: str) -> None:
    enterprise_id, name, initials = _target()
    at = page_as("pages/officer/search.py", actor_of("officer1")).run()
    assert not at.exception, at.exception
    everything = _table(at)
    assert len(everything) > 50
    at.text_input(key="search_query").input(initials.split("|")[0][:4])
    at.button[0].click().run()  # 检索 (the form's submit button)
    assert not at.exception, at.exception
    found = _table(at)
    assert name in found["企业名称"].tolist()
    assert set(found["匹配方式"]) <= {"简拼", "全拼", "名称", "信用代码"}
    assert len(found) < len(everything)

    stage_name = found.loc[found["企业名称"] == name, "发展阶段"].iloc[0]
    with session_scope() as session:
        everyone = search_enterprises(session, actor=actor_of("officer1")).frame
    code = everyone.loc[everyone["enterprise_id"] == enterprise_id, "stage"].iloc[0]
    at.multiselect(key="search_stages").select(code)
    next(b for b in at.button if b.label == "检索").click().run()
    narrowed = _table(at)
    assert set(narrowed["发展阶段"]) == {stage_name} and name in narrowed["企业名称"].tolist()
    text = _texts(at)
    assert "None" not in text and "符合条件" in text


def test_export_small_result_is_a_styled_xlsx(app_db: str) -> None:
    at = page_as("pages/officer/search.py", actor_of("officer1")).run()
    next(b for b in at.button if b.label == "生成导出文件").click().run()
    assert not at.exception, at.exception
    assert any("下载" in str(b.label) for b in at.get("download_button"))
    file_name, fmt, data, rows = at.session_state["search_export_ready"]
    assert fmt == "xlsx" and file_name.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]][:3] == ["企业名称", "统一社会信用代码", "发展阶段"]
    assert sheet.freeze_panes == "A2"
    assert rows == sheet.max_row - 1


def test_picking_one_opens_the_portrait_with_sources(app_db: str) -> None:
    enterprise_id, name, _ = _target()
    at = login_as(home(), "officer1", "officer").run()  # through Home.py: its navigation knows 审计日志
    at.session_state[PORTRAIT_KEY] = enterprise_id
    at.switch_page("pages/officer/portrait.py").run()
    assert not at.exception, at.exception
    assert any(h.value == name for h in at.header)
    metrics = {m.label for m in at.metric}
    assert {"总积分", "发展阶段", "阶段排名"} <= metrics
    with session_scope() as session:
        result = search_enterprises(session, actor=actor_of("officer1"))
    row = result.frame[result.frame["enterprise_id"] == enterprise_id].iloc[0]
    assert next(m.value for m in at.metric if m.label == "总积分") == f"{row['total']:,.2f}"
    sources = next(d.value for d in at.dataframe if "origin" in d.value.columns)
    assert sources["origin"].str.contains(r"导入批次 #\d+|企业自报 #\d+|无数据").all()
    assert "数据来源与审计" in _texts(at)


def test_comparison_of_three_with_stage_lines(app_db: str) -> None:
    with session_scope() as session:
        result = search_enterprises(session, actor=actor_of("officer1"))
    stage = result.frame["stage"].mode()[0]
    ids = result.frame[result.frame["stage"] == stage]["enterprise_id"].head(3).tolist()
    at = page_as("pages/officer/compare.py", actor_of("officer1"))
    at.session_state[COMPARE_KEY] = ids
    at.run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "item" in d.value.columns)
    names = result.frame.set_index("enterprise_id").loc[ids, "name"].tolist()
    for column in [*names, "阶段平均", "阶段中位数", "前10%线"]:
        assert column in table.columns
    assert table["item"].iloc[0] == "总积分"
    totals = result.frame.set_index("enterprise_id").loc[ids, "total"].tolist()
    assert [round(table.iloc[0][n], 6) for n in names] == [round(t, 6) for t in totals]
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    assert not re.search(r"\b(None|nan)\b", _texts(at))


def test_picks_survive_a_new_search(app_db: str) -> None:
    """A comparison is put together over several searches: an enterprise picked in one search stays
    picked (and stays an option) when the next search no longer finds it."""
    with session_scope() as session:
        frame = search_enterprises(session, actor=actor_of("officer1")).frame
    first, second = frame.iloc[0], frame[frame["name"] != frame.iloc[0]["name"]].iloc[-1]
    at = page_as("pages/officer/search.py", actor_of("officer1")).run()
    at.text_input(key="search_query").input(first["credit_code"])
    next(b for b in at.button if b.label == "检索").click().run()
    assert _table(at)["统一社会信用代码"].tolist() == [first["credit_code"]]
    at.multiselect(key="search_picked").select(int(first["enterprise_id"])).run()

    at.text_input(key="search_query").input(second["credit_code"])
    next(b for b in at.button if b.label == "检索").click().run()
    assert not at.exception, at.exception
    assert _table(at)["统一社会信用代码"].tolist() == [second["credit_code"]]
    picker = at.multiselect(key="search_picked")
    assert picker.value == [int(first["enterprise_id"])]
    picker.select(int(second["enterprise_id"])).run()
    picker = at.multiselect(key="search_picked")
    assert picker.value == [int(first["enterprise_id"]), int(second["enterprise_id"])]
    assert f"{first['name']}（{first['credit_code']}）" in picker.options
    compare = next(b for b in at.button if b.label == "同阶段对比")
    assert not compare.disabled
    compare.click().run()
    assert at.session_state[COMPARE_KEY] == [int(first["enterprise_id"]), int(second["enterprise_id"])]
