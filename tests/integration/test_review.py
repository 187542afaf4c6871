"""Review queue: approve writes 自报 values + audit, return needs a reason, bulk approve, races."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlmodel import Session

from core.credit_code import make_code
from db.models import Attachment, AuditEvent, Enterprise, Submission, utcnow
from db.values import stored_values
from services import review
from services.actor import Actor
from services.errors import Conflict, PermissionDenied, ValidationFailed
from tests.values import add_values, stored_rows

OFFICER = Actor(username="officer1", role="officer", user_id=1)
OFFICER2 = Actor(username="officer2", role="officer", user_id=2)
YEAR = 2025
ITEMS = {"T04": 12, "T11": 45.5, "A06": [{"level": "省"}], "T12": None}


def make_submissions(session: Session, n: int = 3) -> list[int]:
    session.execute(
        insert(Enterprise), [{"credit_code": make_code(str(500 + i)), "name": f"企业{i}"} for i in range(n)]
    )
    ids = session.execute(select(Enterprise.id).order_by(Enterprise.id)).scalars().all()
    now = utcnow()
    session.execute(
        insert(Submission),
        [
            {
                "enterprise_id": e,
                "year": YEAR,
                "state": "submitted",
                "items": ITEMS,
                "version": 1,
                "submitted_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for e in ids
        ],
    )
    # A department value for T04 that the approval replaces, and a revenue for the stage.
    add_values(
        session,
        *[
            {
                "enterprise_id": ids[0],
                "year": YEAR,
                "code": "T04",
                "value_num": 9.0,
                "source": "人社",
                "is_current": True,
                "flagged": False,
                "created_at": now,
            },
            {
                "enterprise_id": ids[0],
                "year": YEAR,
                "code": "G01",
                "value_num": 800.0,
                "source": "税务",
                "is_current": True,
                "flagged": False,
                "created_at": now,
            },
        ],
    )
    subs = session.execute(select(Submission.id).order_by(Submission.id)).scalars().all()
    session.execute(
        insert(Attachment),
        [
            {
                "submission_id": subs[0],
                "enterprise_id": ids[0],
                "item_code": "A06",
                "file_name": "获奖证书.png",
                "content_type": "image/png",
                "size": 8,
                "sha256": "0" * 64,
                "content": b"\x89PNG\r\n\x1a\n",
                "created_at": now,
            }
        ],
    )
    session.commit()
    return list(subs)


def test_queue_filters_and_detail(session: Session) -> None:
    subs = make_submissions(session)
    queue = review.list_reviews(session, actor=OFFICER)
    assert list(queue["id"]) == subs and set(queue["state_label"]) == {"待审核"}
    assert queue.loc[0, "stage"] == "growth" and queue.loc[1, "stage"] == ""
    assert len(review.list_reviews(session, actor=OFFICER, stage="growth")) == 1
    assert list(review.list_reviews(session, actor=OFFICER, search="企业1")["id"]) == [subs[1]]
    assert len(review.list_reviews(session, actor=OFFICER, search=make_code("500").lower())) == 1
    assert (
        len(
            review.list_reviews(
                session, actor=OFFICER, submitted_from=date(2000, 1, 1), submitted_to=date(2000, 1, 2)
            )
        )
        == 0
    )
    detail = review.get_review(session, actor=OFFICER, submission_id=subs[0])
    t04 = detail.items.set_index("code").loc["T04"]
    assert (
        t04["value"] == "12" and t04["current"] == "9" and t04["current_source"] == "人社" and t04["changed"]
    )
    assert detail.attachments[0]["file_name"] == "获奖证书.png"
    assert "approve" in detail.allowed_actions
    with pytest.raises(PermissionDenied):
        review.list_reviews(session, actor=Actor(username="e", role="enterprise", enterprise_id=99))


def test_approve_writes_self_reported_values_and_audit(session: Session) -> None:
    subs = make_submissions(session, 1)
    sub = review.approve(session, actor=OFFICER, submission_id=subs[0], expected_version=1)
    session.commit()
    assert sub.state == "approved" and sub.version == 2 and sub.reviewer == "officer1"
    current = [v for v in stored_rows(session, current=True) if v.source == "自报"]
    got = {v.code: (v.value_num, v.value_text) for v in current}
    assert got == {"T04": (12.0, None), "T11": (45.5, None), "A06": (None, '[{"level": "省"}]')}
    assert all(v.submission_id == subs[0] for v in current)
    [old] = [v for v in stored_rows(session) if v.source == "人社"]
    assert old.is_current is False
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "submission.approve")).scalar_one()
    assert event.after["state"] == "approved" and event.before["version"] == 1
    # Approved again (stale version) → conflict, nothing more written.
    with pytest.raises(Conflict, match="已被他人处理"):
        review.approve(session, actor=OFFICER2, submission_id=subs[0], expected_version=1)
    session.rollback()
    # Unapprove needs a reason and reopens it.
    with pytest.raises(ValidationFailed, match="理由"):
        review.unapprove(session, actor=OFFICER, submission_id=subs[0], expected_version=2, reason=" ")
    sub = review.unapprove(
        session, actor=OFFICER, submission_id=subs[0], expected_version=2, reason="证明材料有误"
    )
    session.commit()
    assert sub.state == "returned" and sub.reason == "证明材料有误"
    detail = review.get_review(session, actor=OFFICER, submission_id=subs[0])
    assert detail.items.set_index("code").loc["T04", "last_approved"] == "12"


def test_return_requires_reason_and_keeps_comments(session: Session) -> None:
    subs = make_submissions(session, 1)
    with pytest.raises(ValidationFailed, match="理由"):
        review.return_submission(session, actor=OFFICER, submission_id=subs[0], expected_version=1, reason="")
    sub = review.return_submission(
        session,
        actor=OFFICER,
        submission_id=subs[0],
        expected_version=1,
        reason="请补充证明",
        field_comments={"T04": "请上传社保名单", "T11": ""},
    )
    session.commit()
    assert sub.state == "returned" and sub.field_comments == {"T04": "请上传社保名单"} and sub.version == 2
    assert (stored_values(session)["source"] == "自报").sum() == 0
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "submission.return")).scalar_one()
    assert event.reason == "请补充证明"
    with pytest.raises(PermissionDenied):
        review.approve(
            session,
            actor=Actor(username="e", role="enterprise", enterprise_id=1),
            submission_id=subs[0],
            expected_version=2,
        )


def test_bulk_approve_reports_conflicts(session: Session) -> None:
    subs = make_submissions(session, 3)
    review.approve(session, actor=OFFICER2, submission_id=subs[1], expected_version=1)
    session.commit()
    result = review.bulk_approve(session, actor=OFFICER, items=[(s, 1) for s in subs])
    session.commit()
    assert result.approved == [subs[0], subs[2]] and list(result.failed) == [subs[1]]
    assert "已被他人处理" in result.failed[subs[1]]
    states = session.execute(select(Submission.state)).scalars().all()
    assert set(states) == {"approved"}
    assert (stored_values(session, current=True)["source"] == "自报").sum() == 9


def test_two_officers_race_exactly_one_wins(db_engine: Engine) -> None:
    with Session(db_engine, expire_on_commit=False) as s:
        subs = make_submissions(s, 1)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def act(actor: Actor) -> None:
        with Session(db_engine, expire_on_commit=False) as s:
            barrier.wait()
            try:
                review.approve(s, actor=actor, submission_id=subs[0], expected_version=1)
                s.commit()
                outcome = "ok"
            except Conflict as exc:
                s.rollback()
                outcome = "conflict:" + str(exc)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=act, args=(a,)) for a in (OFFICER, OFFICER2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(o.split(":")[0] for o in outcomes) == ["conflict", "ok"], outcomes
    assert "已被他人处理" in next(o for o in outcomes if o.startswith("conflict"))
    with Session(db_engine) as s:
        assert (stored_values(s)["source"] == "自报").sum() == 3
        assert (
            s.execute(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "submission.approve")
            ).scalar_one()
            == 1
        )
        assert s.execute(select(Submission.version)).scalar_one() == 2


def test_next_waiting_follows_the_queue_and_wraps() -> None:
    import pandas as pd

    queue = pd.DataFrame({"id": [5, 7, 9, 11], "state": ["submitted", "approved", "submitted", "submitted"]})
    assert review.next_waiting(queue, 5) == 9  # skips the approved one
    assert review.next_waiting(queue, 11) == 5  # wraps round
    assert review.next_waiting(queue, 99) == 5  # the current one left the queue: start from the top
    assert review.next_waiting(queue[queue["id"] == 5], 5) is None
