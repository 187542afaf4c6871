"""Score runs end to end on a small hand-built dataset (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from core.breakdown import decode
from core.credit_code import make_code
from core.derive import derive_indicators
from core.engine import score
from core.model_loading import load_model
from db.models import AuditEvent, Enterprise, Objection, Score, ScoreRun
from db.queries import scores_frame
from db.run_inputs import READERS, _first_rows_ahead, current_values, current_values_frame
from db.values import replace_values, stored_values
from services.actor import Actor
from services.errors import Conflict, PermissionDenied
from services.model_versions import ensure_default_model, get_model
from services.runs import (
    compute_run,
    finalize_run,
    latest_run,
    publish_run,
    run_summary,
    supersede_run,
    verify_run,
)
from tests.values import add_values

YEAR = 2025
OFFICER = Actor(username="officer1", role="officer", user_id=2)

# (credit-code seed, name, {code: value} for YEAR - 1, {code: value} for YEAR)
DATA = [
    (
        "1",
        "甲科技",
        {"T01": 50, "G01": 800, "insured_staff": 40},
        {
            "T01": 80,
            "G01": 1000,
            "staff": 50,
            "insured_staff": 48,
            "T04": 10,
            "T06": 2,
            "T07": 4,
            "T08": 30,
            "G03": 60,
            "G04": 40,
            "G07": 0,
            "G08": 50,
            "A01": 1,
            "T09": "省",
            "total_cost": 900,
            "T10": json.dumps([{"level": "市", "role": "牵头"}], ensure_ascii=False),
        },
    ),
    (
        "2",
        "乙制造",
        {"T01": 0, "G01": 30},
        {
            "T01": 5,
            "G01": 40,
            "staff": 8,
            "insured_staff": 8,
            "T04": 2,
            "T07": 1,
            "G03": -5,
            "G04": 1,
            "total_cost": 30,
            "G08": 70,
        },
    ),
    (
        "3",
        "丙软件",
        {"T01": 100, "G01": 2500, "insured_staff": 100},
        {
            "T01": 150,
            "G01": 3000,
            "staff": 120,
            "insured_staff": 110,
            "T04": 30,
            "T06": 5,
            "T07": 12,
            "T08": 200,
            "G03": 300,
            "G04": 150,
            "G07": 1000,
            "G08": 40,
            "A02": 1,
            "A03": "小巨人",
        },
    ),
    (
        "4",
        "丁生物",
        {"G01": 600},
        {"T01": 60, "G01": 700, "staff": 30, "insured_staff": 30, "T04": 6, "G03": 20, "G04": 10, "N01": 1},
    ),
    (
        "5",
        "戊新材",
        {},
        {"T01": 20, "G01": 900, "staff": 25, "insured_staff": 20, "T04": 3, "G03": 10, "G04": 5, "T02": 7.5},
    ),  # T02 supplied directly: must not be overwritten by T01/G01
]


def _populate(session: Session) -> dict[str, int]:
    ids = {}
    for seed, name, _, _ in DATA:
        enterprise = Enterprise(credit_code=make_code(seed), name=name)
        session.add(enterprise)
        session.flush()
        ids[seed] = enterprise.id
    rows = []
    for seed, _, previous, current in DATA:
        for year, values in ((YEAR - 1, previous), (YEAR, current)):
            for code, value in values.items():
                numeric = not isinstance(value, str)
                rows.append(
                    {
                        "enterprise_id": ids[seed],
                        "year": year,
                        "code": code,
                        "source": "税务",
                        "value_num": float(value) if numeric else None,
                        "value_text": None if numeric else value,
                    }
                )
    add_values(session, *rows)
    session.commit()
    return ids


@pytest.fixture
def populated(session: Session) -> dict[str, int]:
    ensure_default_model(session)
    return _populate(session)


def _expected(session: Session) -> pd.DataFrame:
    model = get_model(session, ensure_default_model(session).id)
    this_year = current_values_frame(session, year=YEAR)
    previous = current_values_frame(session, year=YEAR - 1)
    derived = derive_indicators(model, this_year, previous)
    return score(model, derived).set_index("credit_code")


def _publish(
    session: Session, run_id: int, start: date, end: date, *, actor: Actor = OFFICER, **more: bool
) -> ScoreRun:
    """Publish run ``run_id`` for 公示 from ``start`` to ``end`` (as officer1 unless ``actor``)."""
    return publish_run(session, actor=actor, run_id=run_id, notice_start=start, notice_end=end, **more)


def test_current_values_frame_shape(session: Session, populated: dict[str, int]) -> None:
    frame = current_values(session, year=YEAR, codes=["G01", "T09", "T99"])
    values = frame.values
    assert list(values.columns) == ["credit_code", "name", "enterprise_id", "G01", "T09", "T99"]
    assert len(values) == len(DATA)
    assert values["G01"].dtype == "float64"
    row = values.set_index("credit_code").loc[make_code("1")]
    assert row["G01"] == 1000.0 and row["T09"] == "省" and pd.isna(row["T99"])
    assert frame.sources.set_index("enterprise_id").loc[populated["1"], "G01"] == "税务"


def test_current_values_keep_each_cells_source_and_whole_names(
    session: Session, populated: dict[str, int]
) -> None:
    """A code fed by two departments keeps every cell's own source (the read takes a shortcut when a
    code has one source only); a name holding the separator of the aggregated read comes back whole."""
    g01 = stored_values(session, enterprise_id=populated["2"], year=YEAR, code="G01")
    assert len(g01) == 1
    replace_values(
        session,
        year=YEAR,
        rows=g01[["enterprise_id", "code", "value_num", "value_text", "flagged"]].assign(source="自报"),
        created_by="test",
    )
    session.get(Enterprise, populated["3"]).name = "丙\x1f软件"
    session.commit()
    frame = current_values(session, year=YEAR, codes=["G01", "T01", "A01"])
    sources = frame.sources.set_index("enterprise_id")
    assert sources.loc[populated["2"], "G01"] == "自报" and sources.loc[populated["1"], "G01"] == "税务"
    assert sources.loc[populated["2"], "T01"] == "税务" and sources.loc[populated["2"], "A01"] is None
    values = frame.values.set_index("enterprise_id")
    assert values.loc[populated["2"], "G01"] == 40.0 and values.loc[populated["3"], "G01"] == 3000.0
    assert (
        values.loc[populated["3"], "name"] == "丙\x1f软件" and values.loc[populated["1"], "name"] == "甲科技"
    )
    assert values.index.tolist() == sorted(populated.values())


def test_current_values_read_text_cells_with_their_sources(
    session: Session, populated: dict[str, int]
) -> None:
    """Text cells (tiers, JSON lists) come back whole with each cell's own source, also when a code's
    texts come from two departments and when a text holds the separator of the aggregated read."""
    add_values(
        session,
        {
            "enterprise_id": populated["2"],
            "year": YEAR,
            "code": "T09",
            "source": "科技",
            "value_text": "国家",
        },
        {
            "enterprise_id": populated["4"],
            "year": YEAR,
            "code": "A03",
            "source": "经信",
            "value_text": "省\x1f级",
        },
    )
    session.commit()
    frame = current_values(session, year=YEAR, codes=["T09", "T10", "A03"])
    values, sources = frame.values.set_index("enterprise_id"), frame.sources.set_index("enterprise_id")
    assert values.loc[populated["1"], "T09"] == "省" and sources.loc[populated["1"], "T09"] == "税务"
    assert values.loc[populated["2"], "T09"] == "国家" and sources.loc[populated["2"], "T09"] == "科技"
    assert values.loc[populated["3"], "A03"] == "小巨人" and values.loc[populated["4"], "A03"] == "省\x1f级"
    assert sources.loc[populated["4"], "A03"] == "经信" and sources.loc[populated["3"], "A03"] == "税务"
    assert json.loads(values.loc[populated["1"], "T10"]) == [{"level": "市", "role": "牵头"}]
    assert values.loc[populated["3"], "T09"] is None and sources.loc[populated["3"], "T09"] is None


def test_current_values_read_every_number_exactly(session: Session, populated: dict[str, int]) -> None:
    """Whole numbers (beyond 2**53 too) and fractions come back bit for bit, whatever text the
    database renders them through."""
    numbers = {
        "T06": 0.1 + 0.2,
        "T07": 1e20,
        "T08": float(2**53 + 2),
        "G07": -7.0,
        "G08": 2.5e-300,
        "A07": 9007199254740993.0,
        "T11": -123456789.125,
        # hundredths (read as integers on SQLite), next to what is not quite one
        "Z01": 403.27,
        "Z02": 99999999999999.98,
        "Z03": -0.05,
        "Z04": 12.345,
        "Z05": 1e15,
        "Z06": 0.07,
    }
    add_values(
        session,
        *(
            {
                "enterprise_id": populated["4"],
                "year": YEAR,
                "code": code,
                "source": "税务",
                "value_num": number,
            }
            for code, number in numbers.items()
        ),
    )
    session.commit()
    values = current_values(session, year=YEAR, codes=list(numbers)).values.set_index("enterprise_id")
    for code, number in numbers.items():
        assert values.loc[populated["4"], code] == number, code


def test_current_values_fill_each_row_with_its_own_value(session: Session, populated: dict[str, int]) -> None:
    """A code every enterprise has fills its column as read when stored in id order, and through a
    search when stored in another order: either way each enterprise gets its own value."""
    ids = sorted(populated.values())
    for code, stored in (("Z08", ids), ("Z09", ids[::-1])):
        add_values(
            session,
            *(
                {"enterprise_id": i, "year": YEAR, "code": code, "source": "科技", "value_num": i * 1.5}
                for i in stored
            ),
        )
    session.commit()
    values = current_values(session, year=YEAR, codes=["Z08", "Z09"]).values
    assert values["enterprise_id"].tolist() == ids
    assert values["Z08"].tolist() == values["Z09"].tolist() == [i * 1.5 for i in ids]


def test_current_values_read_in_the_sessions_transaction(session: Session, populated: dict[str, int]) -> None:
    """The per-code reads (a statement ahead in a worker thread on SQLite) use the session's own
    connection: values flushed and not yet committed are read, as one transaction reads its writes."""
    add_values(
        session,
        *(
            {
                "enterprise_id": populated["4"],
                "year": YEAR,
                "code": code,
                "source": "科技",
                "value_num": number,
            }
            for code, number in (("T06", 7.0), ("T07", 8.5), ("T08", 9.25))
        ),
    )  # written in the session's transaction, not committed
    frame = current_values(session, year=YEAR, codes=["G01", "T06", "T07", "T08"])
    row = frame.values.set_index("enterprise_id").loc[populated["4"]]
    assert (row["G01"], row["T06"], row["T07"], row["T08"]) == (700.0, 7.0, 8.5, 9.25)
    assert frame.sources.set_index("enterprise_id").loc[populated["4"], "T08"] == "科技"
    session.rollback()


CODES_2025 = sorted({code for _, _, _, current in DATA for code in current})
# The run's bulk read (db.run_inputs) is tested on the table it reads: its statements are SQL on it.
MAX_PER_CODE = "SELECT max(value_num) FROM indicatorvalue WHERE year = ? AND code = ? AND is_current"


def test_current_values_read_on_connections_of_their_own(session: Session, populated: dict[str, int]) -> None:
    """With nothing uncommitted in the session the per-code statements run on pooled connections of
    their own, several at once, and hand them back however the read ends: exhausted, left early, or
    failing (the statement's error reaches the caller, the session reads on)."""
    pool = session.get_bind().pool
    session.connection()
    held = pool.checkedout()
    params = [(YEAR, code) for code in CODES_2025]
    rows = _first_rows_ahead(session, MAX_PER_CODE, params)
    assert next(rows) == (max(v[CODES_2025[0]] for *_, v in DATA if CODES_2025[0] in v),)
    assert pool.checkedout() == held + READERS
    rows.close()  # left early
    assert pool.checkedout() == held
    every = list(_first_rows_ahead(session, MAX_PER_CODE, params))
    assert [row[0] for row in every][CODES_2025.index("G01")] == 3000.0 and len(every) == len(params)
    with pytest.raises(Exception, match="no_such_column"):
        list(_first_rows_ahead(session, MAX_PER_CODE.replace("value_num", "no_such_column"), params))
    assert pool.checkedout() == held
    assert current_values(session, year=YEAR, codes=["G01"]).values["G01"].max() == 3000.0


def test_current_values_read_one_snapshot_on_postgres(session: Session, populated: dict[str, int]) -> None:
    """On PostgreSQL the connections reading for the session share the snapshot it exports when the read
    begins: a value another connection commits meanwhile is not taken by the statements still to come
    (on SQLite each statement reads the last commit, as the session's own reads outside a write do)."""
    if session.connection().dialect.name != "postgresql":
        pytest.skip("SQLite connections share no snapshot")
    params = [(YEAR, code) for code in CODES_2025]
    assert CODES_2025[-1] == "total_cost" and len(params) > 4 * READERS  # read well after the commit
    rows = _first_rows_ahead(session, MAX_PER_CODE, params)
    first = next(rows)
    with session.get_bind().begin() as other:
        # on the table, like MAX_PER_CODE: the snapshot of the statements that read it is under test
        other.execute(text("UPDATE indicatorvalue SET value_num = 1e6 WHERE code = 'total_cost'"))
    rest = list(rows)
    assert [first, *rest][-1] == (900.0,)
    assert current_values(session, year=YEAR, codes=["total_cost"]).values["total_cost"].max() == 1e6


def test_derivations(session: Session, populated: dict[str, int]) -> None:
    model = get_model(session, ensure_default_model(session).id)
    derived = derive_indicators(
        model, current_values_frame(session, year=YEAR), current_values_frame(session, year=YEAR - 1)
    ).set_index("credit_code")
    first = derived.loc[make_code("1")]
    assert first["T02"] == pytest.approx(8.0)  # 80 / 1000 × 100
    assert first["T03"] == pytest.approx(60.0)  # (80 − 50) / 50 × 100
    assert first["T05"] == pytest.approx(20.0)  # 10 / 50 × 100
    assert first["G02"] == pytest.approx(25.0)
    assert first["G05"] == pytest.approx(20.0)
    assert first["G06"] == pytest.approx(20.0)
    assert first["prev_T01"] == 50 and first["prev_G01"] == 800
    second = derived.loc[make_code("2")]
    assert pd.isna(second["T03"]) and second["prev_T01"] == 0  # zero base: scored by the rule
    assert pd.isna(derived.loc[make_code("5"), "T03"])  # no previous year
    assert derived.loc[make_code("5"), "T02"] == 7.5  # supplied value kept


def test_compute_matches_engine(session: Session, populated: dict[str, int]) -> None:
    run = compute_run(session, actor=OFFICER, year=YEAR)
    assert run.state == "draft" and run.enterprise_count == len(DATA) and len(run.input_fingerprint) == 64
    stored = scores_frame(session, run_id=run.id, include_breakdown=True).set_index("credit_code")
    expected = _expected(session)
    assert set(stored.index) == set(expected.index)
    for column in ("technology", "growth", "core", "bonus", "deduction", "total", "subsidy"):
        assert np.allclose(stored[column], expected.loc[stored.index, column])
    assert (stored["stage"] == expected.loc[stored.index, "stage"]).all()
    assert (stored["veto"] == expected.loc[stored.index, "veto"]).all()
    assert stored.loc[make_code("4"), "veto"] and pd.isna(stored.loc[make_code("4"), "rank"])
    # Equal ranks and <NA> (vetoed) in the same places: ranks [1, NA, 3] against [1, 2, NA] fail here.
    pd.testing.assert_series_equal(
        stored["rank"].astype("Float64"),
        expected.loc[stored.index, "rank"].astype("Float64"),
        check_names=False,
        check_index_type=False,
    )
    breakdown = decode(load_model(), stored.loc[make_code("1"), "breakdown"])
    assert breakdown["G01"]["value"] == 1000.0 and breakdown["G01"]["source"] == "税务"
    assert breakdown["T02"]["value"] == pytest.approx(8.0) and breakdown["T02"]["source"] == "派生"
    assert breakdown["T02"]["pts"] == pytest.approx(expected.loc[make_code("1"), "pts_T02"])
    assert breakdown["prev_T01"]["value"] == 50.0
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "run.compute")).all()
    assert len(events) == 1 and events[0].actor == "officer1"


def _t11_of_a_new_run(session: Session, enterprise_id: int) -> dict:
    """T11 in the breakdown of ``enterprise_id`` in a run computed now."""
    run = compute_run(session, actor=OFFICER, year=YEAR)
    row = (
        scores_frame(session, run_id=run.id, include_breakdown=True)
        .set_index("enterprise_id")
        .loc[enterprise_id]
    )
    return decode(load_model(), row["breakdown"])["T11"]


def test_self_report_counts_only_when_current(session: Session, populated: dict[str, int]) -> None:
    enterprise_id = populated["2"]
    # A non-current (e.g. superseded or unapproved history) self-reported value must not count.
    add_values(
        session,
        {
            "enterprise_id": enterprise_id,
            "year": YEAR,
            "code": "T11",
            "value_num": 90,
            "source": "自报",
            "is_current": False,
        },
    )
    session.commit()
    t11 = _t11_of_a_new_run(session, enterprise_id)
    assert t11["value"] is None and t11["pts"] == 0
    # Approval writes the current row: now it counts.
    add_values(
        session,
        {"enterprise_id": enterprise_id, "year": YEAR, "code": "T11", "value_num": 90, "source": "自报"},
    )
    session.commit()
    t11 = _t11_of_a_new_run(session, enterprise_id)
    assert t11["value"] == 90 and t11["source"] == "自报"
    assert t11["pts"] > 0


def test_publish_finalize_and_immutability(session: Session, populated: dict[str, int]) -> None:
    first = compute_run(session, actor=OFFICER, year=YEAR)
    with pytest.raises(Exception, match="日期"):
        _publish(session, first.id, date(2025, 3, 10), date(2025, 3, 1))
    _publish(session, first.id, date(2025, 3, 1), date(2025, 3, 7))
    assert latest_run(session).id == first.id
    second = compute_run(session, actor=OFFICER, year=YEAR)
    _publish(session, second.id, date(2025, 3, 8), date(2025, 3, 15), replace=True)
    session.refresh(first)
    assert first.state == "superseded" and second.supersedes_id == first.id
    finalize_run(session, actor=OFFICER, run_id=second.id)
    assert session.get(ScoreRun, second.id).state == "final"
    with pytest.raises(Conflict):
        finalize_run(session, actor=OFFICER, run_id=second.id)
    with pytest.raises(Conflict):
        _publish(session, second.id, date(2025, 4, 1), date(2025, 4, 7))
    with pytest.raises(Conflict):
        supersede_run(session, actor=OFFICER, run_id=second.id)
    # A later final run of the same year supersedes the earlier final one.
    third = compute_run(session, actor=OFFICER, year=YEAR)
    _publish(session, third.id, date(2025, 5, 1), date(2025, 5, 7))
    finalize_run(session, actor=OFFICER, run_id=third.id)
    session.refresh(second)
    assert second.state == "superseded" and latest_run(session, states=("final",)).id == third.id
    actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]
    assert actions.count("run.publish") == 3 and actions.count("run.finalize") == 2
    assert actions.count("run.supersede") == 2
    summary = run_summary(session, actor=OFFICER, run_id=third.id)
    assert summary.loc["all", "enterprises"] == len(DATA) and summary.loc["all", "vetoed"] == 1


def test_verify_detects_tampering(session: Session, populated: dict[str, int]) -> None:
    run = compute_run(session, actor=OFFICER, year=YEAR)
    report = verify_run(session, actor=OFFICER, run_id=run.id)
    assert report.identical and report.fingerprint_matches and report.enterprise_count == len(DATA)
    session.execute(
        text("UPDATE score SET total = total + 1 WHERE run_id = :r AND enterprise_id = :e"),
        {"r": run.id, "e": populated["3"]},
    )
    session.commit()
    report = verify_run(session, actor=OFFICER, run_id=run.id)
    assert not report.identical
    assert report.differing_enterprises == [make_code("3")] and report.differing_columns == ["total"]


def test_permissions(session: Session, populated: dict[str, int]) -> None:
    enterprise = Actor(username="ent1", role="enterprise", enterprise_id=populated["1"])
    with pytest.raises(PermissionDenied):
        compute_run(session, actor=enterprise, year=YEAR)
    run = compute_run(session, actor=OFFICER, year=YEAR)
    for call in (
        lambda: _publish(session, run.id, date(2025, 1, 1), date(2025, 1, 2), actor=enterprise),
        lambda: finalize_run(session, actor=enterprise, run_id=run.id),
        lambda: verify_run(session, actor=enterprise, run_id=run.id),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert session.exec(select(Score).where(Score.run_id == run.id)).first() is not None


def test_finalize_refuses_while_an_objection_is_open(session: Session, populated: dict[str, int]) -> None:
    run = compute_run(session, actor=OFFICER, year=YEAR)
    _publish(session, run.id, date(2025, 3, 1), date(2025, 3, 7))
    objection = Objection(
        run_id=run.id, enterprise_id=populated["1"], reason="研发费用有误", created_by="ent"
    )
    session.add(objection)
    session.commit()
    with pytest.raises(Conflict, match="1 条异议未处理"):
        finalize_run(session, actor=OFFICER, run_id=run.id)
    assert session.get(ScoreRun, run.id).state == "notice"
    objection.state, objection.answer = "rejected", "数据与税务部门一致"
    session.add(objection)
    session.commit()
    assert finalize_run(session, actor=OFFICER, run_id=run.id).state == "final"


ADMIN = Actor(username="admin", role="admin", user_id=1)


def test_finalize_waits_for_the_window_unless_an_admin_states_a_reason(
    session: Session, populated: dict[str, int]
) -> None:
    from datetime import UTC, datetime

    from core import clock
    from services.errors import ValidationFailed
    from services.runs import guard_transition

    run = compute_run(session, actor=OFFICER, year=YEAR)
    _publish(session, run.id, date(2026, 12, 1), date(2026, 12, 7))
    # Day 1 of the 7-day window (Beijing): the officer is refused and told when it becomes possible.
    with clock.frozen(datetime(2026, 12, 1, 2, 0, tzinfo=UTC)):
        with pytest.raises(Conflict, match="2026-12-07 24:00.*还剩 7 天.*系统管理员"):
            finalize_run(session, actor=OFFICER, run_id=run.id)
        guard = guard_transition(session, actor=ADMIN, run_id=run.id, action="finalize")
        assert guard.allowed and guard.reason_required
        with pytest.raises(ValidationFailed, match="理由"):
            finalize_run(session, actor=ADMIN, run_id=run.id, reason="  ")
        assert session.get(ScoreRun, run.id).state == "notice"
    # The last day's evening in Beijing (15:59 UTC) is still inside the window.
    with clock.frozen(datetime(2026, 12, 7, 15, 59, tzinfo=UTC)), pytest.raises(Conflict, match="还剩 1 天"):
        finalize_run(session, actor=OFFICER, run_id=run.id)
    # From 00:00 Beijing after the last day an officer finalises without a reason.
    with clock.frozen(datetime(2026, 12, 7, 16, 0, tzinfo=UTC)):
        assert guard_transition(session, actor=OFFICER, run_id=run.id, action="finalize").notes == ()
    with clock.frozen(datetime(2026, 12, 2, 1, 0, tzinfo=UTC)):
        done = finalize_run(session, actor=ADMIN, run_id=run.id, reason="区政府会议决定提前发布")
    assert done.state == "final"
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "run.finalize")).one()
    assert event.reason == "区政府会议决定提前发布" and event.actor == "admin"
    assert "early" in (event.after or "")


def test_finalize_after_the_window_needs_no_reason(session: Session, populated: dict[str, int]) -> None:
    from datetime import UTC, datetime

    from core import clock

    run = compute_run(session, actor=OFFICER, year=YEAR)
    _publish(session, run.id, date(2026, 12, 1), date(2026, 12, 7))
    with clock.frozen(datetime(2026, 12, 8, 1, 0, tzinfo=UTC)):
        assert finalize_run(session, actor=OFFICER, run_id=run.id).state == "final"
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "run.finalize")).one()
    assert event.reason is None and "early" not in (event.after or "")


def test_publishing_over_a_running_notice_must_be_confirmed(
    session: Session, populated: dict[str, int]
) -> None:
    from services.runs import guard_transition

    first = compute_run(session, actor=OFFICER, year=YEAR)
    _publish(session, first.id, date(2025, 3, 1), date(2025, 3, 7))
    second = compute_run(session, actor=OFFICER, year=YEAR)
    guard = guard_transition(session, actor=OFFICER, run_id=second.id, action="publish")
    assert guard.replaces == (first.id,) and f"#{first.id} 正在公示" in guard.notes[0]
    with pytest.raises(Conflict, match=f"#{first.id} 正在公示"):
        _publish(session, second.id, date(2025, 3, 8), date(2025, 3, 15))
    session.rollback()
    assert session.get(ScoreRun, first.id).state == "notice"
    assert session.get(ScoreRun, second.id).state == "draft"
    _publish(session, second.id, date(2025, 3, 8), date(2025, 3, 15), replace=True)
    assert session.get(ScoreRun, first.id).state == "superseded"
    # Another year's run in 公示 is not replaced, so nothing is asked.
    other = compute_run(session, actor=OFFICER, year=YEAR - 1)
    assert guard_transition(session, actor=OFFICER, run_id=other.id, action="publish").replaces == ()
