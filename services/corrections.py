"""Correcting one department value (after an upheld objection during 公示) through the import path.

The correction form replaces hand-building a department file for one cell: the value becomes a one-row
file of the department that supplies the code, checked by the same rules as any file and committed as an
import batch — traceable, undoable, audited — so the next run of the year reads it. Self-reported values
are not corrected here (the enterprise asks for a corrected 填报). One use case, one transaction: the
import's write (``imports.write_import``) and the ``value.correct`` audit line commit together.
"""

from __future__ import annotations

import pandas as pd
from sqlmodel import Session

from core import importing
from services import audit
from services.actor import Actor, accessible_enterprise, require_staff
from services.errors import ValidationFailed
from services.import_report import ImportReport
from services.imports import write_import
from services.model_versions import current_model


def correctable_columns(session: Session, *, actor: Actor) -> list[importing.TemplateColumn]:
    """Every value a department supplies (one entry per code, its first supplying department), for the
    correction form: what :func:`correct_value` can write."""
    require_staff(actor)
    model = current_model(session)
    seen: dict[str, importing.TemplateColumn] = {}
    for department in importing.departments(model):
        for col in importing.department_columns(model, department):
            seen.setdefault(col.code, col)
    return list(seen.values())


def correct_value(
    session: Session, *, actor: Actor, enterprise_id: int, year: int, code: str, value: str, reason: str
) -> ImportReport:
    """Correct one department value of one enterprise (e.g. after an upheld objection during 公示) through
    the import path itself: a one-row file of the supplying department is checked by the same rules and
    committed as a batch — traceable, undoable, audited — and the next run of the year reads it.

    The form replaces hand-building a department file for one cell."""
    require_staff(actor)
    if not (reason and reason.strip()):
        raise ValidationFailed("请填写更正原因（如异议编号和核实情况）。")
    if not str(value or "").strip():
        raise ValidationFailed("请填写更正后的数值。")
    enterprise = accessible_enterprise(session, actor, enterprise_id)
    column = next((c for c in correctable_columns(session, actor=actor) if c.code == code), None)
    if column is None:
        raise ValidationFailed(
            f"“{code}”不是部门报送的数据，不能在此更正（企业自报数据请企业申请更正填报）。"
        )
    table = pd.DataFrame(
        {
            importing.CODE_HEADER: [enterprise.credit_code],
            importing.NAME_HEADER: [enterprise.name],
            column.header: [str(value).strip()],
        }
    )
    data = table.to_csv(index=False).encode("utf-8-sig")
    report = write_import(
        session,
        actor=actor,
        data=data,
        department=column.department,
        year=year,
        file_name=f"数据更正_{enterprise.credit_code}_{code}.csv",
        confirm_duplicate=True,
    )
    audit.record(
        session,
        actor=actor,
        action="value.correct",
        entity="Enterprise",
        entity_id=enterprise_id,
        after={"year": year, "code": code, "value": str(value).strip(), "batch_id": report.batch_id},
        reason=reason.strip(),
    )
    session.commit()
    return report
