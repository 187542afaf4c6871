"""金融推荐: the enterprise's consent (given and withdrawn on its own side) and the officers' whitelist.

Consent is the enterprise's decision alone: only its own user changes it, the time is kept on the
enterprise (``bank_consent_at``) and every change is audited. A whitelist only lists consenting,
ranked, non-vetoed enterprises of a published run (core.bank); every export is audited with who
exported it, when, for which bank, the criteria and the enterprises it contained.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlmodel import Session

from core import bank
from core.spreadsheet import write_csv, write_xlsx
from db.models import utcnow
from services.actor import Actor, accessible_enterprise, require_staff
from services.audit import Recorder, record
from services.errors import PermissionDenied, ValidationFailed
from services.scenarios import load_run, resolve_run_id

_record_run = Recorder("ScoreRun")

MAX_BANK_NAME = 100


@dataclass(frozen=True)
class Consent:
    enterprise_id: int
    consent: bool
    changed_at: object  # aware datetime or None


def get_bank_consent(session: Session, *, actor: Actor, enterprise_id: int) -> Consent:
    enterprise = accessible_enterprise(session, actor, enterprise_id)
    return Consent(enterprise_id, bool(enterprise.bank_consent), enterprise.bank_consent_at)


def set_bank_consent(session: Session, *, actor: Actor, enterprise_id: int, consent: bool) -> Consent:
    """The enterprise gives (True) or withdraws (False) its consent; only its own user may."""
    if actor.role != "enterprise":
        raise PermissionDenied("是否同意向合作银行推荐，只能由企业本身决定。")
    enterprise = accessible_enterprise(session, actor, enterprise_id)
    before = {
        "bank_consent": bool(enterprise.bank_consent),
        "bank_consent_at": enterprise.bank_consent_at.isoformat() if enterprise.bank_consent_at else None,
    }
    if bool(enterprise.bank_consent) == bool(consent):
        return Consent(enterprise_id, bool(consent), enterprise.bank_consent_at)
    enterprise.bank_consent = bool(consent)
    enterprise.bank_consent_at = utcnow()
    session.add(enterprise)
    record(
        session,
        actor=actor,
        action="bank_consent.give" if consent else "bank_consent.withdraw",
        entity="Enterprise",
        entity_id=enterprise_id,
        before=before,
        after={"bank_consent": bool(consent), "bank_consent_at": enterprise.bank_consent_at.isoformat()},
    )
    session.commit()
    return Consent(enterprise_id, bool(consent), enterprise.bank_consent_at)


@dataclass
class Whitelist:
    run_id: int
    run_label: str
    criteria_text: str
    table: pd.DataFrame  # core.bank.whitelist
    chosen: int  # chosen by the criteria before consent
    without_consent: int  # of those, left out for want of consent


def bank_whitelist(
    session: Session, *, actor: Actor, criteria: bank.Criteria, run_id: int | None = None
) -> Whitelist:
    require_staff(actor)
    data = load_run(session, actor=actor, run_id=resolve_run_id(session, actor, run_id))
    try:
        table = bank.whitelist(data.model, data.frame, criteria)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    return Whitelist(
        run_id=data.run.id,
        run_label=data.label,
        criteria_text=criteria.describe(data.model),
        table=table,
        chosen=table.attrs["chosen"],
        without_consent=table.attrs["without_consent"],
    )


def export_whitelist(
    session: Session,
    *,
    actor: Actor,
    criteria: bank.Criteria,
    bank_name: str,
    run_id: int | None = None,
    fmt: str = "xlsx",
) -> tuple[bytes, Whitelist]:
    """The whitelist as xlsx or csv for ``bank_name``; audited (who, when, which bank, what)."""
    require_staff(actor)
    bank_name = (bank_name or "").strip()
    if not bank_name:
        raise ValidationFailed("请填写接收名单的合作银行名称。")
    if len(bank_name) > MAX_BANK_NAME:
        raise ValidationFailed(f"银行名称不能超过 {MAX_BANK_NAME} 字。")
    if fmt not in ("xlsx", "csv"):
        raise ValidationFailed("导出格式应为 xlsx 或 csv。")
    result = bank_whitelist(session, actor=actor, criteria=criteria, run_id=run_id)
    data = write_csv(result.table) if fmt == "csv" else write_xlsx({"推荐名单": result.table})
    _record_run(
        session,
        actor,
        "bank_whitelist.export",
        result.run_id,
        after={
            "bank": bank_name,
            "criteria": result.criteria_text,
            "mode": criteria.mode,
            "format": fmt,
            "count": len(result.table),
            "credit_codes": result.table["统一社会信用代码"].tolist(),
        },
    )
    session.commit()
    return data, result


def export_history(session: Session, *, actor: Actor, limit: int = 50) -> pd.DataFrame:
    """The latest whitelist exports from the audit trail: 导出时间, 操作人, 合作银行, 批次, 筛选条件, 格式, 企业数."""
    from sqlalchemy import select

    from db.models import AuditEvent

    require_staff(actor)
    events = (
        session.execute(
            select(AuditEvent)
            .where(AuditEvent.action == "bank_whitelist.export")
            .order_by(AuditEvent.id.desc())
            .limit(limit)  # type: ignore[attr-defined]
        )
        .scalars()
        .all()
    )
    return pd.DataFrame(
        [
            {
                "导出时间": e.at,
                "操作人": e.actor,
                "合作银行": (e.after or {}).get("bank", ""),
                "批次": f"#{e.entity_id}",
                "筛选条件": (e.after or {}).get("criteria", ""),
                "格式": (e.after or {}).get("format", ""),
                "企业数": (e.after or {}).get("count", 0),
            }
            for e in events
        ],
        columns=["导出时间", "操作人", "合作银行", "批次", "筛选条件", "格式", "企业数"],
    )
