"""扶持资金拨付 and the money side in a real browser: an enterprise confirms its subsidy
on 政策与服务; the officer records the payment (what was typed kept while another tab was open) and
declines another line through the confirmation dialog (with its reason); the downloaded workbook carries
the states; the big screen names what was paid, within the 1920×1080 frame. Screenshots and the workbook are kept under test-artifacts/."""

from __future__ import annotations

import re

import openpyxl
from sqlmodel import Session

from tests.e2e.conftest import (
    ARTIFACTS,
    goto,
    horizontal_overflow,
    login,
    screenshot,
    wait_settled,
)
from tests.seeded import funded_enterprises, run_in_state

PASSWORD = "Hx7#Fund-Line-2026"  # the demo password is refused for new accounts


def _funded_accounts(database_url: str) -> list[tuple[str, str]]:
    """(username, credit code) of two new accounts for enterprises funded in the demo's final run."""
    from db.models import Enterprise
    from db.session import make_engine
    from services.accounts import create_user
    from services.actor import Actor

    engine = make_engine(database_url)
    out = []
    with Session(engine) as session:
        ids = funded_enterprises(session, run_in_state(session, "final"), 2)
        for i, eid in enumerate(ids):
            create_user(
                session,
                actor=Actor.system(),
                username=f"funded{i}",
                role="enterprise",
                enterprise_id=eid,
                password=PASSWORD,
            )
            out.append((f"funded{i}", session.get(Enterprise, eid).credit_code))
        session.commit()
    engine.dispose()
    return out


def _pick(page, code: str) -> None:  # noqa: ANN001
    box = page.get_by_label("办理企业")
    box.click()
    box.fill(code)
    page.get_by_role("option", name=re.compile(code)).first.click()
    wait_settled(page)


def test_subsidy_is_confirmed_paid_declined_and_shown(
    app_server: str, new_page, e2e_database_url: str
) -> None:  # noqa: ANN001
    (first, first_code), (_, second_code) = _funded_accounts(e2e_database_url)
    enterprise = new_page(1280, 800)
    officer = new_page(1400, 900)
    try:
        # ---- the enterprise confirms its line on 政策与服务
        login(enterprise, app_server, first, PASSWORD)
        goto(enterprise, app_server, "services")
        enterprise.get_by_text(re.compile("精准扶持资金.*待确认")).first.wait_for()
        enterprise.get_by_role("button", name="确认扶持资金").click()
        wait_settled(enterprise)
        enterprise.get_by_text(re.compile("扶持资金.*企业已确认")).first.wait_for()
        screenshot(enterprise, "enterprise_subsidy_confirmed")

        # ---- the officer records the payment …
        login(officer, app_server, "officer1")
        goto(officer, app_server, "lists-subsidies")
        officer.get_by_role("tab", name="资金拨付").click()
        wait_settled(officer)
        _pick(officer, first_code)
        officer.get_by_label("拨付凭证号").fill("财拨-2026-0001")
        # a look at another tab before saving: what was typed is still there on return
        officer.get_by_role("tab", name="精准扶持").click()
        wait_settled(officer)
        assert officer.get_by_label("拨付凭证号").count() == 0  # only the open tab is drawn
        officer.get_by_role("tab", name="资金拨付").click()
        wait_settled(officer)
        assert officer.get_by_label("拨付凭证号").input_value() == "财拨-2026-0001"
        officer.get_by_role("button", name="登记拨付").click()
        wait_settled(officer)
        officer.get_by_role("tab", name="资金拨付").click()
        officer.get_by_text(re.compile("已登记拨付")).first.wait_for()

        # … and declines the other line: the dialog asks first and wants a reason
        officer.get_by_role("tab", name="资金拨付").click()
        _pick(officer, second_code)
        officer.get_by_role("button", name="不予拨付…").click()
        dialog = officer.get_by_role("dialog")
        dialog.get_by_role("button", name="确认不予拨付").wait_for()
        assert "不能撤销" in dialog.inner_text()
        dialog.get_by_label("不予拨付理由（必填）").fill("企业已迁出本区")
        dialog.get_by_role("button", name="确认不予拨付").click()
        dialog.wait_for(state="hidden")
        wait_settled(officer)
        officer.get_by_role("tab", name="资金拨付").click()
        officer.get_by_text(re.compile("已登记不予拨付")).first.wait_for()
        screenshot(officer, "officer_subsidy_payments")
        with officer.expect_download() as download:
            officer.get_by_role("button", name="下载拨付进度（xlsx）").click()
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / "subsidy_payments.xlsx"
        download.value.save_as(str(path))
        rows = list(openpyxl.load_workbook(path)["扶持资金拨付"].values)
        by_code = {r[3]: r for r in rows[1:]}
        assert (by_code[first_code][8], by_code[first_code][11]) == ("已拨付", "财拨-2026-0001")
        assert by_code[second_code][8] == "不予拨付" and by_code[second_code][12] == "企业已迁出本区"

        # ---- the enterprise sees the payment
        goto(enterprise, app_server, "services")
        enterprise.get_by_text(re.compile("财拨-2026-0001")).first.wait_for()

        # ---- the big screen names what was paid, inside the frame
        screen = new_page(1920, 1080)
        goto(screen, app_server, "screen")
        line = screen.get_by_text(re.compile("融资与扶持成效")).first
        line.wait_for()
        assert "扶持资金已拨付 1 家" in line.inner_text()
        box = line.bounding_box()
        height = screen.evaluate("document.documentElement.scrollHeight")
        print(f"big screen: outcome line bottom {box['y'] + box['height']:.0f} px, page height {height} px")
        assert box["y"] + box["height"] <= 1080
        assert horizontal_overflow(screen) <= 1
        screenshot(screen, "big-screen-with-outcomes-1920x1080")
    except Exception:
        screenshot(enterprise, "subsidy_flow_failure_enterprise")
        screenshot(officer, "subsidy_flow_failure_officer")
        raise
