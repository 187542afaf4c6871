"""监测报告: the yearly monitoring report of a published run against the previous final run (officers)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from core import monitoring
from db.models import ScoreRun
from services.actor import Actor, require_staff
from services.scenarios import RunFrame, carriers_view, load_run, pools_view, resolve_run_id, run_label


def previous_final_run(session: Session, *, run: ScoreRun) -> ScoreRun | None:
    """The newest final run of an earlier year than ``run``."""
    return session.execute(
        select(ScoreRun).where(ScoreRun.state == "final", ScoreRun.year < run.year)
        .order_by(ScoreRun.year.desc(), ScoreRun.id.desc()).limit(1)  # type: ignore[attr-defined]
    ).scalars().first()


def _run_data(data: RunFrame) -> monitoring.RunData:
    assert data.values is not None and data.points is not None
    return monitoring.RunData(label=data.label, year=data.run.year, model=data.model, scores=data.frame,
                              values=data.values, points=data.points)


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
    return monitoring.build_report(_run_data(current), _run_data(previous) if previous else None,
                                   carriers=carriers, pools=pools, title=title)


__all__ = ["monitoring_report", "previous_final_run", "run_label"]
