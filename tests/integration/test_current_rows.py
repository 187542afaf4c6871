"""db.values.current_values / current_ids, the import diff's read (db.run_inputs.current_rows: one aggregate
per code): exactly the current rows a plain read finds — every number bit for bit, texts with the
separators the aggregates use, rows with a text beside a number, no number at all, other years, retired
rows and codes not asked for left out."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlmodel import Session

from db.models import Enterprise
from db.values import current_ids, current_values, replace_values, stored_values
from tests.values import add_values

AWKWARD = [0.1 + 0.2, 1e-300, -2.5e-7, 123456789.123456789, 1e20, -0.0, 7.0, 0.07, 1 / 3, 2.0**53 + 2]


def test_the_aggregated_read_is_the_plain_read(session: Session) -> None:
    firms = [Enterprise(credit_code=f"91330300MA2AAA{i:03d}X", name=f"企业{i}") for i in range(12)]
    session.add_all(firms)
    session.flush()
    rows = []
    for i, firm in enumerate(firms):
        rows += [
            {
                "enterprise_id": firm.id,
                "year": 2025,
                "code": "G01",
                "value_num": AWKWARD[i % 10],
                "source": "税务",
            },
            {"enterprise_id": firm.id, "year": 2025, "code": "G02", "value_num": float(i), "source": "统计"},
            {"enterprise_id": firm.id, "year": 2024, "code": "G01", "value_num": 99.0, "source": "税务"},
        ]
    rows += [  # texts, a text beside a number, no value at all, separators inside a text
        {"enterprise_id": firms[0].id, "year": 2025, "code": "T09", "value_text": "省级", "source": "科技"},
        {
            "enterprise_id": firms[1].id,
            "year": 2025,
            "code": "T09",
            "value_text": "a,b\x1fc",
            "source": "科技",
        },
        {
            "enterprise_id": firms[2].id,
            "year": 2025,
            "code": "T09",
            "value_num": 1.0,
            "value_text": "是",
            "source": "科技",
        },
        {"enterprise_id": firms[3].id, "year": 2025, "code": "T09", "source": "科技"},
        {"enterprise_id": firms[4].id, "year": 2025, "code": "X99", "value_num": 5.0, "source": "科技"},
    ]
    add_values(session, *rows)
    # a replaced value: its old row is retired and must not be read
    replace_values(
        session,
        year=2025,
        rows=pd.DataFrame(
            {"enterprise_id": [firms[5].id], "code": ["G02"], "value_num": [0.5], "value_text": [None]}
        ).assign(source="统计", flagged=False),
        created_by="officer1",
    )
    session.commit()
    wanted = ["G01", "G02", "T09"]
    asked = pd.DataFrame({"code": wanted})

    got = current_values(session, 2025, asked).sort_values("id", ignore_index=True)
    plain = stored_values(session, year=2025, code=wanted, current=True)[list(got.columns)]

    assert got["id"].tolist() == plain["id"].tolist()
    assert got["enterprise_id"].tolist() == plain["enterprise_id"].tolist()
    assert got["code"].tolist() == plain["code"].tolist()
    same = np.asarray(got["value_num"], dtype=float).view(np.int64) == np.asarray(
        plain["value_num"], dtype=float
    ).view(np.int64)
    assert same.all(), got[~same]  # bit for bit (NaN for none: the same bits either side)
    assert got["value_text"].tolist() == plain["value_text"].tolist()
    assert current_ids(session, 2025, wanted).tolist() == sorted(plain["id"].tolist())


def test_nothing_current_reads_as_no_rows(session: Session) -> None:
    got = current_values(session, 2025, pd.DataFrame({"code": ["G01", "G02"]}))
    assert got.empty and list(got.columns) == ["id", "enterprise_id", "code", "value_num", "value_text"]
    assert current_ids(session, 2025, ["G01", "G02"]).tolist() == []
