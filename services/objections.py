"""异议 during 公示: enterprises object to their score (or one indicator), officers uphold or reject.

An objection can be filed only while its run is in 公示 (state ``notice``) and today lies inside the
notice window. Upholding records the decision; the correction itself goes through the normal paths
(import or review), then the officer recomputes (``services.runs.compute_run``) and publishes the new
run, which supersedes the one in 公示 (``services.runs.publish_run``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

import pandas as pd
from sqlalchemy import func, select, update
from sqlmodel import Session

from core import clock, evidence
from core.reports import indicator_label
from core.workflows import OBJECTION, TransitionError, transition
from db.models import Attachment, Enterprise, Objection, Score, ScoreRun, utcnow
from db.queries import enterprise_score, with_enterprise
from services import audit
from services.actor import Actor, enterprise_scope, require_enterprise_access, require_staff
from services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from services.model_versions import get_model
from services.runs import get_run

_record_objection = audit.Recorder("Objection")

MAX_ATTACHMENTS = 5
# A flood (in a load test, 300 objections in one second held 定稿 back) is bounded three ways: at most this many
# objections per enterprise and run; a second objection on the same indicator while the first is open is
# merged into it (its reason appended, its files added) instead of making a new row; officers close many
# at once with one reason (close_objections).
MAX_OBJECTIONS_PER_RUN = 10
MAX_REASON_CHARS = 4000  # one objection's reason, merged additions included
MAX_BULK_CLOSE = 1000


def window_open(run: ScoreRun, *, at: datetime | None = None) -> bool:
    """Whether objections are accepted for ``run`` at ``at`` (default now): in 公示, from 00:00 Beijing time
    of the start day until 24:00 of the end day."""
    return bool(
        run.state == "notice"
        and run.notice_start
        and run.notice_end
        and clock.in_days(at or clock.now(), run.notice_start, run.notice_end)
    )


def window_text(run: ScoreRun) -> str:
    """``公示期 2026-12-01 至 2026-12-07，截至 2026-12-07 24:00（北京时间）`` — the window as the notice states it."""
    if not (run.notice_start and run.notice_end):
        return ""
    return (
        f"公示期 {run.notice_start:%Y-%m-%d} 至 {run.notice_end:%Y-%m-%d}，"
        f"截至 {run.notice_end:%Y-%m-%d} 24:00（北京时间）"
    )


def file_objection(
    session: Session,
    *,
    actor: Actor,
    run_id: int,
    enterprise_id: int,
    indicator_code: str | None,
    reason: str,
    attachments: list[tuple[str, bytes]] | tuple = (),
    at: datetime | None = None,
) -> Objection:
    """File an objection for one's own enterprise while the run is in 公示."""
    if actor.role == "enterprise":
        require_enterprise_access(actor, enterprise_id)
    elif not actor.is_staff:
        raise PermissionDenied("您没有执行此操作的权限。")
    if not (reason and reason.strip()):
        raise ValidationFailed("请填写异议理由。")
    run = get_run(session, run_id)
    if not window_open(run, at=at):
        window = window_text(run)
        raise Conflict(f"该批次当前不在公示期内，不能提出异议。{window}" + ("。" if window else ""))
    if enterprise_score(session, run_id=run_id, enterprise_id=enterprise_id, columns=(Score.id,)) is None:
        raise ValidationFailed("本企业不在该批次的评价名单中。")
    if indicator_code:
        model = get_model(session, run.model_version_id)
        if indicator_code not in model.codes:
            raise ValidationFailed(f"指标“{indicator_code}”不在评价模型中。")
    files = list(attachments or ())
    if len(files) > MAX_ATTACHMENTS:
        raise ValidationFailed(f"最多上传 {MAX_ATTACHMENTS} 个证明材料。")
    reason = reason.strip()
    if len(reason) > MAX_REASON_CHARS:
        raise ValidationFailed(f"异议理由不能超过 {MAX_REASON_CHARS} 字。")
    checked = []
    for name, content in files:
        try:
            checked.append((evidence.check(name, content), content))
        except evidence.EvidenceError as exc:
            raise ValidationFailed(str(exc)) from None
    # One enterprise's objections on one run are decided one at a time (PostgreSQL: a row lock on the
    # enterprise; SQLite serialises writers anyway), so a burst cannot slip past the cap or the merge.
    session.execute(select(Enterprise.id).where(Enterprise.id == enterprise_id).with_for_update())
    same = session.execute(
        select(Objection)
        .where(
            Objection.run_id == run_id,
            Objection.enterprise_id == enterprise_id,
            Objection.state == "open",
            Objection.indicator_code.is_(None)
            if not indicator_code
            else Objection.indicator_code == indicator_code,
        )
        .order_by(Objection.id)
        .limit(1)
    ).scalar_one_or_none()
    if same is not None:
        merged = _merge(session, actor=actor, objection=same, reason=reason, checked=checked)
        session.commit()
        return merged
    filed = session.execute(
        select(func.count())
        .select_from(Objection)
        .where(Objection.run_id == run_id, Objection.enterprise_id == enterprise_id)
    ).scalar_one()
    if filed >= MAX_OBJECTIONS_PER_RUN:
        raise Conflict(
            f"本企业对该批次已提出 {filed} 条异议，已达上限（{MAX_OBJECTIONS_PER_RUN} 条）；"
            "如需补充，请在同一指标上再次提交，内容将并入原异议。"
        )
    objection = Objection(
        run_id=run_id,
        enterprise_id=enterprise_id,
        indicator_code=indicator_code or None,
        reason=reason,
        state="open",
        created_by=actor.username,
    )
    session.add(objection)
    session.flush()
    _attach(session, actor=actor, objection=objection, checked=checked)
    _record_objection(
        session,
        actor,
        "objection.file",
        objection.id,
        after={
            "run_id": run_id,
            "enterprise_id": enterprise_id,
            "indicator_code": indicator_code,
            "state": "open",
            "attachments": len(checked),
        },
        reason=reason,
    )
    session.commit()
    return objection


def _attach(session: Session, *, actor: Actor, objection: Objection, checked: list) -> None:
    for ev, content in checked:
        session.add(
            Attachment(
                objection_id=objection.id,
                enterprise_id=objection.enterprise_id,
                item_code=objection.indicator_code,
                content=content,
                created_by=actor.username,
                **asdict(ev),  # the checked file's name, type, size, digest and thumbnail, as checked
            )
        )


def _merge(session: Session, *, actor: Actor, objection: Objection, reason: str, checked: list) -> Objection:
    """A second objection on the same indicator while the first is open: one objection, reasons appended
    (an identical reason adds nothing), files added up to MAX_ATTACHMENTS, already-attached files skipped."""
    have = list(
        session.execute(select(Attachment.sha256).where(Attachment.objection_id == objection.id)).scalars()
    )
    new_files = [(ev, content) for ev, content in checked if ev.sha256 not in have]
    if len(have) + len(new_files) > MAX_ATTACHMENTS:
        raise ValidationFailed(f"该异议已有 {len(have)} 个证明材料，每条异议最多 {MAX_ATTACHMENTS} 个。")
    added_reason = reason not in objection.reason
    if not added_reason and not new_files:
        return objection
    if added_reason:
        merged = f"{objection.reason}\n——补充：{reason}"
        if len(merged) > MAX_REASON_CHARS:
            raise ValidationFailed(f"该异议的理由（含补充）已达 {MAX_REASON_CHARS} 字上限。")
        objection.reason = merged
        session.add(objection)
    _attach(session, actor=actor, objection=objection, checked=new_files)
    _record_objection(
        session,
        actor,
        "objection.merge",
        objection.id,
        after={"attachments_added": len(new_files), "reason_added": added_reason},
        reason=reason,
    )
    session.flush()
    return objection


def close_objections(session: Session, *, actor: Actor, objection_ids: list[int], answer: str) -> int:
    """Officers: reject (驳回) many open objections at once with one stated reason — a flood need not be
    answered one by one before 定稿. Objections already answered are left as they are. Returns how many
    were closed."""
    require_staff(actor)
    answer = (answer or "").strip()
    if not answer:
        raise ValidationFailed("批量驳回必须填写理由。")
    ids = list(dict.fromkeys(int(i) for i in objection_ids))
    if not ids:
        raise ValidationFailed("请选择要处理的异议。")
    if len(ids) > MAX_BULK_CLOSE:
        raise ValidationFailed(f"一次最多处理 {MAX_BULK_CLOSE} 条异议。")
    rows = session.execute(
        select(Objection.id, Objection.run_id)
        .where(Objection.id.in_(ids), Objection.state == "open")
        .with_for_update()
    ).all()
    if not rows:
        raise Conflict("所选异议都已处理，请刷新后查看。")
    now = utcnow()
    session.execute(
        update(Objection)
        .where(Objection.id.in_([r.id for r in rows]), Objection.state == "open")
        .values(state="rejected", answer=answer, answered_by=actor.username, answered_at=now)
        .execution_options(synchronize_session=False)
    )
    for row in rows:
        _record_objection(
            session,
            actor,
            "objection.reject",
            row.id,
            before={"state": "open"},
            after={"state": "rejected", "run_id": row.run_id, "bulk": True},
            reason=answer,
        )
    session.commit()
    return len(rows)


OBJECTION_COLUMNS = [
    "id",
    "run_id",
    "year",
    "enterprise_id",
    "credit_code",
    "name",
    "indicator_code",
    "reason",
    "state",
    "answer",
    "answered_by",
    "answered_at",
    "created_by",
    "created_at",
]


def list_objections(
    session: Session,
    *,
    actor: Actor,
    enterprise_id: int | None = None,
    run_id: int | None = None,
    states: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Objections, newest first; an enterprise user sees only its own enterprise's."""
    enterprise_id = enterprise_scope(actor, enterprise_id)
    stmt = (
        with_enterprise(
            Objection,
            Objection.indicator_code,
            Objection.reason,
            Objection.state,
            Objection.answer,
            Objection.answered_by,
            Objection.answered_at,
            Objection.created_by,
            Objection.created_at,
            leading=(Objection.id, Objection.run_id, ScoreRun.year),
            enterprise_id=enterprise_id,
        )
        .join(ScoreRun, ScoreRun.id == Objection.run_id)
        .order_by(Objection.id.desc())
    )
    if run_id is not None:
        stmt = stmt.where(Objection.run_id == run_id)
    if states:
        stmt = stmt.where(Objection.state.in_(list(states)))
    frame = pd.DataFrame([tuple(r) for r in session.execute(stmt).all()], columns=OBJECTION_COLUMNS)
    # how many evidence files each objection carries (staff open them with objection_attachments)
    counts = (
        dict(
            session.execute(
                select(Attachment.objection_id, func.count())
                .where(Attachment.objection_id.in_(frame["id"].tolist()))
                .group_by(Attachment.objection_id)
            ).all()
        )
        if len(frame)
        else {}
    )
    frame["attachments"] = frame["id"].map(counts).fillna(0).astype(int)
    frame["state_label"] = frame["state"].map(OBJECTION.labels)
    # "T05 研发人员占比" (整体积分 when none), named by the model the objected run was computed with
    models = {
        r: get_model(session, session.get(ScoreRun, int(r)).model_version_id)
        for r in frame["run_id"].unique()
    }
    frame["indicator_label"] = pd.Series(
        [
            indicator_label(models[r], c)
            for r, c in zip(frame["run_id"], frame["indicator_code"], strict=True)
        ],
        index=frame.index,
        dtype=object,
    )
    return frame


def objection_attachments(session: Session, *, actor: Actor, objection_id: int) -> list[Attachment]:
    """The evidence files of an objection, in upload order: staff, or the objecting enterprise."""
    objection = session.get(Objection, objection_id)
    if objection is None:
        raise NotFound(f"异议 #{objection_id} 不存在。")
    require_enterprise_access(actor, objection.enterprise_id)
    return list(
        session.execute(
            select(Attachment).where(Attachment.objection_id == objection_id).order_by(Attachment.id)
        ).scalars()
    )


def answer_objection(
    session: Session, *, actor: Actor, objection_id: int, action: str, answer: str
) -> Objection:
    """Uphold or reject an open objection (answer required); a second answer gets 已被他人处理."""
    require_staff(actor)
    if action not in ("uphold", "reject"):
        raise ValidationFailed("处理方式只能是采纳或驳回。")
    if not (answer and answer.strip()):
        raise ValidationFailed(f"「{OBJECTION.action_labels[action]}」必须填写理由。")
    objection = session.execute(
        select(Objection).where(Objection.id == objection_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if objection is None:
        raise NotFound(f"异议 #{objection_id} 不存在。")
    try:
        new_state = transition(OBJECTION, objection.state, action, reason=answer)
    except TransitionError as exc:
        raise Conflict(f"已被他人处理：{exc}") from None
    now = utcnow()
    result = session.execute(
        update(Objection)
        .where(Objection.id == objection_id, Objection.state == "open")
        .values(state=new_state, answer=answer.strip(), answered_by=actor.username, answered_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("已被他人处理：该异议已有答复，请刷新后查看。")
    _record_objection(
        session,
        actor,
        f"objection.{action}",
        objection_id,
        before={"state": "open"},
        after={"state": new_state, "run_id": objection.run_id},
        reason=answer.strip(),
    )
    session.commit()
    return session.execute(
        select(Objection).where(Objection.id == objection_id).execution_options(populate_existing=True)
    ).scalar_one()


def open_count(session: Session, *, actor: Actor) -> int:
    require_staff(actor)
    return session.execute(
        select(func.count()).select_from(Objection).where(Objection.state == "open")
    ).scalar_one()
