"""No Latin-letter UI text on any page, as any role, in Chromium (tests/e2e/chinese_scan.py).

Each role opens every page of its navigation. A page is scanned as it shows, then touched the way a
person does: its dropdowns opened and typed into, its text fields typed into, its date picker and
expanders opened, an out-of-range number typed; once per role also the app-wide chrome (skip link, ⋮
menu, the tooltips of a table's and a chart's toolbar). Any Latin letters outside the narrow allow-list
of data values and product names fail the test, with the page and the probe that found them.
"""

from __future__ import annotations

import pytest

from tests.e2e import chinese_scan
from tests.e2e.conftest import goto, login, screenshot, wait_settled
from ui.navigation import ADMIN, BANK, ENTERPRISE, OFFICER, PUBLIC, sections_for

USERS = {"enterprise": "ent3", "officer": "officer1", "admin": "admin", "bank": "bank1"}
# Whose pages a role's run probes fully (the others it scans as they show: the same page code was
# probed in its own role's run; the sidebar and the role's data still differ).
OWN = {"public": PUBLIC, "enterprise": ENTERPRISE, "officer": OFFICER, "admin": ADMIN, "bank": BANK}


@pytest.mark.parametrize("role", ["public", "enterprise", "officer", "admin", "bank"])
def test_every_page_speaks_chinese(app_server: str, new_page, role: str) -> None:  # noqa: ANN001
    page = new_page(1280, 800)
    if role != "public":
        login(page, app_server, USERS[role])
    specs = [spec for specs in sections_for(None if role == "public" else role).values() for spec in specs]
    problems: dict[str, list[str]] = {}
    chrome_done = False
    for spec in specs:
        goto(page, app_server, spec.url_path)
        page.wait_for_timeout(300)  # grids and charts finish drawing
        own = spec in OWN[role] or spec.url_path in ("login", "account")
        hits = chinese_scan.scan(page, widgets=own, chrome=own and not chrome_done)
        chrome_done = chrome_done or own
        if hits:
            problems[f"{role}/{spec.url_path}"] = hits
            screenshot(page, f"latin-{role}-{spec.url_path}")
    assert not problems, problems


def test_the_chinese_layer_is_what_shows(app_server: str, new_page) -> None:  # noqa: ANN001
    """The scan passing must mean Chinese is shown, not that nothing was shown: the relabelled texts appear."""
    page = new_page(1280, 800)
    login(page, app_server, "officer1")
    # every page listed in the sidebar (no "View 9 more" button)
    assert page.locator('[data-testid="stSidebarNavViewButton"]').count() == 0
    assert page.locator('[data-testid="stSidebarNav"] a').filter(has_text="审计日志").count() == 1
    # no ⋮ menu, no built-in CSV download
    assert page.locator('[data-testid="stMainMenu"]').count() == 0
    goto(page, app_server, "search")
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.hover()
    assert page.locator('[data-testid="stElementToolbar"] button[aria-label="Download as CSV"]').count() == 0
    page.locator('[data-testid="stElementToolbar"] button[aria-label="Search"]').first.hover()
    tooltip = page.locator('[data-testid="stTooltipContent"] p').first
    tooltip.wait_for()
    assert tooltip.evaluate("e => getComputedStyle(e, '::after').content") == '"在表格中查找"'
    assert tooltip.evaluate("e => getComputedStyle(e).fontSize") == "0px"
    # the hint under a text field in a form, with its character counter kept
    field = page.get_by_label("查找企业")
    field.click()
    page.keyboard.type("1")
    hint = page.locator('[data-testid="stForm"] [data-testid="InputInstructions"] > span').first
    hint.wait_for(state="attached")  # its own text is drawn at size 0 (the Chinese is its ::after)
    assert hint.evaluate("e => getComputedStyle(e, '::after').content") == '"按回车键提交"'
    assert "1/60" in page.locator('[data-testid="InputInstructions"]').first.inner_text()
    field.fill("")
    page.keyboard.press("Tab")
    wait_settled(page)
    # a multiselect offers no "Select all"
    page.locator('[data-testid="stMultiSelect"] input').first.click()
    page.locator('[role="listbox"]').first.wait_for()
    assert page.locator('[role="option"][data-key="__select_all__"]').count() == 0
    page.keyboard.press("Escape")
    screenshot(page, "chinese-chrome-search")


def test_an_out_of_range_number_is_answered_in_chinese(app_server: str, new_page) -> None:  # noqa: ANN001
    """数据填报's number fields have no browser range check (its tooltip is English): a negative value is
    reported in Chinese when the form is submitted for review."""
    page = new_page(1280, 800)
    login(page, app_server, "officer2")
    goto(page, app_server, "lists-subsidies")
    goto(page, app_server, "bank")
    field = page.get_by_label("总积分不低于")
    field.fill("500")
    page.keyboard.press("Enter")
    wait_settled(page)
    assert "Number is" not in page.inner_text("body")
    page.get_by_text("“总积分不低于”应在 0–200 之间，当前为 500，已按 200 处理。").wait_for()
    screenshot(page, "number-out-of-range-chinese")
