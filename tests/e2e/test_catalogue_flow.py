"""服务目录 in a real browser, two tabs of officers on one item: the second save of a form drawn before the
first one's is refused in Chinese and writes nothing (it used to overwrite the first silently); stopping
an item a 培育库 names opens a confirmation naming the pool, and only 确认停用 stops it."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlmodel import Session

from tests.e2e.conftest import goto, login, wait_settled

CODE = "hte_guidance"  # offered by the default model's 国家高新技术企业 pool


def _item(database_url: str):  # noqa: ANN202 - db.models.ServiceItem
    from db.models import ServiceItem
    from db.session import make_engine

    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return session.execute(select(ServiceItem).where(ServiceItem.code == CODE)).scalars().one()
    finally:
        engine.dispose()


def _open(page, base_url: str, name: str) -> None:  # noqa: ANN001
    goto(page, base_url, "service-catalogue")
    box = page.get_by_label("选择服务")
    box.click()
    page.get_by_role("option", name=re.compile(re.escape(name))).first.click()
    wait_settled(page)


def test_two_tabs_on_one_item_and_stopping_an_item_a_pool_names(
    app_server: str, new_page, e2e_database_url: str
) -> None:  # noqa: ANN001
    item = _item(e2e_database_url)
    first, second = new_page(1280, 900), new_page(1280, 900)
    for page in (first, second):
        login(page, app_server, "officer1")
        _open(page, app_server, item.name)

    first.get_by_label("服务说明").first.fill("第一个页面的说明")
    first.get_by_role("button", name="保存").click()
    wait_settled(first)
    first.get_by_text(f"已保存“{item.name}”。").wait_for()

    second.get_by_label("服务说明").first.fill("第二个页面的说明")
    second.get_by_role("button", name="保存").click()
    wait_settled(second)
    second.get_by_text(re.compile("该服务已被他人修改")).wait_for()
    assert "下方表单已载入最新内容" in second.get_by_role("alert").first.inner_text()
    assert second.get_by_label("服务说明").first.input_value() == "第一个页面的说明"
    assert _item(e2e_database_url).description == "第一个页面的说明"

    # stopping it asks first, naming the pool; nothing changes before 确认停用
    second.get_by_text("被以下内容引用：培育库“国家高新技术企业”").first.wait_for()
    second.get_by_role("checkbox", name="启用").first.uncheck(force=True)
    second.get_by_role("button", name="保存").click()
    dialog = second.get_by_role("dialog")
    dialog.get_by_role("button", name="确认停用").wait_for()
    assert "培育库“国家高新技术企业”" in dialog.inner_text()
    assert _item(e2e_database_url).active
    dialog.get_by_role("button", name="确认停用").click()
    dialog.wait_for(state="hidden")
    wait_settled(second)
    second.get_by_text(f"已停用“{item.name}”。").wait_for()
    stopped = _item(e2e_database_url)
    assert not stopped.active and stopped.description == "第一个页面的说明"

    # put it back as it was for the other e2e tests on this database
    second.get_by_role("checkbox", name="启用").first.check(force=True)
    second.get_by_label("服务说明").first.fill(item.description or "")
    second.get_by_role("button", name="保存").click()
    wait_settled(second)
    second.get_by_text(f"已保存“{item.name}”。").wait_for()
    restored = _item(e2e_database_url)
    assert restored.active and restored.description == item.description
