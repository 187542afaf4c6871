"""Clicks, logins and password changes survive the reruns around them on a busy server.

With Streamlit's fast reruns, a rerun request that arrives while a run is under way starts a new run at
once; the old one is stopped at its next session-state access, a callback included. Two things used to
send such requests without the person doing anything:

* the cookie component streamlit-authenticator drew on every page reported the browser's cookies a moment
  after each page load. A click made before that report arrived was dropped by it (seen under load as a
  login timeout and as a 保存草稿 that never saved). The login cookie is now read from the page's HTTP
  request on the server, so a page load is a single run;
* the component writing the login cookie reported back once written. It is now written by a script in
  the page, which reports nothing, and it needs no component at all.

The person's own second click still starts a new run beside a callback checking a password or saving;
the outcome is kept until a run takes it over (ui/pending.py). Every race is made to happen on purpose
(a report held back and let through right after the click, the SQLite database locked while the callback
works, component files refused), not left to the timing of a loaded machine.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.e2e.conftest import goto, login, wait_settled
from tests.seeded import database_session
from ui.auth import COOKIE_NAME

LOCK_SECONDS = 1.5  # well under the app's SQLite busy timeout (10 s)
PASSWORD = "RaceTest2026ok"
ACCOUNTS = ("race-draft", "race-login", "race-second", "race-change", "race-cookie")


@pytest.fixture(scope="module")
def accounts(e2e_database_url: str) -> dict[str, str]:
    """Enterprise accounts of this module's own (no other test's lockouts or reports in the way)."""
    from services.accounts import create_user, enterprises_without_account
    from services.actor import Actor

    with database_session(e2e_database_url) as session:
        free = enterprises_without_account(session, actor=Actor.system()).tail(len(ACCOUNTS))
        for username, enterprise_id in zip(ACCOUNTS, free["id"], strict=True):
            create_user(
                session,
                actor=Actor.system(),
                username=username,
                role="enterprise",
                enterprise_id=int(enterprise_id),
                password=PASSWORD,
            )
    return {name: name for name in ACCOUNTS}


def _has_cookie(page) -> bool:  # noqa: ANN001
    return any(c["name"] == COOKIE_NAME for c in page.context.cookies())


def _wait_for_cookie(page, seconds: float = 15) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _has_cookie(page):
            return True
        page.wait_for_timeout(100)
    return False


def _fill_login(page, username: str, password: str = PASSWORD) -> None:  # noqa: ANN001
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)


def _logged_in_in_a_new_tab(page, app_server: str) -> bool:  # noqa: ANN001
    tab = page.context.new_page()
    goto(tab, app_server, "")
    logged_in = tab.get_by_role("button", name="退出登录").count() == 1
    tab.close()
    return logged_in


def _logged_in_here_and_in_a_new_tab(page, app_server: str) -> None:  # noqa: ANN001
    """This page shows the login, its cookie reached the browser, and a new tab is logged in by it."""
    page.get_by_role("button", name="退出登录").wait_for(timeout=20_000)
    wait_settled(page)
    assert _wait_for_cookie(page), "the login cookie reached the browser"
    assert _logged_in_in_a_new_tab(page, app_server)


def _click_with_the_database_busy(
    page,  # noqa: ANN001
    database_url: str,
    button: str,
    *,
    then_open: str | None = None,
) -> None:
    """Click ``button`` while SQLite's write lock is held; with ``then_open``, click that page's link
    while the button's work waits for the database (the person's second click)."""
    with _database_locked(database_url):
        page.get_by_role("button", name=button).click()
        if then_open:
            page.wait_for_timeout(300)
            page.get_by_role("link", name=then_open).click()
        page.wait_for_timeout(LOCK_SECONDS * 1000)


@contextmanager
def _database_locked(database_url: str) -> Iterator[None]:
    """Hold SQLite's write lock: the app's next write waits for it (a slow database under load)."""
    connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=10, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def _reports_sent_after(page, click: bytes) -> dict:  # noqa: ANN001
    """Hold back every cookie report the page sends (the read-all component's, key ``init``) until the
    page sends a message containing ``click``; send them right behind it, as a report still on its way
    when the person clicked. Returns {"held": [...], "released": bool}."""
    state: dict = {"held": [], "released": False}

    def through_the_socket(ws) -> None:  # noqa: ANN001 - playwright WebSocketRoute
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            data = message if isinstance(message, bytes) else message.encode()
            if not state["released"] and click in data:
                state["released"] = True
                server.send(message)
                for report in state["held"]:
                    server.send(report)
                return
            if not state["released"] and b"-init" in data:
                state["held"].append(message)
                return
            server.send(message)

        ws.on_message(from_page)
        server.on_message(lambda message: ws.send(message))

    page.route_web_socket("**/_stcore/stream", through_the_socket)
    return state


def _let_a_report_come(page, state: dict) -> None:  # noqa: ANN001
    """A page with a component frame sends its report about a second after loading: wait for it."""
    if page.locator("iframe").count() == 0:
        return
    deadline = time.monotonic() + 10
    while not state["held"] and time.monotonic() < deadline:
        page.wait_for_timeout(100)


def test_a_draft_saved_right_after_the_page_loaded_is_saved_and_said(
    app_server: str,
    e2e_database_url: str,
    accounts: dict[str, str],
    new_page,  # noqa: ANN001
) -> None:
    page = new_page()
    login(page, app_server, accounts["race-draft"], PASSWORD)
    goto(page, app_server, "self-report")
    if page.get_by_text("申请更正本年度填报").count():  # an approved report: reopen it first
        page.get_by_text("申请更正本年度填报").click()
        page.get_by_label("更正原因（必填）").fill("补充研发投入")
        page.get_by_role("button", name="申请更正").click()
        wait_settled(page)
        page.get_by_text("填报已重新打开，请修改后再次提交审核。").wait_for()

    # A fresh page load (a new connection, the login restored from the cookie), then at once a click.
    state = _reports_sent_after(page, b"FormSubmitter:sr_numbers")
    goto(page, app_server, "self-report")
    _let_a_report_come(page, state)
    form = page.locator('[data-testid="stForm"]').filter(has=page.get_by_role("button", name="保存草稿"))
    form.locator('[data-testid="stNumberInput"] input').first.fill("4321")
    _click_with_the_database_busy(page, e2e_database_url, "保存草稿")
    page.get_by_text("草稿已保存。").wait_for(timeout=20_000)
    wait_settled(page)

    # Saved: a new page load shows the value from the database. And a page load was a single run: no
    # component reported the browser's cookies.
    goto(page, app_server, "self-report")
    saved = form.locator('[data-testid="stNumberInput"] input').first.input_value()
    assert float(saved.replace(",", "")) == 4321, saved
    assert not state["held"], "a component reported the page's cookies after the page load"


def test_a_login_right_after_the_page_loaded_is_kept(
    app_server: str,
    e2e_database_url: str,
    accounts: dict[str, str],
    new_page,  # noqa: ANN001
) -> None:
    page = new_page()
    state = _reports_sent_after(page, b"FormSubmitter:login_form")
    goto(page, app_server, "login")
    _let_a_report_come(page, state)
    _fill_login(page, accounts["race-login"])
    _click_with_the_database_busy(page, e2e_database_url, "登录")
    _logged_in_here_and_in_a_new_tab(page, app_server)
    assert not state["held"], "a component reported the page's cookies after the page load"


def test_a_second_click_during_the_password_check_does_not_lose_the_login(
    app_server: str,
    e2e_database_url: str,
    accounts: dict[str, str],
    new_page,  # noqa: ANN001
) -> None:
    page = new_page()
    goto(page, app_server, "login")
    _fill_login(page, accounts["race-second"])
    # The person opens another page while the password is being checked.
    _click_with_the_database_busy(page, e2e_database_url, "登录", then_open="指标体系")
    _logged_in_here_and_in_a_new_tab(page, app_server)


def test_a_second_click_during_a_password_change_keeps_this_browser_logged_in(
    app_server: str,
    e2e_database_url: str,
    accounts: dict[str, str],
    new_page,  # noqa: ANN001
) -> None:
    page = new_page()
    login(page, app_server, accounts["race-change"], PASSWORD)
    goto(page, app_server, "account")
    page.get_by_label("原密码").fill(PASSWORD)
    page.get_by_label("新密码", exact=True).fill("ChangedInARace2026")
    page.get_by_label("再次输入新密码").fill("ChangedInARace2026")
    # The person opens another page while every session is being revoked.
    _click_with_the_database_busy(page, e2e_database_url, "保存新密码", then_open="我的积分")
    wait_settled(page)
    page.get_by_role("button", name="退出登录").wait_for(timeout=20_000)
    # The next interaction still finds this browser logged in (its new session), and so does a new tab.
    goto(page, app_server, "self-report")
    page.get_by_role("heading", name="数据填报").wait_for()
    assert page.get_by_text(re.compile("登录已失效")).count() == 0
    assert page.get_by_role("button", name="退出登录").count() == 1
    assert _logged_in_in_a_new_tab(page, app_server)


def test_the_login_cookie_is_written_and_deleted_without_any_component(
    app_server: str,
    accounts: dict[str, str],
    new_page,  # noqa: ANN001
) -> None:
    page = new_page()
    refused: list[str] = []

    def no_component(route) -> None:  # noqa: ANN001 - playwright Route
        refused.append(route.request.url)
        route.abort()

    page.context.route("**/component/**", no_component)
    goto(page, app_server, "login")
    _fill_login(page, accounts["race-cookie"])
    page.get_by_role("button", name="登录").click()
    # Another run at once, before anything could have loaded: the person opens a page.
    page.get_by_role("button", name="退出登录").wait_for()
    page.get_by_role("link", name="数据填报").click()
    _logged_in_here_and_in_a_new_tab(page, app_server)

    page.get_by_role("button", name="退出登录").click()
    wait_settled(page)
    deadline = time.monotonic() + 10
    while _has_cookie(page) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert not _has_cookie(page), "logging out deleted the cookie"
    assert not _logged_in_in_a_new_tab(page, app_server)
    assert not refused, refused
