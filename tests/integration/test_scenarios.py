"""Scenario services on a seeded database (SQLite and PostgreSQL): authorisation, consent, audit,
service-request handling, and the run's own numbers in lists, pools, carriers and the report."""

from __future__ import annotations

import io
import threading

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select

from core.bank import Criteria
from core.clock import frozen
from db.models import AuditEvent, Enterprise, Score, ScoreRun, ServiceRequest, User
from demo import seed_demo
from services import bank, memo, monitoring, scenarios, service_requests
from services.actor import Actor
from services.errors import Conflict, PermissionDenied, ValidationFailed

OFFICER = Actor(username="officer1", role="officer")


@pytest.fixture
def seeded(session):  # noqa: ANN001, ANN201
    seed_demo(session, enterprises=120)
    return session


def _enterprise_actor(session, username: str = "ent1") -> Actor:  # noqa: ANN001
    user = session.execute(select(User).where(User.username == username)).scalars().one()
    return Actor(username=user.username, role="enterprise", user_id=user.id, enterprise_id=user.enterprise_id)


def _published(session) -> ScoreRun:  # noqa: ANN001
    return session.execute(select(ScoreRun).where(ScoreRun.state == "notice")).scalars().one()


def test_scenarios_are_officer_only(seeded) -> None:  # noqa: ANN001
    ent = _enterprise_actor(seeded)
    for call in (
        lambda: scenarios.lists_view(seeded, actor=ent),
        lambda: scenarios.pools_view(seeded, actor=ent),
        lambda: scenarios.carriers_view(seeded, actor=ent),
        lambda: bank.bank_whitelist(seeded, actor=ent, criteria=Criteria("top_n", top_n=3)),
        lambda: monitoring.monitoring_report(seeded, actor=ent),
        lambda: service_requests.take_request(seeded, actor=ent, request_id=1),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_draft_runs_are_refused(seeded) -> None:  # noqa: ANN001
    from services.runs import compute_run

    draft = compute_run(seeded, actor=Actor.system(), year=_published(seeded).year)
    with pytest.raises(ValidationFailed, match="尚未公示"):
        scenarios.lists_view(seeded, actor=OFFICER, run_id=draft.id)


def test_lists_view_matches_the_stored_scores(seeded) -> None:  # noqa: ANN001
    run = _published(seeded)
    view = scenarios.lists_view(seeded, actor=OFFICER, run_id=run.id)
    paid = (
        seeded.execute(select(Score.subsidy).where(Score.run_id == run.id, Score.subsidy > 0)).scalars().all()
    )
    assert len(view.subsidies) == len(paid) and view.subsidies["扶持金额（万元）"].sum() == pytest.approx(
        sum(paid)
    )
    assert view.plan.iloc[-1]["预算（万元）"] == pytest.approx(
        sum(paid)
    )  # every place is filled at 120 enterprises
    on_lists = seeded.execute(
        select(Score.id).where(Score.run_id == run.id, Score.tier.is_not(None), Score.tier != "")
    ).all()
    assert len(view.members) == len(on_lists) == len(view.notice)
    workbook = openpyxl.load_workbook(
        io.BytesIO(scenarios.export_lists(seeded, actor=OFFICER, run_id=run.id))
    )
    assert workbook.sheetnames == ["公示名单", "扶持名单", "名额与预算", "亩均论英雄"]


def test_lists_view_and_run_frame_are_reused_until_data_changes(seeded) -> None:  # noqa: ANN001
    """榜单与扶持 reruns reuse the run's frame and view; an audited change made afterwards shows at once:
    a consent withdrawn is in the next frame (金融推荐 reads it), a finalised run's label in the next view."""
    from demo import DEMO_PASSWORD
    from services.auth import authenticate

    run = _published(seeded)
    first = scenarios.lists_view(seeded, actor=OFFICER, run_id=run.id)
    pools = scenarios.pools_view(seeded, actor=OFFICER, run_id=run.id)
    assert authenticate(seeded, username="officer1", password=DEMO_PASSWORD).ok  # audited, changes no data
    assert scenarios.lists_view(seeded, actor=OFFICER, run_id=run.id) is first
    assert scenarios.pools_view(seeded, actor=OFFICER, run_id=run.id) is pools
    ent = _enterprise_actor(seeded)
    bank.set_bank_consent(seeded, actor=ent, enterprise_id=ent.enterprise_id, consent=True)
    frame = scenarios.load_run(seeded, actor=OFFICER, run_id=run.id).frame
    frame["bank_consent"] = False  # a caller's change stays its own
    consent = scenarios.load_run(seeded, actor=OFFICER, run_id=run.id).frame.set_index("enterprise_id")
    assert bool(consent.loc[ent.enterprise_id, "bank_consent"]) is True
    bank.set_bank_consent(seeded, actor=ent, enterprise_id=ent.enterprise_id, consent=False)
    consent = scenarios.load_run(seeded, actor=OFFICER, run_id=run.id).frame.set_index("enterprise_id")
    assert bool(consent.loc[ent.enterprise_id, "bank_consent"]) is False
    from services.runs import finalize_run

    finalize_run(seeded, actor=Actor.system(), run_id=run.id, reason="测试：提前定稿")
    fresh = scenarios.lists_view(seeded, actor=OFFICER, run_id=run.id)
    assert "已定稿" in fresh.run_label and "已定稿" not in first.run_label
    pd.testing.assert_frame_equal(fresh.members, first.members)
    with pytest.raises(PermissionDenied):
        scenarios.lists_view(seeded, actor=ent, run_id=run.id)


def test_the_warm_up_builds_the_views_the_pages_then_reuse(seeded) -> None:  # noqa: ANN001
    """After a staff page asked for it, 榜单与扶持's and 培育库's views of the latest published run are built
    in the background (once per memo.WARM_EVERY); the pages then find them built."""
    import threading

    run = _published(seeded)
    for cache in (scenarios._LISTS, scenarios._POOLS, scenarios._FRAMES):
        cache.clear()
    memo.forget_warm_ups("scenarios")
    with pytest.raises(PermissionDenied):
        scenarios.warm_published(seeded, actor=_enterprise_actor(seeded), delay=0)
    assert scenarios.warm_published(seeded, actor=OFFICER, delay=0)
    assert not scenarios.warm_published(seeded, actor=OFFICER, delay=0)  # one warm-up at a time
    for thread in threading.enumerate():
        if thread.name == "scenarios-warm":
            thread.join()
    built = scenarios._LISTS.values()
    assert len(built) == 1 and len(scenarios._POOLS.values()) == 1
    assert scenarios.lists_view(seeded, actor=OFFICER, run_id=run.id) is built[0]
    assert scenarios.pools_view(seeded, actor=OFFICER, run_id=run.id) is scenarios._POOLS.values()[0]


def test_the_warm_up_after_a_start_has_read_every_shared_view_when_it_returns(seeded) -> None:  # noqa: ANN001
    """The cluster supervisor's run after a server start (no officer, no delay) returns only when 榜单与扶持,
    培育库, 展示大屏 and 企业检索's data are read: the first officer finds them built."""
    from services import dashboard, portrait, search_data

    run = _published(seeded)
    for cache in (scenarios._LISTS, scenarios._POOLS, scenarios._FRAMES):
        cache.clear()
    dashboard.clear_cache()
    search_data._RUN_CACHE.clear()
    search_data._INDEX_CACHE.clear()
    portrait._STAGE_CACHE.clear()
    memo.forget_warm_ups("scenarios")
    memo.forget_warm_ups("search")
    scenarios.warm_after_start(seeded)
    built = scenarios._LISTS.values()
    assert len(built) == 1 and len(scenarios._POOLS.values()) == 1
    assert scenarios.lists_view(seeded, actor=OFFICER, run_id=run.id) is built[0]
    assert dashboard._CACHE.values() and dashboard.dashboard_data(seeded) is dashboard._CACHE.values()[0]
    url = str(seeded.get_bind().url)
    assert search_data.search_index(seeded, actor=OFFICER) is search_data._INDEX_CACHE[url][2]
    assert len(search_data._RUN_CACHE.values()) == 1  # the default run's scores
    assert not [t for t in threading.enumerate() if t.name in ("scenarios-warm", "search-warm")]
    stages = {stats.stage for stats in portrait._STAGE_CACHE.values()}
    assert stages == set(scenarios.get_model(seeded, run.model_version_id).stage_codes)


def test_pools_never_list_vetoed_or_qualified_enterprises(seeded) -> None:  # noqa: ANN001
    run = _published(seeded)
    # veto the best enterprise of the run that is a candidate somewhere
    view = scenarios.pools_view(seeded, actor=OFFICER, run_id=run.id)
    hte = view.candidates["国家高新技术企业"]
    assert len(hte) and (hte["接近程度（%）"].diff().dropna() <= 0).all()  # nearest first
    written = view.with_gaps("国家高新技术企业", hte)
    assert all("需" in g for g in written.loc[written["未满足条件数"] > 0, "未满足条件"])
    assert (written.loc[written["未满足条件数"] == 0, "未满足条件"] == "—").all()
    # the rows a page shows get exactly the sentences the full list has
    some = hte.iloc[[len(hte) - 1, 0, len(hte) // 2]]
    assert (
        view.with_gaps("国家高新技术企业", some)["未满足条件"].tolist()
        == written.iloc[[len(hte) - 1, 0, len(hte) // 2]]["未满足条件"].tolist()
    )
    vetoed = set(
        seeded.execute(select(Score.enterprise_id).where(Score.run_id == run.id, Score.veto)).scalars()
    )
    for table in view.candidates.values():
        assert not set(table["enterprise_id"]) & vetoed
    counts = view.counts.set_index("培育库")
    assert counts.loc["国家高新技术企业", "候选企业"] == len(hte)


def test_pools_view_is_reused_until_data_changes(seeded) -> None:  # noqa: ANN001
    """Another pool or filter on the page reuses the evaluated run; any audited change (here: an
    enterprise withdrawing its bank consent) makes the next view a fresh evaluation."""
    run = _published(seeded)
    first = scenarios.pools_view(seeded, actor=OFFICER, run_id=run.id)
    assert scenarios.pools_view(seeded, actor=OFFICER, run_id=run.id) is first
    ent = _enterprise_actor(seeded)
    bank.set_bank_consent(seeded, actor=ent, enterprise_id=ent.enterprise_id, consent=False)
    fresh = scenarios.pools_view(seeded, actor=OFFICER, run_id=run.id)
    assert fresh is not first
    pd.testing.assert_frame_equal(fresh.counts, first.counts)  # consent is not a pool condition
    with pytest.raises(PermissionDenied):
        scenarios.pools_view(seeded, actor=_enterprise_actor(seeded), run_id=run.id)


def test_consent_is_the_enterprise_s_own_and_audited(seeded) -> None:  # noqa: ANN001
    ent = _enterprise_actor(seeded)
    with pytest.raises(PermissionDenied):
        bank.set_bank_consent(seeded, actor=OFFICER, enterprise_id=ent.enterprise_id, consent=False)
    other = _enterprise_actor(seeded, "ent2")
    with pytest.raises(PermissionDenied):
        bank.set_bank_consent(seeded, actor=other, enterprise_id=ent.enterprise_id, consent=False)
    from datetime import UTC, datetime

    at = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)
    with frozen(at):
        bank.set_bank_consent(seeded, actor=ent, enterprise_id=ent.enterprise_id, consent=True)
        done = bank.set_bank_consent(seeded, actor=ent, enterprise_id=ent.enterprise_id, consent=False)
    assert done.consent is False and done.changed_at == at
    seeded.expire_all()
    row = seeded.get(Enterprise, ent.enterprise_id)
    assert row.bank_consent is False and row.bank_consent_at == at
    actions = seeded.execute(
        select(AuditEvent.action).where(
            AuditEvent.entity == "Enterprise", AuditEvent.entity_id == str(ent.enterprise_id)
        )
    ).scalars()
    assert "bank_consent.withdraw" in list(actions)


def test_whitelist_export_respects_consent_and_is_audited(seeded) -> None:  # noqa: ANN001
    run = _published(seeded)
    criteria = Criteria("top_n", top_n=5)
    first = bank.bank_whitelist(seeded, actor=OFFICER, criteria=criteria, run_id=run.id)
    assert len(first.table) > 0
    code = first.table["统一社会信用代码"].iloc[0]
    enterprise = seeded.execute(select(Enterprise).where(Enterprise.credit_code == code)).scalars().one()
    user = seeded.execute(select(User).where(User.enterprise_id == enterprise.id)).scalars().first()
    if user is None:  # give the enterprise an account to withdraw with
        user = User(
            username="ent_consent",
            display_name="x",
            password_hash="x",
            role="enterprise",
            enterprise_id=enterprise.id,
        )
        seeded.add(user)
        seeded.commit()
    ent = Actor(username=user.username, role="enterprise", user_id=user.id, enterprise_id=enterprise.id)
    bank.set_bank_consent(seeded, actor=ent, enterprise_id=enterprise.id, consent=False)
    data, second = bank.export_whitelist(
        seeded, actor=OFFICER, criteria=criteria, bank_name="温州银行", run_id=run.id
    )
    assert code not in second.table["统一社会信用代码"].tolist()
    assert len(second.table) == len(first.table) - 1 and second.without_consent == first.without_consent + 1
    sheet = openpyxl.load_workbook(io.BytesIO(data))["推荐名单"]
    assert [c.value for c in sheet[1]][:3] == ["序号", "企业名称", "统一社会信用代码"]
    event = (
        seeded.execute(select(AuditEvent).where(AuditEvent.action == "bank_whitelist.export")).scalars().one()
    )
    assert (
        event.actor == "officer1"
        and event.after["bank"] == "温州银行"
        and event.after["count"] == len(second.table)
    )
    assert code not in event.after["credit_codes"]
    history = bank.export_history(seeded, actor=OFFICER)
    assert history["合作银行"].tolist() == ["温州银行"]
    with pytest.raises(ValidationFailed, match="银行"):
        bank.export_whitelist(seeded, actor=OFFICER, criteria=criteria, bank_name=" ", run_id=run.id)


def test_service_request_take_answer_close(seeded) -> None:  # noqa: ANN001
    ent = _enterprise_actor(seeded)
    code = service_requests.catalogue(seeded, actor=ent)[0][0]
    request = service_requests.request_service(
        seeded, actor=ent, enterprise_id=ent.enterprise_id, service_code=code, note="想了解政策"
    )
    open_ones = service_requests.list_requests(seeded, actor=OFFICER, state="open", service_code=code)
    assert request.id in open_ones["id"].tolist()
    with pytest.raises(Conflict, match="不能执行"):
        service_requests.close_request(seeded, actor=OFFICER, request_id=request.id)
    service_requests.take_request(seeded, actor=OFFICER, request_id=request.id)
    with pytest.raises(Conflict, match="必须填写理由"):
        service_requests.answer_request(seeded, actor=OFFICER, request_id=request.id, answer="  ")
    with pytest.raises(ValidationFailed, match="先答复"):
        service_requests.close_request(seeded, actor=OFFICER, request_id=request.id)
    service_requests.answer_request(
        seeded, actor=OFFICER, request_id=request.id, answer="下周三上门辅导", close=True
    )
    mine = service_requests.list_requests(seeded, actor=ent).set_index("id").loc[request.id]
    assert (mine["state_label"], mine["answer"], mine["handled_by"]) == (
        "已完成",
        "下周三上门辅导",
        "officer1",
    )
    stage = mine["stage"]
    by_stage = service_requests.list_requests(seeded, actor=OFFICER, stage=stage)
    assert request.id in by_stage["id"].tolist()
    actions = seeded.execute(
        select(AuditEvent.action).where(
            AuditEvent.entity == "service_request", AuditEvent.entity_id == str(request.id)
        )
    ).scalars()
    assert list(actions) == [
        "request_service",
        "service_request.take",
        "service_request.answer",
        "service_request.close",
    ]
    assert seeded.get(ServiceRequest, request.id).state == "done"


def test_monitoring_report_compares_with_the_previous_final_run(seeded) -> None:  # noqa: ANN001
    run = _published(seeded)
    report = monitoring.monitoring_report(seeded, actor=OFFICER, run_id=run.id)
    previous = seeded.execute(select(ScoreRun).where(ScoreRun.state == "final")).scalars().one()
    assert f"批次 #{previous.id}" in report.subtitle
    distribution = report.tables["阶段分布"]
    assert distribution["本年企业数"].sum() == run.enterprise_count
    assert distribution["上年企业数"].sum() == previous.enterprise_count
    assert len(report.tables["积分上升最多"]) > 0 and len(report.tables["积分下降最多"]) > 0
    assert (report.tables["积分上升最多"]["变化"] > 0).all()


def _stored_per_row(session, run_id: int) -> None:  # noqa: ANN001
    """Store the run's breakdowns the way runs before RunBreakdown did: one JSON per Score row."""
    from sqlalchemy import delete, update

    from db.models import RunBreakdown
    from db.queries import breakdown_raws

    ids = session.execute(select(Score.enterprise_id).where(Score.run_id == run_id)).scalars().all()
    for enterprise_id, raw in zip(
        ids, breakdown_raws(session, run_id=run_id, enterprise_ids=ids), strict=True
    ):
        session.execute(
            update(Score)
            .where(Score.run_id == run_id, Score.enterprise_id == enterprise_id)
            .values(breakdown=raw)
        )
    session.execute(delete(RunBreakdown).where(RunBreakdown.run_id == run_id))
    session.flush()


def _published_with_one_keyed_row(session):  # noqa: ANN001, ANN202
    """The published run, stored one row per enterprise, its first row in the keyed form earlier versions
    wrote; returns (run, model)."""
    from core import breakdown
    from services.model_versions import get_model

    run = _published(session)
    model = get_model(session, run.model_version_id)
    _stored_per_row(session, run.id)
    old = (
        session.execute(select(Score).where(Score.run_id == run.id).order_by(Score.enterprise_id))
        .scalars()
        .first()
    )
    old.breakdown = breakdown.decode(model, old.breakdown)
    session.add(old)
    session.flush()
    return run, model


def test_breakdown_parts_read_in_the_database_equal_the_decoded_breakdowns(seeded) -> None:  # noqa: ANN001
    """The database extracts whole parts (v inputs, p points); a row in the old keyed form is decoded in
    Python — both equal decoding every stored breakdown."""
    from core import breakdown
    from db.queries import breakdown_parts

    run, model = _published_with_one_keyed_row(seeded)
    stored = seeded.execute(
        select(Score.enterprise_id, Score.breakdown)
        .where(Score.run_id == run.id)
        .order_by(Score.enterprise_id)
    ).all()
    ids, parts = breakdown_parts(seeded, run_id=run.id, model=model, parts=("v", "p"))
    assert ids.tolist() == [e for e, _ in stored]
    for part in ("v", "p"):
        expected = breakdown.parts_frame(model, [b for _, b in stored], part)
        assert [list(r) for r in zip(*expected.values(), strict=True)] == parts[part]


def test_several_breakdown_columns_read_in_one_statement_equal_the_decoded_breakdowns(seeded) -> None:  # noqa: ANN001
    """db.queries.breakdown_columns_frame (what 企业检索's qualification filters and its warm-up read):
    several columns of one part in one statement, a keyed row decoded in Python — equal to decoding
    every stored breakdown, per enterprise."""
    from core import breakdown
    from db.queries import breakdown_columns_frame

    run, model = _published_with_one_keyed_row(seeded)
    stored = dict(
        seeded.execute(select(Score.enterprise_id, Score.breakdown).where(Score.run_id == run.id)).all()
    )
    ids = sorted(stored)
    for part, columns in (
        ("f", [i.code for i in model.qualification_indicators]),
        ("v", breakdown.breakdown_columns(model)[:4]),
        ("p", model.codes[-3:]),
    ):
        assert len(columns) >= 2
        frame = breakdown_columns_frame(seeded, run_id=run.id, model=model, columns=columns, part=part)
        assert sorted(frame.index.tolist()) == ids and list(frame.columns) == columns
        expected = breakdown.parts_frame(model, [stored[e] for e in ids], part)
        for column in columns:
            got = pd.to_numeric(frame[column].reindex(ids), errors="coerce").tolist()
            want = pd.to_numeric(pd.Series(expected[column]), errors="coerce").tolist()
            assert got == pytest.approx(want, nan_ok=True), (part, column)
