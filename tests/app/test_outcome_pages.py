"""What the programme achieved in AppTest: 监测报告 shows the money side of a final run, and
the big screen names credit, loans and subsidies paid (aggregates only)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import LoanOutcome, Score, ScoreRun
from db.session import session_scope
from services.actor import Actor
from services.runs import finalize_run
from tests.app.conftest import ROOT, actor_of, page_as
from tests.app.readable import assert_readable


def _final_with_a_loan() -> None:
    with session_scope() as session:
        notice = session.execute(select(ScoreRun).where(ScoreRun.state == "notice")).scalars().one()
        finalize_run(
            session, actor=Actor(username="admin", role="admin"), run_id=notice.id, reason="测试提前定稿"
        )
        eid = session.execute(
            select(Score.enterprise_id).where(Score.run_id == notice.id).limit(1)
        ).scalar_one()
        session.add(
            LoanOutcome(
                bank_name="温州银行",
                enterprise_id=eid,
                run_id=notice.id,
                product="科创指数贷",
                decision="loan",
                amount=123.0,
                decided_on=date(2026, 5, 20),
                recorded_by="bank1",
            )
        )
        session.commit()


def test_monitoring_report_shows_the_money_side(fresh_db: str) -> None:
    _final_with_a_loan()
    at = page_as("pages/officer/monitoring.py", actor_of("officer1")).run()
    assert not at.exception, at.exception
    next(b for b in at.button if b.label == "生成监测报告").click().run()
    assert not at.exception, at.exception
    headings = [m.value for m in at.markdown]
    for section in (
        "#### 融资与扶持（按阶段）",
        "#### 融资与扶持（按榜单）",
        "#### 扶持资金拨付",
        "#### 获资助企业次年积分变化",
    ):
        assert section in headings, section
    by_stage = next(
        f.value for f in at.dataframe if "放款金额（万元）" in f.value.columns and "阶段" in f.value.columns
    )
    assert by_stage.iloc[-1]["阶段"] == "合计" and float(by_stage.iloc[-1]["放款金额（万元）"]) == 123.0
    assert_readable(at)


def test_big_screen_names_the_money_side(fresh_db: str) -> None:
    _final_with_a_loan()
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60).run()
    at.switch_page("pages/public/dashboard.py").run()
    assert not at.exception, at.exception
    line = next(c.value for c in at.caption if "融资与扶持成效" in str(c.value))
    assert "放款 1 家 123 万元" in line and "已拨付 0 家" in line
