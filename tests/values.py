"""Writing values in tests through the value store (db.values), never into its table: the storage may
change under it."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Enterprise, utcnow
from db.values import insert_seeded, stored_values


def add_values(session: Session, *rows: dict[str, Any]) -> int:
    """Store ``rows`` as given (enterprise_id, year, code, source and any other column); unset columns as a
    new value has them: current, not flagged, no batch or submission, written now."""
    session.flush()  # the enterprises, batches and submissions they refer to
    defaults: dict[str, Any] = {
        "value_num": None,
        "value_text": None,
        "is_current": True,
        "flagged": False,
        "batch_id": None,
        "submission_id": None,
        "created_by": None,
        "created_at": utcnow(),
    }
    return insert_seeded(session, [defaults | row for row in rows])


def with_credit_codes(session: Session, values: pd.DataFrame) -> pd.DataFrame:
    """``values`` (from db.values.stored_values) with each enterprise's credit_code beside it."""
    codes = pd.DataFrame(
        session.execute(select(Enterprise.id, Enterprise.credit_code)).all(),
        columns=["enterprise_id", "credit_code"],
    )
    return values.merge(codes, on="enterprise_id", how="left", validate="many_to_one")


def stored_rows(session: Session, **filters: Any) -> list[Any]:
    """``db.values.stored_values(session, **filters)`` as rows with attributes, a NULL number as None."""
    frame = stored_values(session, **filters)
    frame["value_num"] = frame["value_num"].astype(object).where(frame["value_num"].notna(), None)
    return list(frame.itertuples(index=False))


def credit_codes(session: Session) -> dict[int, str]:
    """Every enterprise's credit code by its id."""
    return dict(session.execute(select(Enterprise.id, Enterprise.credit_code)).all())
