"""Partner banks in a real browser: the admin creates a partner bank's account, the bank signs in (replacing
its one-time password), downloads its whitelist and records a loan; the officer sees it in 金融推荐 and in
the final run's 监测报告 (融资与扶持)."""

from __future__ import annotations

import io
import re
import time

import openpyxl
from sqlalchemy import select

from db.models import Enterprise
from tests.e2e.chinese_scan import grid_text
from tests.e2e.conftest import (
    goto,
    login,
    open_signed_in,
    replace_one_time_password,
    screenshot,
    wait_settled,
)
from tests.seeded import database_session

EXCEPTION = '[data-testid="stException"]'
BANK = "瑞安农商银行"


def _consenting(database_url: str) -> set[str]:
    with database_session(database_url) as session:
        return set(
            session.execute(select(Enterprise.credit_code).where(Enterprise.bank_consent.is_(True))).scalars()
        )


def test_bank_account_whitelist_download_and_a_loan_seen_by_the_officer(
    app_server: str, e2e_database_url: str, new_page
) -> None:  # noqa: ANN001
    admin = open_signed_in(new_page, app_server, "admin", "users", size=(1280, 900))
    admin.get_by_role("heading", name="新建合作银行账户").wait_for()
    form = admin.locator('[data-testid="stForm"]').filter(
        has=admin.get_by_role("button", name="创建银行账户")
    )
    form.get_by_role("textbox", name="用户名").fill("bank2")
    form.get_by_role("textbox", name="姓名或名称").fill("陈晨（瑞安农商银行）")
    form.get_by_role("textbox", name="所属银行").fill(BANK)
    form.get_by_role("button", name="创建银行账户").click()
    wait_settled(admin)
    admin.get_by_text("已创建合作银行账户 bank2").wait_for()
    password = admin.locator('[data-testid="stCode"] code').first.inner_text().strip()
    assert len(password) >= 10

    bank = new_page(1280, 900)
    login(bank, app_server, "bank2", password)
    replace_one_time_password(bank, password, "RuianCredit2026x")
    bank.get_by_role("link", name="推荐名单").first.wait_for()  # the one-time restriction is gone
    goto(bank, app_server, "")  # the bank's landing page
    bank.get_by_role("heading", name="推荐名单").wait_for()
    assert bank.get_by_role("link", name="金融推荐").count() == 0  # no officer page in a bank's navigation
    bank.get_by_role("button", name=re.compile("生成下载文件")).click()
    wait_settled(bank)
    with bank.expect_download() as download:
        bank.get_by_role("button", name=re.compile(r"下载 推荐名单_批次\d+\.xlsx")).click()
    sheet = openpyxl.load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active  # noqa: SIM115
    header, *rows = [[c.value for c in r] for r in sheet.iter_rows()]
    codes = {r[header.index("统一社会信用代码")] for r in rows}
    assert rows and codes <= _consenting(e2e_database_url)
    first_name, first_code = rows[0][header.index("企业名称")], rows[0][header.index("统一社会信用代码")]
    screenshot(bank, "bank_whitelist")

    goto(bank, app_server, "bank-outcomes")
    bank.get_by_role("heading", name="录入一条结果").wait_for()
    box = bank.get_by_label("企业", exact=True)
    box.click()
    box.fill(first_code)
    bank.get_by_role("option", name=re.compile(first_code)).first.click()
    bank.get_by_role("textbox", name="产品名称").fill("科创积分贷")
    bank.locator('[data-testid="stRadio"] label').filter(has_text="放款").click()
    bank.get_by_role("spinbutton", name="金额（万元）").fill("286.5")
    bank.get_by_role("spinbutton", name="年利率（%）").fill("3.6")
    bank.get_by_role("button", name="保存结果").click()
    wait_settled(bank)
    bank.get_by_text("已保存").first.wait_for()
    assert bank.locator(EXCEPTION).count() == 0
    screenshot(bank, "bank_outcome_recorded")

    officer = new_page(1280, 900)
    login(officer, app_server, "officer1")
    goto(officer, app_server, "bank")
    officer.get_by_role("heading", name="合作银行报送的贷款结果").wait_for()
    cells = ""
    deadline = time.monotonic() + 20  # the grids below the fold are drawn once scrolled to
    while (
        not (BANK in cells and "科创积分贷" in cells and first_name in cells) and time.monotonic() < deadline
    ):
        officer.locator('[data-testid="stDataFrame"]').last.scroll_into_view_if_needed()
        cells = grid_text(officer, [0, 0])  # the grids' cells in view (fallback tables)
    assert BANK in cells and "科创积分贷" in cells and first_name in cells, cells[-2000:]
    assert officer.locator(EXCEPTION).count() == 0
    screenshot(officer, "bank_outcomes_officer")

    # 监测报告 of the final run counts the loan in its money side (融资与扶持)
    goto(officer, app_server, "monitoring")
    picker = officer.get_by_label("积分批次")
    picker.click()
    officer.get_by_role("option", name=re.compile("已定稿")).first.click()
    wait_settled(officer)
    officer.get_by_role("button", name="生成监测报告").click()
    wait_settled(officer, timeout_s=90)
    heading = officer.get_by_role("heading", name="融资与扶持（按阶段）")
    heading.wait_for()
    grid = officer.locator(
        '[data-testid="stElementContainer"]:has(h4:has-text("融资与扶持（按阶段）")) ~ '
        '[data-testid="stElementContainer"] [data-testid="stDataFrame"]'
    ).first
    text = ""
    deadline = time.monotonic() + 20
    while "286.5" not in text and time.monotonic() < deadline:
        grid.scroll_into_view_if_needed()
        officer.wait_for_timeout(300)
        text = grid.evaluate(
            "g => Array.from(g.querySelectorAll('table td')).map(td => td.textContent).join('|')"
        )
    assert "286.5" in text, text
    screenshot(officer, "bank_outcome_in_monitoring")
