"""What a run holds, per stage: the officer's overview of one run.

:func:`run_summary` counts, per stage of the run's own model version, the enterprises scored, vetoed and
ranked, the mean and highest total (core.reports' one definition of an average), the list sizes per
tier and the subsidies; a final ``all`` row sums the counts. It reads the run's Score rows through
db.queries.scores_frame (raw rows, no ORM objects at 100,000 enterprises).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlmodel import Session

from core.reports import overall_average, ranked_mask, stage_average, stage_summary_frame
from db.queries import scores_frame
from services.actor import Actor, require_staff
from services.model_versions import get_model
from services.runs.lifecycle import get_run


def run_summary(session: Session, *, actor: Actor, run_id: int) -> pd.DataFrame:
    """Per stage: enterprises, vetoed, ranked, mean/max total, list sizes per tier, subsidies (staff).

    Index: stage code in model order; a final ``all`` row sums the counts.
    """
    require_staff(actor)
    run = get_run(session, run_id)
    model = get_model(session, run.model_version_id)
    frame = scores_frame(session, run_id=run_id)
    stages = model.stage_codes
    grouped = frame.groupby("stage", sort=False)
    summary = pd.DataFrame(index=pd.Index(stages, name="stage"))
    summary["stage_name"] = [model.stage_name(s) for s in stages]
    summary["enterprises"] = grouped.size().reindex(stages, fill_value=0)
    summary["vetoed"] = grouped["veto"].sum().reindex(stages, fill_value=0).astype(int)
    summary["ranked"] = summary["enterprises"] - summary["vetoed"]
    summary["mean_total"] = stage_average(model, frame)  # the one definition (core.reports)
    ranked = frame[ranked_mask(frame)]
    summary["max_total"] = ranked.groupby("stage")["total"].max().reindex(stages)
    for tier in model.tiers:
        summary[f"tier_{tier.code}"] = (
            frame[frame["tier"] == tier.code].groupby("stage").size().reindex(stages, fill_value=0)
        )
    paid = frame[frame["subsidy"] > 0]
    summary["subsidy_count"] = paid.groupby("stage").size().reindex(stages, fill_value=0)
    summary["subsidy_total"] = paid.groupby("stage")["subsidy"].sum().reindex(stages, fill_value=0.0)
    totals = summary.drop(columns=["stage_name", "mean_total", "max_total"]).sum()
    all_row = pd.DataFrame(
        [
            {
                **totals.to_dict(),
                "stage_name": "合计",
                "mean_total": overall_average(frame),
                "max_total": ranked["total"].max() if len(ranked) else np.nan,
            }
        ],
        index=pd.Index(["all"], name="stage"),
    )
    out = pd.concat([summary, all_row[summary.columns]])
    out.attrs["tier_names"] = {f"tier_{t.code}": t.name for t in model.tiers}  # the run's own list names
    return out


def stage_summary(session: Session, *, actor: Actor, run_id: int) -> pd.DataFrame:
    """Per stage of a run: enterprises, vetoed, ranked, mean total (core.reports.stage_summary_frame)."""
    require_staff(actor)
    run = get_run(session, run_id)
    return stage_summary_frame(get_model(session, run.model_version_id), scores_frame(session, run_id=run_id))
