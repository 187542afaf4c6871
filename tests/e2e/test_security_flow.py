"""Security in a real browser: 用户管理 bulk accounts → one-time password → change it; unlock a
throttled officer; a copied cookie dies with logout; a malformed cookie shows the public home page."""

from __future__ import annotations

import io

import jwt
import openpyxl

from tests.e2e.conftest import login, open_signed_in, replace_one_time_password, screenshot, wait_settled
from tests.seeded import database_session

COOKIE = "innovation_points_auth"
EXCEPTION = '[data-testid="stException"]'


def _pick(page, label: str, text: str) -> None:  # noqa: ANN001
    box = page.get_by_label(label)
    box.click()
    box.fill(text)
    page.get_by_role("option", name=text, exact=True).first.click()
    wait_settled(page)


def _three_without_account(database_url: str) -> list[tuple[str, str]]:
    from services.accounts import enterprises_without_account
    from services.actor import Actor

    with database_session(database_url) as session:
        frame = enterprises_without_account(session, actor=Actor.system(), limit=3)
    return list(zip(frame["name"], frame["credit_code"], strict=True))


def test_bulk_accounts_one_time_password_and_unlock(app_server: str, e2e_database_url: str, new_page) -> None:  # noqa: ANN001
    admin = open_signed_in(new_page, app_server, "admin", "users", size=(1280, 900))
    admin.get_by_role("heading", name="用户管理").wait_for()
    picker = admin.locator('[data-testid="stMultiSelect"]').first
    for name, code in _three_without_account(e2e_database_url):
        box = picker.locator("input").first
        box.click()
        box.fill(code)
        admin.get_by_role("option", name=f"{name}（{code}）").first.click()
        admin.keyboard.press("Escape")
        wait_settled(admin)
    admin.get_by_role("button", name="为所选 3 家企业开通账户").click()
    wait_settled(admin)
    with admin.expect_download() as download:
        admin.get_by_role("button", name="下载账户与一次性密码（xlsx）").click()
    sheet = openpyxl.load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active  # noqa: SIM115
    header, *rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert len(rows) == 3
    username, password = rows[0][header.index("用户名")], rows[0][header.index("一次性密码")]
    screenshot(admin, "security_bulk_accounts")

    # The new enterprise user signs in with the one-time password and must replace it first.
    user = new_page(1280, 800)
    login(user, app_server, username, password)
    replace_one_time_password(user, password, "MyOwnPass2026")
    user.get_by_role("link", name="我的积分").wait_for()  # the one-time restriction is gone
    assert user.locator(EXCEPTION).count() == 0

    # A stranger's failures make officer2 wait; the admin lifts it at once.
    officer = new_page(1280, 800)
    for _ in range(5):
        login(officer, app_server, "officer2", "wrong-password-1", expect_success=False)
    login(officer, app_server, "officer2", expect_success=False)
    officer.get_by_text("登录失败次数过多").first.wait_for()
    admin.reload()
    wait_settled(admin)
    _pick(admin, "选择账户", "officer2")
    admin.get_by_role("button", name="解除登录限制").click()
    wait_settled(admin)
    admin.get_by_text("已解除 officer2 的登录限制").wait_for()
    login(officer, app_server, "officer2")


def test_copied_cookie_dies_with_logout_and_malformed_cookies_are_logged_out(
    app_server: str,
    browser,  # noqa: ANN001
    new_page,
) -> None:
    page = new_page(1280, 800)
    login(page, app_server, "ent2")
    copied = [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert copied, "the login wrote its cookie"
    page.get_by_role("button", name="退出登录").click()
    wait_settled(page)

    for value in (
        copied[0]["value"],  # the copy of a logged-out session
        jwt.encode({"username": "admin", "sid": "x", "exp": 4102444800}, None, algorithm="none"),
        jwt.encode({"username": "admin", "sid": "x", "exp": 4102444800}, "k" * 64, algorithm="HS512"),
        "garbage.garbage.garbage",
    ):
        other = browser.new_context(locale="zh-CN")
        other.add_cookies([{"name": COOKIE, "value": value, "url": app_server}])
        visitor = other.new_page()
        visitor.goto(app_server)
        wait_settled(visitor)
        visitor.get_by_role("link", name="登录").first.wait_for()
        assert visitor.get_by_role("button", name="退出登录").count() == 0
        assert visitor.locator(EXCEPTION).count() == 0
        other.close()
