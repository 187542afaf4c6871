"""Verifying a run: rebuild its inputs from the stored breakdowns, rescore, compare.

:func:`verify_run` reads the run's breakdowns (packed ``RunBreakdown`` or an older run's per-row JSON),
rebuilds the exact input frame the engine read, checks the input fingerprint
(services.runs.canonical) and rescores it with the run's own model version. Every result column
(:data:`RESULT_COLUMNS`), each class subtotal and each indicator's points must match the stored Score
rows; the differences come back per enterprise and column, and the check is audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import Session

from core import breakdown
from core.engine import SUBTOTAL_PREFIX, score
from db.queries import scores_frame
from services.actor import Actor, require_staff
from services.audit import Recorder
from services.model_versions import get_model
from services.runs import canonical
from services.runs.lifecycle import get_run

_record_run = Recorder("ScoreRun")

# Columns compared by verify_run (besides each class subtotal and each indicator's points).
RESULT_COLUMNS = ["stage", "core", "bonus", "deduction", "total", "veto", "rank",
                  "percentile", "tier", "subsidy", "mujun", "missing_count"]  # fmt: skip
_NUMERIC_RESULTS = {"core", "bonus", "deduction", "total", "percentile", "subsidy"}


@dataclass
class VerifyReport:
    run_id: int
    identical: bool
    fingerprint_matches: bool
    enterprise_count: int
    differing_enterprises: list[str] = field(default_factory=list)  # credit codes
    differing_columns: list[str] = field(default_factory=list)
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)  # credit_code, column, stored, recomputed


def _same(a: np.ndarray, b: np.ndarray, numeric: bool) -> np.ndarray:
    if numeric:
        a, b = a.astype(float), b.astype(float)
        both_nan = np.isnan(a) & np.isnan(b)
        with np.errstate(invalid="ignore"):
            return both_nan | (np.abs(a - b) <= 1e-9)
    return np.array([x == y for x, y in zip(a.tolist(), b.tolist(), strict=True)], dtype=bool)


def verify_run(session: Session, *, actor: Actor, run_id: int) -> VerifyReport:
    """Rebuild the run's inputs from its stored breakdowns, rescore with its model version, compare."""
    require_staff(actor)
    run = get_run(session, run_id)
    model = get_model(session, run.model_version_id)
    stored = scores_frame(session, run_id=run_id, include_breakdown=True)
    columns = canonical.input_columns(model)
    raws = [b if isinstance(b, dict) else json.loads(b or "{}") for b in stored["breakdown"].tolist()]
    data: dict[str, Any] = {
        "credit_code": stored["credit_code"].to_numpy(dtype=object),
        "name": stored["name"].to_numpy(dtype=object),
    }
    for column in columns:
        data[column] = np.array(breakdown.column_values(model, raws, column), dtype=object)
    inputs = pd.DataFrame(data)
    for column in columns:  # a column of numbers only is float64 again, as when it was computed
        values = inputs[column]
        if all(
            v is None or (isinstance(v, float | int) and not isinstance(v, bool)) for v in values.tolist()
        ):
            inputs[column] = values.astype("float64")
    fingerprint_ok = canonical.fingerprint(run.model_version_id, inputs, columns) == run.input_fingerprint
    rescored = score(model, inputs)

    records = []
    checks: list[tuple[str, np.ndarray, np.ndarray, bool]] = []
    for column in RESULT_COLUMNS:
        a = stored[column].to_numpy(dtype=object)
        b = rescored[column].to_numpy(dtype=object)
        if column in ("tier", "mujun"):
            a = np.array(["" if x is None else x for x in a], dtype=object)
        if column == "rank":
            a = np.array([np.nan if pd.isna(x) else float(x) for x in a])
            b = np.array([np.nan if pd.isna(x) else float(x) for x in b])
        checks.append((column, a, b, column in _NUMERIC_RESULTS or column == "rank"))
    for cls in model.scored_classes:
        column = SUBTOTAL_PREFIX + cls.code
        checks.append(
            (column, stored[column].to_numpy(dtype=float), rescored[column].to_numpy(dtype=float), True)
        )
    for code in model.codes:
        a = np.array(
            [np.nan if p is None else p for p in breakdown.column_values(model, raws, code, "p")], dtype=float
        )
        checks.append(("pts_" + code, a, rescored["pts_" + code].to_numpy(dtype=float), True))
    codes = stored["credit_code"].to_numpy(dtype=object)
    for column, a, b, numeric in checks:
        bad = np.flatnonzero(~_same(a, b, numeric))
        for i in bad.tolist():
            records.append({"credit_code": codes[i], "column": column, "stored": a[i], "recomputed": b[i]})
    differences = pd.DataFrame(records, columns=["credit_code", "column", "stored", "recomputed"])
    report = VerifyReport(
        run_id=run_id,
        identical=differences.empty and fingerprint_ok,
        fingerprint_matches=fingerprint_ok,
        enterprise_count=len(stored),
        differing_enterprises=sorted(differences["credit_code"].unique().tolist()),
        differing_columns=sorted(differences["column"].unique().tolist()),
        differences=differences,
    )
    _record_run(
        session,
        actor,
        "run.verify",
        run_id,
        after={
            "identical": report.identical,
            "fingerprint_matches": fingerprint_ok,
            "differing_enterprises": len(report.differing_enterprises),
        },
    )
    session.commit()
    return report
