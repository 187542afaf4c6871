"""Diff of two runs: list entries/exits, moves, and the inputs behind them."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select
from sqlmodel import Session

from db.models import Enterprise, ScoreRun
from db.values import replace_values, stored_values
from demo import seed_demo
from services import run_diff, runs
from services.actor import Actor
from services.errors import NotFound, PermissionDenied

OFFICER = Actor(username="officer1", role="officer", user_id=2)


def test_diff_after_changing_one_input(session: Session) -> None:
    seed_demo(session, enterprises=80)
    old = session.execute(select(ScoreRun).where(ScoreRun.state == "notice")).scalar_one()
    base = runs.compute_run(session, actor=OFFICER, year=old.year)
    same = run_diff.diff_runs(session, actor=OFFICER, run_a=old.id, run_b=base.id)
    assert same.summary["total_changed"] == 0 and same.input_changes.empty and same.list_changes.empty
    # Give one enterprise an enormous R&D spend: its total rises and the input shows up.
    target = (
        stored_values(session, year=old.year, code="T01", current=True)
        .sort_values("value_num", kind="stable")
        .iloc[:1]
    )
    assert len(target) == 1
    replace_values(
        session,
        year=old.year,
        rows=target[["enterprise_id", "code", "value_text", "source", "flagged"]].assign(value_num=1e6),
        created_by="officer1",
    )
    session.commit()
    new = runs.compute_run(session, actor=OFFICER, year=old.year)
    diff = run_diff.diff_runs(session, actor=OFFICER, run_a=base.id, run_b=new.id)
    code = session.get(Enterprise, int(target["enterprise_id"].iloc[0])).credit_code
    top = diff.moves.iloc[0]
    assert top["credit_code"] == code and top["delta_total"] > 0 and "T01" in top["changed_inputs"].split(",")
    changes = diff.input_changes[diff.input_changes["credit_code"] == code]
    assert "T01" in set(changes["code"]) and float(changes.set_index("code").loc["T01", "after"]) == 1e6
    assert diff.summary["common"] == diff.summary["enterprises_a"]
    assert set(diff.list_changes["change"]) <= {"进入", "退出"}
    if not diff.list_changes.empty:
        assert pd.Series(diff.list_changes["credit_code"]).isin(diff.moves["credit_code"]).all()


def test_diff_permissions_and_missing_run(session: Session) -> None:
    with pytest.raises(PermissionDenied):
        run_diff.diff_runs(
            session, actor=Actor(username="e", role="enterprise", enterprise_id=1), run_a=1, run_b=2
        )
    with pytest.raises(NotFound):
        run_diff.diff_runs(session, actor=OFFICER, run_a=998, run_b=999)
