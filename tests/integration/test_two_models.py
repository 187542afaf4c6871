"""A run under model A and a run under model B: run diff, portrait and exports use each run's own model."""

from __future__ import annotations

import pandas as pd
from sqlmodel import Session, select

from core.reports import notice_list_frame, score_output_frame
from db.models import Score
from db.queries import scores_frame
from services import run_diff
from services.actor import Actor
from services.portrait import get_portrait
from services.public import public_lists, published_run_model
from tests.two_models import YEAR_A, YEAR_B, seed_two_models

OFFICER = Actor(username="officer1", role="officer", user_id=2)


def test_run_diff_across_models_compares_totals_ranks_lists_and_says_so(session: Session) -> None:
    two = seed_two_models(session)
    diff = run_diff.diff_runs(session, actor=OFFICER, run_a=two.run_a, run_b=two.run_b)
    assert diff.summary["models_differ"]
    assert "龙湾" in diff.summary["model_a"] and "国家指引" in diff.summary["model_b"]
    assert diff.input_changes.empty  # different indicators: inputs are not compared
    assert diff.summary["common"] == len(two.enterprise_ids) and len(diff.moves) == len(two.enterprise_ids)
    # each side's list and stage names come from its own model
    assert set(diff.moves["list_a"]) <= {t.name for t in two.model_a.tiers} | {"未上榜"}
    assert set(diff.moves["list_b"]) <= {t.name for t in two.model_b.tiers} | {"未上榜"}
    assert set(diff.moves["stage_name"]) <= {s.name for s in two.model_b.stages}
    entered = diff.list_changes[diff.list_changes["change"] == "进入"]
    left = diff.list_changes[diff.list_changes["change"] == "退出"]
    assert set(entered["list"]) <= {"创新领军企业榜", "创新潜力企业榜"} and len(entered)
    assert set(left["list"]) <= {"创新领跑榜", "创新竞跑榜", "创新进取榜"} and len(left)
    # the numbers are each run's stored numbers
    a = scores_frame(session, run_id=two.run_a).set_index("credit_code")
    b = scores_frame(session, run_id=two.run_b).set_index("credit_code")
    moves = diff.moves.set_index("credit_code")
    assert (moves["total_a"] == a.loc[moves.index, "total"]).all()
    assert (moves["total_b"] == b.loc[moves.index, "total"]).all()
    # the same model on both sides still compares inputs
    again = run_diff.diff_runs(session, actor=OFFICER, run_a=two.run_b, run_b=two.run_b)
    assert not again.summary["models_differ"] and again.summary["total_changed"] == 0


def test_portrait_reads_each_run_with_its_own_model(session: Session) -> None:
    two = seed_two_models(session)
    enterprise = two.enterprise_ids[0]
    officer = OFFICER
    old = get_portrait(session, actor=officer, enterprise_id=enterprise, year=YEAR_A)
    new = get_portrait(session, actor=officer, enterprise_id=enterprise, year=YEAR_B)
    assert list(old.radar["axis"]) == ["技术创新", "成长经营", "辅助加分", "合规经营"]
    assert list(new.radar["axis"]) == ["技术创新", "成长经营", "辅助"]
    assert new.stage_name in {"初创期", "成长期", "稳定期"} and old.stage_name in {
        s.name for s in two.model_a.stages
    }
    row = session.exec(
        select(Score).where(Score.run_id == two.run_b, Score.enterprise_id == enterprise)
    ).one()
    assert new.total == row.total and new.subtotals == row.subtotals
    assert set(new.indicators["code"]) == set(two.model_b.codes)
    assert set(new.indicators["class_name"]) == {"技术创新", "成长经营", "辅助", "一票否决"}
    assert (
        new.tier_name in {"创新领军企业榜", "创新潜力企业榜", "未上榜"} and old.model.name != new.model.name
    )
    assert all(two.model_b.indicator(c).name in " ".join(new.explanations) for c in ("J01", "C01"))


def test_exports_use_the_runs_model(session: Session) -> None:
    two = seed_two_models(session)
    for run_id, model in ((two.run_a, two.model_a), (two.run_b, two.model_b)):
        assert published_run_model(session, run_id=run_id).name == model.name
        frame = scores_frame(session, run_id=run_id)
        notice = notice_list_frame(model, frame)
        assert len(notice) and set(notice["榜单"]) <= {t.name for t in model.tiers}
        assert set(notice["所属阶段"]) <= {s.name for s in model.stages}
        lists = public_lists(session, run_id=run_id)
        assert set(lists["tier"]) <= {t.code for t in model.tiers}
    frame_b = scores_frame(session, run_id=two.run_b)
    out = score_output_frame(two.model_b, frame_b.assign(**{f"pts_{c}": 0.0 for c in two.model_b.codes}))
    assert list(out.columns[3:8]) == ["technology", "growth", "bonus", "deduction", "total"]
    assert pd.Series(out["stage"]).isin(["初创期", "成长期", "稳定期"]).all()
