"""展示大屏 in a real browser at 1920×1080: dark full screen, charts drawn, nothing overflows; screenshots of the grid and of the carousel are kept as artefacts."""

from __future__ import annotations

from tests.e2e.conftest import goto, horizontal_overflow, screenshot

CHART = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'


def test_big_screen_at_1920x1080(app_server: str, new_page) -> None:  # noqa: ANN001
    page = new_page(1920, 1080)
    goto(page, app_server, "screen")
    page.get_by_text("参评企业").first.wait_for()
    page.wait_for_selector(CHART, timeout=20_000)
    page.wait_for_timeout(1500)  # let the charts finish drawing before the picture
    assert page.locator(CHART).count() >= 5  # 资质企业数 is a table of counts per year
    assert page.get_by_role("heading", name="积分分布").count() == 1
    assert page.locator('[data-testid="stSidebar"]').is_hidden()
    background = page.evaluate(
        "getComputedStyle(document.querySelector('[data-testid=\"stAppViewContainer\"]')).backgroundColor"
    )
    assert background == "rgb(11, 18, 38)"
    assert horizontal_overflow(page) <= 1
    screenshot(page, "big-screen-1920x1080")

    goto(page, app_server, "screen?mode=carousel")
    page.wait_for_selector(CHART, timeout=20_000)
    page.wait_for_timeout(1500)
    titles = page.locator("h1").all_inner_texts()
    assert any(t.count("·") == 2 for t in titles), titles
    screenshot(page, "big-screen-carousel-1920x1080")
