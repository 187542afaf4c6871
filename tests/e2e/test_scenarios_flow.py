"""金融推荐 in a real browser: an enterprise consents, an officer exports a whitelist for a bank (the
enterprise is on it), the enterprise withdraws its consent, and the next whitelist excludes it.
Screenshots and the two downloaded files are kept under test-artifacts/."""

from __future__ import annotations

import re

import openpyxl
from sqlalchemy import select
from sqlmodel import Session

from tests.e2e.conftest import ARTIFACTS, goto, login, screenshot, wait_settled


def _candidate(database_url: str) -> tuple[str, str]:
    """(username, credit code) of a demo enterprise account ranked in the latest published run."""
    from db.models import Enterprise, Score, User
    from db.queries import latest_run
    from db.session import make_engine

    engine = make_engine(database_url)
    with Session(engine) as session:
        run = latest_run(session)
        for username in ("ent5", "ent3", "ent2", "ent1", "ent4"):
            user = session.execute(select(User).where(User.username == username)).scalars().one()
            ranked = session.execute(
                select(Score.rank).where(Score.run_id == run.id, Score.enterprise_id == user.enterprise_id)
            ).scalar()
            if ranked is not None:
                code = session.get(Enterprise, user.enterprise_id).credit_code
                engine.dispose()
                return username, code
    engine.dispose()
    raise AssertionError("no demo enterprise account is ranked")


def _export(officer, app_server: str, bank: str, name: str) -> list[str]:  # noqa: ANN001
    """Export a whitelist of every ranked enterprise (top 1000 per stage); the credit codes in the file."""
    goto(officer, app_server, "bank")
    heading = officer.get_by_role("heading", name="金融推荐")
    heading.wait_for()  # the deep link opened 金融推荐 (not the landing page)
    officer.get_by_text("各阶段前若干名").click()
    wait_settled(officer)
    officer.get_by_label("每个阶段取前几名").fill("1000")
    officer.keyboard.press("Enter")
    wait_settled(officer)
    officer.get_by_role("textbox", name="合作银行").fill(bank)
    officer.get_by_role("button", name="导出名单").click()
    wait_settled(officer)
    officer.get_by_text(re.compile(f"已为“{bank}”生成推荐名单")).wait_for()
    with officer.expect_download() as download:
        officer.get_by_role("button", name=re.compile("下载 推荐名单_")).click()
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.xlsx"
    download.value.save_as(str(path))
    screenshot(officer, name)
    sheet = openpyxl.load_workbook(path)["推荐名单"]
    rows = list(sheet.values)
    assert rows[0][:3] == ("序号", "企业名称", "统一社会信用代码")
    return [r[2] for r in rows[1:]]


def test_whitelist_respects_consent(app_server: str, new_page, e2e_database_url: str) -> None:  # noqa: ANN001
    username, code = _candidate(e2e_database_url)
    officer = new_page(1400, 900)
    enterprise = new_page(1280, 800)
    try:
        login(officer, app_server, "officer1")
        login(enterprise, app_server, username)

        # ---- the enterprise consents on its own side
        goto(enterprise, app_server, "services")
        give = enterprise.get_by_role("button", name="同意向合作银行推荐")
        if give.count():
            give.click()
            wait_settled(enterprise)
        enterprise.get_by_role("button", name="撤回授权").wait_for()
        screenshot(enterprise, "enterprise_bank_consent_given")

        # ---- the officer exports a whitelist: the enterprise is on it
        first = _export(officer, app_server, "温州银行龙湾支行", "officer_whitelist_with_consent")
        assert code in first

        # ---- the enterprise withdraws its consent
        goto(enterprise, app_server, "services")
        enterprise.get_by_role("button", name="撤回授权").click()
        wait_settled(enterprise)
        enterprise.get_by_text(re.compile("已撤回授权")).wait_for()
        enterprise.get_by_role("button", name="同意向合作银行推荐").wait_for()
        screenshot(enterprise, "enterprise_bank_consent_withdrawn")

        # ---- the next whitelist excludes it, everyone else stays
        second = _export(officer, app_server, "温州银行龙湾支行", "officer_whitelist_after_withdrawal")
        assert code not in second
        assert set(second) == set(first) - {code}
        officer.get_by_role("heading", name="导出记录").wait_for()
        assert officer.get_by_text("温州银行龙湾支行").count() >= 1
    except Exception:
        screenshot(officer, "scenarios_flow_failure_officer")
        screenshot(enterprise, "scenarios_flow_failure_enterprise")
        raise
