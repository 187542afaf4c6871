"""The portrait shows the engine's numbers: rescoring the run's stored inputs gives the same values."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select

from core import engine
from db.models import Score, User
from demo import seed_demo
from services.actor import Actor
from services.portrait import get_portrait, model_for_run, simulate_changes, simulation_base


@pytest.fixture
def seeded(session):  # noqa: ANN001, ANN201
    seed_demo(session, enterprises=40)
    return session


def test_portrait_equals_engine(seeded) -> None:  # noqa: ANN001
    session = seeded
    users = session.execute(select(User).where(User.role == "enterprise")).scalars().all()
    assert users
    first = users[0]
    actor = Actor(
        username=first.username, role="enterprise", user_id=first.id, enterprise_id=first.enterprise_id
    )
    portrait = get_portrait(session, actor=actor, enterprise_id=first.enterprise_id)
    from db.queries import breakdown_raws

    scored_ids = (
        session.execute(select(Score.enterprise_id).where(Score.run_id == portrait.run_id)).scalars().all()
    )
    run_scores = list(
        zip(
            scored_ids,
            breakdown_raws(session, run_id=portrait.run_id, enterprise_ids=scored_ids),
            strict=True,
        )
    )
    # The run's exact inputs, rebuilt from the stored breakdowns (values and the extra inputs).
    from core.breakdown import decode
    from db.models import ScoreRun

    model = model_for_run(session, session.get(ScoreRun, portrait.run_id))
    rows = []
    for enterprise_id, breakdown in run_scores:
        row = {"credit_code": f"{enterprise_id:018d}", "name": str(enterprise_id)}
        row.update({k: v.get("value") for k, v in decode(model, breakdown).items()})
        rows.append(row)
    inputs = pd.DataFrame(rows)
    from db.models import Enterprise

    codes = dict(session.execute(select(Enterprise.id, Enterprise.credit_code)).all())
    inputs["credit_code"] = [codes[e] for e, _ in run_scores]  # real codes: the tie-break uses them
    scored = engine.score(model, inputs)
    for user in users:
        actor = Actor(
            username=user.username, role="enterprise", user_id=user.id, enterprise_id=user.enterprise_id
        )
        p = get_portrait(session, actor=actor, enterprise_id=user.enterprise_id)
        mine = scored[scored["credit_code"] == p.credit_code].iloc[0]
        for key in ("total", "technology", "growth", "bonus", "deduction"):
            assert getattr(p, key) == pytest.approx(float(mine[key]), abs=1e-9), key
        assert p.stage == mine["stage"]
        assert (p.rank is None) == pd.isna(mine["rank"])
        if p.rank is not None:
            assert p.rank == int(mine["rank"])
        assert p.tier == mine["tier"]
        points = dict(zip(p.indicators["code"], p.indicators["points"], strict=True))
        for code, pts in points.items():
            assert pts == pytest.approx(float(mine["pts_" + code]), abs=0.005), code
        # The simulator with no change reproduces the stored total too.
        base = simulation_base(session, actor=actor, portrait=p)
        assert simulate_changes(
            session, actor=actor, portrait=p, base_row=base, changes={}
        ).total == pytest.approx(p.total, abs=0.01)
