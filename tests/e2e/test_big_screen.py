"""展示大屏 in a real browser at 1920×1080 and on a 1366×768 projector: dark full screen, charts drawn, every
figure on one screen without scrolling; at 390 px nothing runs off sideways. Screenshots of the grid and of
the carousel are kept as artefacts."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from tests.e2e.conftest import ROOT, goto, horizontal_overflow, running_app, screenshot
from ui.bigscreen import PALETTE

CHART = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'


def tallest_bar_px(png: bytes) -> int:
    """The longest unbroken run of the screen's palette colours down one column of a chart's picture:
    the height of its tallest bar (a stacked bar counts whole; a legend swatch is ~15 px)."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    colours = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in PALETTE])
    near = (np.abs(pixels[:, :, None, :] - colours[None, None, :, :]).sum(axis=3) <= 12).any(axis=2)
    longest = 0
    for column in near.T:
        edges = np.flatnonzero(np.diff(np.concatenate([[0], column.astype(np.int8), [0]])))
        if len(edges):
            longest = max(longest, int((edges[1::2] - edges[::2]).max()))
    return longest


def tables_cut(page) -> list[str]:  # noqa: ANN001
    """The first header cells of tables wider than what shows them (their panel scrolls sideways)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stTable"] table')]
            .filter(t => t.parentElement.scrollWidth > t.parentElement.clientWidth + 1)
            .map(t => t.querySelector('th:not(:empty)')?.innerText ?? '')"""
    )


# Streamlit's main area scrolls by itself (overflow: auto): the document stays as tall as the viewport
# while the content scrolls inside it, so both are measured (as horizontal_overflow does sideways).
_VERTICAL_OVERFLOW = """() => Math.max(
  document.scrollingElement.scrollHeight - innerHeight,
  ...Array.from(document.querySelectorAll('[data-testid="stAppViewContainer"], [data-testid="stMain"]'),
                (e) => e.scrollHeight - e.clientHeight))"""


def vertical_overflow(page) -> int:  # noqa: ANN001
    """How many CSS pixels the screen's content is taller than the viewport (0: no scrolling)."""
    return int(page.evaluate(_VERTICAL_OVERFLOW))


FIGURES = '[data-testid="stVegaLiteChart"], [data-testid="stMetric"], [data-testid="stTable"], h1'


def off_screen(page) -> list[str]:  # noqa: ANN001
    """The title, headline figures, tables and charts whose box is not wholly inside the viewport, and
    the charts drawn narrower or wider than their place (measured and drawn at different scales), each
    named by its own text or its panel's heading."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].flatMap(e => {
            const b = e.getBoundingClientRect();
            const name = (e.closest('[data-testid="stVerticalBlock"]:has(h3)')?.querySelector('h3')
                          ?? e).innerText.slice(0, 24);
            const where = `${name} ${Math.round(b.left)},${Math.round(b.top)}–${Math.round(b.right)},${Math.round(b.bottom)}`;
            const out = [];
            if (b.width <= 0 || b.top < -1 || b.left < -1 || b.bottom > innerHeight + 1 || b.right > innerWidth + 1)
                out.push(`off screen: ${where}`);
            const drawing = e.matches('[data-testid="stVegaLiteChart"]') && e.querySelector('svg, canvas');
            if (drawing && Math.abs(drawing.getBoundingClientRect().width - b.width) > 0.05 * b.width)
                out.push(`drawn ${Math.round(drawing.getBoundingClientRect().width)} px wide: ${where}`);
            return out;
        })""",
        FIGURES,
    )


def panel_chart(page, title: str):  # noqa: ANN001, ANN201
    """The chart of the panel headed ``title`` (the innermost block holding both)."""
    block = (
        page.locator('[data-testid="stVerticalBlock"]')
        .filter(has=page.get_by_role("heading", name=title))
        .filter(has=page.locator('[data-testid="stVegaLiteChart"]'))
    )
    return block.last.locator('[data-testid="stVegaLiteChart"]').first


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
    assert vertical_overflow(page) <= 2  # the carousel switch too: nothing to scroll to
    assert off_screen(page) == []
    screenshot(page, "big-screen-1920x1080")
    # Drawn so a room can read them: the stage legend and slanted score labels once left 积分分布's bars
    # ~15 px of the panel (a flat line at 0 on the screen). The plot is ~110 px tall now, and the axis's
    # round maximum is never twice the tallest bar's count.
    for title in ("积分分布", "各阶段参评与上榜企业"):
        assert tallest_bar_px(panel_chart(page, title).screenshot()) >= 40, title
    # Every table shows all its columns in its panel (the movers' 变化 and 资质企业数's newest year were cut).
    assert page.locator('[data-testid="stTable"]').count() == 2
    assert tables_cut(page) == []

    # The carousel, each of its views held in turn (?view=K; unpinned it turns by the clock).
    titles = []
    for view in range(1, 6):
        goto(page, app_server, f"screen?mode=carousel&view={view}")
        page.wait_for_selector(CHART, timeout=20_000)
        page.wait_for_timeout(1000)
        titles += page.locator("h1").all_inner_texts()
        assert tables_cut(page) == [], titles[-1]
        assert horizontal_overflow(page) <= 1, titles[-1]
        assert vertical_overflow(page) <= 2, titles[-1]
        screenshot(page, f"big-screen-carousel-{view}-1920x1080")
    assert [t.split(" · ")[-1] for t in titles] == [
        "总览",
        "趋势与资质",
        "进步之星",
        "区域分布",
        "融资与扶持",
    ]


def test_big_screen_fits_a_1366x768_projector(app_server: str, new_page) -> None:  # noqa: ANN001
    """Most meeting-room projectors and laptops show 1366×768: the grid and every carousel view fit it
    without scrolling (laid out at 1920 px wide, 24 px text pushed the second row of panels below the
    fold), every chart drawn across its whole panel, no table cut."""
    page = new_page(1366, 768)
    for path in ("screen", *(f"screen?mode=carousel&view={view}" for view in range(1, 6))):
        goto(page, app_server, path)
        page.wait_for_selector(CHART, timeout=20_000)
        page.wait_for_timeout(1000)  # let the charts finish drawing
        if path == "screen":
            assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 5
            assert page.locator('[data-testid="stMetric"]').count() == 5
        assert vertical_overflow(page) <= 2, path
        assert off_screen(page) == [], path
        assert horizontal_overflow(page) <= 1, path
        assert tables_cut(page) == [], path
        screenshot(page, f"big-screen-{path.removeprefix('screen?mode=').replace('&view=', '-')}-1366x768")


def test_big_screen_on_a_phone_scrolls_but_never_sideways(app_server: str, new_page) -> None:  # noqa: ANN001
    """At 390 px the panels stack and the page scrolls down, but no figure or chart runs off to the side."""
    page = new_page(390, 844)
    goto(page, app_server, "screen")
    page.wait_for_selector(CHART, timeout=20_000)
    page.wait_for_timeout(1000)
    assert horizontal_overflow(page) <= 1
    boxes = page.locator(FIGURES).evaluate_all(
        "es => es.map(e => { const b = e.getBoundingClientRect(); return [b.left, b.right, b.width]; })"
    )
    assert len(boxes) >= 11  # title, 5 figures, 5 charts
    assert all(left >= -1 and right <= 391 and width > 0 for left, right, width in boxes), boxes
    screenshot(page, "big-screen-390")


def _luminance(css_rgb: str) -> float:
    channels = [int(v) / 255 for v in re.findall(r"\d+", css_rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_the_screen_before_any_publish_says_so_legibly(browser, tmp_path: Path) -> None:  # noqa: ANN001
    """A new zone's screen, before its first 公示, shows its notice readably on the dark page (the light
    notice box under the screen's light text had a contrast of 1.1 : 1)."""
    database = f"sqlite:///{tmp_path / 'empty.db'}"
    subprocess.run(
        [sys.executable, "manage.py", "init-db"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database},
        check=True,
        capture_output=True,
    )
    env = {"DATABASE_URL": database, "COOKIE_KEY": "e2e-only-cookie-key-3f9a1c7e5b2d4a6f8e0c1b3d5f7a9c2e"}
    with running_app({**env, "APP_ENV": "test"}, tmp_path / "server.log", browser, entry="serve.py") as url:
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        goto(page, url, "screen")
        notice = page.locator('[data-testid="stAlertContainer"]').filter(has_text="暂无已发布的积分结果")
        notice.wait_for()
        background, colour = notice.evaluate(
            "a => [getComputedStyle(a).backgroundColor, getComputedStyle(a.querySelector('p')).color]"
        )
        page.close()
    lighter, darker = sorted((_luminance(background), _luminance(colour)), reverse=True)
    assert (lighter + 0.05) / (darker + 0.05) >= 4.5, (background, colour)  # WCAG AA for text
