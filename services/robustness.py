"""Rank robustness of a stored run (core.robustness on the run's own fractions and model)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlmodel import Session

from core import breakdown
from core.robustness import DRAWS, SEED, SPREAD, rank_robustness
from db.queries import scores_frame
from services.actor import Actor, require_staff
from services.model_versions import get_model
from services.runs import get_run


def run_robustness(
    session: Session,
    *,
    actor: Actor,
    run_id: int,
    draws: int = DRAWS,
    spread: float = SPREAD,
    seed: int = SEED,
) -> pd.DataFrame:
    """Per enterprise of the run: credit_code, name, stage_name, rank, list (name), rank interval,
    p_keep and fragile — every point value perturbed by up to ±spread (fixed seed: reproducible)."""
    require_staff(actor)
    run = get_run(session, run_id)
    model = get_model(session, run.model_version_id)
    frame = scores_frame(session, run_id=run_id, include_breakdown=True)
    raws = frame["breakdown"].tolist()
    fractions = (
        np.column_stack(
            [
                np.array(
                    [np.nan if v is None else v for v in breakdown.column_values(model, raws, code, "f")],
                    dtype=float,
                )
                for code in model.codes
            ]
        )
        if len(frame)
        else np.zeros((0, len(model.codes)))
    )
    fractions = np.nan_to_num(fractions)
    order = frame["rank"].to_numpy(dtype=float, na_value=np.inf)
    result = rank_robustness(
        model,
        stage=frame["stage"].to_numpy(dtype=object),
        fractions=fractions,
        veto=frame["veto"].to_numpy(dtype=bool),
        order=order,
        draws=draws,
        spread=spread,
        seed=seed,
    )
    names = {s.code: s.name for s in model.stages}
    tiers = {t.code: t.name for t in model.tiers}
    return pd.DataFrame(
        {
            "credit_code": frame["credit_code"].to_numpy(dtype=object),
            "name": frame["name"].to_numpy(dtype=object),
            "stage_name": frame["stage"].map(names).to_numpy(dtype=object),
            "rank": frame["rank"].to_numpy(),
            "list": [tiers.get(t, "") for t in frame["tier"].tolist()],
            "rank_low": result["rank_low"].to_numpy(),
            "rank_high": result["rank_high"].to_numpy(),
            "rank_best": result["rank_best"].to_numpy(),
            "rank_worst": result["rank_worst"].to_numpy(),
            "p_keep": result["p_keep"].to_numpy(),
            "fragile": result["fragile"].to_numpy(),
        }
    )
