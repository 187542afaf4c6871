"""The money side of 监测报告, pure: credit/loans/subsidies paid per stage and list and the
funded-vs-similar-unfunded comparison over 100,000 enterprises with 10,000 bank outcomes (best of 3)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from core import monitoring
from core.model_loading import load_model

N, OUTCOMES = 100_000, 10_000


def main() -> None:
    model = load_model()
    rng = np.random.default_rng(7)
    ids = np.arange(1, N + 1)
    stages = np.array(model.stage_codes)[rng.integers(0, len(model.stages), N)]
    tiers = np.array(["", *(t.code for t in model.tiers)])[rng.integers(0, len(model.tiers) + 1, N)]

    def scores(total: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "enterprise_id": ids,
                "stage": stages,
                "total": total,
                "veto": rng.random(N) < 0.02,
                "tier": tiers,
            }
        )

    previous = scores(rng.uniform(0, 100, N))
    current = scores(np.clip(previous["total"].to_numpy() + rng.normal(1, 5, N), 0, 110))
    loans = pd.DataFrame(
        {
            "enterprise_id": rng.choice(ids, OUTCOMES),
            "amount": rng.uniform(10, 500, OUTCOMES),
            "decision": np.array(["credit", "loan", "reject"])[rng.integers(0, 3, OUTCOMES)],
        }
    )
    payments = pd.DataFrame(
        {
            "enterprise_id": rng.choice(ids, 2_000, replace=False),
            "amount": 20.0,
            "state": np.array(["pending", "confirmed", "paid", "refused"])[rng.integers(0, 4, 2_000)],
        }
    )
    outcomes = monitoring.Outcomes(
        loans=loans, payments=payments, funded=rng.choice(ids, 5_000, replace=False)
    )
    for name, call in (
        (
            "outcome tables (stage + list)",
            lambda: (
                monitoring.outcome_table(model, current, outcomes, by="stage"),
                monitoring.outcome_table(model, current, outcomes, by="tier"),
            ),
        ),
        (
            "funded vs similar unfunded",
            lambda: monitoring.funded_comparison(model, previous, current, outcomes.funded),
        ),
    ):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            call()
            best = min(best, time.perf_counter() - start)
        print(f"{name}, {N} enterprises, {OUTCOMES} outcomes: {best:.3f} s")


if __name__ == "__main__":
    main()
