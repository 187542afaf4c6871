"""Generated values as table rows: the value contract per rule type, departments, timestamps.

:func:`encode` turns one indicator's generated array into ``value_num`` / ``value_text`` / present per
enterprise the way an import would store it (auxiliary items only where they apply, list items as JSON).
:func:`department_of` names the department whose batch delivers a model source, among the model's
departments as the import flow knows them (:func:`core.importing.departments`). :func:`bulk_insert`
writes row dicts with Core ``insert(table)``: 3,000 enterprises are about 120k values.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from sqlalchemy import insert
from sqlmodel import Session

from core.importing import DEPARTMENTS
from core.scoring_model import FlagRule, Indicator, ItemsRule, TierRule
from db.models import SELF_REPORT_SOURCE

FALLBACK_DEPARTMENT = "科技"


def department_of(source: str, departments: tuple[str, ...]) -> str:
    """The department whose batch delivers a model source: the first of the usual departments
    (:data:`core.importing.DEPARTMENTS`) the source names, else the first of the model's ``departments``
    (:func:`core.importing.departments`) it names ("应急/市监/生态环境" → 市监, "自报+人社" → 人社)."""
    tokens = [t for part in source.replace("+", "/").split("/") if (t := part.strip())]
    named = next((t for t in tokens if t in DEPARTMENTS), None) or next(
        (t for t in tokens if t in departments), None
    )
    if named is not None:
        return named
    tokens = [t for t in tokens if t != SELF_REPORT_SOURCE]
    return (tokens[0] if tokens else FALLBACK_DEPARTMENT)[:20]


def encode(ind: Indicator | None, values: np.ndarray) -> tuple[list, list, np.ndarray]:
    """(value_num, value_text, present) per enterprise, following the value contract of the rule type.

    Auxiliary items (bonus/deduction/veto) are stored only where they apply: departments deliver the
    list of qualified firms, and "empty = no" in the contract. Core list items store ``[]`` for none.
    """
    n = len(values)
    rule = ind.rule if ind is not None else None
    auxiliary = ind is not None and not ind.is_core
    nums: list = [None] * n
    texts: list = [None] * n
    if isinstance(rule, FlagRule) and not rule.components:
        present = np.asarray(values, dtype=bool)
        for i in np.flatnonzero(present):
            nums[i] = 1.0
        return nums, texts, present
    if isinstance(rule, TierRule):
        present = np.array([v is not None for v in values])
        for i in np.flatnonzero(present):
            texts[i] = values[i]
        return nums, texts, present
    if isinstance(rule, (ItemsRule, FlagRule)):  # list items, or a structured flag (JSON object)
        present = np.array([bool(v) if auxiliary else v is not None for v in values])
        for i in np.flatnonzero(present):
            texts[i] = json.dumps(values[i], ensure_ascii=False)
        return nums, texts, present
    arr = np.asarray(values, dtype=float)
    present = np.isfinite(arr)
    if auxiliary:
        present &= arr > 0
    nums = [float(v) for v in arr.tolist()]
    return nums, texts, present


def bulk_insert(session: Session, model: type, rows: list[dict], chunk: int = 20_000) -> None:
    """Core ``insert(table)`` on the session's connection: skips the ORM bulk layer (≈2× faster)."""
    table = model.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    for start in range(0, len(rows), chunk):
        connection.execute(insert(table), rows[start : start + chunk])


def plain(v: Any) -> Any:
    """A JSON-able form of a generated cell (for Submission.items)."""
    if v is None:
        return None
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def report_items(cells: dict[str, Any]) -> dict[str, Any]:
    """A self-report's items as the form stores them: every row of a list item carries its ``uid`` (the
    key its evidence is filed under), as services.self_report gives rows saved through the form.

    Without one, two rows of a list shared the evidence key ``A04:`` and the page could not draw them.
    Deterministic ids (the row's position) keep one seed one database.
    """
    items = {code: plain(value) for code, value in cells.items()}
    for code, value in items.items():
        if isinstance(value, list):
            items[code] = [
                {**row, "uid": row.get("uid") or f"{position:08x}"} if isinstance(row, dict) else row
                for position, row in enumerate(value, start=1)
            ]
    return items


def value_row(
    enterprise_id: int,
    year: int,
    code: str,
    num: Any,
    text: Any,
    source: str,
    batch_id: int | None,
    submission_id: int | None,
    at: datetime,
    by: str,
) -> dict:
    return {
        "enterprise_id": enterprise_id,
        "year": year,
        "code": code,
        "value_num": num,
        "value_text": text,
        "source": source,
        "is_current": True,
        "flagged": False,
        "batch_id": batch_id,
        "submission_id": submission_id,
        "created_by": by,
        "created_at": at,
    }


def at_ten(d: date, hour: int = 10) -> datetime:
    """``d`` at ``hour`` o'clock UTC (the demo's office hours)."""
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)
