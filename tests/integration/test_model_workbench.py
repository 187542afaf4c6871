"""评价模型 workbench services: an invalid edit is refused with the loader's message; publishing makes a
new version and old runs stay verifiable; the impact preview's list changes equal a real recompute."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select
from sqlmodel import Session

from db.models import ModelVersion, ScoreRun
from demo import seed_demo
from services import model_versions, model_workbench, run_diff, runs
from services.actor import Actor
from services.errors import Conflict, PermissionDenied, ValidationFailed

ADMIN = Actor(username="admin", role="admin", user_id=1)


def _draft(session: Session) -> ModelVersion:
    published = model_versions.active_model_version(session)
    return model_versions.register_model(
        session, actor=ADMIN, definition=published.definition, parent_id=published.id
    )


def _edited(definition: dict) -> dict:
    """Twice the 领跑 share and 4 points moved from T07 to T02 in every stage (totals stay 100)."""
    data = copy.deepcopy(definition)
    data["tiers"][0]["share"] = 0.08
    by_code = {i["code"]: i for i in data["indicators"]}
    for stage in by_code["T02"]["points"]:
        moved = min(2.0, by_code["T07"]["points"][stage])
        by_code["T07"]["points"][stage] -= moved
        by_code["T02"]["points"][stage] += moved
    data["meta"]["bonus_cap"] = 40
    return data


def test_invalid_edit_is_refused_with_the_loaders_message(session: Session) -> None:
    seed_demo(session, enterprises=30, with_runs=False)
    model_versions.ensure_default_model(session)
    draft = _draft(session)
    bad = copy.deepcopy(draft.definition)
    next(i for i in bad["indicators"] if i["code"] == "T01")["points"]["growth"] += 5
    with pytest.raises(ValidationFailed, match="成长期.*105.*应为 100"):
        model_versions.update_draft(session, actor=ADMIN, version_id=draft.id, definition=bad)
    session.refresh(draft)
    assert next(i for i in draft.definition["indicators"] if i["code"] == "T01")["points"]["growth"] == 7
    with pytest.raises(PermissionDenied):
        model_versions.update_draft(
            session,
            actor=Actor(username="e", role="enterprise", enterprise_id=1),
            version_id=draft.id,
            definition=bad,
        )


def test_publish_makes_a_new_version_and_old_runs_stay_verifiable(session: Session) -> None:
    seed_demo(session, enterprises=40)
    old_run = session.execute(select(ScoreRun).order_by(ScoreRun.id)).scalars().first()
    old_version = old_run.model_version_id
    draft = _draft(session)
    model_versions.update_draft(
        session, actor=ADMIN, version_id=draft.id, definition=_edited(draft.definition)
    )
    published = model_versions.publish_model_version(session, actor=ADMIN, version_id=draft.id)
    assert published.state == "published" and published.id != old_version
    assert model_versions.active_model_version(session).id == published.id
    with pytest.raises(Conflict):
        model_versions.update_draft(
            session, actor=ADMIN, version_id=published.id, definition=published.definition
        )
    assert session.get(ScoreRun, old_run.id).model_version_id == old_version
    assert runs.verify_run(session, actor=ADMIN, run_id=old_run.id).identical
    diff = model_workbench.diff_versions(session, actor=ADMIN, version_a=old_version, version_b=published.id)
    assert {"模型信息 · 加分上限", "创新领跑榜 · 比例", "T02 研发投入强度 · 各阶段分值 · 成长期"} <= set(
        diff["字段"]
    )


def test_impact_preview_list_changes_equal_a_real_recompute(session: Session) -> None:
    seed_demo(session, enterprises=80)
    year = model_workbench.latest_data_year(session)
    draft = _draft(session)
    model_versions.update_draft(
        session, actor=ADMIN, version_id=draft.id, definition=_edited(draft.definition)
    )
    preview = model_workbench.preview_impact(session, actor=ADMIN, draft_id=draft.id, year=year)
    assert preview.year == year and len(preview.spearman) == 5
    assert preview.spearman["spearman"].dropna().between(-1, 1).all()
    before = runs.compute_run(session, actor=ADMIN, year=year)
    after = runs.compute_run(session, actor=ADMIN, year=year, model_version_id=draft.id)
    real = run_diff.diff_runs(session, actor=ADMIN, run_a=before.id, run_b=after.id)
    as_set = {(r.credit_code, r.list, r.change) for r in real.list_changes.itertuples()}
    assert {(r.credit_code, r.list, r.change) for r in preview.list_changes.itertuples()} == as_set
    assert len(as_set) > 0
    stored = {
        r: session.execute(select(ScoreRun).where(ScoreRun.id == r)).scalar_one()
        for r in (before.id, after.id)
    }
    from db.queries import scores_frame

    assert preview.subsidy_before == pytest.approx(
        scores_frame(session, run_id=stored[before.id].id)["subsidy"].sum()
    )
    assert preview.subsidy_after == pytest.approx(
        scores_frame(session, run_id=stored[after.id].id)["subsidy"].sum()
    )
    assert preview.movers["why"].str.len().gt(0).all()


def test_preview_year_is_the_published_year_not_one_early_report(session: Session) -> None:
    """One enterprise's report of a new year must not become the preview's silent default."""
    from db.models import Enterprise
    from tests.values import add_values

    seed_demo(session, enterprises=40)
    published = runs.latest_run(session, states=("notice", "final"))
    early = session.execute(select(Enterprise.id).order_by(Enterprise.id)).scalars().first()
    add_values(
        session,
        {
            "enterprise_id": early,
            "year": published.year + 1,
            "code": "G01",
            "value_num": 500.0,
            "source": "自报",
        },
    )
    session.commit()
    years = model_workbench.preview_years(session, actor=ADMIN).set_index("year")
    assert years.loc[published.year + 1, "enterprises"] == 1
    assert years.loc[published.year, "enterprises"] == 40
    assert years.index[years["default"]].tolist() == [published.year]
    draft = _draft(session)
    preview = model_workbench.preview_impact(session, actor=ADMIN, draft_id=draft.id, year=published.year)
    assert preview.year == published.year
    assert int(preview.spearman["enterprises"].sum()) > 1
