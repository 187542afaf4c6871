"""服务目录 — the service catalogue officers keep (scoring-model.md §8: "the catalogue is data that
officers edit"): each item's stages read against the active model, items whose stages the model does not
know flagged, edits and new items validated and audited.

Two officers (or two tabs) editing one item: each save names the ``version`` its form was read at and
claims the row (services.optimistic, as 数据填报 does); a form read before someone else's save is refused
with :data:`CHANGED_ELSEWHERE` and nothing is written. Deactivating an item that the models' 培育库 or
推荐规则 name, or that open 服务需求 ask for, is refused unless the caller confirms it has been told which
(:data:`CatalogueOverview.items` ``references``): those pools and rules stop offering anything.

Stage fit is keyed to stage codes. A catalogue written for another model (the shipped one is keyed to the
default model's stages) holds codes the active model does not know; such an item never matches an
enterprise by stage, so the overview names every such code and the editor offers only the model's stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session

from core.assistant_calc import is_bank_provider
from core.matching import service_references, stage_fit
from core.scoring_model import ScoringModel
from db.models import ServiceItem, ServiceRequest
from db.queries import PUBLISHED_STATES, latest_run
from services.actor import Actor, require_staff
from services.audit import Recorder
from services.errors import Conflict, NotFound, ValidationFailed
from services.model_versions import current_model, get_model
from services.optimistic import claim_version

_record_item = Recorder("ServiceItem")

MAX_NAME = 100
MAX_PROVIDER = 100
MAX_DESCRIPTION = 500

CHANGED_ELSEWHERE = (
    "该服务已被他人修改：您打开后，其他工作人员（或您在另一个页面）保存了新的内容。您的修改未保存。"
    "请重新载入该服务，核对最新内容后再修改并保存。"
)
DEACTIVATION_EFFECT = (
    "停用后，企业不能再申请该服务，引用它的培育库和推荐规则也不再推荐它"
    "（未办结的服务需求仍可在“服务需求处理”中办理）。"
)
# service requests not yet finished (core.workflows SERVICE_REQUEST: 待受理, 已受理)
UNFINISHED_REQUESTS = ("open", "accepted")


@dataclass
class CatalogueOverview:
    """Every item (active or not) with its stages named by ``model``; ``unknown_items``: how many active
    items hold a stage code the model does not know."""

    model: ScoringModel
    # code, name, provider, kind (金融产品/企业服务), description, active, stages (codes), stage_text, problem,
    # version (the one a save names), references (what names the item, in Chinese; see item_references)
    items: pd.DataFrame
    unknown_items: int
    # the latest published/final run's stages when they are not the active model's (a new model published,
    # not yet run): enterprises are matched by that run's stages until a run of the active model is out
    run_stages: str = ""


def _matching_models(session: Session) -> tuple[ScoringModel, ScoringModel | None]:
    """The active model, and the latest published/final run's model (enterprises are matched by that
    run's model until a run of the active one is out); None when nothing is published."""
    model = current_model(session)
    run = latest_run(session, states=PUBLISHED_STATES)
    return model, (None if run is None else get_model(session, run.model_version_id))


def _named_by(
    session: Session, models: Sequence[ScoringModel]
) -> tuple[dict[str, list[str]], dict[int, int]]:
    """Per code, the pools and rules of ``models`` naming it; per item id, its unfinished requests."""
    named: dict[str, list[str]] = {}
    for model in models:
        for code, names in service_references(model).items():
            named[code] = list(dict.fromkeys([*named.get(code, []), *names]))
    requests = session.execute(
        select(ServiceRequest.service_item_id, func.count())
        .where(ServiceRequest.state.in_(UNFINISHED_REQUESTS))  # type: ignore[attr-defined]
        .group_by(ServiceRequest.service_item_id)
    ).all()
    return named, {int(item_id): int(count) for item_id, count in requests}


def _references(named: dict[str, list[str]], requests: dict[int, int], item: ServiceItem) -> list[str]:
    found = list(named.get(item.code, []))
    if requests.get(item.id or 0):
        found.append(f"{requests[item.id or 0]} 条未办结的服务需求")
    return found


def catalogue_overview(session: Session, *, actor: Actor) -> CatalogueOverview:
    """The whole catalogue for staff, read against the active model (the one new runs score with)."""
    require_staff(actor)
    model, run_model = _matching_models(session)
    named, requests = _named_by(session, [m for m in (model, run_model) if m is not None])
    rows = session.execute(select(ServiceItem).order_by(ServiceItem.id)).scalars().all()  # type: ignore[arg-type]
    records = []
    for item in rows:
        fit = stage_fit(model, item.stages)
        records.append(
            {
                "code": item.code,
                "name": item.name,
                "provider": item.provider or "",
                "kind": "金融产品" if is_bank_provider(item.provider) else "企业服务",
                "description": item.description or "",
                "active": bool(item.active),
                "stages": list(item.stages or []),
                "stage_text": fit.text,
                "problem": fit.problem,
                "version": int(item.version),
                "references": _references(named, requests, item),
            }
        )
    columns = [
        "code",
        "name",
        "provider",
        "kind",
        "description",
        "active",
        "stages",
        "stage_text",
        "problem",
        "version",
        "references",
    ]
    items = pd.DataFrame(records, columns=columns)
    unknown = int((items["active"] & (items["problem"] != "")).sum()) if len(items) else 0
    run_stages = ""
    if run_model is not None and run_model.stage_codes != model.stage_codes:
        run_stages = "、".join(s.name for s in run_model.stages)
    return CatalogueOverview(model, items, unknown, run_stages)


def _checked(
    model: ScoringModel, *, name: str, provider: str | None, description: str | None, stages: Sequence[str]
) -> dict:
    """The item's fields, cleaned; a stage the model does not know is refused (it would never match)."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("请填写服务名称。")
    if len(name) > MAX_NAME:
        raise ValidationFailed(f"服务名称不能超过 {MAX_NAME} 字。")
    provider = (provider or "").strip() or None
    if provider and len(provider) > MAX_PROVIDER:
        raise ValidationFailed(f"提供单位不能超过 {MAX_PROVIDER} 字。")
    description = (description or "").strip() or None
    if description and len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(f"服务说明不能超过 {MAX_DESCRIPTION} 字。")
    unknown = [code for code in stages if code not in model.stage_codes]
    if unknown:
        raise ValidationFailed(
            "以下阶段不在当前评价模型中，请从列出的阶段中选择：" + "、".join(unknown) + "。"
        )
    chosen = set(stages)
    # stored in the model's order; none chosen = no stage fit (recommended by a trigger or pool only)
    ordered = [code for code in model.stage_codes if code in chosen]
    return {"name": name, "provider": provider, "description": description, "stages": ordered or None}


def _audited(model: ScoringModel, item: ServiceItem) -> dict:
    """What the audit trail keeps of an item: its stages by name (stage and class codes overlap, so a
    code would be read as the wrong word)."""
    fit = stage_fit(model, item.stages)
    return {
        "name": item.name,
        "provider": item.provider,
        "stages": "；".join(filter(None, [fit.text, fit.problem])),
        "active": item.active,
    }


def update_service_item(
    session: Session,
    *,
    actor: Actor,
    code: str,
    version: int,
    name: str,
    stages: Sequence[str],
    provider: str | None = None,
    description: str | None = None,
    active: bool = True,
    confirm_deactivation: bool = False,
) -> ServiceItem:
    """Edit one item: name, provider, description, the active model's stages it suits, active or not.

    ``version`` is the one the form was read at: a save since then refuses this one (CHANGED_ELSEWHERE).
    Deactivating an item that pools, rules or unfinished requests name needs ``confirm_deactivation``."""
    require_staff(actor)
    model = current_model(session)
    item = session.execute(select(ServiceItem).where(ServiceItem.code == code)).scalars().first()
    if item is None:
        raise NotFound("该服务项目不存在。")
    if item.version != version:  # the common case, before any lock
        raise Conflict(CHANGED_ELSEWHERE)
    fields = _checked(model, name=name, provider=provider, description=description, stages=stages)
    claim_version(session, ServiceItem, item.id or 0, version, CHANGED_ELSEWHERE)
    session.refresh(item)  # as stored, read under the lock just taken
    reason = None
    if item.active and not active:
        matching, run_model = _matching_models(session)
        named, requests = _named_by(session, [m for m in (matching, run_model) if m is not None])
        references = _references(named, requests, item)
        if references and not confirm_deactivation:
            session.rollback()
            raise Conflict(
                f"“{item.name}”仍被以下内容引用：{'、'.join(references)}。{DEACTIVATION_EFFECT}请确认后再停用。"
            )
        if references:
            reason = "停用前已确认引用：" + "、".join(references)
    before = _audited(model, item)
    for key, value in fields.items():
        setattr(item, key, value)
    item.active = bool(active)
    session.add(item)
    _record_item(
        session,
        actor,
        "service_item.update",
        item.id,
        before=before,
        after=_audited(model, item),
        reason=reason,
    )
    session.commit()
    return item


def add_service_item(
    session: Session,
    *,
    actor: Actor,
    name: str,
    stages: Sequence[str],
    provider: str | None = None,
    description: str | None = None,
) -> ServiceItem:
    """A new active item; its code is made here (officers work with names, never codes)."""
    require_staff(actor)
    model = current_model(session)
    fields = _checked(model, name=name, provider=provider, description=description, stages=stages)
    if session.execute(select(ServiceItem.id).where(ServiceItem.name == fields["name"])).first():
        raise ValidationFailed(f"服务目录中已有“{fields['name']}”。")
    number = (session.execute(select(func.max(ServiceItem.id))).scalar() or 0) + 1
    code = f"service_{number}"
    while session.execute(select(ServiceItem.id).where(ServiceItem.code == code)).first():
        number += 1
        code = f"service_{number}"
    item = ServiceItem(code=code, active=True, **fields)
    _record_item.add(session, actor, "service_item.add", item, after=_audited(model, item))
    session.commit()
    return item
