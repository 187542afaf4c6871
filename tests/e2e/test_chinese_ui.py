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
    # (the toolbar's labels are read in Chinese: ui.chrome.SCRIPT writes them over Streamlit's English)
    for label in ("Download as CSV", "下载表格"):
        assert page.locator(f'[data-testid="stElementToolbar"] button[aria-label="{label}"]').count() == 0
    page.locator('[data-testid="stElementToolbar"] button[aria-label="在表格中查找"]').first.hover()
    tooltip = page.locator('[data-testid="stTooltipContent"] p').first
    tooltip.wait_for()
    assert tooltip.evaluate("e => getComputedStyle(e, '::after').content") == '"在表格中查找"'
    assert tooltip.evaluate("e => getComputedStyle(e).fontSize") == "0px"
    # the hint under a text field in a form, with its character counter kept
    field = page.get_by_role("textbox", name="查找企业")
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


# Where a grid's header row draws the ⋮ of a column: left of the column's right edge, which the grid
# marks by its resize cursor.
_MENU_BEFORE_EDGE = (8, 14, 20)


def _column_edges(page, grid) -> list[float]:  # noqa: ANN001
    """The x of each column's right edge in ``grid``'s header row (where the canvas shows col-resize)."""
    box = grid.bounding_box()
    canvas = grid.locator('canvas[data-testid="data-grid-canvas"]')
    edges: list[float] = []
    for x in range(4, int(box["width"]) - 4, 3):
        page.mouse.move(box["x"] + x, box["y"] + 17)
        if canvas.evaluate("c => c.style.cursor") == "col-resize" and (not edges or x - edges[-1] > 12):
            edges.append(x)
    return [box["x"] + x for x in edges]


def _open_column_menu(page, grid, edge: float):  # noqa: ANN001, ANN202
    """Tap the ⋮ of the column ending at ``edge``; the open menu (sorting would leave it closed)."""
    y = grid.bounding_box()["y"] + 17
    menu = page.locator('[data-testid="stDataFrameColumnMenu"]')
    for offset in _MENU_BEFORE_EDGE:
        page.mouse.move(edge - 40, y)
        page.mouse.click(edge - offset, y)
        page.wait_for_timeout(400)
        if menu.count():
            return menu
        page.keyboard.press("Escape")
    raise AssertionError("no column menu opened")


def _after(locator) -> list[str]:  # noqa: ANN001
    return [
        c.strip('"')
        for c in locator.evaluate_all("els => els.map(e => getComputedStyle(e, '::after').content)")
    ]


def test_a_tables_own_menus_speak_chinese(app_server: str, new_page) -> None:  # noqa: ANN001
    """The menus every table carries — a column's ⋮ menu, show/hide columns, the table search — and the
    chart toolbar, on a phone: Chinese items, and no English submenu (statistics, number formats)."""
    page = new_page(390, 844)
    login(page, app_server, "ent3")
    goto(page, app_server, "my-score")
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.evaluate(
        'g => { g.scrollIntoView({block: "start"}); g.closest("[data-testid=stMain]").scrollTop -= 150; }'
    )
    page.wait_for_timeout(400)
    edges = _column_edges(page, grid)
    assert len(edges) >= 2, edges
    for edge in edges[:2]:  # 指标 (text) and 得分 (a number: it has a "Format" submenu)
        menu = _open_column_menu(page, grid, edge)
        assert not chinese_scan.latin_hits(chinese_scan.visible(page))
        items = menu.locator('[role="menuitem"]:visible')
        assert _after(items) == ["升序排列", "降序排列", "自动调整列宽", "固定 / 取消固定此列", "隐藏此列"]
        screenshot(page, f"column-menu-390-{edges.index(edge)}")
        page.keyboard.press("Escape")
        menu.wait_for(state="detached")

    def toolbar(label: str):  # noqa: ANN202
        grid.hover(position={"x": 30, "y": 60})
        return page.locator(f'[data-testid="stElementToolbar"] button[aria-label="{label}"]:visible').first

    toolbar("显示或隐藏列").click()
    columns = page.locator('[data-testid="stDataFrameColumnVisibilityMenu"]')
    columns.wait_for()
    assert not chinese_scan.latin_hits(chinese_scan.visible(page))
    assert _after(columns.locator('label:has(> input[aria-label="全选"]) > span:last-child')) == ["全选"]
    assert columns.get_by_text("(index)").is_hidden()
    assert columns.get_by_text("指标").is_visible()
    page.keyboard.press("Escape")
    page.mouse.click(5, 400)
    toolbar("在表格中查找").click()
    grid.get_by_test_id("search-input").wait_for()
    status = grid.locator(
        ".gdg-search-status label"
    )  # its own text is drawn at size 0 (the Chinese is its ::after)
    assert _after(status) == ["输入关键字查找"]
    page.keyboard.type("研发")
    page.wait_for_timeout(500)
    assert not chinese_scan.latin_hits(chinese_scan.visible(page))
    page.keyboard.press("Escape")

    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.scroll_into_view_if_needed()
    chart.hover()
    fullscreen = page.locator('[data-testid="stElementToolbar"]:visible button[aria-label="全屏查看"]')
    fullscreen.first.wait_for()  # the chart's toolbar is there, without "Show data" (the drawing's x, y, order)
    assert (
        page.locator('[data-testid="stElementToolbar"] button[aria-label="Show data"]:visible').count() == 0
    )
