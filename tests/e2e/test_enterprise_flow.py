"""Enterprise journey in a real browser: login, portrait with chart, self-report with evidence, session
cookie across reloads, logout, lockout, and the phone layout (390×844) without horizontal overflow."""

from __future__ import annotations

import re

from tests.e2e.conftest import ARTIFACTS, horizontal_overflow, login, screenshot, wait_settled

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CHART = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'


def _select(page, form, label: str, option: str | None) -> None:  # noqa: ANN001
    """Pick a selectbox option by typing to filter and clicking it (None: the first option).

    Never press Enter: inside a st.form it submits the form.
    """
    box = form.get_by_label(label)
    box.click()
    box.fill(option if option is not None else "20")
    choice = page.get_by_role("option", name=option, exact=True) if option else page.get_by_role("option")
    choice.first.click()
    page.wait_for_timeout(200)


def _add_item(
    page,
    title: str,
    values: dict[str, str],
    choices: dict[str, str],  # noqa: ANN001
    first_option: tuple[str, ...] = (),
) -> None:
    wait_settled(page)
    form = page.locator('[data-testid="stForm"]').filter(has_text=title).first
    # The "添加…" expander is collapsed once the list has items. Ask the <details> whether it is open
    # rather than whether the form is visible: on a busy machine a form still being drawn is invisible
    # for a moment, and clicking then would close an open expander.
    expander = page.locator('[data-testid="stExpander"]').filter(has=form).first
    if expander.count() and not expander.evaluate(
        "e => (e.tagName === 'DETAILS' ? e : e.querySelector('details')).open"
    ):
        expander.locator("summary").first.click()
    form.get_by_label(next(iter(values))).wait_for(state="visible")
    for label, value in values.items():
        form.get_by_label(label).fill(value)
    for label, option in choices.items():
        _select(page, form, label, option)
    for label in first_option:
        _select(page, form, label, None)
    form.get_by_role("button", name="添加").click()
    wait_settled(page)


def _add_group_standard(page, name: str, number: str) -> None:  # noqa: ANN001
    """Add a 团体 standard the enterprise led, published in the first year the form offers."""
    _add_item(
        page,
        "标准名称",
        {"标准名称（必填）": name, "标准编号（必填）": number},
        {"级别（必填）": "团体", "角色（必填）": "主导"},
        first_option=("发布年份（必填）",),
    )


def _reopen_for_correction(page, reason: str) -> None:  # noqa: ANN001
    """Every demo enterprise's report of the year under 公示 is approved (ent2's waits for review):
    to add an item its owner first reopens it with 申请更正."""
    page.get_by_text("申请更正本年度填报").click()
    page.get_by_label("更正原因（必填）").fill(reason)
    page.get_by_role("button", name="申请更正").click()
    wait_settled(page)
    page.get_by_text("填报已重新打开，请修改后再次提交审核。").wait_for()


def _upload_last(page, tmp_path) -> None:  # noqa: ANN001
    """Choose a file for the newest item (the last uploader on the page): choosing it uploads it."""
    pdf = tmp_path / "证明材料.pdf"
    pdf.write_bytes(PDF)
    before = page.get_by_text("证明材料.pdf").count()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').last.set_input_files(str(pdf))
    wait_settled(page)
    assert page.get_by_role("button", name="上传材料").count() == 0  # no second click exists
    page.get_by_text(re.compile("已上传“证明材料.pdf”")).first.wait_for()
    assert page.get_by_text("证明材料.pdf").count() > before


def test_enterprise_flow(app_server: str, new_page, tmp_path) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(exist_ok=True)
    page = new_page(1280, 800)
    login(page, app_server, "ent1")
    page.get_by_role("heading", name="我的积分").wait_for()
    page.wait_for_selector(CHART, timeout=20_000)
    assert page.locator(CHART).count() > 0
    screenshot(page, "portrait-1280x800")

    # Reload keeps the session (the re-authentication cookie).
    page.reload()
    wait_settled(page)
    page.get_by_role("heading", name="我的积分").wait_for()

    # Self-report: a standard and a talent, each with a pdf, then submit.
    page.goto(f"{app_server}/self-report")
    wait_settled(page)
    page.get_by_role("heading", name="数据填报").wait_for()
    page.get_by_text(re.compile(r"正在填报 \d{4} 年度")).wait_for()  # the form names its year
    # The year under 公示 is the filing year and ent1's report of it is approved: reopen it to correct it.
    _reopen_for_correction(page, "漏报一项团体标准和一名博士")
    _add_group_standard(page, "智能阀门通用技术条件", "T/WZ 001-2025")
    assert page.get_by_text("智能阀门通用技术条件").count() > 0
    # Submitting without the evidence: the error appears next to the button, not only at the top.
    submit = page.get_by_role("button", name="提交审核")
    submit.click()
    wait_settled(page)
    error = page.locator('[data-testid="stAlertContentError"]').filter(has_text="证明材料")
    error.first.wait_for()
    button_box, error_box = submit.bounding_box(), error.first.bounding_box()
    assert 0 <= error_box["y"] - (button_box["y"] + button_box["height"]) < 120, (button_box, error_box)
    screenshot(page, "self-report-missing-evidence-1280x800")
    _upload_last(page, tmp_path)
    page.get_by_text("证明材料.pdf").first.wait_for()
    _add_item(
        page, "人才层次", {"姓名（必填）": "张博士"}, {"人才层次（必填）": "博士", "角色（必填）": "核心成员"}
    )
    _upload_last(page, tmp_path)
    screenshot(page, "self-report-1280x800")
    page.get_by_role("button", name="提交审核").click()
    wait_settled(page)
    errors = page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
    assert not errors, errors
    page.get_by_text("已提交审核").first.wait_for()

    # Logout, then a reload stays logged out.
    page.get_by_role("button", name="退出登录").click()
    wait_settled(page)
    page.reload()
    wait_settled(page)
    assert page.get_by_role("button", name="退出登录").count() == 0
    page.goto(f"{app_server}/my-score")
    wait_settled(page)
    assert page.get_by_role("heading", name="我的积分").count() == 0

    # Six wrong passwords make another account wait, with the message shown (the same as for unknown names).
    for _ in range(6):
        page.goto(f"{app_server}/login") if "login" not in page.url else None
        page.get_by_label("用户名").fill("ent5")
        page.get_by_label("密码", exact=True).fill("wrong-password-1")
        page.get_by_role("button", name="登录").click()
        wait_settled(page)
    page.get_by_text(re.compile("登录失败次数过多")).first.wait_for()
    login(page, app_server, "ent5", expect_success=False)
    assert page.get_by_text(re.compile("登录失败次数过多")).count() > 0


def test_phone_layout_has_no_horizontal_overflow(app_server: str, new_page) -> None:  # noqa: ANN001
    page = new_page(390, 844)
    login(page, app_server, "ent3")
    page.get_by_role("heading", name="我的积分").wait_for()
    page.wait_for_selector(CHART, timeout=20_000)
    screenshot(page, "portrait-390x844")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    assert horizontal_overflow(page) <= 1
    page.goto(f"{app_server}/self-report")
    wait_settled(page)
    page.get_by_role("heading", name="数据填报").wait_for()
    screenshot(page, "self-report-390x844")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
