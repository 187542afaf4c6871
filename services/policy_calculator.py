"""政策计算器 and 免申即享: which policies, pools and services fit an enterprise, from its own portrait.

`policy_calculator` evaluates the model's pools, subsidies and the active service catalogue against the
enterprise's portrait (core.assistant_calc: eligible, not yet, unknown and why); `confirm_item` records an
enterprise's 免申即享 confirmation for the current run, `list_confirmations` lists them for officers. An
enterprise user only ever sees its own enterprise (`require_enterprise_access`). The portrait is reused
for a minute (`portrait_for`), as 我的积分 does, because a conversation asks about the same numbers; the
智能助手 (services.assistant) answers its calculator questions through this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core import assistant_calc as calc
from core.lru import LRU
from db.models import (
    AssistantConfirmation,
    Enterprise,
)
from services.actor import Actor, require_enterprise_access, require_staff
from services.audit import Recorder
from services.errors import NotFound, PermissionDenied, ValidationFailed
from services.service_requests import catalogue_items

_record_confirmation = Recorder("assistant_confirmation")

# What the calculator reads of the portrait, under the same names (core.assistant_calc.CalculatorInput)
_PORTRAIT_FIELDS = (
    "model",
    "stage",
    "stage_name",
    "run_state",
    "veto",
    "veto_reason",
    "rank",
    "ranked_in_stage",
    "tier",
    "subsidy",
    "mujun",
    "pools",
)
_PORTRAITS: LRU[tuple] = LRU(64)
_ITEMS: LRU[tuple] = LRU(64)  # (portrait, items): the portrait is kept so its id is not reused
PORTRAIT_SECONDS = 60.0


def portrait_for(session: Session, *, actor: Actor, enterprise_id: int) -> Any:
    """The enterprise's portrait, reused for a minute (as 我的积分 does): a conversation asks several
    questions about the same numbers. A new published run makes a new key."""
    import time

    from db.models import ScoreRun
    from db.queries import PUBLISHED_STATES
    from services.portrait import get_portrait

    require_enterprise_access(actor, enterprise_id)
    run = session.execute(
        select(ScoreRun.id, ScoreRun.state)
        .where(ScoreRun.state.in_(PUBLISHED_STATES))  # type: ignore[attr-defined]
        .order_by(ScoreRun.year.desc(), ScoreRun.id.desc())
        .limit(1)  # type: ignore[union-attr]
    ).first()
    key = (str(session.get_bind().url), enterprise_id, run.id if run else None, run.state if run else None)
    found = _PORTRAITS.get(key)
    if found is not None and time.monotonic() - found[0] < PORTRAIT_SECONDS:
        return found[1]
    portrait = get_portrait(session, actor=actor, enterprise_id=enterprise_id)
    _PORTRAITS.put(key, (time.monotonic(), portrait))
    return portrait


def _named(item: Any, question: str) -> bool:
    """The question names this item: 科创指数贷, 科技型中小企业(认定), 高新技术企业 for 国家高新技术企业认定."""
    core_name = item.name.removesuffix("认定")
    return bool(question) and (core_name in question or core_name.removeprefix("国家") in question)


def calculator_summary(items: list, *, money_for_stage: str | None = None, question: str = "") -> str:
    """One paragraph over the calculator's items: what fits, what can be confirmed, what is unknown.
    ``money_for_stage``: the question asked about money, so the subsidy of that stage is answered first;
    items the (normalised) ``question`` names are answered first too, eligible or not."""
    yes = [i for i in items if i.outcome == calc.ELIGIBLE]
    unknown = [i for i in items if i.outcome == calc.UNKNOWN]
    instant = [i for i in yes if i.instant]
    parts = [f"{i.name}：{i.outcome_label}。{i.reason}" for i in items if _named(i, question)]
    if money_for_stage is not None:
        own = next((i for i in items if i.key == f"subsidy:{money_for_stage}"), None)
        if own is None:
            parts.append("资金扶持：本年度评价模型没有为本企业所在阶段设置政策精准扶持资金。")
        elif own.outcome == calc.ELIGIBLE:
            parts.append(f"资金扶持：本企业符合{own.name}。{own.reason}")
        else:
            parts.append(f"资金扶持：本企业暂不符合{own.name}。{own.reason}")
    if yes:
        parts.append("按已发布的积分和现有数据，本企业符合：" + "、".join(i.name for i in yes) + "。")
    else:
        parts.append("按已发布的积分和现有数据，本企业暂无符合条件的扶持或服务。")
    if instant:
        parts.append(
            "其中可免申即享、一键确认的有：" + "、".join(i.name for i in instant) + "（见下方政策计算器）。"
        )
    if unknown:
        parts.append("缺少数据、暂时无法判断的有：" + "；".join(f"{i.name}（{i.reason}）" for i in unknown))
    not_yet = [i for i in items if i.outcome == calc.NOT_ELIGIBLE and i.kind in ("pool", "subsidy")]
    if not_yet:
        parts.append("其余事项的不符合条件见政策计算器的逐项说明。")
    return "".join(parts)


@dataclass
class CalculatorView:
    items: list  # core.assistant_calc.PolicyItem
    run_id: int | None
    year: int | None
    run_state: str | None
    model_version: str | None
    confirmed: dict[str, Any]  # item key → confirmation time (this run)
    note: str = ""


def _offers(session: Session) -> list[calc.ServiceOffer]:
    rows = catalogue_items(session)
    return [
        calc.ServiceOffer(
            r.code, r.name, tuple(r.stages) if r.stages else None, r.provider or "", r.description or ""
        )
        for r in rows
    ]


def policy_calculator(
    session: Session, *, actor: Actor, enterprise_id: int, portrait: Any = None
) -> CalculatorView:
    """Every declared subsidy, list, 亩均 flag, pool, service and bank product for the enterprise."""
    from core.matching import CatalogueItem, match_services
    from services.model_versions import current_model
    from services.portrait import pool_facts

    require_enterprise_access(actor, enterprise_id)
    offers = _offers(session)
    if portrait is None:
        try:
            portrait = portrait_for(session, actor=actor, enterprise_id=enterprise_id)
        except NotFound as exc:
            model = current_model(session)
            return CalculatorView(
                calc.no_run_items(model, offers, f"暂无已发布的积分结果，无法判断（{exc}）"),
                None,
                None,
                None,
                model.version,
                {},
                note=str(exc),
            )
    p = portrait
    consent = bool(
        session.execute(select(Enterprise.bank_consent).where(Enterprise.id == enterprise_id)).scalar()
    )
    # The items depend on the portrait, the catalogue and the consent only: evaluated once per portrait.
    key = (id(p), tuple(offers), consent)
    items = _ITEMS.get(key)
    if items is None:
        facts = pool_facts(session, actor=actor, portrait=p)
        catalogue = [CatalogueItem(o.code, o.name, o.stages, o.description) for o in offers]
        recommendations = match_services(
            p.model, stage=p.stage, facts=facts, catalogue=catalogue, pools=p.pools
        )
        inp = calc.CalculatorInput(
            **{name: getattr(p, name) for name in _PORTRAIT_FIELDS},
            facts=facts,
            recommendations=recommendations,
            catalogue=offers,
            bank_consent=consent,
        )
        items = _ITEMS.put(key, (p, calc.evaluate(inp)))[1]
    else:
        items = items[1]
    confirmed = dict(
        session.execute(
            select(AssistantConfirmation.item_key, AssistantConfirmation.confirmed_at).where(
                AssistantConfirmation.enterprise_id == enterprise_id, AssistantConfirmation.run_id == p.run_id
            )
        ).all()
    )
    if p.run_state == "final":  # a subsidy line confirmed on 政策与服务 is confirmed here too
        from services.subsidies import confirmed_subsidy_runs

        if p.run_id in confirmed_subsidy_runs(session, enterprise_id=enterprise_id):
            for item in items:
                if item.kind == "subsidy" and item.instant:
                    confirmed.setdefault(item.key, True)
    return CalculatorView(items, p.run_id, p.year, p.run_state, p.model.version, confirmed)


def confirm_item(
    session: Session, *, actor: Actor, enterprise_id: int, item_key: str
) -> AssistantConfirmation:
    """The enterprise confirms a 免申即享 item (re-evaluated now: it must still be one); audited, once."""
    if actor.role != "enterprise":
        raise PermissionDenied("只有企业账户可以确认免申即享事项。")
    require_enterprise_access(actor, enterprise_id)
    view = policy_calculator(session, actor=actor, enterprise_id=enterprise_id)
    item = next((i for i in view.items if i.key == item_key), None)
    if item is None or not item.instant or view.run_id is None:
        raise ValidationFailed("该事项不在本企业的免申即享清单中。")
    once = {
        "enterprise_id": enterprise_id,
        "run_id": view.run_id,
        "item_key": item.key,
    }  # one per run and item
    existing = session.execute(select(AssistantConfirmation).filter_by(**once)).scalars().first()
    if existing is not None:
        return existing
    row = AssistantConfirmation(
        **once, item_name=item.name, kind=item.kind, reason=item.reason, confirmed_by=actor.username
    )
    _record_confirmation.add(
        session,
        actor,
        "assistant.confirm",
        row,
        after={"enterprise_id": enterprise_id, "run_id": view.run_id, "item": item.key, "name": item.name},
    )
    if (
        item.kind == "subsidy"
    ):  # the subsidy line of the final run moves to 企业已确认 in the same transaction
        from services.subsidies import confirm_line

        confirm_line(session, actor=actor, run_id=view.run_id, enterprise_id=enterprise_id)
    session.commit()
    if item.kind == "service":  # the request also reaches 服务需求处理, as one made on 政策与服务 does
        from services.service_requests import request_service

        request_service(
            session,
            actor=actor,
            enterprise_id=enterprise_id,
            service_code=item.key.split(":", 1)[1],
            note="免申即享：企业在智能助手中一键确认",
        )
    return row


def list_confirmations(session: Session, *, actor: Actor, limit: int = 500) -> pd.DataFrame:
    """免申即享 confirmations, newest first (staff)."""
    require_staff(actor)
    result = session.execute(
        select(
            AssistantConfirmation.id,
            AssistantConfirmation.confirmed_at,
            Enterprise.name.label("enterprise_name"),
            Enterprise.credit_code,
            AssistantConfirmation.item_name,
            AssistantConfirmation.kind,
            AssistantConfirmation.run_id,
            AssistantConfirmation.confirmed_by,
            AssistantConfirmation.reason,
        )
        .join(Enterprise, Enterprise.id == AssistantConfirmation.enterprise_id)
        .order_by(AssistantConfirmation.id.desc())
        .limit(limit)  # type: ignore[attr-defined]
    )
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    if len(frame):
        frame["kind_label"] = frame["kind"].map(calc.KIND_LABELS).fillna(frame["kind"])
    return frame
