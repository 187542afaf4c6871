"""In Chromium: what matters in a table is on the first screen width of a phone, short
tables show every row at 1280, and 展示大屏 at 1920×1080 is legible across a room.

Screenshots are kept in test-artifacts/ (phone-*, model-1280, big-screen-legible-1920x1080).
"""

from __future__ import annotations

import json

from tests.e2e.conftest import goto, horizontal_overflow, login, screenshot, wait_settled

CHART = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
MIN_PX = 24

# Headers of the columns the grid draws in its viewport (its accessible fallback table holds exactly those).
VISIBLE_HEADERS = """(grid) => {
  const scroller = grid.querySelector('.dvn-scroller');
  scroller.scrollLeft = 1; scroller.scrollLeft = 0; scroller.scrollTop = 1; scroller.scrollTop = 0;
  return new Promise(r => setTimeout(() => r(Array.from(grid.querySelectorAll('table th')).map(t => t.textContent)), 400));
}"""
# Whether a grid scrolls inside itself (rows hidden below its own bottom edge).
INNER_SCROLL = """(grid) => { const s = grid.querySelector('.dvn-scroller');
  return s.scrollHeight - s.clientHeight; }"""


def _grid_with(page, heading: str):  # noqa: ANN001, ANN202
    """The first table below the sub-heading ``heading``."""
    return page.locator(
        f'[data-testid="stHeading"]:has-text("{heading}") ~ * [data-testid="stDataFrame"], '
        f'[data-testid="stElementContainer"]:has([data-testid="stHeading"]:has-text("{heading}")) ~ '
        f'[data-testid="stElementContainer"] [data-testid="stDataFrame"]'
    ).first


def test_phone_shows_points_and_answers_without_sideways_scrolling(app_server: str, new_page) -> None:  # noqa: ANN001
    page = new_page(390, 844)
    login(page, app_server, "ent3")
    goto(page, app_server, "my-score")
    grid = _grid_with(page, "指标明细")
    grid.wait_for()
    grid.scroll_into_view_if_needed()
    headers = grid.evaluate(VISIBLE_HEADERS)
    assert headers[:3] == ["指标", "得分", "满分"], headers
    box = grid.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1
    screenshot(page, "phone-my-score-390")

    # 我的服务申请: file one request, then its state (and the answer line) is on screen, not in a far column
    goto(page, app_server, "services")
    apply = page.get_by_role("button", name="申请服务").first
    if page.get_by_role("heading", name="我的服务申请").count() == 0:
        apply.click()
        wait_settled(page)
    page.get_by_role("heading", name="我的服务申请").wait_for()
    card = page.get_by_text("申请时间").first.locator("xpath=ancestor::*[@data-testid='stVerticalBlock'][1]")
    card.scroll_into_view_if_needed()
    state = card.get_by_text("待受理")
    state.wait_for()
    right = state.bounding_box()
    assert right["x"] + right["width"] <= 390, right
    assert card.get_by_text("尚未答复。").count() + card.get_by_text("答复：").count() == 1
    assert horizontal_overflow(page) <= 1
    screenshot(page, "phone-services-390")


def test_short_tables_show_every_row_at_1280(app_server: str, new_page) -> None:  # noqa: ANN001
    page = new_page(1280, 800)
    goto(page, app_server, "model")
    grids = page.locator('[data-testid="stDataFrame"]')
    grids.first.wait_for()
    page.wait_for_timeout(1000)  # every grid drawn
    assert grids.count() >= 3
    for i in range(grids.count()):
        assert grids.nth(i).evaluate(INNER_SCROLL) <= 1, f"table {i} of 指标体系 scrolls inside itself"
    technology = _grid_with(page, "技术创新")
    technology.scroll_into_view_if_needed()
    rows = technology.evaluate("""(g) => { const s = g.querySelector('.dvn-scroller'); s.scrollTop = 1; s.scrollTop = 0;
        return new Promise(r => setTimeout(() => r(Array.from(g.querySelectorAll('table tbody tr'))
            .map(tr => tr.textContent)), 400)); }""")
    assert (
        any("T11" in r for r in rows) and any("T12" in r for r in rows) and any("合计" in r for r in rows)
    ), rows
    screenshot(page, "model-1280")

    login(page, app_server, "ent3")
    goto(page, app_server, "my-score")
    grid = _grid_with(page, "指标明细")
    grid.wait_for()
    assert grid.evaluate(INNER_SCROLL) <= 1, "指标明细 scrolls inside itself"


def test_big_screen_is_legible_across_a_room(app_server: str, new_page) -> None:  # noqa: ANN001
    specs: list[dict] = []

    def frame(payload) -> None:  # noqa: ANN001
        if isinstance(payload, str):
            return
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            msg = ForwardMsg.FromString(payload)
        except Exception:  # noqa: BLE001 - not a ForwardMsg
            return
        if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            if element.WhichOneof("type") == "vega_lite_chart":
                specs.append(json.loads(element.vega_lite_chart.spec))

    page = new_page(1920, 1080)
    page.on("websocket", lambda ws: ws.on("framereceived", frame))
    goto(page, app_server, "screen")
    page.wait_for_selector(CHART, timeout=20_000)
    page.wait_for_timeout(1500)  # let the charts finish drawing before the picture
    screenshot(page, "big-screen-legible-1920x1080")
    assert len(specs) >= 5

    sizes: list[tuple[str, float]] = []

    def collect(node, path: str = "") -> None:  # noqa: ANN001
        if isinstance(node, dict):
            for key, value in node.items():
                if key.lower().endswith("fontsize") and isinstance(value, int | float):
                    sizes.append((f"{path}.{key}", value))
                collect(value, f"{path}.{key}")
        elif isinstance(node, list):
            for value in node:
                collect(value, path)

    for spec in specs:
        collect(spec)
        # axis, legend and text marks are sized (not left to Vega's 10–11 px defaults)
        config = spec.get("config", {})
        assert config.get("axis", {}).get("labelFontSize", 0) >= MIN_PX
        assert config.get("legend", {}).get("labelFontSize", 0) >= MIN_PX
    small = [s for s in sizes if s[1] < MIN_PX]
    assert sizes and not small, small

    # the HTML text of the screen: headings, metric labels, captions, the movers table
    too_small = page.evaluate(f"""() => Array.from(document.querySelectorAll(
        '[data-testid="stMain"] h3, [data-testid="stMetricLabel"] p, [data-testid="stMetricValue"],'
        + '[data-testid="stCaptionContainer"] p, [data-testid="stTable"] td, [data-testid="stTable"] th'))
      .filter(e => e.getClientRects().length && parseFloat(getComputedStyle(e).fontSize) < {MIN_PX})
      .map(e => e.textContent.slice(0, 30) + ' ' + getComputedStyle(e).fontSize)""")
    assert not too_small, too_small

    movers = page.locator('[data-testid="stTable"]').filter(has_text="企业名称").first
    headers = movers.locator("th").all_inner_texts()
    assert "阶段" in headers and "积分" in headers, headers
    assert horizontal_overflow(page) <= 1


def test_lists_page_draws_the_open_stage_and_another_on_its_tab(app_server: str, page) -> None:  # noqa: ANN001
    goto(page, app_server, "lists")
    tabs = page.get_by_role("tab")
    tabs.first.wait_for()
    assert tabs.count() >= 2
    grids = page.locator('[data-testid="stDataFrame"]')
    grids.first.wait_for()
    drawn = grids.count()
    assert 1 <= drawn <= 3, drawn  # one stage's lists, not every stage's
    second = tabs.nth(1)
    second.click()
    wait_settled(page)
    panel = page.locator('[role="tabpanel"]:visible')
    panel.locator('[data-testid="stDataFrame"]').first.wait_for()
    assert panel.get_by_text("家）").count() >= 1  # each list of that stage with its count
    assert grids.count() <= 3
