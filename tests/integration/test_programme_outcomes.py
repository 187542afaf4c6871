"""What the programme achieved on a seeded database, SQLite and PostgreSQL: 监测报告 and the big
screen read credit, loans and subsidies paid from final runs only, and compare funded enterprises' next
year with similar unfunded ones."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest
from sqlalchemy import select

from core import monitoring as core_monitoring
from core.clock import frozen
from db.models import LoanOutcome, Score, ScoreRun
from demo import seed_demo
from services import dashboard, monitoring, subsidies
from services.actor import Actor
from services.runs import finalize_run
from tests.seeded import funded_enterprises, new_enterprise_actor, run_in_state

OFFICER = Actor(username="officer1", role="officer")
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def world(session):  # noqa: ANN001, ANN201
    with frozen(NOW):
        seed_demo(session, enterprises=120)
    return session, run_in_state(session, "final"), run_in_state(session, "notice")


def _pay(session, run: ScoreRun, eid: int) -> None:  # noqa: ANN001
    ent = new_enterprise_actor(session, eid, f"e{eid}")
    subsidies.confirm_subsidy(session, actor=ent, run_id=run.id, enterprise_id=eid)
    subsidies.record_payment(
        session,
        actor=OFFICER,
        run_id=run.id,
        enterprise_id=eid,
        paid_on=date(2026, 6, 1),
        voucher=f"付-{eid}",
    )


def _loan(
    session,
    run: ScoreRun | None,
    eid: int,
    decision: str,
    amount: float | None,  # noqa: ANN001
    decided_on: date = date(2026, 5, 20),
) -> None:
    session.add(
        LoanOutcome(
            bank_name="温州银行",
            enterprise_id=eid,
            run_id=run.id if run else None,
            product="科创指数贷",
            decision=decision,
            amount=amount,
            decided_on=decided_on,
            recorded_by="bank1",
            reason="不符合授信条件" if decision == "reject" else None,
        )
    )
    session.commit()


def test_the_report_carries_the_money_side_of_final_runs_only(world) -> None:  # noqa: ANN001
    session, first, second = world
    with frozen(NOW):
        paid = funded_enterprises(session, first, 2)
        for eid in paid:
            _pay(session, first, eid)
        unfunded = (
            session.execute(
                select(Score.enterprise_id)
                .where(Score.run_id == first.id, Score.subsidy == 0, Score.veto.is_(False))
                .order_by(Score.enterprise_id)
                .limit(3)
            )
            .scalars()
            .all()
        )
        _loan(session, first, unfunded[0], "loan", 300.0)  # funded by a loan on last year's list
        _loan(session, first, unfunded[1], "credit", 500.0)  # credit only: not funded
        # the 2025 run in 公示: no money side yet
        report = monitoring.monitoring_report(session, actor=OFFICER, run_id=second.id)
        assert "融资与扶持（按阶段）" not in report.tables and "尚未定稿" in report.notes["概况"]
        finalize_run(
            session, actor=Actor(username="admin", role="admin"), run_id=second.id, reason="测试提前定稿"
        )
        _loan(session, second, unfunded[2], "credit", 200.0)
        _loan(session, second, unfunded[2], "credit", 100.0)
        _loan(session, second, unfunded[0], "loan", 80.0)
        _loan(session, second, unfunded[1], "reject", None)
        # no run named: the whitelist in force on the decision day (2026-06-01: the 2025 run, finalised
        # last); a decision before any run was final answers none
        _loan(session, None, unfunded[0], "loan", 7.0, decided_on=date(2026, 6, 1))
        _loan(session, None, unfunded[1], "loan", 1000.0, decided_on=date(2026, 5, 1))
        this_year = funded_enterprises(session, second, 1)[0]
        _pay(session, second, this_year)
        report = monitoring.monitoring_report(session, actor=OFFICER, run_id=second.id)
    by_stage = report.tables["融资与扶持（按阶段）"].set_index("阶段")
    assert by_stage.loc[
        "合计", ["授信企业", "授信金额（万元）", "放款企业", "放款金额（万元）", "已拨付扶持企业"]
    ].tolist() == [1, 300.0, 1, 87.0, 1]
    assert (
        by_stage.loc["合计", "参评企业"]
        == session.execute(select(Score.id).where(Score.run_id == second.id)).all().__len__()
    )
    by_list = report.tables["融资与扶持（按榜单）"]
    assert by_list["已拨付扶持企业"].iloc[-1] == 1 and by_list["榜单"].iloc[-1] == "合计"
    states = report.tables["扶持资金拨付"].set_index("拨付状态")
    assert states.loc["已拨付", "家数"] == 1
    assert states["家数"].sum() == len(subsidies.lines_frame(session, run_id=second.id))
    # funded last year: the two paid lines and the loan; credit alone is not funding
    summary = dict(
        zip(
            report.tables["获资助企业次年积分变化"]["项目"],
            report.tables["获资助企业次年积分变化"]["数值"],
            strict=True,
        )
    )
    both = set(session.execute(select(Score.enterprise_id).where(Score.run_id == second.id)).scalars())
    funded = {*paid, unfunded[0]} & both
    assert summary["获资助企业（两年均参评）"] == len(funded)
    # the same figure from the pure function, given the stored scores
    prev = session.execute(
        select(Score.enterprise_id, Score.stage, Score.total, Score.veto, Score.tier).where(
            Score.run_id == first.id
        )
    ).all()
    cur = session.execute(
        select(Score.enterprise_id, Score.stage, Score.total, Score.veto, Score.tier).where(
            Score.run_id == second.id
        )
    ).all()
    import pandas as pd

    columns = ["enterprise_id", "stage", "total", "veto", "tier"]
    from services.model_versions import get_model

    _, expected = core_monitoring.funded_comparison(
        get_model(session, first.model_version_id),
        pd.DataFrame(prev, columns=columns),
        pd.DataFrame(cur, columns=columns),
        np.array(sorted(funded)),
    )
    assert expected["数值"].tolist() == report.tables["获资助企业次年积分变化"]["数值"].tolist()
    assert "获资助与同类企业对比（分阶段、分数段）" in report.tables
    assert report.to_xlsx()[:2] == b"PK"

    figures = dashboard.outcome_figures(session)
    assert (
        figures.year,
        figures.credit_count,
        figures.credit_total,
        figures.loan_total,
        figures.paid_count,
    ) == (second.year, 1, 300.0, 87.0, 1)


def test_the_big_screen_has_no_outcomes_without_a_final_run(session) -> None:  # noqa: ANN001
    assert dashboard.outcome_figures(session) is None
