"""Officer pages: render for officer and admin (through Home.py), refuse enterprise and anonymous users,
and the main actions work in AppTest (review approve/return, import dry run, objection answer)."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import select

from db.models import Enterprise, Submission
from db.session import session_scope
from tests.app.conftest import actor_of, page_as, through_home
from tests.seeded import file_own_objection
from ui.navigation import OFFICER

OFFICER_PAGES = [spec.path for spec in OFFICER]


@pytest.mark.parametrize("path", OFFICER_PAGES)
@pytest.mark.parametrize("username", ["officer1", "admin"])
def test_staff_see_each_page_through_home(app_db: str, path: str, username: str) -> None:
    at = through_home(username, path)
    assert not at.exception, at.exception
    assert not [e for e in at.error if "仅限" in str(e.value)]
    assert at.title, "the page rendered its title"


@pytest.mark.parametrize("path", OFFICER_PAGES)
def test_enterprise_user_is_refused(app_db: str, path: str) -> None:
    at = page_as(path, actor_of("ent1")).run()
    assert not at.exception
    assert any("仅限" in str(e.value) for e in at.error)
    assert not at.title


@pytest.mark.parametrize("path", OFFICER_PAGES)
def test_anonymous_is_refused(app_db: str, path: str) -> None:
    at = page_as(path, None).run()
    assert not at.exception
    assert any("请先登录" in str(w.value) for w in at.warning)


def _tick(at, rows: list[int]) -> None:  # noqa: ANN001 - AppTest
    """Tick queue rows as a click does, on the queue table's current key (ui.row_selection renews the key
    whenever the queue's rows change, which clears every tick)."""
    generation = at.session_state["_review_queue_rows"]["generation"]
    key = "review_queue" if generation == 0 else f"review_queue_{generation}"
    at.session_state[key] = {"selection": {"rows": rows, "columns": [], "cells": []}}


def test_review_page_approve_and_return(fresh_db: str) -> None:
    officer = actor_of("officer1")
    at = page_as("pages/officer/review.py", officer).run()
    assert not at.exception
    with session_scope() as session:
        pending = (
            session.execute(
                select(Submission.id)
                .where(Submission.state == "submitted")
                .order_by(Submission.submitted_at, Submission.id)
            )
            .scalars()
            .all()
        )
    assert pending
    # Select the first row (what a click does) and approve it.
    at.session_state["review_queue"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    assert any("审核通过" in b.label for b in at.button)
    next(b for b in at.button if b.label == "审核通过").click().run()
    assert not at.exception, at.exception
    with session_scope() as session:
        assert session.get(Submission, pending[0]).state == "approved"
    # Return the next one without a reason: refused; with a reason: returned.
    _tick(at, [0])
    at.run()
    next(b for b in at.button if b.label == "退回企业修改").click().run()
    assert any("必须填写理由" in str(e.value) for e in at.error)
    at.text_area[0].input("请补充证明材料")
    next(b for b in at.button if b.label == "退回企业修改").click().run()
    assert not at.exception
    with session_scope() as session:
        sub = session.get(Submission, pending[1])
        assert sub.state == "returned" and sub.reason == "请补充证明材料"


def test_imports_page_template_download(app_db: str) -> None:
    at = page_as("pages/officer/imports.py", actor_of("officer1")).run()
    assert not at.exception
    assert any("导入模板" in str(getattr(d, "label", "")) for d in at.get("download_button"))


def test_service_layer_template_is_a_real_xlsx(app_db: str) -> None:
    from services import imports

    with session_scope() as session:
        data = imports.template_xlsx(session, actor=actor_of("officer1"), department="科技")
        assert session.execute(select(Enterprise.id).limit(1)).scalar_one()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert [c.value for c in wb["数据"][1]][:2] == ["统一社会信用代码", "企业名称"]


def test_quick_review_opens_the_next_waiting_report(fresh_db: str) -> None:
    officer = actor_of("officer1")
    with session_scope() as session:
        pending = session.execute(
            select(Submission.id, Enterprise.name)
            .join(Enterprise, Enterprise.id == Submission.enterprise_id)
            .where(Submission.state == "submitted")
            .order_by(Submission.submitted_at, Submission.id)
        ).all()
    assert len(pending) >= 3
    at = page_as("pages/officer/review.py", officer).run()
    at.session_state["review_queue"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert any(pending[0].name in str(h.value) for h in at.subheader)
    # 通过并打开下一条: the first is approved and the second is open, without touching the list.
    next(b for b in at.button if b.label == "通过并打开下一条").click().run()
    assert not at.exception, at.exception
    assert any(pending[1].name in str(h.value) for h in at.subheader)
    assert any("已打开下一条" in str(s.value) for s in at.success)
    # 退回并打开下一条 on the second, with a reason: returned, and the third is open.
    at.text_area[0].input("请补充证明材料")
    next(b for b in at.button if b.label == "退回并打开下一条").click().run()
    assert not at.exception, at.exception
    assert any(pending[2].name in str(h.value) for h in at.subheader)
    assert at.text_area[0].value in ("", None)  # the reason does not carry over to the next report
    with session_scope() as session:
        assert session.get(Submission, pending[0].id).state == "approved"
        assert session.get(Submission, pending[1].id).state == "returned"
        assert session.get(Submission, pending[2].id).state == "submitted"


def test_imports_page_mapping_step_then_commit_then_undo(fresh_db: str) -> None:
    from services import imports
    from tests.integration.test_imports import to_xlsx

    officer = actor_of("officer1")
    with session_scope() as session:
        ents = session.execute(select(Enterprise.credit_code, Enterprise.name).limit(3)).all()
    head = ["统一社会信用代码", "企业名称", "营业收入（元）", "研发投入额"]
    data = to_xlsx(head, [[c, n, 1234567.8, 5] for c, n in ents])
    with session_scope() as session:
        report = imports.dry_run_import(
            session, actor=officer, department="税务", year=2025, file_name="税务.xlsx", data=data
        )
    at = page_as("pages/officer/imports.py", officer)
    at.session_state["import_dry_run"] = {
        "report": report,
        "data": data,
        "name": "税务.xlsx",
        "department": "税务",
        "year": 2025,
        "column_map": {},
        "ignore": [],
        "csv": b"",
    }
    at.run()
    assert not at.exception
    assert any("看似数据" in str(w.value) for w in at.warning)
    assert not any(b.label == "确认导入" for b in at.button)  # nothing to commit until the column is mapped
    texts = " ".join(str(t.value) for t in at.text)
    assert "÷ 10000" in texts and "可写入" not in texts
    at.selectbox(key="map_0").set_value("T01").run()
    next(b for b in at.button if b.label == "按以上对应重新试导入").click().run()
    assert not at.exception
    counts = {m.label: int(m.value) for m in at.metric if m.label in ("新增", "变更", "不变")}
    assert sum(counts.values()) == 6 and counts["不变"] == 0  # 3 enterprises × (G01, T01)
    next(b for b in at.button if b.label == "确认导入").click().run()
    assert not at.exception
    with session_scope() as session:
        history = imports.list_batches(session, actor=officer)
    assert history["status"].iloc[0] == "committed"
    batch_id = int(history["id"].iloc[0])
    at.selectbox(key="history_batch").set_value(batch_id).run()
    undo = next(b for b in at.button if b.label == "撤销该批次")
    assert undo.disabled  # needs the confirmation
    at.checkbox(key=f"undo_confirm_{batch_id}").check().run()
    next(b for b in at.button if b.label == "撤销该批次").click().run()
    assert not at.exception and any("已撤销批次" in str(s.value) for s in at.success)
    with session_scope() as session:
        assert imports.get_batch(session, actor=officer, batch_id=batch_id).status == "reverted"


def test_publishing_warns_about_open_objections_on_another_run_of_the_year(fresh_db: str) -> None:
    from db.models import ScoreRun
    from services import runs

    ent = actor_of("ent1")
    officer = actor_of("officer1")
    with session_scope() as session:
        notice = session.execute(select(ScoreRun).where(ScoreRun.state == "notice")).scalars().one()
        year = notice.year
        file_own_objection(session, ent, notice.id)
        draft = runs.compute_run(session, actor=officer, year=year)
        draft_id = draft.id
    at = through_home("officer1", "pages/officer/runs.py")
    at.selectbox(key="run_select").select(draft_id).run()
    assert not at.exception
    warnings = [str(w.value) for w in at.warning]
    assert any(f"#{notice.id}" in w and "异议尚未答复" in w for w in warnings), warnings
