"""智能助手 in Chromium at 390×844: the enterprise asks and gets the answer with its source, confirms a
免申即享 item, and the officer sees the confirmation. No request leaves the app's own host."""

from __future__ import annotations

import re

from tests.e2e.conftest import goto, horizontal_overflow, login, outside_requests, screenshot, wait_settled

CHAT = '[data-testid="stChatInputTextArea"]'


def _ask(page, question: str) -> None:  # noqa: ANN001
    box = page.locator(CHAT)
    box.fill(question)
    box.press("Enter")
    wait_settled(page)


def test_ask_confirm_and_the_officer_sees_it(app_server: str, new_page) -> None:  # noqa: ANN001
    outside, watch = outside_requests(app_server)

    phone = new_page(390, 844)
    watch(phone)
    login(phone, app_server, "ent1")
    goto(phone, app_server, "assistant")
    phone.get_by_role("heading", name="智能助手").wait_for()

    _ask(phone, "科小入库要什么条件")
    phone.get_by_text(re.compile("依据：《企业发现培育与应用场景》")).first.wait_for()
    assert phone.get_by_text(re.compile("职工总数不超过 500 人")).count() > 0
    _ask(phone, "我的积分是多少，排第几")
    phone.get_by_text(re.compile(r"依据：\d{4} 年度积分批次 #\d+")).first.wait_for()
    assert phone.get_by_text(re.compile("本企业总积分")).count() > 0
    assert horizontal_overflow(phone) <= 1

    confirm = phone.get_by_role("button", name="一键确认").first
    confirm.scroll_into_view_if_needed()
    confirm.click()
    wait_settled(phone)
    flash = phone.get_by_text(re.compile("已确认“.+”，工作人员将为您办理")).first
    flash.wait_for()
    item = re.search("已确认“(.+?)”", flash.inner_text()).group(1)
    assert phone.get_by_text(re.compile("已确认，工作人员将为您办理。")).count() > 0
    screenshot(phone, "assistant-390x844")
    assert horizontal_overflow(phone) <= 1

    officer = new_page(1280, 800)
    watch(officer)
    login(officer, app_server, "officer1")
    goto(officer, app_server, "assistant-staff")
    officer.get_by_role("heading", name="智能助手").wait_for()
    officer.get_by_role("tab", name="免申即享确认").click()
    wait_settled(officer)
    officer.get_by_text(re.compile(f"确认“{re.escape(item)}”")).first.wait_for()
    screenshot(officer, "assistant-staff-confirmations")
    officer.wait_for_timeout(1000)  # late requests (favicon, fonts)
    assert not outside, sorted(set(outside))
