"""A new user's first week in a real browser: deep links that log you in, no request leaving the server,
no English built-in texts, no horizontal overflow (1280×800 and 390×844), confirmations before acts.

Screenshots of every page and size are kept in test-artifacts/.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from tests.e2e.chinese_scan import grid_text, visible
from tests.e2e.conftest import (
    DEMO_PASSWORD,
    goto,
    horizontal_overflow,
    login,
    outside_requests,
    screenshot,
    wait_settled,
)
from ui.navigation import ADMIN, BANK, ENTERPRISE, OFFICER, PUBLIC, PageSpec


def _addresses(specs: list[PageSpec], *extra: str) -> list[str]:
    """Every page of a role: its landing page at "/" and each page's own address (the landing one too)."""
    return ["", *(spec.url_path for spec in specs), *extra]


PUBLIC_PAGES = _addresses(PUBLIC, "login")
ENTERPRISE_PAGES = _addresses(ENTERPRISE, "account")
OFFICER_PAGES = _addresses(OFFICER)
STAFF_PAGES = {"admin": _addresses(OFFICER + ADMIN, "account"), "bank1": _addresses(BANK, "account")}
SIZES = [(1280, 800), (390, 844)]

# Streamlit's built-in English texts (whole words), and the empty-cell texts of pandas.
ENGLISH = re.compile(
    r"\b(Upload|Browse files|Drag and drop|per file|Choose options?|Choose an option|Select all|No results|"
    r"No options to select|empty|None|NaN|nan|NaT|null|Page not found|Press Enter)\b"
)


def visible_text(page) -> str:  # noqa: ANN001
    """What a person sees on the page (chinese_scan's visible texts, the grids' cells in view included)."""
    return "\n".join(text for text, _ in visible(page))


class TableWatcher:
    """What the tables on a page will draw, read from the app's own messages to the browser.

    The data grid paints on a canvas (a missing value as "None", an empty frame as "empty") and its
    fallback table leaves missing cells blank, so the DOM cannot tell. The websocket can: every table
    arrives as an Arrow batch with the element's ``placeholder`` for missing cells.
    """

    def __init__(self, page) -> None:  # noqa: ANN001
        self.problems: list[str] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:  # noqa: ANN001
        if isinstance(payload, str):
            return
        import pyarrow as pa
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            msg = ForwardMsg.FromString(payload)
        except Exception:  # noqa: BLE001 - not a ForwardMsg (nothing to check)
            return
        if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
            return
        element = msg.delta.new_element
        if element.WhichOneof("type") != "dataframe" or not element.dataframe.arrow_data.data:
            return
        frame = pa.ipc.open_stream(element.dataframe.arrow_data.data).read_all()
        columns = [n for n in frame.column_names if not n.startswith("__index_level_")]
        if frame.num_rows == 0:
            self.problems.append(f"an empty table (drawn as 'empty'): {columns}")
            return
        for name in columns:
            column = frame.column(name)
            if column.null_count and not element.dataframe.HasField("placeholder"):
                self.problems.append(f"column {name!r}: {column.null_count} missing cells drawn as 'None'")
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                words = {v for v in column.to_pylist() if v in ("None", "nan", "NaN", "NaT", "null")}
                if words:
                    self.problems.append(f"column {name!r} holds {sorted(words)}")

    def take(self) -> list[str]:
        problems, self.problems = self.problems, []
        return problems


def english_in(page) -> list[str]:  # noqa: ANN001
    """English built-in texts on the page, every cell of its tables and its open dropdowns included."""
    found = set(ENGLISH.findall(visible_text(page)))
    for corner in ([1, 0], [1, 1], [0, 1], [0, 0]):
        found |= set(ENGLISH.findall(grid_text(page, corner)))
    # A multiselect's dropdown ("Select all", "No results") only exists while open.
    boxes = page.locator('[data-testid="stMultiSelect"] input:not([disabled])')
    for i in range(boxes.count()):
        box = boxes.nth(i)
        if not box.is_visible():
            continue
        box.click()
        page.wait_for_timeout(300)
        found |= set(ENGLISH.findall(visible_text(page)))
        page.keyboard.press("Escape")
        page.wait_for_timeout(200)
    return sorted(found)


def _log_in_here(page, username: str) -> None:  # noqa: ANN001
    """Fill the login form shown on the current page (a deep link's 登录 gate)."""
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    wait_settled(page)
    page.get_by_role("button", name="退出登录").wait_for()


def _no_dialog(page) -> None:  # noqa: ANN001
    dialogs = page.locator('[role="dialog"]')
    assert dialogs.count() == 0, dialogs.all_inner_texts()


def test_logged_out_deep_link_logs_in_on_that_page(app_server: str, new_page) -> None:  # noqa: ANN001
    page = new_page(1280, 800)
    goto(page, app_server, "review")  # goto insists: no "Page not found" dialog
    page.get_by_role("heading", name="登录").wait_for()
    assert page.get_by_text("请先登录").count() > 0
    screenshot(page, "deep-link-review-logged-out")
    _log_in_here(page, "officer1")
    page.get_by_role("heading", name="填报审核").wait_for()
    assert urlparse(page.url).path.endswith("/review")
    _no_dialog(page)
    # A reload (the cookie logs in again) stays on the page asked for.
    page.reload()
    wait_settled(page)
    page.get_by_role("heading", name="填报审核").wait_for()
    _no_dialog(page)
    screenshot(page, "deep-link-review-after-login")


def test_enterprise_home_page_deep_link(app_server: str, new_page) -> None:  # noqa: ANN001
    page = new_page(1280, 800)
    goto(page, app_server, "my-score")
    page.get_by_role("heading", name="登录").wait_for()
    assert page.get_by_text("请先登录").count() > 0
    _log_in_here(page, "ent2")
    page.get_by_role("heading", name="我的积分").wait_for()
    _no_dialog(page)


def test_officer_link_for_an_enterprise_user_opens_its_home(app_server: str, new_page) -> None:  # noqa: ANN001
    # Logged out first, then logging in as an enterprise on the officer page's 登录 gate …
    page = new_page(1280, 800)
    goto(page, app_server, "runs")
    _log_in_here(page, "ent2")
    page.get_by_role("heading", name="我的积分").wait_for()
    assert page.get_by_text(re.compile("「积分计算与公示」不对企业用户开放")).count() > 0
    assert page.get_by_role("heading", name="积分计算与公示").count() == 0
    _no_dialog(page)
    # … and the same link opened while logged in.
    goto(page, app_server, "review")
    page.get_by_role("heading", name="我的积分").wait_for()
    assert page.get_by_text(re.compile("「填报审核」不对企业用户开放")).count() > 0
    # A stale bookmark: a Chinese message, not Streamlit's dialog.
    goto(page, app_server, "old-bookmark")
    assert page.get_by_text(re.compile("您访问的页面不存在")).count() > 0
    screenshot(page, "deep-link-officer-page-as-enterprise")


def test_no_request_leaves_the_server(app_server: str, new_page) -> None:  # noqa: ANN001
    """Government intranets are offline: favicon, fonts, icons, charts — all from the app's own host."""
    outside, watch = outside_requests(app_server)

    anonymous = new_page(1280, 800)
    watch(anonymous)
    for path in PUBLIC_PAGES + ["review"]:
        goto(anonymous, app_server, path)
    enterprise = new_page(390, 844)
    watch(enterprise)
    login(enterprise, app_server, "ent3")
    for path in ENTERPRISE_PAGES:
        goto(enterprise, app_server, path)
    officer = new_page(1280, 800)
    watch(officer)
    login(officer, app_server, "officer2")
    for path in OFFICER_PAGES:
        goto(officer, app_server, path)
    officer.wait_for_timeout(1000)  # late requests (favicon, fonts) of the last page
    assert not outside, sorted(set(outside))


def page_problems(page, tables, base: str, path: str, name: str, *, settle_ms: int) -> dict[str, object]:  # noqa: ANN001
    """Open ``path`` of the app at ``base`` and say what a phone or desktop user would meet there: English built-in text, tables
    drawing 'None' (``tables``: the page's TableWatcher), sideways scrolling — keyed ``"{name}: …"``."""
    tables.take()
    goto(page, base, path)
    page.wait_for_timeout(settle_ms)  # charts and grids finish drawing
    found: dict[str, object] = {}
    english = english_in(page)
    if english:
        found[f"{name}: English"] = english
    cells = tables.take()
    if cells:
        found[f"{name}: tables"] = cells
    overflow = horizontal_overflow(page)
    if overflow > 1:
        found[f"{name}: overflow"] = f"{overflow}px"
    return found


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_public_and_enterprise_pages_speak_chinese_and_fit(
    app_server: str,
    new_page,
    width: int,  # noqa: ANN001
    height: int,
) -> None:
    problems: dict[str, object] = {}

    def check(page, role: str, path: str) -> None:  # noqa: ANN001
        name = f"{role}-{path or 'home'}-{width}x{height}"
        problems.update(page_problems(page, tables, app_server, path, name, settle_ms=500))
        screenshot(page, name)

    anonymous = new_page(width, height)
    tables = TableWatcher(anonymous)
    for path in PUBLIC_PAGES:
        check(anonymous, "public", path)
    enterprise = new_page(width, height)
    tables = TableWatcher(enterprise)
    login(enterprise, app_server, "ent3")
    for path in ENTERPRISE_PAGES:
        check(enterprise, "enterprise", path)
    assert not problems, problems


# A text field's hint wider than the field: a phone shows its first half only (an input never wraps).
CUT_PLACEHOLDERS = """() => {
  const measure = document.createElement('canvas').getContext('2d');
  const cut = [];
  for (const field of document.querySelectorAll('input[placeholder]')) {
    const style = getComputedStyle(field);
    if (field.value || !field.getClientRects().length || style.visibility === 'hidden') continue;
    if (getComputedStyle(field, '::placeholder').color === 'rgba(0, 0, 0, 0)') continue;  // not drawn
    measure.font = `${style.fontSize} ${style.fontFamily}`;
    const room = field.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    if (measure.measureText(field.placeholder).width > room + 1) cut.push(field.placeholder);
  }
  return cut;
}"""


def test_staff_and_bank_pages_fit_a_phone(app_server: str, new_page) -> None:  # noqa: ANN001
    """Every page of the admin (the officer pages and its own) and of a bank at 390×844: no sideways
    scrolling, no English built-in text, no table drawing 'None', no field hint cut off (an officer
    reads the lists on the go)."""
    problems: dict[str, object] = {}
    for username, paths in STAFF_PAGES.items():
        page = new_page(390, 844)
        tables = TableWatcher(page)
        login(page, app_server, username)
        for path in paths:
            name = f"{username}-{path or 'home'}-390"
            found = page_problems(page, tables, app_server, path, name, settle_ms=300)
            if f"{name}: overflow" in found:
                screenshot(page, name)
            problems.update(found)
            cut = page.evaluate(CUT_PLACEHOLDERS)
            if cut:
                problems[f"{name}: placeholder cut off"] = cut
    assert not problems, problems


def test_overflow_in_the_app_area_is_measured(app_server: str, new_page) -> None:  # noqa: ANN001
    """The app's main area scrolls by itself: what is too wide for a phone widens it, not the document,
    and horizontal_overflow must see it (else every check of it above would pass on any page)."""
    page = new_page(390, 844)
    goto(page, app_server, "")
    assert horizontal_overflow(page) <= 1
    page.evaluate(
        """() => { const wide = document.createElement('div'); wide.style.width = '900px';
        wide.style.height = '10px';
        document.querySelector('[data-testid="stMainBlockContainer"]').appendChild(wide); }"""
    )
    assert horizontal_overflow(page) > 400


def test_finalising_a_run_asks_first_and_says_what_happens(app_server: str, new_page) -> None:  # noqa: ANN001
    page = new_page(1280, 800)
    login(page, app_server, "officer1")
    goto(page, app_server, "runs")
    page.get_by_role("button", name="定稿（不可撤销）").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    # the dialog's title arrives before its body: wait for the body rather than read it at once
    dialog.get_by_role("button", name="确认定稿").wait_for()
    assert "不可再修改" in dialog.inner_text()
    assert dialog.get_by_role("button", name="确认定稿").count() == 1
    screenshot(page, "runs-finalise-confirm")
    dialog.get_by_role("button", name="取消").click()
    page.get_by_role("dialog").wait_for(state="hidden")
    wait_settled(page)
    # Nothing happened: the run is still in its notice window.
    assert page.get_by_role("button", name="定稿（不可撤销）").count() == 1
    assert page.get_by_text(re.compile(r"批次 #\d+ 已定稿")).count() == 0
