"""Scenario pages in AppTest: they show the run's numbers in readable Chinese, and their actions work
(whitelist export audited, consent withdrawn on the enterprise side, a service request handled)."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select

from db.models import AuditEvent, Enterprise, ServiceRequest
from db.session import session_scope
from tests.app.conftest import actor_of, page_as, through_home
from tests.app.readable import assert_readable

SCENARIO_PAGES = [
    "pages/officer/lists.py",
    "pages/officer/pools.py",
    "pages/officer/carriers.py",
    "pages/officer/bank.py",
    "pages/officer/monitoring.py",
    "pages/officer/service_requests.py",
]


@pytest.mark.parametrize("path", [*SCENARIO_PAGES, "pages/officer/workbench.py"])
def test_each_page_renders_readable_tables(app_db: str, path: str) -> None:
    at = page_as(path, actor_of("officer1")).run()
    assert not at.exception, at.exception
    assert at.title
    assert_readable(at)


def test_lists_page_shows_sizes_plan_and_exports(app_db: str) -> None:
    at = page_as("pages/officer/lists.py", actor_of("officer1")).run()
    assert not at.exception
    frames = {tuple(f.value.columns)[:3]: f.value for f in at.dataframe}
    sizes = next(df for cols, df in frames.items() if cols[:2] == ("阶段", "参与排名"))
    assert any(str(v).startswith("⌈5%×") for v in sizes.iloc[:, 3])
    # only the open tab is drawn: the 榜单 tab's tables, not the subsidy plan
    assert not any("适用限制" in df.columns for df in frames.values())
    at.session_state["lists_tab"] = "精准扶持"  # the officer opens another tab: the page reruns with it
    at.run()
    assert not at.exception
    plan = next(
        df
        for df in (f.value for f in at.dataframe)
        if "适用限制" in df.columns and "预算（万元）" in df.columns
    )
    assert plan.iloc[-1]["阶段"] == "合计"
    assert any("扶持名单" in d.label for d in at.get("download_button"))
    at.session_state["lists_tab"] = "公示导出"
    at.run()
    assert any("公示文件" in d.label for d in at.get("download_button"))


def test_the_stage_chosen_in_the_lists_tab_is_kept_while_another_tab_is_open(app_db: str) -> None:
    at = page_as("pages/officer/lists.py", actor_of("officer1")).run()
    at.selectbox(key="lists_stage").select_index(1).run()  # the first stage (0 is 全部阶段)
    chosen = at.selectbox(key="lists_stage").value
    assert chosen is not None
    shown = [c.value for c in at.caption if c.value.startswith("上榜企业")]
    at.session_state["lists_tab"] = "精准扶持"  # the 榜单 tab is closed: its selectbox is not drawn
    at.run()
    at.session_state["lists_tab"] = "榜单"
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="lists_stage").value == chosen
    assert [c.value for c in at.caption if c.value.startswith("上榜企业")] == shown


@pytest.mark.parametrize(
    ("tab", "count", "download"), [("榜单", "上榜企业", "上榜企业"), ("亩均论英雄", "标记企业", "亩均论英雄")]
)
def test_a_long_list_shows_its_first_rows_and_says_the_download_holds_all(
    app_db: str, tab: str, count: str, download: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ui.tables.SHOWN_ROWS", 3)
    at = page_as("pages/officer/lists.py", actor_of("officer1"))
    at.session_state["lists_tab"] = tab
    at.run()
    assert not at.exception, at.exception
    caption = next(c.value for c in at.caption if c.value.startswith(count))
    total = int(caption.split(" ")[1].replace(",", ""))
    assert total > 3 and caption.endswith("，下表显示前 3 家，下载包含全部。")
    table = next(f.value for f in at.dataframe if "统一社会信用代码" in f.value.columns)
    assert len(table) == 3
    assert f"下载 {download}（xlsx）" in [d.label for d in at.get("download_button")]


@pytest.mark.parametrize("tab", ["榜单", "精准扶持", "资金拨付", "亩均论英雄", "公示导出"])
def test_each_tab_of_the_lists_page_renders_readable_tables(app_db: str, tab: str) -> None:
    at = page_as("pages/officer/lists.py", actor_of("officer1"))
    at.session_state["lists_tab"] = tab
    at.run()
    assert not at.exception, at.exception
    assert_readable(at)


def test_the_pools_stage_filter_offers_the_candidates_stages_nearest_first(app_db: str) -> None:
    from services.scenarios import pools_view

    at = page_as("pages/officer/pools.py", actor_of("officer1")).run()
    assert not at.exception, at.exception
    pool = at.selectbox(key="pool_choice").value
    with session_scope() as session:
        candidates = pools_view(session, actor=actor_of("officer1")).candidates[pool]
    wanted = list(dict.fromkeys(candidates["所属阶段"].tolist()))  # as they first appear, nearest first
    assert len(wanted) > 1
    assert at.selectbox(key="pool_stage").options == ["全部阶段", *wanted]
    at.selectbox(key="pool_stage").select(wanted[-1]).run()
    table = next(f.value for f in at.dataframe if "未满足条件" in f.value.columns)
    assert len(table) and set(table["所属阶段"]) == {wanted[-1]}


def test_pools_page_lists_gaps(app_db: str) -> None:
    at = page_as("pages/officer/pools.py", actor_of("officer1")).run()
    assert not at.exception
    table = next(f.value for f in at.dataframe if "未满足条件" in f.value.columns)
    gaps = [g for g in table["未满足条件"] if g != "—"]
    assert gaps and all("需" in g for g in gaps)
    # the export writes every candidate with its sentences, as the screen shows them
    next(b for b in at.button if b.label == "生成导出文件").click().run()
    assert not at.exception, at.exception
    file_name, _fmt, data, rows = at.session_state["pool_export_ready"]
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header, *body = list(sheet.values)
    assert rows == len(body) >= len(table) and header[-1] == "未满足条件"
    assert [r[-1] for r in body[: len(table)]] == table["未满足条件"].tolist()


def test_a_bank_criterion_keeps_its_number_while_another_criterion_is_chosen(app_db: str) -> None:
    at = through_home("officer1", "pages/officer/bank.py")
    at.radio(key="bank_mode").set_value("top_n").run()
    at.number_input(key="bank_top").set_value(25).run()
    at.radio(key="bank_mode").set_value("tier").run()  # one criterion's field at a time: 25 not drawn
    assert not [n for n in at.number_input if n.key == "bank_top"]
    at.radio(key="bank_mode").set_value("top_n").run()
    assert not at.exception, at.exception
    assert at.number_input(key="bank_top").value == 25
    assert any("条件：各阶段前 25 名" in c.value for c in at.caption)  # the list is the one for 25


def test_bank_page_exports_and_audits(fresh_db: str) -> None:
    at = page_as("pages/officer/bank.py", actor_of("officer1")).run()
    assert not at.exception
    at.text_input(key="bank_name").input("温州银行龙湾支行")
    next(b for b in at.button if b.label == "导出名单").click().run()
    assert not at.exception, at.exception
    assert any("已为“温州银行龙湾支行”生成推荐名单" in str(s.value) for s in at.success)
    assert any("推荐名单_温州银行龙湾支行" in d.label for d in at.get("download_button"))
    with session_scope() as session:
        event = (
            session.execute(select(AuditEvent).where(AuditEvent.action == "bank_whitelist.export"))
            .scalars()
            .one()
        )
        assert event.actor == "officer1" and event.after["bank"] == "温州银行龙湾支行"


def test_enterprise_withdraws_consent(fresh_db: str) -> None:
    ent = actor_of("ent1")
    with session_scope() as session:
        session.get(Enterprise, ent.enterprise_id).bank_consent = True
    at = page_as("pages/enterprise/services.py", ent).run()
    assert not at.exception
    next(b for b in at.button if b.label == "撤回授权").click().run()
    assert not at.exception
    assert any("已撤回授权" in str(s.value) for s in at.success)
    assert any(b.label == "同意向合作银行推荐" for b in at.button)
    with session_scope() as session:
        row = session.get(Enterprise, ent.enterprise_id)
        assert row.bank_consent is False and row.bank_consent_at is not None


def test_service_request_handled_and_enterprise_sees_answer(fresh_db: str) -> None:
    from services.service_requests import catalogue, request_service

    ent = actor_of("ent1")
    with session_scope() as session:
        code = catalogue(session, actor=ent)[0][0]
        request_id = request_service(
            session, actor=ent, enterprise_id=ent.enterprise_id, service_code=code, note="希望对接投资机构"
        ).id
    at = page_as("pages/officer/service_requests.py", actor_of("officer1")).run()
    assert not at.exception
    table = next(f.value for f in at.dataframe if "编号" in f.value.columns)
    row = table["编号"].tolist().index(request_id)
    at.session_state["sr_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    next(b for b in at.button if b.label == "受理").click().run()
    assert not at.exception, at.exception
    at.session_state["sr_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    at.text_area[0].input("已安排下周对接会")
    next(b for b in at.button if b.label == "答复并办结").click().run()
    assert not at.exception, at.exception
    with session_scope() as session:
        done = session.get(ServiceRequest, request_id)
        assert (done.state, done.answer) == ("done", "已安排下周对接会")
    mine = page_as("pages/enterprise/services.py", ent).run()
    shown = [m.value for m in mine.markdown]
    assert "答复：已安排下周对接会" in shown and any(m.endswith("· 已完成") for m in shown), shown


def test_service_requests_name_the_stage_of_the_run_they_come_from(fresh_db: str) -> None:
    """Another model published (not yet run): 服务需求处理 still names each enterprise's stage in the latest
    published run by that run's model (初创期 …), and filters by those stages — not an empty 阶段 column
    and a filter of stages no request can be in."""
    from services.model_versions import publish_model_version, register_model
    from services.service_requests import catalogue, request_service
    from tests.zone_model import zone_model_dict

    ent, officer = actor_of("ent1"), actor_of("officer1")
    with session_scope() as session:
        code = catalogue(session, actor=ent)[0][0]
        request_service(session, actor=ent, enterprise_id=ent.enterprise_id, service_code=code)
        draft = register_model(session, actor=officer, definition=zone_model_dict())
        publish_model_version(session, actor=officer, version_id=draft.id)
    at = page_as("pages/officer/service_requests.py", officer).run()
    assert not at.exception, at.exception
    table = next(f.value for f in at.dataframe if "编号" in f.value.columns)
    default_stages = ["种子期", "初创期", "成长期", "扩张期", "成熟期"]
    assert table["阶段"].isin(default_stages).all(), table["阶段"].tolist()
    assert at.selectbox(key="sr_stage").options == ["全部阶段", *default_stages]


def test_monitoring_page_builds_the_report(app_db: str) -> None:
    at = page_as("pages/officer/monitoring.py", actor_of("officer1")).run()
    next(b for b in at.button if b.label == "生成监测报告").click().run()
    assert not at.exception, at.exception
    labels = [d.label for d in at.get("download_button")]
    assert any("xlsx" in label for label in labels) and any("HTML" in label for label in labels)
    assert any(m.value == "#### 积分上升最多" for m in at.markdown)
    assert_readable(at)


def test_readable_cells() -> None:
    from ui.tables import readable

    frame = pd.DataFrame(
        {
            "a": [None, 1.5],
            "b": [True, False],
            "c": ['[{"level": "省", "role": "牵头"}]', "[]"],
            "d": pd.array([1, None], dtype="Int64"),
        }
    )
    shown = readable(frame)
    assert shown["a"].tolist() == ["—", "1.5"] and shown["b"].tolist() == ["是", "否"]
    assert shown["c"].tolist() == ["省级·牵头 1 项", "无"] and shown["d"].tolist() == ["1", "—"]
    # Every column can be sent to the browser: one type per column, as Arrow needs.
    import pyarrow as pa

    pa.Table.from_pandas(shown, preserve_index=False)
    mixed = readable(pd.DataFrame({"n": pd.Series([3, "—", 2.25], dtype=object)}))
    assert mixed["n"].tolist() == ["3", "—", "2.25"]
