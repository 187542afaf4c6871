"""db.values.stored_values, the inspection read tests and verification tools use: every stored row that
matches all the filters given, current or not, by id, NULLs as None (a NULL number as NaN)."""

from __future__ import annotations

import math

import pandas as pd
import pandas.api.types as ptypes
from sqlmodel import Session

from db.models import Enterprise, ImportBatch
from db.values import STORED_COLUMNS, replace_values, stored_values
from tests.values import add_values, stored_rows


def test_filters_combine_and_rows_come_in_id_order(session: Session) -> None:
    a, b = (
        Enterprise(credit_code="91330300MA2AAAAA0X", name="甲"),
        Enterprise(credit_code="91330300MA2AAAAB0X", name="乙"),
    )
    batch = ImportBatch(department="税务", year=2025, file_name="税务.xlsx", sha256="0" * 64)
    session.add_all([a, b, batch])
    session.flush()
    add_values(
        session,
        {
            "enterprise_id": b.id,
            "year": 2025,
            "code": "G01",
            "value_num": 1.0,
            "source": "税务",
            "batch_id": batch.id,
        },
        {"enterprise_id": a.id, "year": 2025, "code": "T09", "value_text": "省", "source": "科技"},
        {"enterprise_id": a.id, "year": 2024, "code": "G01", "value_num": 2.0, "source": "税务"},
    )
    rows = pd.DataFrame({"enterprise_id": [b.id], "code": ["G01"], "value_num": [3.0], "value_text": [None]})
    replace_values(session, year=2025, rows=rows.assign(source="税务", flagged=True), created_by="officer1")

    every = stored_values(session)
    assert list(every.columns) == STORED_COLUMNS and every["id"].is_monotonic_increasing and len(every) == 4
    assert ptypes.is_integer_dtype(every["id"]) and ptypes.is_float_dtype(every["value_num"])
    assert every["is_current"].tolist() == [False, True, True, True]
    g01 = stored_values(session, enterprise_id=b.id, year=2025, code="G01")
    assert g01["value_num"].tolist() == [1.0, 3.0] and g01["flagged"].tolist() == [False, True]
    assert g01["batch_id"].tolist() == [batch.id, None] and g01["created_by"].tolist() == [None, "officer1"]
    assert stored_values(session, code="G01", current=True)["value_num"].tolist() == [2.0, 3.0]
    assert stored_values(session, code=["G01", "T09"], year=2025, current=False)["value_num"].tolist() == [
        1.0
    ]
    assert stored_values(session, batch_id=batch.id)["enterprise_id"].tolist() == [b.id]
    assert stored_values(session, submission_id=1).empty
    text = stored_values(session, code="T09")
    assert math.isnan(text["value_num"].iloc[0]) and text["value_text"].tolist() == ["省"]
    assert [
        (v.code, v.value_num, v.value_text) for v in stored_rows(session, enterprise_id=a.id, year=2025)
    ] == [("T09", None, "省")]


def test_nothing_stored_is_an_empty_frame_of_the_columns(session: Session) -> None:
    empty = stored_values(session, year=2025)
    assert empty.empty and list(empty.columns) == STORED_COLUMNS
