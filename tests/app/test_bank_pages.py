"""The partner bank's pages through Home.py (AppTest), and the officers' view of its outcomes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import Enterprise, LoanOutcome
from db.session import session_scope
from tests.app.conftest import actor_of, home, login_as, page_as, through_home

BANK_PAGES = ["pages/bank/whitelist.py", "pages/bank/outcomes.py"]


def _consenting() -> set[str]:
    with session_scope() as session:
        return set(
            session.execute(select(Enterprise.credit_code).where(Enterprise.bank_consent.is_(True))).scalars()
        )


def test_bank_lands_on_its_whitelist_of_consenting_enterprises(app_db: str) -> None:
    at = login_as(home(), "bank1", "bank").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "推荐名单"
    shown = at.dataframe[0].value
    codes = set(shown["统一社会信用代码"])
    assert codes and codes <= _consenting()
    assert "有效期至" in shown.columns
    next(b for b in at.button if b.label.startswith("生成下载文件")).click().run()
    assert not at.exception, at.exception
    assert at.get("download_button")


@pytest.mark.parametrize("path", BANK_PAGES)
@pytest.mark.parametrize("username", ["ent1", "officer1", "admin"])
def test_other_roles_are_refused_by_the_bank_guard(app_db: str, path: str, username: str) -> None:
    at = page_as(path, actor_of(username)).run()
    assert not at.exception
    assert any("仅限合作银行" in str(e.value) for e in at.error)


def test_bank_cannot_open_an_officer_page(app_db: str) -> None:
    at = page_as("pages/officer/bank.py", actor_of("bank1")).run()
    assert not at.exception
    assert any("仅限" in str(e.value) for e in at.error)


def test_a_loan_recorded_by_the_bank_shows_in_the_officers_page(fresh_db: str) -> None:
    at = through_home("bank1", "pages/bank/outcomes.py")
    assert not at.exception, at.exception
    at.selectbox(key="outcome_code").set_value(at.selectbox(key="outcome_code").options[0])
    at.text_input(key="outcome_product").input("科创积分贷")
    at.radio(key="outcome_decision").set_value("loan")
    at.number_input(key="outcome_amount").set_value(200.0)
    next(b for b in at.button if b.label == "保存结果").click().run()
    assert not at.exception, at.exception
    assert any("已保存" in str(s.value) for s in at.success), [e.value for e in at.error]
    with session_scope() as session:
        stored = session.execute(select(LoanOutcome)).scalars().one()
    assert stored.amount == 200.0 and stored.decision == "loan"
    officer = through_home("officer1", "pages/officer/bank.py")
    assert not officer.exception, officer.exception
    tables = [d.value for d in officer.dataframe]
    outcomes = next(t for t in tables if "决定" in t.columns)
    assert outcomes.iloc[0]["决定"] == "放款" and "科创积分贷" in outcomes["产品"].tolist()


def test_a_wrong_loan_is_refused_with_the_reason_and_not_saved(fresh_db: str) -> None:
    at = through_home("bank1", "pages/bank/outcomes.py")
    at.selectbox(key="outcome_code").set_value(at.selectbox(key="outcome_code").options[0])
    at.text_input(key="outcome_product").input("科创积分贷")
    at.radio(key="outcome_decision").set_value("reject")
    at.text_input(key="outcome_start").input("2999-01-01")
    next(b for b in at.button if b.label == "保存结果").click().run()
    assert not at.exception, at.exception
    errors = " ".join(str(e.value) for e in at.error)
    assert "拒绝理由" in errors and "起始日期晚于今天" in errors
    with session_scope() as session:
        assert session.execute(select(LoanOutcome)).first() is None
