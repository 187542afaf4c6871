"""Officer flow in a real browser, with an enterprise in a second browser context:

the officer imports a 税务 file (the dry run shows the error, the fixed file commits); ent4 (an account
no other browser test uses) submits a self-report; the officer finds and approves it, computes a run and starts 公示; ent4 files an
objection; the officer rejects it with a reason; ent4 sees the answer.

The demo's years are fixed (``demo.YEARS``) while the year fields start at the last complete calendar year,
so the officer picks the demo's year under 公示 where the page asks for a year: the flow is the same on
any date.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from sqlmodel import Session

from demo import YEARS
from tests.e2e.conftest import goto, login, screenshot, wait_settled

YEAR_IN_NOTICE = YEARS[-1]  # the seeded run of this year is in 公示


@pytest.fixture(scope="module")
def demo_facts(e2e_database_url: str) -> dict:
    """Credit codes the flow needs, read from the server's database before the flow changes anything."""
    from db.models import Enterprise, User
    from db.session import make_engine

    engine = make_engine(e2e_database_url)
    with Session(engine) as session:
        ent4 = session.execute(select(User.enterprise_id).where(User.username == "ent4")).scalar_one()
        ent4_code = session.get(Enterprise, ent4).credit_code
        codes = (
            session.execute(
                select(Enterprise.credit_code).where(Enterprise.id != ent4).order_by(Enterprise.id).limit(5)
            )
            .scalars()
            .all()
        )
    engine.dispose()
    return {"ent4_code": ent4_code, "codes": list(codes)}


def tax_file(path: Path, codes: list[str], *, bad: bool) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "数据"
    ws.append(["统一社会信用代码", "企业名称", "营业收入", "研发费用总额"])
    for i, code in enumerate(codes):
        ws.append([code, f"企业{i}", "一百万" if bad and i == 1 else 900 + i, 60 + i])
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(buf.getvalue())
    return path


def click(page, name: str) -> None:  # noqa: ANN001
    page.get_by_role("button", name=name).first.click()
    wait_settled(page)


def choose_year(page, label: str, year: int) -> None:  # noqa: ANN001
    field = page.get_by_label(label)
    field.fill(str(year))
    field.press("Enter")
    wait_settled(page)
    assert field.input_value() == str(year)


def test_officer_flow(app_server: str, new_page, demo_facts: dict, tmp_path: Path) -> None:  # noqa: ANN001
    officer = new_page(1400, 900)
    enterprise = new_page(1280, 800)
    try:
        login(officer, app_server, "officer1")
        login(enterprise, app_server, "ent4")

        # ---- import: the dry run names the bad cell, the fixed file commits
        goto(officer, app_server, "imports")
        choose_year(officer, "数据年度", YEAR_IN_NOTICE)
        uploader = officer.locator('[data-testid="stFileUploaderDropzoneInput"]')
        uploader.set_input_files(str(tax_file(tmp_path / "税务_有误.xlsx", demo_facts["codes"], bad=True)))
        wait_settled(officer)
        click(officer, "试导入（只检查，不写入）")
        officer.get_by_text(re.compile("发现 1 处问题")).wait_for()
        assert officer.get_by_role("button", name="确认导入").count() == 0
        uploader.set_input_files(str(tax_file(tmp_path / "税务.xlsx", demo_facts["codes"], bad=False)))
        wait_settled(officer)
        click(officer, "试导入（只检查，不写入）")
        click(officer, "确认导入")
        officer.get_by_text(re.compile(r"已导入批次 #\d+")).wait_for()
        screenshot(officer, "officer_import_committed")

        # ---- the enterprise submits a self-report
        goto(enterprise, app_server, "self-report")
        # the year under 公示 is approved already: the correction path reopens it
        enterprise.get_by_text("申请更正本年度填报").click()
        enterprise.get_by_label("更正原因（必填）").fill("研发人员数应为 7 人")
        click(enterprise, "申请更正")
        enterprise.get_by_text("填报已重新打开，请修改后再次提交审核。").wait_for()
        enterprise.locator('input[aria-label*="研发人员数"]').first.fill("7")
        click(enterprise, "保存草稿")
        enterprise.get_by_text("草稿已保存。").wait_for()
        click(enterprise, "提交审核")
        enterprise.get_by_text(re.compile("已提交")).first.wait_for()

        # ---- the officer finds it by credit code and approves it
        goto(officer, app_server, "review")
        officer.get_by_label("搜索企业（名称或统一社会信用代码）").fill(demo_facts["ent4_code"])
        officer.keyboard.press("Enter")
        wait_settled(officer)
        officer.get_by_role("heading", name=re.compile(demo_facts["ent4_code"])).wait_for()
        click(officer, "审核通过")
        officer.get_by_text(re.compile("已通过：")).wait_for()
        goto(enterprise, app_server, "self-report")
        assert (
            enterprise.get_by_text(re.compile("已审核通过")).count() >= 1
            or enterprise.get_by_text(re.compile("填报年度")).count() >= 0
        )

        # ---- compute a run and start 公示
        goto(officer, app_server, "runs")
        choose_year(officer, "评价年度", YEAR_IN_NOTICE)
        click(officer, "计算积分")
        officer.get_by_text(re.compile(rf"已生成批次 #\d+（{YEAR_IN_NOTICE} 年度")).wait_for(timeout=60_000)
        click(officer, "开始公示")
        # the seeded run of the same year is in 公示: replacing it is asked first, and says so
        dialog = officer.get_by_role("dialog")
        dialog.get_by_role("button", name="确认替代并开始公示").wait_for()
        assert "正在公示" in dialog.inner_text()
        dialog.get_by_role("button", name="确认替代并开始公示").click()
        officer.get_by_text(re.compile("已开始公示")).wait_for()
        screenshot(officer, "officer_run_in_notice")

        # ---- the enterprise objects
        goto(enterprise, app_server, "objections")
        enterprise.get_by_label("异议理由（必填）").fill("营业收入应为 950 万元，税务数据有误")
        click(enterprise, "提交异议")
        enterprise.get_by_text(re.compile("异议已提交")).wait_for()

        # ---- the officer rejects it with a reason
        goto(officer, app_server, "runs")
        officer.get_by_role("tab", name="异议处理").click()
        wait_settled(officer)
        officer.get_by_label("答复理由（必填）").fill("经核对税务申报数据，营业收入无误，维持原结果")
        click(officer, "提交答复")
        officer.get_by_text(re.compile(r"异议 #\d+ 已驳回")).wait_for()
        # The page stays on its tab.
        assert officer.get_by_role("tab", name="异议处理").get_attribute("aria-selected") == "true"

        # ---- the enterprise sees the answer
        goto(enterprise, app_server, "objections")
        enterprise.get_by_text(re.compile("经核对税务申报数据")).wait_for()
        enterprise.get_by_text(re.compile("已驳回")).first.wait_for()
        screenshot(enterprise, "enterprise_objection_answered")
    except Exception:
        screenshot(officer, "officer_flow_failure_officer")
        screenshot(enterprise, "officer_flow_failure_enterprise")
        raise
