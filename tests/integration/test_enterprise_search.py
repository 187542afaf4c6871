"""企业检索 on a seeded database (SQLite and PostgreSQL): every filter against a hand check of the rows,
the search box inside the filters, exports through the one sanitiser, and officers only."""

from __future__ import annotations

import io
import time

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update
from sqlmodel import Session

from core import breakdown as codec
from db.models import AuditEvent, Enterprise, Score, Submission, score_subtotal
from db.queries import breakdown_raws, latest_run
from services import memo
from services.actor import Actor
from services.errors import NotFound, PermissionDenied, ValidationFailed
from services.model_versions import get_model
from services.search import (
    IndicatorCondition,
    SearchFilters,
    export_bytes,
    export_table,
    search_enterprises,
    search_options,
)

OFFICER = Actor(username="officer1", role="officer", user_id=1)


def _run_rows(session) -> tuple[object, pd.DataFrame]:  # noqa: ANN001
    """The default run's rows decoded by hand (the reference the filters are checked against)."""
    run = latest_run(session)
    model = get_model(session, run.model_version_id)
    columns = {
        "enterprise_id": Score.enterprise_id,
        "stage": Score.stage,
        "tier": Score.tier,
        "total": Score.total,
        "subtotals": Score.subtotals,
        "veto": Score.veto,
        "missing": Score.missing_count,
        "industry": Enterprise.industry,
        "street": Enterprise.street,
        "carrier_id": Enterprise.carrier_id,
        "consent": Enterprise.bank_consent,
        "name": Enterprise.name,
    }
    rows = session.execute(
        select(*columns.values())
        .join(Enterprise, Enterprise.id == Score.enterprise_id)
        .where(Score.run_id == run.id)
    ).all()
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["technology"] = [score_subtotal(v, "technology") for v in frame["subtotals"]]
    frame["breakdown"] = breakdown_raws(
        session, run_id=run.id, enterprise_ids=frame["enterprise_id"].tolist()
    )
    frame["decoded"] = [codec.decode(model, b) for b in frame["breakdown"]]
    return run, frame


def _ids(result) -> set[int]:  # noqa: ANN001
    return set(result.frame["enterprise_id"].tolist())


def test_default_run_and_no_filter_lists_the_whole_run(seeded) -> None:
    run, frame = _run_rows(seeded)
    result = search_enterprises(seeded, actor=OFFICER)
    assert result.run_id == run.id and run.state in ("notice", "final")
    assert _ids(result) == set(frame["enterprise_id"])
    table = result.table()
    assert list(table.columns)[:4] == ["企业名称", "统一社会信用代码", "发展阶段", "总积分"]
    model = result.model
    assert set(table["发展阶段"]) <= {s.name for s in model.stages}
    assert set(table["榜单"]) <= {t.name for t in model.tiers} | {"未上榜"}


def test_combined_filters_match_a_hand_check(seeded) -> None:
    run, frame = _run_rows(seeded)
    stage = frame["stage"].mode()[0]
    industry = frame[frame["stage"] == stage]["industry"].mode()[0]
    low = float(frame["total"].median()) - 15
    expected = frame[(frame["stage"] == stage) & (frame["industry"] == industry) & (frame["total"] >= low)]
    result = search_enterprises(
        seeded, actor=OFFICER, filters=SearchFilters(stages=[stage], industries=[industry], total=(low, None))
    )
    assert _ids(result) == set(expected["enterprise_id"])
    assert len(expected) > 0


def test_subtotal_street_carrier_consent_veto_missing(seeded) -> None:
    run, frame = _run_rows(seeded)
    tech_high = float(frame["technology"].quantile(0.6))
    result = search_enterprises(
        seeded, actor=OFFICER, filters=SearchFilters(subtotals={"technology": (None, tech_high)})
    )
    assert _ids(result) == set(frame[frame["technology"] <= tech_high]["enterprise_id"])

    street = frame["street"].mode()[0]
    result = search_enterprises(
        seeded, actor=OFFICER, filters=SearchFilters(streets=[street], bank_consent=True)
    )
    assert _ids(result) == set(frame[(frame["street"] == street) & frame["consent"]]["enterprise_id"])

    result = search_enterprises(seeded, actor=OFFICER, filters=SearchFilters(carriers=[0]))
    assert _ids(result) == set(frame[frame["carrier_id"].isna()]["enterprise_id"])

    for flag in (True, False):
        result = search_enterprises(seeded, actor=OFFICER, filters=SearchFilters(veto=flag, missing=flag))
        assert _ids(result) == set(
            frame[(frame["veto"] == flag) & ((frame["missing"] > 0) == flag)]["enterprise_id"]
        )


def test_tier_and_qualification_and_indicator_range(seeded) -> None:
    run, frame = _run_rows(seeded)
    on_list = search_enterprises(seeded, actor=OFFICER, filters=SearchFilters(tiers=["领跑", "竞跑"]))
    assert _ids(on_list) == set(frame[frame["tier"].isin(["领跑", "竞跑"])]["enterprise_id"])
    off_list = search_enterprises(seeded, actor=OFFICER, filters=SearchFilters(tiers=[""]))
    assert _ids(off_list) == set(frame[frame["tier"].fillna("") == ""]["enterprise_id"])

    held = frame["decoded"].map(lambda d: float(d["A01"]["f"] or 0) > 0)
    result = search_enterprises(seeded, actor=OFFICER, filters=SearchFilters(qualifications={"A01": True}))
    assert _ids(result) == set(frame[held]["enterprise_id"]) and held.any()
    result = search_enterprises(seeded, actor=OFFICER, filters=SearchFilters(qualifications={"A01": False}))
    assert _ids(result) == set(frame[~held]["enterprise_id"])

    t03 = frame["decoded"].map(lambda d: d["T03"]["value"])
    t03 = pd.to_numeric(t03, errors="coerce")
    cut = float(t03.median())
    result = search_enterprises(
        seeded, actor=OFFICER, filters=SearchFilters(indicators=[IndicatorCondition("T03", low=cut)])
    )
    assert _ids(result) == set(frame[t03 >= cut]["enterprise_id"])
    # the condition's indicator becomes a column under its Chinese name, holding the run's value
    assert "v_T03" in result.frame.columns
    assert result.labels["v_T03"].startswith(result.model.indicator("T03").name)
    check = result.frame.set_index("enterprise_id")["v_T03"]
    reference = t03.set_axis(frame["enterprise_id"])
    assert np.allclose(check.sort_index().to_numpy(), reference.loc[check.sort_index().index].to_numpy())


def _one_report_pending(seeded, year: int, enterprise_id: int) -> set[int]:
    """The enterprise's report of ``year`` made pending (submitted); every enterprise with one pending."""
    changed = seeded.execute(
        update(Submission)
        .where(Submission.enterprise_id == enterprise_id, Submission.year == year)
        .values(state="submitted")
    ).rowcount
    if not changed:
        seeded.add(Submission(enterprise_id=enterprise_id, year=year, state="submitted", items={}))
    seeded.commit()
    return set(
        seeded.execute(
            select(Submission.enterprise_id).where(Submission.year == year, Submission.state == "submitted")
        ).scalars()
    )


def test_pending_self_report(seeded) -> None:
    run, frame = _run_rows(seeded)
    some = int(frame["enterprise_id"].iloc[0])
    pending = _one_report_pending(seeded, run.year, some)
    result = search_enterprises(seeded, actor=OFFICER, filters=SearchFilters(pending_self_report=True))
    assert _ids(result) == pending & set(frame["enterprise_id"]) and some in _ids(result)


def test_search_box_inside_filters(seeded) -> None:
    run, frame = _run_rows(seeded)
    target = frame.iloc[3]
    fragment = target["name"][2:4]
    result = search_enterprises(seeded, actor=OFFICER, filters=SearchFilters(query=fragment))
    assert target["enterprise_id"] in _ids(result)
    assert all(fragment in n for n in result.frame["name"])
    assert set(result.frame["match"]) == {"名称"}
    # the same query limited to another stage cannot return the target
    other = next(s for s in frame["stage"].unique() if s != target["stage"])
    result = search_enterprises(seeded, actor=OFFICER, filters=SearchFilters(query=fragment, stages=[other]))
    assert target["enterprise_id"] not in _ids(result)
    initials = seeded.get(Enterprise, int(target["enterprise_id"])).name_initials.split("|")[0][:4]
    result = search_enterprises(seeded, actor=OFFICER, filters=SearchFilters(query=initials))
    assert target["enterprise_id"] in _ids(result)


def test_renamed_enterprise_is_found_by_its_new_name(seeded) -> None:
    search_enterprises(seeded, actor=OFFICER, filters=SearchFilters(query="联"))  # index built
    enterprise = seeded.execute(select(Enterprise)).scalars().first()
    enterprise.name = "温州长江测试科技有限公司"
    seeded.commit()
    result = search_enterprises(seeded, actor=OFFICER, filters=SearchFilters(query="changjiangce"))
    assert enterprise.id in _ids(result)


def test_bad_input_is_refused_in_chinese(seeded) -> None:
    with pytest.raises(ValidationFailed, match="下限"):
        search_enterprises(seeded, actor=OFFICER, filters=SearchFilters(total=(80, 20)))
    with pytest.raises(ValidationFailed, match="资质"):
        search_enterprises(seeded, actor=OFFICER, filters=SearchFilters(qualifications={"T01": True}))
    with pytest.raises(ValidationFailed, match="没有指标"):
        search_enterprises(
            seeded, actor=OFFICER, filters=SearchFilters(indicators=[IndicatorCondition("X99")])
        )
    with pytest.raises(NotFound, match="不存在"):
        search_enterprises(seeded, actor=OFFICER, run_id=99999)


def test_enterprise_users_are_refused(seeded) -> None:
    enterprise = Actor(username="ent1", role="enterprise", user_id=9, enterprise_id=1)
    with pytest.raises(PermissionDenied):
        search_enterprises(seeded, actor=enterprise)
    with pytest.raises(PermissionDenied):
        search_options(seeded, actor=enterprise)
    result = search_enterprises(seeded, actor=OFFICER)
    with pytest.raises(PermissionDenied):
        export_table(seeded, actor=enterprise, result=result, columns=["name"], fmt="csv")


def test_options_come_from_the_runs_model(seeded) -> None:
    options = search_options(seeded, actor=OFFICER)
    model = search_enterprises(seeded, actor=OFFICER).model
    assert options.stages == {s.code: s.name for s in model.stages}
    assert options.qualifications["A01"] == model.indicator("A01").name
    assert {"A01", "A02", "A03"} <= set(options.qualifications)
    assert not set(options.qualifications) & {"N01", "N02", "T01"}
    assert options.tiers[""] == "未上榜"
    assert options.carriers[0] == "不在载体"


DANGEROUS = ["=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1)"]


def test_export_round_trip_and_formula_injection(seeded) -> None:
    ids = [e for (e,) in seeded.execute(select(Enterprise.id).order_by(Enterprise.id).limit(4))]
    for enterprise_id, name in zip(ids, DANGEROUS, strict=True):
        seeded.execute(update(Enterprise).where(Enterprise.id == enterprise_id).values(name=name))
    seeded.commit()
    result = search_enterprises(seeded, actor=OFFICER)
    columns = ["name", "credit_code", "stage_name", "total", "rank", "tier_name"]
    table = export_table(seeded, actor=OFFICER, result=result, columns=columns, fmt="xlsx")
    seeded.commit()

    data = export_bytes(table, "xlsx")
    sheet = load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    assert header == ["企业名称", "统一社会信用代码", "发展阶段", "总积分", "阶段排名", "榜单"]
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width > 10
    back = pd.read_excel(io.BytesIO(data), dtype={"统一社会信用代码": str}, engine="calamine")
    assert back["企业名称"].tolist() == table["企业名称"].tolist()
    assert back["统一社会信用代码"].tolist() == table["统一社会信用代码"].tolist()
    assert np.allclose(back["总积分"].to_numpy(float), table["总积分"].to_numpy(float))
    cells = {row[0].value: row[0] for row in sheet.iter_rows(min_row=2)}
    for name in DANGEROUS:
        assert cells[name].data_type == "s"  # a text cell, never a formula

    csv = export_bytes(table, "csv").decode("utf-8-sig")
    back = pd.read_csv(io.StringIO(csv), dtype=str, keep_default_na=False)
    names = set(back["企业名称"])
    for name in DANGEROUS:
        assert "'" + name in names and name not in names
    assert back["统一社会信用代码"].tolist() == table["统一社会信用代码"].tolist()
    events = seeded.execute(select(AuditEvent).where(AuditEvent.action == "search.export")).scalars().all()
    assert events and events[-1].after["rows"] == len(table) and events[-1].actor == "officer1"


def test_scores_and_index_are_warmed_up_in_the_background(seeded) -> None:  # noqa: ANN001
    """A staff page starts reading 企业检索's data in a background thread — the default run's scores, then
    the name index; the first search then uses them, and a second call within WARM_EVERY starts nothing."""
    import threading

    from services import search as search_service
    from services import search_data

    seeded.commit()
    url = str(seeded.get_bind().url)
    search_data._INDEX_CACHE.pop(url, None)
    search_data._RUN_CACHE.clear()
    memo.forget_warm_ups("search")
    with pytest.raises(PermissionDenied):
        search_data.warm_search(seeded, actor=Actor(username="ent1", role="enterprise", enterprise_id=1))
    assert search_data.warm_search(seeded, actor=OFFICER, delay=0)
    for thread in threading.enumerate():
        if thread.name == "search-warm":
            thread.join(60)
    built = search_data._INDEX_CACHE[url][2]
    assert len(built) == seeded.execute(select(func.count()).select_from(Enterprise)).scalar()
    run = search_data.default_run(seeded)
    scores = search_data._RUN_CACHE.get(search_data._run_key(seeded, run))
    assert scores is not None and len(scores) == run.enterprise_count
    assert not search_data.warm_search(seeded, actor=OFFICER)  # warmed just now: nothing started
    assert search_data.search_index(seeded, actor=OFFICER) is built
    name = scores["name"].iloc[0]
    result = search_service.search_enterprises(seeded, actor=OFFICER, filters=SearchFilters(query=name))
    assert result.frame["name"].iloc[0] == name


def test_a_search_during_the_scores_read_waits_for_it(seeded, monkeypatch) -> None:  # noqa: ANN001
    """Two threads asking for a run's scores at once read them once (the second waits for the first)."""
    import threading

    from services import search as search_service
    from services import search_data

    seeded.commit()
    search_data._RUN_CACHE.clear()
    reads = []
    real = search_data._read_run_scores

    def slow_read(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        reads.append(1)
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(search_data, "_read_run_scores", slow_read)
    engine = seeded.get_bind()
    counts = []

    def search_once() -> None:
        with Session(engine) as own:
            counts.append(search_service.search_enterprises(own, actor=OFFICER).run_size)

    threads = [threading.Thread(target=search_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(reads) == 1 and len(counts) == 2 and counts[0] == counts[1] > 0


def _default_order(session, run) -> pd.DataFrame:  # noqa: ANN001
    """The run's enterprises in the order an unfiltered search lists them, worked out from the rows:
    stage in the model's order, rank (unranked last), credit code; with their attributes."""
    model = get_model(session, run.model_version_id)
    rows = session.execute(
        select(
            Score.enterprise_id,
            Score.stage,
            Score.rank,
            Enterprise.credit_code,
            Enterprise.industry,
            Enterprise.street,
            Enterprise.carrier_id,
            Enterprise.bank_consent,
        )
        .join(Enterprise, Enterprise.id == Score.enterprise_id)
        .where(Score.run_id == run.id)
    ).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "enterprise_id",
            "stage",
            "rank",
            "credit_code",
            "industry",
            "street",
            "carrier_id",
            "consent",
        ],
    )
    frame["stage_order"] = frame["stage"].map({s.code: i for i, s in enumerate(model.stages)}).fillna(99)
    return frame.sort_values(["stage_order", "rank", "credit_code"], na_position="last").reset_index(
        drop=True
    )


def test_the_unfiltered_search_lists_the_whole_run_in_order_building_only_the_rows_asked_for(seeded) -> None:
    """Opened with no filter, 企业检索 builds only the rows it shows: the same first rows in the same
    order, the same count and a complete export as the whole run sorted from the database's rows."""
    run, _ = _run_rows(seeded)
    reference = _default_order(seeded, run)
    result = search_enterprises(seeded, actor=OFFICER)
    assert result.count == result.run_size == len(reference) == run.enterprise_count
    assert result.frame["enterprise_id"].tolist() == reference["enterprise_id"].tolist()
    shown = result.head(25)
    pd.testing.assert_frame_equal(shown, result.frame.head(25))
    top = reference.head(25)
    assert shown["enterprise_id"].tolist() == top["enterprise_id"].tolist()
    assert shown["industry"].tolist() == top["industry"].tolist()
    assert shown["street"].tolist() == top["street"].tolist()
    assert shown["carrier_id"].tolist() == top["carrier_id"].fillna(0).astype(int).tolist()
    assert shown["consent_text"].tolist() == ["已授权" if c else "未授权" for c in top["consent"]]
    columns = ["name", "credit_code", "stage_name", "total", "rank", "industry", "consent_text", "match"]
    page = result.table(columns, limit=25)
    whole = result.table(columns)
    pd.testing.assert_frame_equal(page, whole.head(25))
    assert list(page.columns) == [result.labels[c] for c in columns]
    exported = export_table(seeded, actor=OFFICER, result=result, columns=columns, fmt="csv")
    assert len(exported) == result.count
    pd.testing.assert_frame_equal(exported, whole)
    assert exported["统一社会信用代码"].tolist() == reference["credit_code"].tolist()


def test_the_rows_a_page_shows_are_those_of_the_whole_result(seeded) -> None:
    """With filters, a query and indicator columns the first rows built alone equal the first rows of
    the whole result (every column, the same order)."""
    run, frame = _run_rows(seeded)
    stage = frame["stage"].mode()[0]
    some = int(frame["enterprise_id"].iloc[0])
    submitted = _one_report_pending(seeded, run.year, some)
    name = frame["name"].iloc[0]
    for filters in (
        SearchFilters(stages=[stage], indicators=[IndicatorCondition("T03", low=0)]),
        SearchFilters(query=name[2:4]),
        SearchFilters(bank_consent=True, total=(10, None)),
        SearchFilters(),
    ):
        result = search_enterprises(seeded, actor=OFFICER, filters=filters, extra_columns=["A01", "T03"])
        assert result.count > 0
        for limit in (1, 7, result.count + 5):
            pd.testing.assert_frame_equal(result.head(limit), result.frame.head(limit))
        assert set(result.keys) == set(result.frame.columns)
        assert {"v_T03", "p_T03", "p_A01", "pending_text"} <= set(result.frame.columns)
        rows = result.frame
        assert set(rows[rows["pending_text"] == "待审核"]["enterprise_id"]) == submitted & set(
            rows["enterprise_id"]
        )
    assert some in submitted
