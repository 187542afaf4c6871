"""db.bulk: the one bulk-insert helper (COPY on PostgreSQL, executemany on SQLite) stores exactly what
it was given — text with tabs, newlines and backslashes, NULLs, NaN, booleans, integers with NULLs, JSON
text, constants — and a failing insert leaves nothing behind."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy import func, select

from core.credit_code import make_code
from db.bulk import insert_columns

# On the values table itself: db.bulk's own behaviour, on a table with every column type, is under test.
from db.models import Enterprise, IndicatorValue, Score, ScoreRun


def _enterprises(session, n: int) -> list[int]:
    rows = [Enterprise(credit_code=make_code(str(i)), name=f"企业{i}") for i in range(1, n + 1)]
    session.add_all(rows)
    session.flush()
    return [e.id for e in rows]


def test_arrow_columns_round_trip_exactly(session) -> None:
    """Columns handed over as Arrow arrays (a run's subtotal texts) are stored as the same values would be
    from lists: text with a tab and a backslash, NULL, numbers."""
    ids = _enterprises(session, 4)
    texts = ["a\tb", None, "back\\slash", "省"]
    insert_columns(
        session,
        IndicatorValue.__table__,
        {
            "enterprise_id": pa.array(ids, type=pa.int64()),
            "code": ["T09"] * 4,
            "value_num": pa.array([0.1 + 0.2, None, -1e-300, 2.0]),
            "value_text": pa.array(texts),
            "source": pa.array(["科技"] * 4),
        },
        {"year": 2025, "is_current": True, "flagged": False, "created_at": datetime(2025, 1, 1, tzinfo=UTC)},
    )
    session.commit()
    stored = session.exec(select(IndicatorValue).order_by(IndicatorValue.enterprise_id)).scalars().all()
    assert [r.value_text for r in stored] == texts and [r.enterprise_id for r in stored] == ids
    assert [r.value_num for r in stored] == [0.1 + 0.2, None, -1e-300, 2.0]


def test_values_round_trip_exactly(session) -> None:
    ids = _enterprises(session, 5)
    texts = ["a\tb", "line\nbreak\r", "back\\slash \\N", None, '[{"level": "国家", "role": "牵头"}]']
    nums = np.array([0.1 + 0.2, math.nan, -1e-300, 123456789.123456789, 2.0])
    at = datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    written = insert_columns(
        session,
        IndicatorValue.__table__,
        {
            "enterprise_id": np.asarray(ids, dtype=np.int64),
            "code": ["G01", "T09", "T10", "N03", "A04"],
            "value_num": nums,
            "value_text": texts,
            "source": ["税务", "科技", "科技", "市监", "自报"],
            "flagged": [False, True, False, True, False],
        },
        {
            "year": 2025,
            "is_current": True,
            "batch_id": None,
            "submission_id": None,
            "created_by": "张三\t",
            "created_at": at,
        },
    )
    session.commit()
    assert written == 5
    stored = session.exec(select(IndicatorValue).order_by(IndicatorValue.enterprise_id)).scalars().all()
    assert [r.value_text for r in stored] == texts
    assert stored[0].value_num == 0.1 + 0.2 and stored[2].value_num == -1e-300
    assert stored[3].value_num == 123456789.123456789
    assert stored[1].value_num is None  # NaN is stored as NULL on both stores
    assert [r.flagged for r in stored] == [False, True, False, True, False]
    assert {(r.year, r.is_current, r.batch_id, r.created_by, r.created_at) for r in stored} == {
        (2025, True, None, "张三\t", at)
    }


def test_integers_with_nulls_and_json_columns(session) -> None:
    ids = _enterprises(session, 3)
    run = ScoreRun(year=2025, model_version_id=_model_id(session), input_fingerprint="0" * 64)
    session.add(run)
    session.flush()
    insert_columns(
        session,
        Score.__table__,
        {
            "run_id": [run.id] * 3,
            "enterprise_id": ids,
            "stage": ["startup", "growth", "startup"],
            "subtotals": ['{"core": 1.5}', '{"core": null}', "{}"],
            "core": [1.5, 0.0, 2.25],
            "bonus": [0.0] * 3,
            "deduction": [0.0] * 3,
            "total": [1.5, 0.0, 2.25],
            "veto": [False, True, False],
            "rank": [2, None, 1],
            "subsidy": [0.0] * 3,
            "missing_count": [0, 3, 1],
            "breakdown": [None] * 3,
        },
    )
    session.commit()
    rows = session.exec(select(Score).order_by(Score.enterprise_id)).scalars().all()
    assert [r.rank for r in rows] == [2, None, 1]
    assert [r.veto for r in rows] == [False, True, False]
    assert [r.subtotals for r in rows] == [{"core": 1.5}, {"core": None}, {}]
    assert [r.breakdown for r in rows] == [None, None, None]


def test_a_failing_insert_leaves_nothing(session) -> None:
    ids = _enterprises(session, 2)
    session.commit()
    columns = {
        "enterprise_id": [ids[0], ids[0]],
        "code": ["G01", "G01"],
        "value_num": [1.0, 2.0],
        "value_text": [None, None],
        "source": ["税务", "税务"],
        "flagged": [False, False],
    }
    constants = {"year": 2025, "is_current": True, "created_at": datetime(2025, 1, 1, tzinfo=UTC)}
    with pytest.raises(Exception, match="(?i)unique"):  # two current values of one (enterprise, year, code)
        insert_columns(session, IndicatorValue.__table__, columns, constants)
        session.flush()
    session.rollback()
    assert session.exec(select(func.count()).select_from(IndicatorValue)).one()[0] == 0


def _model_id(session) -> int:
    from services.model_versions import ensure_default_model

    return ensure_default_model(session).id
