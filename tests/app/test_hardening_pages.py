"""On the officers' page: an objection flood is closed in one step (批量驳回 with one reason)."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Objection, ScoreRun
from db.session import session_scope
from tests.app.conftest import actor_of, through_home
from tests.seeded import file_own_objection


def test_officer_rejects_a_flood_of_objections_in_one_step(fresh_db: str) -> None:
    ent = actor_of("ent1")
    with session_scope() as session:
        run_id = session.execute(select(ScoreRun.id).where(ScoreRun.state == "notice")).scalar_one()
        for code in ("T01", "T02", "T04"):
            file_own_objection(session, ent, run_id, indicator_code=code, reason=f"{code} 数据有误")
    at = through_home("officer1", "pages/officer/runs.py")
    assert not at.exception, at.exception
    next(c for c in at.checkbox if c.label.startswith("驳回全部")).check()
    next(t for t in at.text_area if t.label.startswith("驳回理由")).input("重复提交，已统一核查，数据无误。")
    next(b for b in at.button if b.label == "批量驳回").click().run()
    assert not at.exception, at.exception
    assert any("已驳回 3 条异议" in str(s.value) for s in at.success), [s.value for s in at.success]
    with session_scope() as session:
        states = session.execute(
            select(Objection.state, Objection.answer).where(Objection.enterprise_id == ent.enterprise_id)
        ).all()
    assert {tuple(s) for s in states} == {("rejected", "重复提交，已统一核查，数据无误。")}
