"""Service catalogue and service requests (申请服务): enterprises ask, officers see and handle."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from db.models import Enterprise, ServiceItem, ServiceRequest
from services.actor import Actor, require_enterprise_access
from services.audit import record
from services.errors import NotFound, PermissionDenied, ValidationFailed

REQUEST_STATE_LABELS = {"open": "待受理", "accepted": "已受理", "done": "已完成", "declined": "未受理"}


def catalogue(session: Session, *, actor: Actor) -> list[tuple[str, str]]:
    """Active service items as (code, name), for pickers (any logged-in actor)."""
    del actor  # the catalogue is not confidential
    return [(item.code, item.name) for item in catalogue_items(session)]


def catalogue_items(session: Session) -> list[ServiceItem]:
    """Active service items, in catalogue order."""
    return list(session.execute(
        select(ServiceItem).where(ServiceItem.active.is_(True)).order_by(ServiceItem.id)  # type: ignore[attr-defined]
    ).scalars())


def request_service(
    session: Session, *, actor: Actor, enterprise_id: int, service_code: str, note: str | None = None
) -> ServiceRequest:
    """An enterprise asks for a service; an open request for the same item is not duplicated."""
    if actor.role != "enterprise":
        raise PermissionDenied("只有企业账户可以申请服务。")
    require_enterprise_access(actor, enterprise_id)
    if session.get(Enterprise, enterprise_id) is None:
        raise NotFound("企业不存在。")
    item = session.execute(select(ServiceItem).where(ServiceItem.code == service_code)).scalars().first()
    if item is None or not item.active:
        raise NotFound("该服务项目不存在或已停用。")
    note = (note or "").strip() or None
    if note and len(note) > 1000:
        raise ValidationFailed("需求说明不能超过 1000 字。")
    existing = session.execute(
        select(ServiceRequest).where(ServiceRequest.enterprise_id == enterprise_id,
                                     ServiceRequest.service_item_id == item.id, ServiceRequest.state == "open")
    ).scalars().first()
    if existing is not None:
        return existing
    request = ServiceRequest(enterprise_id=enterprise_id, service_item_id=item.id, note=note, state="open",
                             created_by=actor.username)
    session.add(request)
    session.flush()
    record(session, actor=actor, action="request_service", entity="service_request", entity_id=request.id,
           after={"enterprise_id": enterprise_id, "service": service_code, "note": note})
    session.commit()
    return request


def list_requests(session: Session, *, actor: Actor, enterprise_id: int | None = None,
                  state: str | None = None) -> pd.DataFrame:
    """Service requests (enterprise: its own only; staff: all or one enterprise's), newest first."""
    if actor.role == "enterprise":
        if enterprise_id is None:
            enterprise_id = actor.enterprise_id
        require_enterprise_access(actor, enterprise_id)  # type: ignore[arg-type]
    elif not actor.is_staff:
        raise PermissionDenied("您没有执行此操作的权限。")
    stmt = (
        select(ServiceRequest.id, ServiceRequest.enterprise_id, Enterprise.name.label("enterprise_name"),
               ServiceItem.code.label("service_code"), ServiceItem.name.label("service_name"), ServiceRequest.note,
               ServiceRequest.state, ServiceRequest.answer, ServiceRequest.created_at, ServiceRequest.handled_at)
        .join(ServiceItem, ServiceItem.id == ServiceRequest.service_item_id)
        .join(Enterprise, Enterprise.id == ServiceRequest.enterprise_id)
        .order_by(ServiceRequest.id.desc())  # type: ignore[attr-defined]
    )
    if enterprise_id is not None:
        stmt = stmt.where(ServiceRequest.enterprise_id == enterprise_id)
    if state is not None:
        stmt = stmt.where(ServiceRequest.state == state)
    result = session.execute(stmt)
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    frame["state_label"] = frame["state"].map(REQUEST_STATE_LABELS).fillna(frame["state"]) if len(frame) else []
    return frame


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
    from db.queries import enterprise_score, latest_run
    from services.errors import ServiceError
    from services.model_versions import get_model
    from services.portrait import get_portrait, pool_facts

    require_enterprise_access(actor, enterprise_id)
    catalogue = [CatalogueItem(i.code, i.name, tuple(i.stages) if i.stages else None, i.description or "")
                 for i in catalogue_items(session)]
    try:
        portrait = get_portrait(session, actor=actor, enterprise_id=enterprise_id)
    except ServiceError as exc:
        return PolicyView(None, None, [], [], None, note=str(exc))
    facts = pool_facts(session, actor=actor, portrait=portrait)
    pools = portrait.pools  # the same evaluation the portrait's advice used
    recommendations = match_services(portrait.model, stage=portrait.stage, facts=facts, catalogue=catalogue,
                                     pools=pools)
    final = latest_run(session, states=("final",))
    subsidy = None
    if final is not None:
        row = enterprise_score(session, run_id=final.id, enterprise_id=enterprise_id,
                               columns=(Score.subsidy, Score.tier, Score.rank, Score.mujun))
        if row is not None:
            final_model = get_model(session, final.model_version_id)  # that run's own list names
            tier = row.tier or ""
            subsidy = {"year": final.year, "amount": float(row.subsidy or 0), "tier": tier,
                       "tier_name": final_model.tier_name(tier) if tier else "未上榜",
                       "rank": row.rank, "mujun": row.mujun or ""}
    return PolicyView(portrait.stage, portrait.stage_name, recommendations, pools, subsidy)
