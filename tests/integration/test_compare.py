"""同阶段对比 and the officer portrait's provenance, against hand computations on a seeded run."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from core import breakdown as codec
from db.models import Score
from db.queries import breakdown_raws, latest_run
from db.values import stored_values
from services import audit
from services.actor import Actor
from services.compare import compare_enterprises, value_provenance
from services.errors import PermissionDenied, ValidationFailed
from services.model_versions import get_model

OFFICER = Actor(username="officer1", role="officer", user_id=1)


def test_three_enterprises_against_the_stage_lines(seeded) -> None:
    run = latest_run(seeded)
    model = get_model(seeded, run.model_version_id)
    rows = seeded.execute(
        select(Score.enterprise_id, Score.stage, Score.total).where(Score.run_id == run.id)
    ).all()
    raws = dict(
        zip(
            [r.enterprise_id for r in rows],
            breakdown_raws(seeded, run_id=run.id, enterprise_ids=[r.enterprise_id for r in rows]),
            strict=True,
        )
    )
    stage = max({r.stage for r in rows}, key=lambda s: sum(r.stage == s for r in rows))
    peers = [r for r in rows if r.stage == stage]
    ids = [r.enterprise_id for r in peers[:3]]
    result = compare_enterprises(seeded, actor=OFFICER, enterprise_ids=ids, run_id=run.id)
    assert result.stage == stage and result.stage_count == len(peers)
    table = result.table.set_index("item")
    totals = np.array([r.total for r in peers])
    assert table.loc["总积分", "阶段平均"] == pytest.approx(totals.mean())
    assert table.loc["总积分", "阶段中位数"] == pytest.approx(np.median(totals))
    assert table.loc["总积分", "前10%线"] == pytest.approx(np.quantile(totals, 0.9))
    # one indicator's points, decoded by hand from the stored breakdowns
    name = model.indicator("T01").name
    points = np.array([codec.decode(model, raws[r.enterprise_id])["T01"]["pts"] for r in peers], dtype=float)
    assert table.loc[name, "阶段平均"] == pytest.approx(points.mean())
    assert table.loc[name, "max"] == model.indicator("T01").max_for(stage)
    labels = result.enterprises["label"].tolist()
    for label, peer in zip(labels, peers[:3], strict=True):
        assert table.loc["总积分", label] == pytest.approx(peer.total)
        assert table.loc[name, label] == pytest.approx(
            codec.decode(model, raws[peer.enterprise_id])["T01"]["pts"]
        )
    assert list(result.radar.columns) == [
        "axis",
        *result.enterprises["key"],
        "stage_mean",
        "stage_median",
        "stage_top10",
    ]
    assert ((result.radar.drop(columns="axis") >= 0) & (result.radar.drop(columns="axis") <= 1)).all().all()


def test_limits_and_authorisation(seeded) -> None:
    run = latest_run(seeded)
    ids = [e for (e,) in seeded.execute(select(Score.enterprise_id).where(Score.run_id == run.id).limit(6))]
    with pytest.raises(ValidationFailed, match="最多对比 5 家"):
        compare_enterprises(seeded, actor=OFFICER, enterprise_ids=ids)
    with pytest.raises(ValidationFailed, match="请选择"):
        compare_enterprises(seeded, actor=OFFICER, enterprise_ids=[])
    enterprise = Actor(username="ent1", role="enterprise", user_id=5, enterprise_id=ids[0])
    with pytest.raises(PermissionDenied):
        compare_enterprises(seeded, actor=enterprise, enterprise_ids=ids[:2])
    with pytest.raises(PermissionDenied):
        value_provenance(seeded, actor=enterprise, enterprise_id=ids[0], run_id=run.id)


def test_provenance_names_the_batch_or_self_report(seeded) -> None:
    run = latest_run(seeded)
    enterprise_id = (
        seeded.execute(select(Score.enterprise_id).where(Score.run_id == run.id)).scalars().first()
    )
    stored = list(
        stored_values(seeded, enterprise_id=enterprise_id, year=run.year, current=True).itertuples(
            index=False
        )
    )
    assert stored
    # the demo seed writes no per-batch audit events: record the commit of one batch as an import would
    batch_id = next(v.batch_id for v in stored if v.batch_id)
    audit.record(seeded, actor=OFFICER, action="import.commit", entity="ImportBatch", entity_id=batch_id)
    seeded.commit()
    frame = value_provenance(seeded, actor=OFFICER, enterprise_id=enterprise_id, run_id=run.id).set_index(
        "code"
    )
    for value in stored:
        if value.code not in frame.index or value.created_at > run.created_at:
            continue
        row = frame.loc[value.code]
        assert row["source"] == value.source
        if value.batch_id:
            assert row["origin"].startswith(f"导入批次 #{value.batch_id}")
            assert (row["audit_entity"], row["audit_entity_id"]) == ("ImportBatch", str(value.batch_id))
            assert row["audit_text"] == ("import.commit · officer1" if value.batch_id == batch_id else "")
        else:
            assert row["origin"].startswith(f"企业自报 #{value.submission_id}")
            assert row["audit_entity"] == "Submission"
