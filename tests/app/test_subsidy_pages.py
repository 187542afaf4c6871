"""扶持资金拨付 in AppTest: the enterprise confirms its line on 政策与服务, the officer records
the payment on 榜单与扶持 · 资金拨付; states read in Chinese on both screens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core import clock
from db.models import SubsidyPayment, User
from db.session import session_scope
from services.actor import Actor
from services.subsidies import confirm_subsidy
from tests.app.conftest import actor_of, page_as, through_home
from tests.app.readable import assert_readable
from tests.seeded import funded_enterprises, run_in_state


def _funded_enterprise_user() -> tuple[Actor, int, int]:
    """A user for the first funded enterprise of the seeded final run: (actor, run id, enterprise id)."""
    with session_scope() as session:
        run = run_in_state(session, "final")
        run_id, (eid,) = run.id, funded_enterprises(session, run, 1)
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


def _enterprise(eid: int) -> Actor:
    return Actor(username=f"e{eid}", role="enterprise", user_id=None, enterprise_id=eid)


def _confirmed_lines(count: int) -> tuple[int, list[int]]:
    """Confirm the first ``count`` funded lines of the seeded final run, as their enterprises would:
    (run id, enterprise ids)."""
    with session_scope() as session:
        run = run_in_state(session, "final")
        run_id, eids = run.id, funded_enterprises(session, run, count)
    for eid in eids:
        with session_scope() as session:
            confirm_subsidy(
                session,
                actor=_enterprise(eid),
                run_id=run_id,
                enterprise_id=eid,
            )
    return run_id, list(eids)


def _open_tab(at: AppTest, tab: str) -> AppTest:
    at.session_state["lists_tab"] = tab  # a click on the tab bar: the page reruns with that tab open
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_payment_form_keeps_what_was_typed_while_another_tab_is_open(fresh_db: str) -> None:
    _, (eid,) = _confirmed_lines(1)
    at = _open_tab(through_home("officer1", "pages/officer/lists.py"), "资金拨付")
    at.selectbox(key="subsidy_pay_pick").set_value(eid).run()
    day = clock.today() - timedelta(days=1)
    at.date_input(key="subsidy_paid_on").set_value(day).run()
    at.text_input(key="subsidy_voucher").input("财拨-2026-017")  # left by the click on another tab:
    _open_tab(at, "精准扶持")  # it reaches the server with the run that closes the payment tab
    assert not [w for w in at.text_input if w.key == "subsidy_voucher"]
    _open_tab(at, "资金拨付")
    assert at.selectbox(key="subsidy_pay_pick").value == eid
    assert at.date_input(key="subsidy_paid_on").value == day
    assert at.text_input(key="subsidy_voucher").value == "财拨-2026-017"
    _open_tab(_open_tab(at, "公示导出"), "资金拨付")  # and through further switches
    assert at.text_input(key="subsidy_voucher").value == "财拨-2026-017"


def test_a_recorded_payment_leaves_no_voucher_behind_for_the_next_line(fresh_db: str) -> None:
    run_id, (first,) = _confirmed_lines(1)
    at = _open_tab(through_home("officer1", "pages/officer/lists.py"), "资金拨付")
    at.selectbox(key="subsidy_pay_pick").set_value(first).run()
    at.text_input(key="subsidy_voucher").input("财拨-2026-018").run()
    _open_tab(_open_tab(at, "榜单"), "资金拨付")  # typed, then a look at another tab: still there
    assert at.text_input(key="subsidy_voucher").value == "财拨-2026-018"
    at.button(key="subsidy_pay_submit").click().run()
    assert not at.exception, at.exception
    assert _state(run_id, first) == "paid"
    assert any("已登记拨付" in s.value for s in at.success)
    assert not [w for w in at.text_input if w.key == "subsidy_voucher"]  # no confirmed line left: no form
    _open_tab(_open_tab(at, "榜单"), "资金拨付")
    with session_scope() as session:  # another enterprise confirms its line meanwhile
        funded = funded_enterprises(session, run_in_state(session, "final"), 10)
        second = funded[funded.index(first) + 1]
        confirm_subsidy(session, actor=_enterprise(second), run_id=run_id, enterprise_id=second)
    at.selectbox(key="subsidy_pay_pick").set_value(second).run()
    assert not at.exception, at.exception
    assert at.text_input(key="subsidy_voucher").value == ""  # the paid line's voucher is not given back
