"""Service catalogue and service requests (申请服务): enterprises ask, officers see and handle."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core.workflows import SERVICE_REQUEST, TransitionError, transition
from db.models import Score, ServiceItem, ServiceRequest, utcnow
from db.queries import PUBLISHED_STATES, latest_run, with_enterprise
from services.actor import (
    Actor,
    accessible_enterprise,
    enterprise_scope,
    require_enterprise_access,
    require_staff,
)
from services.audit import Recorder
from services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

_record_request = Recorder("service_request")

REQUEST_STATE_LABELS = SERVICE_REQUEST.labels
MAX_ANSWER = 2000


def catalogue(session: Session, *, actor: Actor) -> list[tuple[str, str]]:
    """Active service items as (code, name), for pickers (any logged-in actor)."""
    del actor  # the catalogue is not confidential
    return [(item.code, item.name) for item in catalogue_items(session)]


def catalogue_items(session: Session) -> list[ServiceItem]:
    """Active service items, in catalogue order."""
    return list(
        session.execute(
            select(ServiceItem).where(ServiceItem.active.is_(True)).order_by(ServiceItem.id)  # type: ignore[attr-defined]
        ).scalars()
    )


def request_service(
    session: Session, *, actor: Actor, enterprise_id: int, service_code: str, note: str | None = None
) -> ServiceRequest:
    """An enterprise asks for a service; an open request for the same item is not duplicated."""
    if actor.role != "enterprise":
        raise PermissionDenied("只有企业账户可以申请服务。")
    accessible_enterprise(session, actor, enterprise_id)
    item = session.execute(select(ServiceItem).where(ServiceItem.code == service_code)).scalars().first()
    if item is None or not item.active:
        raise NotFound("该服务项目不存在或已停用。")
    note = (note or "").strip() or None
    if note and len(note) > 1000:
        raise ValidationFailed("需求说明不能超过 1000 字。")
    request = open_request(session, actor=actor, enterprise_id=enterprise_id, item=item, note=note)
    session.commit()
    return request


def open_request(
    session: Session, *, actor: Actor, enterprise_id: int, item: ServiceItem, note: str | None
) -> ServiceRequest:
    """The enterprise's open request for ``item``: the existing one, else a new one (audited), in the
    caller's transaction. Every way an enterprise asks for a service ends here (申请服务, and the 服务需求
    chosen in 数据填报 when the report is submitted), so 服务需求处理 sees them all."""
    require_enterprise_access(actor, enterprise_id)
    open_one = {"enterprise_id": enterprise_id, "service_item_id": item.id, "state": "open"}
    existing = session.execute(select(ServiceRequest).filter_by(**open_one)).scalars().first()
    if existing is not None:
        return existing
    request = ServiceRequest(**open_one, note=note, created_by=actor.username)
    _record_request.add(
        session,
        actor,
        "request_service",
        request,
        after={"enterprise_id": enterprise_id, "service": item.code, "note": note},
    )
    return request


def list_requests(
    session: Session,
    *,
    actor: Actor,
    enterprise_id: int | None = None,
    state: str | None = None,
    service_code: str | None = None,
    stage: str | None = None,
) -> pd.DataFrame:
    """Service requests (enterprise: its own only; staff: all, or filtered), newest first.

    Columns: id, enterprise_id, credit_code, enterprise_name, service_code, service_name, note, state,
    state_label, answer, created_at, handled_by, handled_at, stage (code in the latest published run,
    None when the enterprise is not in it). ``stage`` filters on that code.
    """
    enterprise_id = enterprise_scope(actor, enterprise_id)
    run = latest_run(session, states=PUBLISHED_STATES)
    stmt = (
        with_enterprise(
            ServiceRequest,
            ServiceItem.code.label("service_code"),
            ServiceItem.name.label("service_name"),
            ServiceRequest.note,
            ServiceRequest.state,
            ServiceRequest.answer,
            ServiceRequest.created_at,
            ServiceRequest.handled_by,
            ServiceRequest.handled_at,
            Score.stage,
            leading=(ServiceRequest.id,),
            name="enterprise_name",
            enterprise_id=enterprise_id,
        )
        .join(ServiceItem, ServiceItem.id == ServiceRequest.service_item_id)
        .outerjoin(
            Score,
            (Score.enterprise_id == ServiceRequest.enterprise_id)
            & (Score.run_id == (run.id if run is not None else -1)),
        )
        .order_by(ServiceRequest.id.desc())  # type: ignore[attr-defined]
    )
    if state is not None:
        stmt = stmt.where(ServiceRequest.state == state)
    if service_code is not None:
        stmt = stmt.where(ServiceItem.code == service_code)
    if stage is not None:
        stmt = stmt.where(Score.stage == stage)
    result = session.execute(stmt)
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    frame["state_label"] = (
        frame["state"].map(REQUEST_STATE_LABELS).fillna(frame["state"]) if len(frame) else []
    )
    return frame


def request_stages(session: Session, *, actor: Actor) -> dict[str, str]:
    """The stages 服务需求处理 names and filters by, code → name: those of the latest published/final
    run's model, whose stage :func:`list_requests` reports (after a new model is published, the active
    model's stages would name none of them), else the active model's."""
    from services.model_versions import current_model, get_model

    require_staff(actor)
    run = latest_run(session, states=PUBLISHED_STATES)
    model = get_model(session, run.model_version_id) if run is not None else current_model(session)
    return {s.code: s.name for s in model.stages}


def _handle(
    session: Session, *, actor: Actor, request_id: int, action: str, answer: str | None = None
) -> ServiceRequest:
    """One officer action on a request (take / answer / close / decline), audited."""
    require_staff(actor)
    request = (
        session.execute(select(ServiceRequest).where(ServiceRequest.id == request_id).with_for_update())
        .scalars()
        .first()
    )
    if request is None:
        raise NotFound(f"服务申请 #{request_id} 不存在。")
    answer = (answer or "").strip() or None
    if answer and len(answer) > MAX_ANSWER:
        raise ValidationFailed(f"答复不能超过 {MAX_ANSWER} 字。")
    try:
        state = transition(SERVICE_REQUEST, request.state, action, reason=answer)
    except TransitionError as exc:
        raise Conflict(str(exc)) from None
    if action == "close" and not (answer or request.answer):
        raise ValidationFailed("办结前请先答复企业（写明服务安排或结果）。")
    before = {"state": request.state, "answer": request.answer, "handled_by": request.handled_by}
    request.state = state
    if answer:
        request.answer = answer
    request.handled_by = actor.username
    request.handled_at = utcnow()
    session.add(request)
    _record_request(
        session,
        actor,
        f"service_request.{action}",
        request.id,
        before=before,
        after={"state": state, "answer": request.answer, "handled_by": actor.username},
    )
    return request


def take_request(session: Session, *, actor: Actor, request_id: int) -> ServiceRequest:
    """An officer takes an open request (待受理 → 已受理); it is then theirs to answer."""
    request = _handle(session, actor=actor, request_id=request_id, action="take")
    session.commit()
    return request


def answer_request(
    session: Session, *, actor: Actor, request_id: int, answer: str, close: bool = False
) -> ServiceRequest:
    """Answer a taken request (the enterprise sees the answer); ``close`` also finishes it (已完成)."""
    request = _handle(session, actor=actor, request_id=request_id, action="answer", answer=answer)
    if close:
        request = _handle(session, actor=actor, request_id=request_id, action="close")
    session.commit()
    return request


def close_request(
    session: Session, *, actor: Actor, request_id: int, answer: str | None = None
) -> ServiceRequest:
    """Finish a taken request (已受理 → 已完成); it must carry an answer."""
    request = _handle(session, actor=actor, request_id=request_id, action="close", answer=answer)
    session.commit()
    return request


def decline_request(session: Session, *, actor: Actor, request_id: int, reason: str) -> ServiceRequest:
    """Decline a request with a reason the enterprise sees (→ 未受理)."""
    request = _handle(session, actor=actor, request_id=request_id, action="decline", answer=reason)
    session.commit()
    return request


# ------------------------------------------------------------------ 政策与服务 (matching)
@dataclass
class PolicyView:
    stage: str | None
    stage_name: str | None
    recommendations: list  # core.matching.Recommendation
    pools: list  # core.pools.PoolResult (near ones first)
    subsidy: dict | None  # {year, amount, tier, tier_name, rank} from the latest final run, or None
    note: str = ""


def policy_view(session: Session, *, actor: Actor, enterprise_id: int) -> PolicyView:
    """Services matched by stage and weak indicators, nearby pools, subsidy eligibility (final run)."""
    from core.matching import CatalogueItem, match_services
    from db.models import Score
    from db.queries import latest_score
    from services.errors import ServiceError
    from services.model_versions import get_model
    from services.portrait import get_portrait, pool_facts

    require_enterprise_access(actor, enterprise_id)
    catalogue = [
        CatalogueItem(i.code, i.name, tuple(i.stages) if i.stages else None, i.description or "")
        for i in catalogue_items(session)
    ]
    try:
        portrait = get_portrait(session, actor=actor, enterprise_id=enterprise_id)
    except ServiceError as exc:
        return PolicyView(None, None, [], [], None, note=str(exc))
    facts = pool_facts(session, actor=actor, portrait=portrait)
    pools = portrait.pools  # the same evaluation the portrait's advice used
    recommendations = match_services(
        portrait.model, stage=portrait.stage, facts=facts, catalogue=catalogue, pools=pools
    )
    final = latest_score(
        session,
        enterprise_id=enterprise_id,
        states=("final",),
        columns=(Score.subsidy, Score.tier, Score.rank, Score.mujun),
    )
    subsidy = None
    if final is not None:
        final_run, row = final
        final_model = get_model(session, final_run.model_version_id)  # that run's own list names
        tier = row.tier or ""
        subsidy = {
            "year": final_run.year,
            "amount": float(row.subsidy or 0),
            "tier": tier,
            "tier_name": final_model.tier_name(tier) if tier else "未上榜",
            "rank": row.rank,
            "mujun": row.mujun or "",
        }
    return PolicyView(portrait.stage, portrait.stage_name, recommendations, pools, subsidy)
