"""Rank robustness: one list place that no ±20 % change of points can move, one that a small one flips."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.engine import score
from core.model_loading import parse_model
from core.robustness import rank_robustness
from tests.model_shapes import five_class_model


def _model():
    data = five_class_model(per_class=1, core_total=100)
    data["tiers"] = [
        {"code": "领跑", "name": "领跑榜", "share": 0.1},
        {"code": "竞跑", "name": "竞跑榜", "share": 0.2},
    ]
    return parse_model(data)


def test_one_certain_and_one_fragile_list_place() -> None:
    model = _model()
    core = [i.code for i in model.by_kind("core")]  # R01 (percentile) + one banded indicator per class
    banded = core[1:]
    rows = [{"R01": 600, **{c: 60 for c in banded}, "B01": 1, "B02": 1}]  # far ahead of everyone
    # two close rivals for the second list's single place: different classes, nearly equal totals
    rows.append({"R01": 600, banded[0]: 60, banded[1]: 60, banded[2]: 20})
    rows.append({"R01": 600, banded[2]: 60, banded[3]: 60, banded[1]: 20})
    rows += [{"R01": 600, banded[0]: 5}] * 7  # the rest: no banded points
    frame = pd.DataFrame(rows)
    frame.insert(0, "credit_code", [f"C{k:017d}" for k in range(len(rows))])
    frame.insert(1, "name", [f"企业{k}" for k in range(len(rows))])
    scored = score(model, frame)
    fractions = scored[[f"f_{c}" for c in model.codes]].to_numpy()

    def robustness() -> pd.DataFrame:  # the run's figures, each call from the same fixed seed
        return rank_robustness(
            model,
            stage=scored["stage"].to_numpy(),
            fractions=fractions,
            veto=scored["veto"].to_numpy(),
            order=scored["rank"].to_numpy(dtype=float),
        )

    result = robustness()
    assert result["rank"].tolist() == scored["rank"].tolist()  # the baseline is the run's ranking
    assert result["tier"].tolist()[:3] == ["领跑", "竞跑", ""]
    leader, second = result.iloc[0], result.iloc[1]
    assert (
        leader["p_keep"] == 1.0 and leader["rank_best"] == leader["rank_worst"] == 1 and not leader["fragile"]
    )
    assert 0.1 < second["p_keep"] < 0.9 and second["fragile"]
    assert second["rank_best"] == 2 and second["rank_worst"] == 3
    assert result["fragile"].sum() == 1
    # fixed seed: the same figures every time
    again = robustness()
    assert np.array_equal(again["p_keep"].to_numpy(), result["p_keep"].to_numpy())
