"""积分计算与公示: the 公示 and objection process holds up.

The officer opens the evidence an enterprise attached to its objection; 定稿 inside the 公示 window is
refused to an officer and asks an admin for a reason; 开始公示 over a running 公示 asks first.
"""

from __future__ import annotations

from sqlalchemy import select

from db.models import ScoreRun
from db.session import session_scope
from services import objections, runs
from tests.app.conftest import actor_of, through_home
from tests.integration.test_objections import PNG


def _notice_run_id() -> int:
    with session_scope() as session:
        return session.execute(select(ScoreRun.id).where(ScoreRun.state == "notice")).scalar_one()


def test_officer_opens_the_evidence_of_an_objection(fresh_db: str) -> None:
    ent = actor_of("ent1")
    with session_scope() as session:
        filed = objections.file_objection(
            session,
            actor=ent,
            run_id=_notice_run_id(),
            enterprise_id=ent.enterprise_id,
            indicator_code="T04",
            reason="研发人员数漏报",
            attachments=[("研发人员名单.png", PNG), ("社保缴纳证明.png", PNG)],
        )
        objection_id = filed.id
    at = through_home("officer1", "pages/officer/runs.py")
    assert not at.exception, at.exception
    table = next(t for t in at.dataframe if "证明材料" in t.value.columns).value
    assert table.set_index("编号").loc[objection_id, "证明材料"] == "2 个"
    assert at.selectbox(key="objection_evidence").value == objection_id
    texts = [t.value for t in at.text]
    assert "研发人员名单.png" in texts and "社保缴纳证明.png" in texts and "异议理由：研发人员数漏报" in texts
    downloads = [e for e in at.get("download_button")]
    assert len([d for d in downloads if d.proto.label == "下载原件"]) == 2


def _finalize_clicked(username: str):  # noqa: ANN202 - an AppTest
    """runs.py as ``username``, the run in 公示 selected and 定稿 clicked (no exception)."""
    at = through_home(username, "pages/officer/runs.py")
    at.selectbox(key="run_select").select(_notice_run_id()).run()
    at.button(key="finalize_button").click().run()
    assert not at.exception, at.exception
    return at


def test_finalize_inside_the_window_is_refused_to_an_officer(fresh_db: str) -> None:
    at = _finalize_clicked("officer1")
    refusal = " ".join(str(e.value) for e in at.error)
    assert "公示期满后才能定稿" in refusal and "系统管理员" in refusal
    assert at.button(key="confirm_ok").disabled
    assert not [t for t in at.text_area if t.key == "confirm_reason"]


def test_finalize_inside_the_window_asks_an_admin_for_a_reason(fresh_db: str) -> None:
    at = _finalize_clicked("admin")
    warnings = " ".join(str(w.value) for w in at.warning)
    assert "提前定稿后，企业不能再对本批次提出异议" in warnings
    assert at.text_area(key="confirm_reason").label.startswith("提前定稿理由")
    assert not at.button(key="confirm_ok").disabled


def test_publishing_over_a_running_notice_asks_first(fresh_db: str) -> None:
    notice_id = _notice_run_id()
    with session_scope() as session:
        year = session.get(ScoreRun, notice_id).year
        draft_id = runs.compute_run(session, actor=actor_of("officer1"), year=year).id
    at = through_home("officer1", "pages/officer/runs.py")
    at.selectbox(key="run_select").select(draft_id).run()
    next(b for b in at.button if b.label == "开始公示").click().run()
    assert not at.exception, at.exception
    assert any(f"批次 #{notice_id} 正在公示" in str(w.value) for w in at.warning)
    assert at.button(key="confirm_ok").label == "确认替代并开始公示"
    with session_scope() as session:  # nothing happened before the answer
        assert session.get(ScoreRun, notice_id).state == "notice"
        assert session.get(ScoreRun, draft_id).state == "draft"


def test_officer_corrects_the_value_of_an_upheld_objection_in_a_form(fresh_db: str) -> None:
    """No hand-built department file: the officer types the corrected value."""
    from db.values import stored_values

    ent, officer = actor_of("ent1"), actor_of("officer1")
    run_id = _notice_run_id()
    with session_scope() as session:
        year = session.get(ScoreRun, run_id).year
        filed = objections.file_objection(
            session,
            actor=ent,
            run_id=run_id,
            enterprise_id=ent.enterprise_id,
            indicator_code="G01",
            reason="营业收入少计了一笔",
        )
        objections.answer_objection(
            session, actor=officer, objection_id=filed.id, action="uphold", answer="经税务复核采纳"
        )
        objection_id = filed.id
    at = through_home("officer1", "pages/officer/runs.py")
    assert not at.exception, at.exception
    assert at.selectbox(key="correct_objection").value == objection_id
    assert at.selectbox(key="correct_code").value == "G01"  # the objection's indicator
    at.text_input(key="correct_value").input("1234.5")
    at.text_area(key="correct_reason_text").input(f"异议 #{objection_id} 采纳：以税务复核数为准")
    next(b for b in at.button if b.label == "提交更正").click().run()
    assert not at.exception, at.exception
    assert any("重新计算" in str(s.value) and "已更正" in str(s.value) for s in at.success)
    with session_scope() as session:
        value = stored_values(
            session, enterprise_id=ent.enterprise_id, year=year, code="G01", current=True
        ).value_num.tolist()
    assert value == [1234.5]


def test_bulk_approval_leaves_no_report_ticked_that_nobody_chose(fresh_db: str) -> None:
    """After 批量通过 the approved reports leave the queue; the ticks must not stay on the same positions,
    now other firms."""
    from services import review
    from tests.app.conftest import page_as

    officer = actor_of("officer1")
    at = page_as("pages/officer/review.py", officer).run()
    queue = at.dataframe[0].value
    assert len(queue) >= 4
    at.session_state["review_queue"] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    at.run()
    assert any(b.label == "批量通过所选（2 条）" for b in at.button)
    chosen = queue["编号"].iloc[:2].tolist()
    with session_scope() as session:  # what the dialog's 确认通过 does
        from db.models import Submission

        items = [(int(i), session.get(Submission, int(i)).version) for i in chosen]
        assert not review.bulk_approve(session, actor=officer, items=items).failed
    at.run()
    assert not at.exception, at.exception
    remaining = at.dataframe[0].value
    assert not set(chosen) & set(remaining["编号"]) and len(remaining) == len(queue) - 2
    bulk = next(b for b in at.button if b.label.startswith("批量通过所选"))
    assert bulk.label == "批量通过所选（0 条）" and bulk.disabled
    assert any("勾选一行" in str(i.value) for i in at.info)  # no other firm's report opened
