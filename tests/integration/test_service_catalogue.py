"""服务目录 (services.service_catalogue): staff keep the catalogue against the active model's stages — a
stage the model does not know is flagged (it would never match) and refused when saved; enterprises may
not edit; every change is audited in Chinese words."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from core.matching import shipped_catalogue
from db.models import AuditEvent, Enterprise, ServiceItem, ServiceRequest
from services.actor import Actor
from services.audit import display_frame, query_events
from services.errors import Conflict, PermissionDenied, ValidationFailed
from services.model_versions import ensure_default_model, publish_model_version, register_model
from services.service_catalogue import (
    CHANGED_ELSEWHERE,
    add_service_item,
    catalogue_overview,
    update_service_item,
)
from tests.zone_model import zone_model_dict

OFFICER = Actor(username="officer1", role="officer", user_id=2)
ENTERPRISE = Actor(username="ent1", role="enterprise", user_id=5, enterprise_id=1)


@pytest.fixture
def zone_catalogue(session: Session) -> Session:
    """The shipped catalogue (keyed to the default model's stages) under the zone's model."""
    ensure_default_model(session)
    draft = register_model(session, actor=OFFICER, definition=zone_model_dict())
    publish_model_version(session, actor=OFFICER, version_id=draft.id)
    session.add_all(ServiceItem(**service, active=True) for service in shipped_catalogue())
    session.commit()
    return session


def test_the_overview_names_the_models_stages_and_counts_the_items_it_does_not_know(
    zone_catalogue: Session,
) -> None:
    overview = catalogue_overview(zone_catalogue, actor=OFFICER)
    items = overview.items.set_index("code")
    assert overview.unknown_items == 7
    assert items.loc["global", "problem"] == "阶段“mature”不在当前模型中"
    assert items.loc["rd_deduction", ["stage_text", "problem"]].tolist() == [
        "不限阶段（仅按指标或培育库推荐）",
        "",
    ]


def test_a_stage_the_model_does_not_know_is_refused(zone_catalogue: Session) -> None:
    with pytest.raises(ValidationFailed, match="以下阶段不在当前评价模型中"):
        update_service_item(
            zone_catalogue, actor=OFFICER, code="global", version=1, name="全球化业务拓展", stages=["mature"]
        )
    zone_catalogue.rollback()
    item = zone_catalogue.execute(select(ServiceItem).where(ServiceItem.code == "global")).scalars().one()
    assert item.stages == ["mature"]  # unchanged


def test_saving_the_models_stages_clears_the_flag_and_is_audited_by_name(zone_catalogue: Session) -> None:
    update_service_item(
        zone_catalogue,
        actor=OFFICER,
        code="global",
        version=1,
        name="全球化业务拓展",
        stages=["lead", "speed"],
    )
    overview = catalogue_overview(zone_catalogue, actor=OFFICER)
    items = overview.items.set_index("code")
    assert overview.unknown_items == 6
    assert items.loc["global", "stages"] == ["speed", "lead"]  # the model's order
    assert items.loc["global", ["stage_text", "problem"]].tolist() == ["加速期、领航期", ""]
    events = display_frame(query_events(zone_catalogue, actor=OFFICER, action="service_item.update"))
    shown = events.to_string()
    assert "修改服务目录项" in shown and "服务目录项" in shown
    assert "适用阶段 （无当前模型中的阶段）；阶段“mature”不在当前模型中" in shown
    assert "适用阶段 加速期、领航期" in shown


def test_a_new_item_gets_a_code_of_its_own(zone_catalogue: Session) -> None:
    item = add_service_item(
        zone_catalogue, actor=OFFICER, name="知识产权托管", stages=["bud"], provider="区知产局"
    )
    assert item.code.startswith("service_") and item.stages == ["bud"] and item.active
    with pytest.raises(ValidationFailed, match="服务目录中已有“知识产权托管”"):
        add_service_item(zone_catalogue, actor=OFFICER, name="知识产权托管", stages=[])


def test_an_enterprise_may_not_read_or_edit_the_catalogue(zone_catalogue: Session) -> None:
    with pytest.raises(PermissionDenied):
        catalogue_overview(zone_catalogue, actor=ENTERPRISE)
    with pytest.raises(PermissionDenied):
        update_service_item(zone_catalogue, actor=ENTERPRISE, code="global", version=1, name="x", stages=[])


def test_a_new_model_not_yet_run_is_said_to_leave_matching_on_the_runs_stages(seeded: Session) -> None:
    """The zone's model published over a database whose runs used the default model: the catalogue is
    checked against the new stages, and the officer is told enterprises are still matched by the latest
    published run's stages until a run of the new model is out."""
    before = catalogue_overview(seeded, actor=OFFICER)
    assert (before.unknown_items, before.run_stages) == (0, "")
    draft = register_model(seeded, actor=OFFICER, definition=zone_model_dict())
    publish_model_version(seeded, actor=OFFICER, version_id=draft.id)
    after = catalogue_overview(seeded, actor=OFFICER)
    assert after.unknown_items == 7
    assert after.run_stages == "种子期、初创期、成长期、扩张期、成熟期"


def test_each_item_s_kind_follows_its_provider_and_an_edit_shows_the_change(zone_catalogue: Session) -> None:
    """A bank's product is recommended under other rules (consent first, never to a vetoed firm), and the
    provider's name is what decides: the overview says which kind each item is, so renaming the
    provider of 科创指数贷 visibly turns it into an ordinary service."""
    kinds = catalogue_overview(zone_catalogue, actor=OFFICER).items.set_index("code")["kind"]
    assert kinds["innovation_loan"] == "金融产品"
    assert set(kinds.drop("innovation_loan")) == {"企业服务"}
    update_service_item(
        zone_catalogue,
        actor=OFFICER,
        code="innovation_loan",
        version=1,
        name="科创指数贷",
        provider="区金融办",
        stages=[],
    )
    kinds = catalogue_overview(zone_catalogue, actor=OFFICER).items.set_index("code")["kind"]
    assert kinds["innovation_loan"] == "企业服务"


def _stored(session: Session, code: str) -> ServiceItem:
    session.expire_all()
    return session.execute(select(ServiceItem).where(ServiceItem.code == code)).scalars().one()


def _updates(session: Session) -> int:
    return session.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "service_item.update")
    ).scalar_one()


def _form(session: Session, code: str) -> dict:
    """What the officer's form holds for ``code``: the overview's fields and the version it was read at."""
    row = catalogue_overview(session, actor=OFFICER).items.set_index("code").loc[code]
    session.commit()  # each page call is a unit of work of its own
    return {
        "code": code,
        "version": int(row["version"]),
        "name": row["name"],
        "provider": row["provider"],
        "description": row["description"],
        "stages": list(row["stages"]),
        "active": bool(row["active"]),
    }


OFFICER_B = Actor(username="officer2", role="officer", user_id=3)


def test_a_save_from_a_form_read_before_another_officers_save_is_refused_and_changes_nothing(
    zone_catalogue: Session, db_engine: Engine
) -> None:
    """Officers A and B open 全球化业务拓展; B saves a new provider, then A saves a new description from the
    form read before B's save: A is refused in Chinese (reload, re-apply), B's provider stays, A's
    description is not written and only B's edit is audited. Re-read, A's edit goes through."""
    form_a = _form(zone_catalogue, "global")
    with Session(db_engine, expire_on_commit=False) as officer_b:
        form_b = _form(officer_b, "global")
        update_service_item(
            officer_b, actor=OFFICER_B, **{**form_b, "provider": "区商务局", "stages": ["lead"]}
        )
    assert _updates(zone_catalogue) == 1

    with pytest.raises(Conflict) as refused:
        update_service_item(
            zone_catalogue, actor=OFFICER, **{**form_a, "description": "A 的说明", "stages": ["lead"]}
        )
    assert str(refused.value) == CHANGED_ELSEWHERE
    assert "已被他人修改" in CHANGED_ELSEWHERE and "您的修改未保存" in CHANGED_ELSEWHERE
    assert "重新载入" in CHANGED_ELSEWHERE
    stored = _stored(zone_catalogue, "global")
    assert (stored.provider, stored.description) == ("区商务局", form_b["description"] or None)
    assert _updates(zone_catalogue) == 1

    again = _form(zone_catalogue, "global")
    assert again["provider"] == "区商务局"
    update_service_item(zone_catalogue, actor=OFFICER, **{**again, "description": "A 的说明"})
    stored = _stored(zone_catalogue, "global")
    assert (stored.provider, stored.description) == ("区商务局", "A 的说明")
    assert _updates(zone_catalogue) == 2


def test_a_stale_save_is_refused_even_when_the_caller_holds_the_old_row(
    zone_catalogue: Session, db_engine: Engine
) -> None:
    """The refusal is the claiming UPDATE's, not only a compare with a copy read earlier: A's session
    still holds the item as it was before B's save (the race where both read before either writes)."""
    form = {**_form(zone_catalogue, "market"), "stages": ["speed"]}  # its own are the default model's
    held = zone_catalogue.execute(select(ServiceItem).where(ServiceItem.code == "market")).scalars().one()
    zone_catalogue.commit()
    with Session(db_engine, expire_on_commit=False) as officer_b:
        update_service_item(
            officer_b, actor=OFFICER_B, **{**_form(officer_b, "market"), "name": "B 的名称", "stages": []}
        )
    assert held.version == form["version"]  # A's copy is stale and does not know it
    with pytest.raises(Conflict, match="已被他人修改"):
        update_service_item(zone_catalogue, actor=OFFICER, **{**form, "name": "A 的名称"})
    assert _stored(zone_catalogue, "market").name == "B 的名称"


def test_deactivating_an_item_a_pool_names_is_refused_until_confirmed_and_names_the_pool(
    zone_catalogue: Session,
) -> None:
    """The zone's 星城瞪羚后备 pool offers 高企认定辅导 (hte_guidance) to nearby enterprises: stopping it is
    refused without the confirmation, naming the pool, and changes nothing; confirmed, it is stopped and
    the audit event keeps what the officer was told."""
    references = catalogue_overview(zone_catalogue, actor=OFFICER).items.set_index("code")["references"]
    assert references["hte_guidance"] == ["培育库“星城瞪羚后备”"]
    assert references["rd_deduction"] == ["推荐规则“研发投入强度<3%”"]
    assert references["global"] == []
    zone_catalogue.commit()

    form = _form(zone_catalogue, "hte_guidance")
    with pytest.raises(Conflict) as refused:
        update_service_item(zone_catalogue, actor=OFFICER, **{**form, "active": False})
    assert "培育库“星城瞪羚后备”" in str(refused.value) and "请确认后再停用" in str(refused.value)
    assert _stored(zone_catalogue, "hte_guidance").active
    assert _updates(zone_catalogue) == 0

    update_service_item(zone_catalogue, actor=OFFICER, **{**form, "active": False}, confirm_deactivation=True)
    assert not _stored(zone_catalogue, "hte_guidance").active
    events = query_events(zone_catalogue, actor=OFFICER, action="service_item.update")
    assert events["reason"].tolist() == ["停用前已确认引用：培育库“星城瞪羚后备”"]


def test_an_item_nothing_names_is_deactivated_without_asking(zone_catalogue: Session) -> None:
    form = _form(zone_catalogue, "global")
    update_service_item(zone_catalogue, actor=OFFICER, **{**form, "stages": ["lead"], "active": False})
    assert not _stored(zone_catalogue, "global").active


def test_unfinished_service_requests_are_counted_and_asked_about_before_deactivation(
    zone_catalogue: Session,
) -> None:
    """Two enterprises asked for 全球化业务拓展 (one request taken, one waiting), a third was done: the
    overview and the refusal say 2 条未办结的服务需求."""
    item = _stored(zone_catalogue, "global")
    for i, state in enumerate(("open", "accepted", "done")):
        enterprise = Enterprise(credit_code=f"91330300MA2AAAA{i}0X", name=f"企业{i}")
        zone_catalogue.add(enterprise)
        zone_catalogue.flush()
        zone_catalogue.add(ServiceRequest(enterprise_id=enterprise.id, service_item_id=item.id, state=state))
    zone_catalogue.commit()
    form = _form(zone_catalogue, "global")
    references = catalogue_overview(zone_catalogue, actor=OFFICER).items.set_index("code")["references"]
    assert references["global"] == ["2 条未办结的服务需求"]
    with pytest.raises(Conflict, match="2 条未办结的服务需求"):
        update_service_item(zone_catalogue, actor=OFFICER, **{**form, "stages": ["lead"], "active": False})
    assert _stored(zone_catalogue, "global").active


def test_the_latest_runs_model_counts_too(seeded: Session) -> None:
    """Enterprises are matched by the latest published run's model until the active one is run: after the
    zone's model is published, the default model's 科创指数贷 rule still names innovation_loan."""
    draft = register_model(seeded, actor=OFFICER, definition=zone_model_dict())
    publish_model_version(seeded, actor=OFFICER, version_id=draft.id)
    references = catalogue_overview(seeded, actor=OFFICER).items.set_index("code")["references"]
    assert any(r.startswith("推荐规则“") and "80" in r for r in references["innovation_loan"])
    assert "培育库“星城瞪羚后备”" in references["hte_guidance"]
    assert "培育库“国家高新技术企业”" in references["hte_guidance"]
