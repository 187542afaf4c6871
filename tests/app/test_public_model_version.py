"""Public pages state the model version of the run they publish, not a newer one."""

from __future__ import annotations

import copy

from sqlalchemy import select

from db.models import ScoreRun
from db.session import session_scope
from services.actor import Actor
from services.model_versions import current_model, publish_model_version, register_model
from tests.app.test_public_pages import run_page, text_of

ADMIN = Actor(username="admin", role="admin")


def _publish_newer_model() -> tuple[str, str, float, float]:
    """An admin publishes a model giving T01 other points (swapped with T02 so stages still sum to 100).
    Returns (run's version, new version, T01 points of the first stage under each)."""
    with session_scope() as session:
        old = current_model(session)
        stage = old.stage_codes[0]
        data = copy.deepcopy(old.to_dict())
        by_code = {i["code"]: i for i in data["indicators"]}
        t01, t02 = by_code["T01"]["points"], by_code["T02"]["points"]
        assert t01[stage] != t02[stage]
        t01[stage], t02[stage] = t02[stage], t01[stage]
        draft = register_model(session, actor=ADMIN, definition=data)
        new = publish_model_version(session, actor=ADMIN, version_id=draft.id)
        return old.version, new.version, old.indicator("T01").points[stage], t01[stage]


def test_model_page_shows_the_model_of_the_published_run(fresh_db: str) -> None:
    run_version, new_version, run_points, new_points = _publish_newer_model()
    with session_scope() as session:
        assert session.execute(select(ScoreRun).where(ScoreRun.state == "notice")).scalars().one()
    at = run_page("pages/public/model.py")
    text = text_of(at)
    assert f"版本 {run_version}" in text and "2025 年度已发布积分结果所依据的评价模型" in text
    assert f"园区已发布新版本 {new_version}" in text
    technology = next(
        t.value for t in at.dataframe if "代码" in t.value.columns and "T01" in t.value["代码"].tolist()
    )
    first_stage = [c for c in technology.columns if c not in ("代码", "指标", "单位", "来源", "企业填报")][0]
    t01 = float(technology.set_index("代码").loc["T01", first_stage])
    assert t01 == run_points != new_points


def test_every_public_page_names_the_same_version(fresh_db: str) -> None:
    run_version, new_version, _, _ = _publish_newer_model()
    home = text_of(run_page("pages/public/home.py"))
    assert f"版本 {run_version}" in home and f"版本 {new_version}" not in home
    assert f"评价模型版本 {run_version}" in home
    model_page = text_of(run_page("pages/public/model.py"))
    assert f"版本 {run_version}" in model_page
