"""监测报告: the yearly monitoring report of a published run against the previous final run (officers)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core import clock, monitoring
from db.models import LoanOutcome, ScoreRun
from services.actor import Actor, require_staff
from services.scenarios import RunFrame, carriers_view, load_run, pools_view, resolve_run_id, run_label


def previous_final_run(session: Session, *, run: ScoreRun) -> ScoreRun | None:
    """The newest final run of an earlier year than ``run``."""
    return (
        session.execute(
            select(ScoreRun)
            .where(ScoreRun.state == "final", ScoreRun.year < run.year)
            .order_by(ScoreRun.year.desc(), ScoreRun.id.desc())
            .limit(1)  # type: ignore[attr-defined]
        )
        .scalars()
        .first()
    )


def _run_data(data: RunFrame) -> monitoring.RunData:
    assert data.values is not None and data.points is not None
    return monitoring.RunData(
        label=data.label,
        year=data.run.year,
        model=data.model,
        scores=data.frame,
        values=data.values,
        points=data.points,
    )


def loan_outcomes(session: Session, *, run_ids: Sequence[int]) -> pd.DataFrame:
    """enterprise_id, run_id, decision, amount of the bank outcomes answering these final runs (no
    authorisation: callers check the actor; the big screen reads aggregates of it).

    An outcome recorded without a run (a bank's file or API call need not name one) answers the whitelist
    in force on its decision day: the final run finalised most recently on or before that day.
    """
    rows = session.execute(
        select(
            LoanOutcome.enterprise_id,
            LoanOutcome.run_id,
            LoanOutcome.decision,
            LoanOutcome.amount,
            LoanOutcome.decided_on,
        ).where(
            LoanOutcome.run_id.in_(list(run_ids))  # type: ignore[union-attr]
            | LoanOutcome.run_id.is_(None)
        )
    ).all()  # type: ignore[union-attr]
    frame = pd.DataFrame(
        [tuple(r) for r in rows], columns=["enterprise_id", "run_id", "decision", "amount", "decided_on"]
    )
    frame["amount"] = pd.to_numeric(frame["amount"], errors="coerce")
    unattributed = frame["run_id"].isna().to_numpy()
    if unattributed.any():
        finals = session.execute(
            select(ScoreRun.id, ScoreRun.finalized_at).where(
                ScoreRun.state == "final", ScoreRun.finalized_at.is_not(None)
            )
        ).all()  # type: ignore[union-attr]
        finals = sorted((clock.beijing_day(at), run_id) for run_id, at in finals)
        days = np.array([d.toordinal() for d, _ in finals], dtype=np.int64)
        ids = np.array([r for _, r in finals] or [0], dtype=np.int64)
        decided = np.array([d.toordinal() for d in frame.loc[unattributed, "decided_on"]], dtype=np.int64)
        at = np.searchsorted(days, decided, side="right") - 1
        attributed = np.where(at >= 0, ids[np.maximum(at, 0)], -1)
        run_column = frame["run_id"].astype("float").to_numpy(copy=True)
        run_column[unattributed] = attributed
        frame["run_id"] = run_column.astype(np.int64)
    frame = frame[frame["run_id"].isin(list(run_ids))].drop(columns=["decided_on"]).reset_index(drop=True)
    frame["run_id"] = frame["run_id"].astype(np.int64)
    return frame


def run_outcomes(session: Session, *, run: ScoreRun, previous: ScoreRun | None) -> monitoring.Outcomes | None:
    """The money side of a final run (None for a run not final: outcomes come from final runs only)."""
    from services.subsidies import lines_frame

    if run.state != "final":
        return None
    ids = [run.id] + ([previous.id] if previous is not None else [])
    loans = loan_outcomes(session, run_ids=ids)
    payments = lines_frame(session, run_id=run.id)[["enterprise_id", "state", "amount"]]
    funded = None
    if previous is not None:
        paid_before = lines_frame(session, run_id=previous.id)
        funded = np.union1d(
            paid_before.loc[paid_before["state"] == "paid", "enterprise_id"].to_numpy(dtype=np.int64),
            loans.loc[
                (loans["run_id"] == previous.id) & (loans["decision"] == "loan"), "enterprise_id"
            ].to_numpy(dtype=np.int64),
        )
    return monitoring.Outcomes(
        loans=loans[loans["run_id"] == run.id].reset_index(drop=True), payments=payments, funded=funded
    )


def monitoring_report(session: Session, *, actor: Actor, run_id: int | None = None) -> monitoring.Report:
    """Every section of the report (core.monitoring.build_report) for a published run."""
    require_staff(actor)
    run_id = resolve_run_id(session, actor, run_id)
    current = load_run(session, actor=actor, run_id=run_id, with_breakdown=True)
    before = previous_final_run(session, run=current.run)
    previous = load_run(session, actor=actor, run_id=before.id, with_breakdown=True) if before else None
    carriers = carriers_view(session, actor=actor, run_id=run_id).ranking.drop(columns=["carrier_id"])
    pools = pools_view(session, actor=actor, run_id=run_id).counts
    title = f"{current.run.year} 年度企业创新积分监测报告"
    outcomes = run_outcomes(session, run=current.run, previous=before)
    return monitoring.build_report(
        _run_data(current),
        _run_data(previous) if previous else None,
        carriers=carriers,
        pools=pools,
        title=title,
        outcomes=outcomes,
    )


__all__ = ["monitoring_report", "previous_final_run", "run_label", "run_outcomes", "loan_outcomes"]
