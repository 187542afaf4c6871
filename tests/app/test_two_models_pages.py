"""积分榜单 and 批次对比 with a run under model A (2024) and one under model B (2025)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from db.schema import init_db
from db.session import make_engine, session_scope
from services.actor import Actor
from tests.app.conftest import _database_url, page_as
from tests.two_models import YEAR_A, YEAR_B, TwoRuns, seed_two_models

OFFICER = Actor(username="officer1", role="officer", user_id=1)


@pytest.fixture(scope="module")
def two_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TwoRuns]:
    path = tmp_path_factory.mktemp("two") / "two.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    with session_scope(engine) as session:
        two = seed_two_models(session)
    engine.dispose()
    return path, two


@pytest.fixture
def two(two_db: tuple[Path, TwoRuns]) -> Iterator[TwoRuns]:
    with _database_url(f"sqlite:///{two_db[0]}"):
        yield two_db[1]


def _texts(at) -> str:
    return " ".join(m.value for m in at.markdown) + " " + " ".join(c.value for c in at.caption)


def test_lists_page_shows_each_years_run_in_its_own_models_terms(two: TwoRuns) -> None:
    at = page_as("pages/public/lists.py", None).run()
    assert not at.exception
    assert at.selectbox[0].value == YEAR_B
    assert [t.label for t in at.tabs] == ["稳定期", "成长期", "初创期"]
    text = _texts(at)
    assert "创新领军企业榜" in text and "创新潜力企业榜" in text and "创新领跑榜" not in text
    assert "本阶段暂无上榜企业" not in text
    at.selectbox[0].set_value(YEAR_A).run()
    assert [t.label for t in at.tabs] == ["成熟期", "扩张期", "成长期", "初创期", "种子期"]
    text = _texts(at)
    assert "创新领跑榜" in text and "创新领军企业榜" not in text


def test_run_diff_page_says_the_models_differ(two: TwoRuns) -> None:
    at = page_as("pages/officer/runs.py", OFFICER).run()
    assert not at.exception
    at.selectbox(key="diff_a").set_value(two.run_a)
    at.selectbox(key="diff_b").set_value(two.run_b)
    at.button(key="diff_button").click().run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "不同的评价模型" in warnings and "国家指引" in warnings
    frames = [df.value for df in at.dataframe]
    lists = next(f for f in frames if "榜单" in f.columns and "变化" in f.columns)
    assert set(lists["榜单"]) <= {
        "创新领军企业榜",
        "创新潜力企业榜",
        "创新领跑榜",
        "创新竞跑榜",
        "创新进取榜",
    }
    moves = next(f for f in frames if "总分变化" in f.columns)
    assert set(moves["阶段"]) <= {"初创期", "成长期", "稳定期"}
    assert set(moves["新榜单"]) <= {"创新领军企业榜", "创新潜力企业榜", "未上榜"}


def test_robustness_on_the_runs_page(two: TwoRuns) -> None:
    at = page_as("pages/officer/runs.py", OFFICER).run()
    at.selectbox(key="run_select").set_value(two.run_b).run()
    at.button(key="robustness_button").click().run()
    assert not at.exception
    frames = [df.value for df in at.dataframe]
    table = next(f for f in frames if "保持榜单概率（%）" in f.columns)
    assert len(table) and set(table["榜单"]) <= {"创新领军企业榜", "创新潜力企业榜"}
    assert table["保持榜单概率（%）"].between(0, 100).all()
    summary = next(f for f in frames if "阶段" in f.columns and "企业数" in f.columns)
    assert "创新领军企业榜" in summary.columns


def test_a_model_without_mujun_flags_shows_no_mujun_tab_column_or_sheet(two: TwoRuns) -> None:
    """The national-guide model (run B) declares no 亩均 flags: 榜单与扶持 has no 亩均论英雄 tab, 积分榜单 no
    亩均论英雄 column, the 公示 xlsx no 亩均论英雄 sheet; the Longwan run (A) keeps all three."""
    import io

    import openpyxl

    from db.session import session_scope
    from services.scenarios import export_lists

    officer = page_as("pages/officer/lists.py", OFFICER)
    officer.session_state["lists_run"] = two.run_b
    officer.run()
    assert not officer.exception
    assert [t.label for t in officer.tabs] == ["榜单", "精准扶持", "资金拨付", "公示导出"]
    officer.session_state["lists_run"] = two.run_a
    officer.run()
    assert "亩均论英雄" in [t.label for t in officer.tabs]

    public = page_as("pages/public/lists.py", None).run()
    assert public.selectbox[0].value == YEAR_B
    assert public.dataframe and all("亩均论英雄" not in df.value.columns for df in public.dataframe)
    public.selectbox[0].set_value(YEAR_A).run()
    assert any("亩均论英雄" in df.value.columns for df in public.dataframe)

    with session_scope() as session:
        sheets = {
            run: openpyxl.load_workbook(
                io.BytesIO(export_lists(session, actor=OFFICER, run_id=run))
            ).sheetnames
            for run in (two.run_a, two.run_b)
        }
    assert "亩均论英雄" in sheets[two.run_a] and "亩均论英雄" not in sheets[two.run_b]
