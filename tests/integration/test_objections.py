"""Objections during 公示: who may file, when, evidence checks, answering, uphold → recompute → supersede."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from core import clock
from db.models import Attachment, AuditEvent, Objection, ScoreRun, User
from demo import seed_demo
from services import objections, runs
from services.actor import Actor
from services.errors import Conflict, PermissionDenied, ValidationFailed
from tests.seeded import file_own_objection

OFFICER = Actor(username="officer1", role="officer", user_id=2)
PNG = bytes.fromhex(  # a real 1×1 PNG: evidence images are decoded at upload (a broken one is refused)
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c49444154789c63f8"
    "cfc0000003010100c9fe92ef0000000049454e44ae426082"
)


@pytest.fixture
def seeded(session: Session) -> tuple[Session, ScoreRun, Actor]:
    seed_demo(session, enterprises=60)
    run = session.execute(select(ScoreRun).where(ScoreRun.state == "notice")).scalar_one()
    user = session.execute(select(User).where(User.username == "ent1")).scalar_one()
    ent = Actor(username="ent1", role="enterprise", user_id=user.id, enterprise_id=user.enterprise_id)
    return session, run, ent


def inside(run: ScoreRun) -> datetime:
    """Noon (Beijing) of the notice's first day."""
    return clock.day_start(run.notice_start) + timedelta(hours=12)


def _answer(session: Session, objection_id: int, action: str, answer: str) -> Objection:
    """officer1 answers (reject / uphold) an objection."""
    return objections.answer_objection(
        session, actor=OFFICER, objection_id=objection_id, action=action, answer=answer
    )


def test_enterprise_files_with_evidence_and_officer_rejects(seeded) -> None:
    session, run, ent = seeded
    obj = file_own_objection(
        session,
        ent,
        run.id,
        indicator_code="T04",
        reason="研发人员数漏报",
        attachments=[("名单.png", PNG)],
        at=inside(run),
    )
    session.commit()
    assert obj.state == "open"
    att = session.execute(select(Attachment).where(Attachment.objection_id == obj.id)).scalar_one()
    assert att.content_type == "image/png" and att.enterprise_id == ent.enterprise_id
    mine = objections.list_objections(session, actor=ent)
    assert list(mine["id"]) == [obj.id] and mine.loc[0, "state_label"] == "待处理"
    with pytest.raises(ValidationFailed, match="理由"):
        _answer(session, obj.id, "reject", "")
    done = _answer(session, obj.id, "reject", "社保记录显示研发人员为 3 人，与填报一致")
    session.commit()
    assert done.state == "rejected" and done.answered_by == "officer1"
    seen = objections.list_objections(session, actor=ent)
    assert seen.loc[0, "answer"].startswith("社保记录") and seen.loc[0, "state_label"] == "已驳回"
    with pytest.raises(Conflict, match="已被他人处理"):
        _answer(session, obj.id, "uphold", "改判")
    session.rollback()
    actions = (
        session.execute(select(AuditEvent.action).where(AuditEvent.entity == "Objection")).scalars().all()
    )
    assert actions == ["objection.file", "objection.reject"]


def test_only_own_enterprise_and_only_inside_window(seeded) -> None:
    session, run, ent = seeded
    other = ent.enterprise_id + 1
    with pytest.raises(PermissionDenied):
        objections.file_objection(
            session,
            actor=ent,
            run_id=run.id,
            enterprise_id=other,
            indicator_code=None,
            reason="x",
            at=inside(run),
        )
    with pytest.raises(PermissionDenied):
        objections.list_objections(session, actor=ent, enterprise_id=other)
    with pytest.raises(Conflict, match="不在公示期"):
        file_own_objection(session, ent, run.id, reason="x", at=clock.day_end(run.notice_end))
    final = session.execute(select(ScoreRun).where(ScoreRun.state == "final")).scalar_one()
    with pytest.raises(Conflict, match="不在公示期"):
        file_own_objection(session, ent, final.id, reason="x", at=inside(run))
    with pytest.raises(ValidationFailed, match="不是有效的"):
        file_own_objection(
            session, ent, run.id, reason="x", attachments=[("a.pdf", b"MZ\x90 exe")], at=inside(run)
        )
    with pytest.raises(ValidationFailed, match="不在评价模型"):
        file_own_objection(session, ent, run.id, indicator_code="ZZ9", reason="x", at=inside(run))
    session.rollback()
    assert session.execute(select(func.count()).select_from(Objection)).scalar_one() == 0
    with pytest.raises(PermissionDenied):
        objections.answer_objection(session, actor=ent, objection_id=1, action="reject", answer="x")


def test_uphold_then_recompute_and_publish_supersedes(seeded) -> None:
    session, run, ent = seeded
    obj = file_own_objection(session, ent, run.id, at=inside(run))
    session.commit()
    _answer(session, obj.id, "uphold", "经核实采纳，已更正数据并重新计算")
    session.commit()
    new = runs.compute_run(session, actor=OFFICER, year=run.year)
    runs.publish_run(
        session,
        actor=OFFICER,
        run_id=new.id,
        notice_start=clock.today(),
        notice_end=clock.today() + timedelta(days=7),
        replace=True,
    )
    session.refresh(run)
    assert run.state == "superseded" and session.get(ScoreRun, new.id).supersedes_id == run.id
    assert objections.open_count(session, actor=OFFICER) == 0
