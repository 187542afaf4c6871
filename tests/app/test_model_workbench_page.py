"""评价模型 (admin): versions listed, a draft created from the published version, preview and diff shown."""

from __future__ import annotations

from tests.app.conftest import actor_of, page_as, through_home
from tests.app.readable import assert_readable


def test_admin_creates_a_draft_previews_its_impact_and_diffs(fresh_db: str) -> None:
    at = through_home("admin", "pages/admin/models.py")
    assert not at.exception
    assert at.title[0].value == "评价模型"
    assert "已发布" in at.dataframe[0].value["状态"].tolist()
    at.button(key="wb_new_draft").click().run()
    assert not at.exception
    assert any("已创建草稿" in s.value for s in at.success)
    assert "草稿" in at.dataframe[0].value["状态"].tolist()
    assert not at.info or all("不可修改" not in i.value for i in at.info)  # the draft is selected: editable
    at.button(key="wb_preview").click().run()
    assert not at.exception
    frames = [d.value for d in at.dataframe]
    assert any("排名相关系数（斯皮尔曼）" in f.columns for f in frames)  # no Latin name on the screen
    assert any("主要原因" in f.columns for f in frames)
    assert "扶持资金（万元）" in [m.label for m in at.metric]
    diff = next(f for f in frames if "字段" in f.columns)
    assert diff["字段"].tolist() == [
        "模型信息 · 版本"
    ]  # an untouched draft differs from its parent only by label


def test_the_workbench_tables_show_no_none(app_db: str) -> None:
    """类别上限 leaves a class without a cap empty: the editor draws "—" there, not the grid's "None"."""
    at = through_home("admin", "pages/admin/models.py")
    assert not at.exception
    caps = next(d for d in at.dataframe if "上限" in d.value.columns)
    assert caps.value["上限"].isna().any()  # the demo model has classes without a cap
    assert_readable(at)


def test_officers_do_not_see_the_workbench(app_db: str) -> None:
    at = page_as("pages/admin/models.py", actor_of("officer1")).run()
    assert not at.exception
    assert not at.title or at.title[0].value != "评价模型"  # the guard stops the page before its content
    assert not at.dataframe


def test_impact_preview_asks_for_the_year_and_starts_on_the_published_one(fresh_db: str) -> None:
    """One approved report of a new year does not turn the preview into a preview of one enterprise."""
    from sqlalchemy import select

    from db.models import Enterprise, ScoreRun
    from db.session import session_scope
    from tests.values import add_values

    with session_scope() as session:
        year = session.execute(select(ScoreRun.year).where(ScoreRun.state == "notice")).scalar_one()
        first = session.execute(select(Enterprise.id).order_by(Enterprise.id)).scalars().first()
        add_values(
            session,
            {"enterprise_id": first, "year": year + 1, "code": "G01", "value_num": 800.0, "source": "自报"},
        )
    at = through_home("admin", "pages/admin/models.py")
    at.button(key="wb_new_draft").click().run()
    choice = at.selectbox(key="wb_preview_year")
    assert choice.value == year
    assert any(f"{year + 1} 年（1 家企业有数据）" == o for o in choice.options)
    at.button(key="wb_preview").click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["数据年度"] == f"{year} 年"
    at.selectbox(key="wb_preview_year").select(year + 1).run()
    assert any(f"{year + 1} 年只有 1 家企业有数据" in str(w.value) for w in at.warning)


def test_publishing_a_model_asks_first(fresh_db: str) -> None:
    from sqlalchemy import select

    from db.models import ModelVersion
    from db.session import session_scope

    at = through_home("admin", "pages/admin/models.py")
    at.button(key="wb_new_draft").click().run()
    at.button(key="wb_publish").click().run()
    assert not at.exception, at.exception
    texts = [t.value for t in at.text]
    assert any("新的积分计算将使用该版本" in t for t in texts)
    assert any("有 0 处不同" in t for t in texts)
    assert any("尚未预览" in str(w.value) for w in at.warning)
    assert at.button(key="confirm_ok").label == "确认发布"
    with session_scope() as session:  # nothing is published before the answer
        states = session.execute(select(ModelVersion.state).order_by(ModelVersion.id)).scalars().all()
    assert states[-1] == "draft"
