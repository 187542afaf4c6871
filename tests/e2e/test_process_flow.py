"""The run process in a real browser: a deep link survives a first login with a one-time password (point 14),
and 评价模型 keeps its first cell edit and asks before publishing (point 13)."""

from __future__ import annotations

import re

from tests.e2e.conftest import (
    goto,
    open_signed_in,
    replace_one_time_password,
    screenshot,
    wait_settled,
)
from tests.seeded import database_session


def _new_account(database_url: str, username: str, role: str) -> str:
    """An account with a one-time password (what 用户管理 hands out); returns the password."""
    from services import accounts
    from services.actor import Actor

    with database_session(database_url) as session:
        _, one_time = accounts.create_user(
            session, actor=Actor(username="admin", role="admin"), username=username, role=role
        )
    assert one_time
    return one_time


def test_deep_link_lands_after_the_one_time_password_is_replaced(
    app_server: str, e2e_database_url: str, new_page
) -> None:  # noqa: ANN001
    one_time = _new_account(e2e_database_url, "officer_new22", "officer")
    page = new_page(1280, 800)
    goto(page, app_server, "review")  # a colleague's link to 填报审核, opened before the first login
    page.get_by_text(re.compile("登录后将为您打开「填报审核」")).wait_for()
    page.get_by_label("用户名").fill("officer_new22")
    page.get_by_label("密码", exact=True).fill(one_time)
    page.get_by_role("button", name="登录").click()
    wait_settled(page)
    replace_one_time_password(page, one_time, "Review2026Pass")
    try:
        page.get_by_role("heading", name="填报审核").wait_for(timeout=40_000)
    except Exception:
        screenshot(page, "deep-link-after-password-change-failure")
        raise
    assert page.url.rstrip("/").endswith("/review"), page.url
    assert page.get_by_role("heading", name="修改密码").count() == 0
    screenshot(page, "deep-link-after-password-change")


def _core_points(database_url: str, version: str) -> dict[str, dict[str, float]]:
    from sqlalchemy import select

    from db.models import ModelVersion

    with database_session(database_url) as session:
        definition = session.execute(
            select(ModelVersion.definition).where(ModelVersion.version == version)
        ).scalar_one()
    return {i["code"]: dict(i["points"]) for i in definition["indicators"] if i.get("points")}


def _edit_cell(page, grid, row: int, value: str) -> None:  # noqa: ANN001
    """Select the 种子期 cell of data row ``row`` (the third column, about a third across the grid at
    1400 px), type the new value over it and press Enter — what a person does."""
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 0.355 * box["width"], box["y"] + 35 * (row + 1) + 17)
    page.wait_for_timeout(600)
    page.keyboard.type(value, delay=80)
    page.wait_for_timeout(400)
    page.keyboard.press("Enter")
    page.wait_for_timeout(600)


def test_first_cell_edit_is_kept_and_publishing_asks_first(
    app_server: str, e2e_database_url: str, new_page
) -> None:  # noqa: ANN001
    page = open_signed_in(new_page, app_server, "admin", "models", size=(1400, 900))
    # A session starts on the published version, as the admin's did: a try at editing it first (its tables
    # are read-only now; before, that edit and then the draft's first edit were lost).
    form = page.locator('[data-testid="stForm"]').first
    grid = form.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    _edit_cell(page, grid, 0, "99")
    page.get_by_role("button", name="从此版本创建草稿").click()
    wait_settled(page)
    created = page.get_by_text(re.compile(r"已创建草稿 (\S+)。"))
    created.wait_for()
    version = re.search(r"已创建草稿 (\S+)。", created.inner_text()).group(1)
    before = _core_points(e2e_database_url, version)
    first, second = list(before)[:2]
    stage = next(iter(before[first]))
    form = page.locator('[data-testid="stForm"]').first
    grid = form.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    # the first edit of the session, then its counterpart (each stage must still sum to the core total)
    _edit_cell(page, grid, 0, f"{before[first][stage] + 1:g}")
    screenshot(page, "model-first-edit")
    _edit_cell(page, grid, 1, f"{before[second][stage] - 1:g}")
    screenshot(page, "model-second-edit")
    page.get_by_role("button", name="保存草稿").click()
    wait_settled(page)
    page.get_by_text(f"草稿 {version} 已保存。").wait_for()
    after = _core_points(e2e_database_url, version)
    assert after[first][stage] == before[first][stage] + 1, (before[first], after[first])
    assert after[second][stage] == before[second][stage] - 1
    screenshot(page, "model-first-edit-kept")
    # Publishing asks first, saying what changes; 取消 publishes nothing.
    page.get_by_role("button", name="发布此版本").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="确认发布").wait_for()
    assert "新的积分计算将使用该版本" in dialog.inner_text()
    dialog.get_by_role("button", name="取消").click()
    dialog.wait_for(state="hidden")
    wait_settled(page)
    assert page.get_by_text(re.compile(f"版本 {re.escape(version)} 已发布")).count() == 0
