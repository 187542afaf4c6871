"""企业检索 in a real browser: an officer finds an enterprise by its pinyin initials, narrows the search
with a stage filter, exports the result (the download arrives and holds the rows), then picks three
enterprises of one stage — the first in the initials search, two more after the filter — and opens
同阶段对比 with them.

The rest of the issue's browser flow — a bank whitelist exported, the enterprise withdrawing consent on
政策与服务 and the next whitelist excluding it — is tests/e2e/test_scenarios_flow.py.
Screenshots and the downloaded file are kept under test-artifacts/.
"""

from __future__ import annotations

import re

import openpyxl
from sqlalchemy import select
from sqlmodel import Session

from tests.e2e.conftest import ARTIFACTS, goto, login, screenshot, wait_settled


def _facts(database_url: str) -> dict:
    """A ranked enterprise of the default run whose initials are distinctive, its stage, and two more
    enterprises of that stage."""
    from core.search import name_keys
    from db.models import Enterprise, Score
    from db.session import make_engine
    from services.model_versions import get_model
    from services.search_data import default_run

    engine = make_engine(database_url)
    with Session(engine) as session:
        run = default_run(session)
        model = get_model(session, run.model_version_id)
        rows = session.execute(
            select(Enterprise.name, Enterprise.credit_code, Score.stage)
            .join(Score, Score.enterprise_id == Enterprise.id)
            .where(Score.run_id == run.id, Score.rank.is_not(None))  # type: ignore[union-attr]
            .order_by(Score.stage, Score.rank)
        ).all()
    engine.dispose()
    initials = [name_keys(name).initials.split("|")[0] for name, _, _ in rows]
    counts: dict[str, int] = {}
    for key in initials:
        counts[key[:4]] = counts.get(key[:4], 0) + 1
    per_stage: dict[str, list] = {}
    for row in rows:
        per_stage.setdefault(row[2], []).append(row)
    for (name, code, stage), key in zip(rows, initials, strict=True):
        if counts[key[:4]] == 1 and len(per_stage[stage]) >= 3:
            others = [r for r in per_stage[stage] if r[1] != code][:2]
            return {
                "name": name,
                "code": code,
                "initials": key[:4],
                "stage": model.stage_name(stage),
                "compared": [(name, code), *((n, c) for n, c, _ in others)],
            }
    raise AssertionError("no enterprise with distinctive initials in a stage of three or more")


def _pick_in(page, container, label: str, option: str) -> None:  # noqa: ANN001
    """Choose ``option`` in the multiselect labelled ``label`` (typing to filter, then clicking)."""
    box = container.get_by_label(label)
    box.click()
    box.fill(option[-18:] if "（" in option else option)
    page.get_by_role("option", name=option, exact=True).first.click()
    page.keyboard.press("Escape")


def test_search_initials_filter_export_compare(app_server: str, new_page, e2e_database_url: str) -> None:  # noqa: ANN001
    facts = _facts(e2e_database_url)
    officer = new_page(1400, 1000)
    try:
        login(officer, app_server, "officer1")
        goto(officer, app_server, "search")
        officer.get_by_role("heading", name="企业检索").wait_for()
        form = officer.locator('[data-testid="stForm"]').first

        # ---- pinyin initials find the enterprise
        form.get_by_role("textbox", name="查找企业").fill(facts["initials"])
        form.get_by_role("button", name="检索").click()
        wait_settled(officer)
        officer.get_by_text(re.compile(r"符合条件 1 家")).wait_for()
        screenshot(officer, "search_by_initials")
        picker = "选择企业（查看画像选 1 家，同阶段对比选 2–5 家）"
        target, *others = facts["compared"]
        _pick_in(officer, officer, picker, f"{target[0]}（{target[1]}）")  # picked now, compared later
        wait_settled(officer)

        # ---- a stage filter keeps it (same stage) and then a query-free stage search lists the stage
        _pick_in(officer, form, "发展阶段", facts["stage"])
        form.get_by_role("button", name="检索").click()
        wait_settled(officer)
        officer.get_by_text(re.compile(r"符合条件 1 家")).wait_for()
        form.get_by_role("textbox", name="查找企业").fill("")
        form.get_by_role("button", name="检索").click()
        wait_settled(officer)
        caption = officer.get_by_text(re.compile(r"符合条件 [\d,]+ 家")).inner_text()
        stage_count = int(re.search(r"符合条件 ([\d,]+) 家", caption).group(1).replace(",", ""))
        assert stage_count >= 3
        screenshot(officer, "search_stage_filter")

        # ---- export: the download arrives and holds every row of the filtered search
        officer.get_by_role("button", name="生成导出文件").click()
        wait_settled(officer)
        with officer.expect_download() as download:
            officer.get_by_role("button", name=re.compile(r"下载 企业检索_.*\.xlsx")).click()
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / "search_export.xlsx"
        download.value.save_as(str(path))
        header, *rows = list(openpyxl.load_workbook(path).active.values)
        assert header[:3] == ("企业名称", "统一社会信用代码", "发展阶段")
        assert len(rows) == stage_count
        assert {r[2] for r in rows} == {facts["stage"]}
        assert facts["code"] in {r[1] for r in rows}

        # ---- two more of the stage (the one picked in the first search is still picked), 同阶段对比
        for name, code in others:
            _pick_in(officer, officer, picker, f"{name}（{code}）")
            wait_settled(officer)
        officer.get_by_role("button", name="同阶段对比").click()
        wait_settled(officer)
        officer.get_by_role("heading", name="同阶段对比").wait_for()
        officer.get_by_role("heading", name="逐项对比（得分）").wait_for()
        assert officer.url.rstrip("/").endswith("/compare")
        chosen = officer.locator('[data-testid="stMultiSelect"]').filter(has_text="已选企业")
        for name, _code in facts["compared"]:
            assert chosen.get_by_text(name).count() == 1, name
        officer.get_by_text(re.compile(f"{facts['stage']}共 \\d+ 家企业参评")).wait_for()
        screenshot(officer, "search_compare_three")
    except Exception:
        screenshot(officer, "search_flow_failure")
        raise
