"""扶持资金拨付 in AppTest: the enterprise confirms its line on 政策与服务, the officer records
the payment on 榜单与扶持 · 资金拨付; states read in Chinese on both screens."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Score, ScoreRun, SubsidyPayment, User
from db.session import session_scope
from services.actor import Actor
from tests.app.conftest import actor_of, page_as
from tests.app.readable import assert_readable


def _funded_enterprise_user() -> tuple[Actor, int, int]:
    """A user for the first funded enterprise of the seeded final run: (actor, run id, enterprise id)."""
    with session_scope() as session:
        run_id = session.execute(select(ScoreRun.id).where(ScoreRun.state == "final")).scalar_one()
        eid = session.execute(
            select(Score.enterprise_id)
            .where(Score.run_id == run_id, Score.subsidy > 0, Score.veto.is_(False))
            .order_by(Score.enterprise_id)
            .limit(1)
        ).scalar_one()
        user = User(
            username="funded_app",
            display_name="扶持企业",
            password_hash="x",
            role="enterprise",
            enterprise_id=eid,
        )
        session.add(user)
        session.flush()
        return (
            Actor(username=user.username, role="enterprise", user_id=user.id, enterprise_id=eid),
            run_id,
            eid,
        )


def _state(run_id: int, eid: int) -> str | None:
    with session_scope() as session:
        return session.execute(
            select(SubsidyPayment.state).where(
                SubsidyPayment.run_id == run_id, SubsidyPayment.enterprise_id == eid
            )
        ).scalar()


def test_enterprise_confirms_its_subsidy_and_the_officer_records_the_payment(fresh_db: str) -> None:
    ent, run_id, eid = _funded_enterprise_user()
    at = page_as("pages/enterprise/services.py", ent).run()
    assert not at.exception, at.exception
    assert any("待确认" in m.value for m in at.markdown)
    at.button(key=f"subsidy_confirm_{run_id}").click().run()
    assert not at.exception, at.exception
    assert _state(run_id, eid) == "confirmed"
    assert any("已确认" in s.value for s in at.success)
    assert any("企业已确认" in m.value for m in at.markdown)
    assert not [b for b in at.button if b.key == f"subsidy_confirm_{run_id}"]  # confirmed once, button gone

    officer = page_as("pages/officer/lists.py", actor_of("officer1"))
    officer.session_state["lists_tab"] = "资金拨付"  # the tab the officer opened (only the open one is drawn)
    officer.run()
    assert not officer.exception, officer.exception
    table = next(f.value for f in officer.dataframe if "拨付状态" in f.value.columns)
    assert "企业已确认" in set(table["拨付状态"]) and "待确认" in set(table["拨付状态"])
    assert_readable(officer)
    officer.selectbox(key="subsidy_pay_pick").set_value(eid).run()
    officer.text_input(key="subsidy_voucher").input("财拨-2026-001")
    next(b for b in officer.button if b.label == "登记拨付").click().run()
    assert not officer.exception, officer.exception
    assert _state(run_id, eid) == "paid"
    table = next(f.value for f in officer.dataframe if "拨付状态" in f.value.columns)
    assert table.loc[table["拨付凭证号"] == "财拨-2026-001", "拨付状态"].tolist() == ["已拨付"]
    assert_readable(officer)

    again = page_as("pages/enterprise/services.py", ent).run()
    assert any(
        "财拨-2026-001" in c.value.replace("\\", "") for c in again.caption
    )  # plain() escapes Markdown
    assert any("已拨付" in m.value for m in again.markdown)


def test_declining_asks_first_with_a_reason_field(fresh_db: str) -> None:
    _, run_id, eid = _funded_enterprise_user()
    at = page_as("pages/officer/lists.py", actor_of("officer1"))
    at.session_state["lists_tab"] = "资金拨付"
    at.run()
    at.selectbox(key="subsidy_pay_pick").set_value(eid).run()
    at.button(key="subsidy_refuse").click().run()
    assert not at.exception, at.exception
    assert any("不能撤销" in t.value for t in at.text)  # the dialog says what happens before it happens
    assert _state(run_id, eid) is None
    assert at.text_area(key="confirm_reason").label.startswith("不予拨付理由")
    assert at.button(key="confirm_ok").label == "确认不予拨付"
    # (the dialog's own rerun is a browser matter; refusing without a reason is tested in the services)
