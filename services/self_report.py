"""数据填报: an enterprise's self-report for an evaluation year — draft, evidence, submit, resubmit.

An enterprise user works on its own enterprise only; staff may read any report (review is the officer
area's service). ``version`` guards concurrent edits (two tabs, a reviewer acting meanwhile): every write
names the version it started from and claims the row with one ``UPDATE submission SET version = version + 1
WHERE id = ? AND version = ?`` (services.optimistic). Zero rows means someone else wrote first: Conflict, nothing saved. The
UPDATE takes the row lock (PostgreSQL) or the database write lock (SQLite) before anything else, so two
writers queue there, and everything after it — the submit's validation included — reads the stored
values inside the transaction that writes, not a copy read before someone else's save.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlmodel import Session

from core import clock
from core import evidence as evidence_rules
from core import self_report_rules as rules
from core.scoring_model import ScoringModel
from core.workflows import SUBMISSION, TransitionError, transition
from db.models import (
    SELF_REPORT_SOURCE,
    Attachment,
    ServiceItem,
    Submission,
    utcnow,
)
from db.queries import PUBLISHED_STATES, latest_run
from db.values import current_values_up_to, newest_year_up_to, submission_texts
from services.actor import Actor, require_enterprise_access
from services.audit import Recorder
from services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from services.model_versions import current_model
from services.optimistic import claim_version, guarded_update
from services.service_requests import open_request

_record_attachment = Recorder("attachment")

_record_submission = Recorder("submission")

EDITABLE_STATES = ("draft", "returned")


@dataclass(frozen=True)
class AttachmentInfo:
    id: int
    item_code: str | None
    file_name: str
    content_type: str
    size: int
    created_at: datetime


def _require_owner(actor: Actor, enterprise_id: int) -> None:
    """Writes: only the enterprise itself (staff review through their own services)."""
    if actor.role != "enterprise" or actor.enterprise_id != enterprise_id:
        raise PermissionDenied("只有本企业账户可以填报或修改本企业的数据。")


def active_model(session: Session) -> ScoringModel:
    """The active published model version (the default TOML when none is stored yet)."""
    return current_model(session)


def current_year(session: Session) -> int:
    """The year enterprises report for by default: the year being evaluated — the newest year with data
    up to the last complete calendar year — while its reporting window is open, i.e. until that year's
    results are final (定稿). During 公示 it stays open: an approved correction feeds the next run of the
    year. After 定稿 the next year opens. The portrait's advice to report a value names this year."""
    evaluated = clock.evaluation_year()
    latest = newest_year_up_to(session, year=evaluated)
    year = latest if latest is not None else evaluated
    return year + 1 if reporting_closed(session, year=year) else year


def reporting_closed(session: Session, *, year: int) -> bool:
    """Whether ``year``'s reporting window has closed: its results are final."""
    return latest_run(session, states=("final",), year=year) is not None


def counted_in(session: Session, *, actor: Actor, submission: Submission) -> str:
    """When an approved report's values count, in words: a run computed after the approval includes
    them; until then they wait for the next run of the year (during 公示: the recomputed run that
    replaces the one in 公示)."""
    require_enterprise_access(actor, submission.enterprise_id)
    if submission.state != "approved" or submission.reviewed_at is None:
        return ""
    run = latest_run(session, states=("draft", *PUBLISHED_STATES), year=submission.year)
    reviewed = submission.reviewed_at
    if run is not None and run.created_at is not None:
        created = run.created_at if run.created_at.tzinfo else run.created_at.replace(tzinfo=UTC)
        if reviewed.tzinfo is None:
            reviewed = reviewed.replace(tzinfo=UTC)
        if created >= reviewed:
            return f"已计入 {submission.year} 年度积分（计算批次 #{run.id}）。"
        if run.state == "notice":
            return (
                f"待计入：{submission.year} 年度积分正在公示（批次 #{run.id}），本次审核通过的更正将在重新计算"
                f" {submission.year} 年度积分时计入，新批次公示后替代当前公示结果。"
            )
    return (
        f"待计入：审核通过的数据将在下一次计算 {submission.year} 年度积分时计入；"
        "在此之前，“我的积分”显示的仍是已发布批次的数值。"
    )


def request_correction(
    session: Session, *, actor: Actor, submission_id: int, version: int, reason: str
) -> Submission:
    """The enterprise reopens its approved report of a year whose reporting window is open (公示
    included) to correct it; the approved values count until the corrected report is approved."""
    if not (reason and reason.strip()):
        raise ValidationFailed("请填写更正原因。")
    submission = _load(session, actor, submission_id)
    _require_owner(actor, submission.enterprise_id)
    if reporting_closed(session, year=submission.year):
        raise Conflict(f"{submission.year} 年度积分已定稿，填报已截止，不能再更正。")
    submission, state = _begin(session, actor, submission_id, version, "correct")
    submission.state = state
    submission.reason = reason.strip()
    submission.updated_at = utcnow()
    session.add(submission)
    _record_submission(
        session,
        actor,
        "submission.correct",
        submission.id,
        before={"state": "approved"},
        after={"state": state},
        reason=reason.strip(),
    )
    session.commit()
    return submission


def open_years(session: Session, *, actor: Actor, enterprise_id: int) -> list[int]:
    """Years the page offers: the current year plus earlier years whose report is still open."""
    require_enterprise_access(actor, enterprise_id)
    years = {current_year(session)}
    rows = (
        session.execute(
            select(Submission.year).where(
                Submission.enterprise_id == enterprise_id,
                Submission.state.in_(("draft", "submitted", "returned")),
            )  # type: ignore[attr-defined]
        )
        .scalars()
        .all()
    )
    years.update(int(y) for y in rows)
    return sorted(years, reverse=True)


def get_submission(session: Session, *, actor: Actor, enterprise_id: int, year: int) -> Submission | None:
    """The report of an enterprise and year, or None (enterprise: own only; staff: any)."""
    require_enterprise_access(actor, enterprise_id)
    return (
        session.execute(
            select(Submission).where(Submission.enterprise_id == enterprise_id, Submission.year == year)
        )
        .scalars()
        .first()
    )


def _load(session: Session, actor: Actor, submission_id: int) -> Submission:
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound("填报记录不存在。")
    require_enterprise_access(actor, submission.enterprise_id)
    return submission


def get_or_create_draft(
    session: Session, *, actor: Actor, enterprise_id: int, year: int | None = None
) -> Submission:
    """The enterprise's report for ``year`` (default: :func:`current_year`), created as an empty draft."""
    _require_owner(actor, enterprise_id)
    open_year = current_year(session)
    year = year or open_year
    existing = get_submission(session, actor=actor, enterprise_id=enterprise_id, year=year)
    if existing is not None:
        return existing
    if year != open_year:
        # Called directly a service must refuse what no screen offers (a 1999 draft).
        raise ValidationFailed(f"{year} 年度不在填报期内：当前填报的是 {open_year} 年度。")
    submission = Submission(
        enterprise_id=enterprise_id, year=year, state="draft", items={}, service_needs=[], version=1
    )
    _record_submission.add(
        session, actor, "create_submission", submission, after={"enterprise_id": enterprise_id, "year": year}
    )
    session.commit()
    return submission


CHANGED_ELSEWHERE = "该填报已在其他页面修改，请刷新后再改（您的修改未保存）。"


def _check_version(submission: Submission, version: int) -> None:
    if version != submission.version:
        raise Conflict(CHANGED_ELSEWHERE)


def _guarded_update(session: Session, stmt) -> int:  # noqa: ANN001 - an UPDATE statement
    return guarded_update(session, stmt, CHANGED_ELSEWHERE)


def _claim(session: Session, submission: Submission, version: int) -> Submission:
    """Move the report from ``version`` to ``version + 1`` or raise Conflict; returns the stored row."""
    claim_version(session, Submission, submission.id, version, CHANGED_ELSEWHERE)
    session.refresh(submission)  # the values as stored, read under the lock just taken
    return submission


def _lock_editable(session: Session, submission: Submission) -> Submission:
    """Lock the report row without a new version (evidence files do not change the form the other tab
    holds) and re-read its state: an upload racing a submit waits for it and then sees 已提交."""
    _guarded_update(
        session, update(Submission).where(Submission.id == submission.id).values(version=Submission.version)
    )
    session.refresh(submission)
    return submission


def _check_services(session: Session, codes: list[str], stored: list[str] | None = None) -> list[str]:
    """The chosen 服务需求, each an active catalogue item; one the draft already held (``stored``) stays
    after 服务目录 stopped its service (the form that lists the needs saves it away; submit skips it) —
    refusing it refused every later save of the draft, naming a code the enterprise never saw."""
    if not codes:
        return []
    known = set(session.execute(select(ServiceItem.code).where(ServiceItem.active.is_(True))).scalars())  # type: ignore[attr-defined]
    known |= set(stored or ())
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValidationFailed(f"服务需求中有未知的服务项目：{'、'.join(unknown)}。")
    return list(dict.fromkeys(codes))


def _assign_uids(items: dict) -> dict:
    # Every list item gets a stable id so its evidence stays attached when other items are removed.
    for value in items.values():
        if isinstance(value, list):
            for row in value:
                if isinstance(row, dict) and not row.get("uid"):
                    row["uid"] = secrets.token_hex(4)
    return items


def _begin(
    session: Session, actor: Actor, submission_id: int, version: int, action: str
) -> tuple[Submission, str]:
    """The enterprise's own report at the version it saw, and the state ``action`` leads to."""
    submission = _load(session, actor, submission_id)
    _require_owner(actor, submission.enterprise_id)
    _check_version(submission, version)  # the common case, before any lock
    submission = _claim(session, submission, version)
    try:
        return submission, transition(SUBMISSION, submission.state, action)
    except TransitionError as exc:
        session.rollback()
        raise Conflict(str(exc)) from exc


def save_draft(
    session: Session,
    *,
    actor: Actor,
    submission_id: int,
    items: dict,
    service_needs: list[str] | None = None,
    version: int,
) -> Submission:
    """Save the form as it is (no completeness checks); returns the report with its new version."""
    submission, state = _begin(session, actor, submission_id, version, "save")
    specs = rules.form_specs(active_model(session))
    before = {"items": submission.items, "service_needs": submission.service_needs}
    try:
        cleaned = _assign_uids(rules.clean_items(specs, items or {}))
        needs = _check_services(session, list(service_needs or []), submission.service_needs)
    except ValidationFailed:
        session.rollback()
        raise
    submission.items = cleaned
    submission.service_needs = needs
    submission.state = state
    submission.updated_at = utcnow()
    session.add(submission)
    _record_submission(
        session,
        actor,
        "save_submission",
        submission.id,
        before=before,
        after={"items": submission.items, "service_needs": submission.service_needs},
    )
    session.commit()
    return submission


def department_context(session: Session, *, actor: Actor, enterprise_id: int, year: int) -> dict[str, dict]:
    """Department values beside the form: {code: {"value", "source", "year"}} for the self-reported
    codes and the fields their checks compare with (latest year ≤ ``year`` that has them)."""
    require_enterprise_access(actor, enterprise_id)
    specs = rules.form_specs(active_model(session))
    codes = {s.code for s in specs} | {s.max_field for s in specs if s.max_field}
    rows = current_values_up_to(
        session, enterprise_id=enterprise_id, year=year, codes=codes, except_source=SELF_REPORT_SOURCE
    )
    out: dict[str, dict] = {}
    for code, y, num, text, source in rows:
        if code not in out:
            out[code] = {"value": text if text is not None else num, "source": source, "year": int(y)}
    return out


def _row_text(row: dict) -> str:
    """A list row's content without its uid (uids are assigned when a form is saved)."""
    return json.dumps(
        {k: v for k, v in row.items() if k != "uid"}, ensure_ascii=False, sort_keys=True, default=str
    )


def _approved_before(session: Session, submission: Submission, specs: list, items: dict) -> set[str]:
    """Evidence keys of the list rows a reopened report still has unchanged from when it was approved
    (申请更正): their evidence was checked at that approval, only new or changed rows need a file now."""
    rows = submission_texts(session, submission_id=submission.id)
    approved: dict[str, set[str]] = {}
    for code, text in rows:
        try:
            parsed = json.loads(text)
        except ValueError:
            continue
        if isinstance(parsed, list):
            approved.setdefault(code, set()).update(_row_text(r) for r in parsed if isinstance(r, dict))
    keys = set()
    for spec in specs:
        for row in items.get(spec.code) or [] if spec.evidence_required else []:
            if isinstance(row, dict) and row.get("uid") and _row_text(row) in approved.get(spec.code, ()):
                keys.add(spec.evidence_key(row["uid"]))
    return keys


def _evidence_keys(session: Session, submission_id: int) -> set[str]:
    return set(
        session.execute(
            select(Attachment.item_code).where(Attachment.submission_id == submission_id)
        ).scalars()
    )


def submit(session: Session, *, actor: Actor, submission_id: int, version: int) -> Submission:
    """Validate and submit (or resubmit after a return); ValidationFailed lists every problem.

    The validation reads the report as stored, after the claiming UPDATE locked it: no save from another
    page can slip in between the check and the state change.
    """
    submission, state = _begin(session, actor, submission_id, version, "submit")
    try:
        submission = _validate_and_submit(session, actor, submission, state)
    except ValidationFailed:
        session.rollback()
        raise
    session.commit()
    return submission


def _validate_and_submit(session: Session, actor: Actor, submission: Submission, state: str) -> Submission:
    specs = rules.form_specs(active_model(session))
    context = department_context(
        session, actor=actor, enterprise_id=submission.enterprise_id, year=submission.year
    )
    values = {code: entry["value"] for code, entry in context.items()}
    numbers = {}
    for code, value in values.items():
        try:
            numbers[code] = float(value)
        except (TypeError, ValueError):
            continue
    items = submission.items or {}
    if not any(v not in (None, [], "") for v in items.values()) and not submission.service_needs:
        raise ValidationFailed("填报内容为空：请至少填写一项数据或选择服务需求后再提交。")
    problems = rules.validate(
        specs,
        items,
        year=submission.year,
        context=numbers,
        evidence=_evidence_keys(session, submission.id) | _approved_before(session, submission, specs, items),
    )
    if problems:
        raise ValidationFailed(f"有 {len(problems)} 处需要修改：{problems[0]['problem']}", problems)
    before_state = submission.state
    submission.state = state
    submission.submitted_at = utcnow()
    submission.updated_at = submission.submitted_at
    session.add(submission)
    _record_submission(
        session,
        actor,
        "submit_submission",
        submission.id,
        before={"state": before_state},
        after={"state": state, "items": items},
    )
    # The 服务需求 chosen in the report become service requests now: they are the enterprise's asks, not
    # data to approve, so 服务需求处理 sees them without waiting for the review.
    needs = set(submission.service_needs or [])
    for item in session.execute(select(ServiceItem).where(ServiceItem.code.in_(needs))).scalars():  # type: ignore[attr-defined]
        if item.active:
            open_request(
                session,
                actor=actor,
                enterprise_id=submission.enterprise_id,
                item=item,
                note=f"随 {submission.year} 年度数据填报提出",
            )
    return submission


def add_attachment(
    session: Session,
    *,
    actor: Actor,
    submission_id: int,
    item_code: str | None,
    file_name: str,
    content: bytes,
) -> AttachmentInfo:
    """Store an evidence file for one item (pdf/jpg/png by content, ≤ 10 MB) while the report is editable."""
    submission = _load(session, actor, submission_id)
    _require_owner(actor, submission.enterprise_id)
    submission = _lock_editable(session, submission)
    if submission.state not in EDITABLE_STATES:
        session.rollback()
        raise Conflict(f"填报当前为「{SUBMISSION.labels.get(submission.state)}」状态，不能上传材料。")
    try:
        checked = evidence_rules.check(file_name, content)
    except evidence_rules.EvidenceError as exc:
        raise ValidationFailed(str(exc)) from exc
    attachment = Attachment(
        submission_id=submission.id,
        enterprise_id=submission.enterprise_id,
        item_code=(item_code or None),
        content=content,
        created_by=actor.username,
        **asdict(checked),  # the checked file's name, type, size, digest and thumbnail, as checked
    )
    _record_attachment.add(
        session,
        actor,
        "add_attachment",
        attachment,
        after={
            "submission_id": submission.id,
            "item_code": item_code,
            "file_name": checked.file_name,
            "size": checked.size,
            "sha256": checked.sha256,
        },
    )
    session.commit()
    return AttachmentInfo(
        attachment.id,
        attachment.item_code,
        attachment.file_name,
        attachment.content_type,
        attachment.size,
        attachment.created_at,
    )


def remove_attachment(session: Session, *, actor: Actor, attachment_id: int) -> None:
    """Delete an evidence file of an editable report."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.submission_id is None:
        raise NotFound("附件不存在。")
    submission = _load(session, actor, attachment.submission_id)
    _require_owner(actor, submission.enterprise_id)
    submission = _lock_editable(session, submission)
    if submission.state not in EDITABLE_STATES:
        session.rollback()
        raise Conflict("已提交的填报不能删除材料。")
    _record_attachment(
        session,
        actor,
        "remove_attachment",
        attachment.id,
        before={"file_name": attachment.file_name, "item_code": attachment.item_code},
    )
    session.delete(attachment)
    session.commit()


def list_attachments(session: Session, *, actor: Actor, submission_id: int) -> list[AttachmentInfo]:
    """Evidence files of a report, without their bytes."""
    submission = _load(session, actor, submission_id)
    rows = session.execute(
        select(
            Attachment.id,
            Attachment.item_code,
            Attachment.file_name,
            Attachment.content_type,
            Attachment.size,
            Attachment.created_at,
        )
        .where(Attachment.submission_id == submission.id)
        .order_by(Attachment.id)
    ).all()
    return [AttachmentInfo(*row) for row in rows]
