"""The demo seed: counts, stages, credit codes, traceability, determinism, accounts and runs."""

from __future__ import annotations

from pathlib import Path

import bcrypt
import numpy as np
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from core.credit_code import is_valid
from core.model_loading import load_model
from db.models import (
    SELF_REPORT_SOURCE,
    Carrier,
    Enterprise,
    ImportBatch,
    ScoreRun,
    ServiceItem,
    Submission,
    User,
)
from db.schema import init_db
from db.session import make_engine
from db.values import stored_values
from demo import DEMO_PASSWORD, YEARS, is_empty, seed_demo
from tests.values import credit_codes, stored_rows

N = 200


def _count(session: Session, model: type) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def seeded(session: Session):
    assert is_empty(session)
    summary = seed_demo(session, enterprises=N, seed=7, with_runs=False)
    return session, summary


def test_counts_and_stages(seeded) -> None:
    session, summary = seeded
    model = load_model()
    assert _count(session, Enterprise) == N == summary.enterprises
    assert _count(session, Carrier) == 12
    assert _count(session, User) == 9  # admin, two officers, a partner bank, five enterprises
    assert _count(session, ServiceItem) >= 10
    assert not is_empty(session)
    # Every stage is populated in the last year, by the stage indicator's values.
    rev = stored_values(session, year=YEARS[-1], code=model.stage_indicator)["value_num"].to_numpy(
        dtype=float
    )
    for st in model.stages:
        upper = np.inf if st.max_revenue is None else st.max_revenue
        assert ((rev >= st.min_revenue) & (rev < upper)).sum() > 0, st.code
    assert set(summary.stage_counts) == set(model.stage_codes)
    assert all(v > 0 for v in summary.stage_counts.values())


def test_credit_codes_valid_unique_and_names_unique(seeded) -> None:
    session, _ = seeded
    rows = session.execute(select(Enterprise.credit_code, Enterprise.name, Enterprise.name_initials)).all()
    codes = [r[0] for r in rows]
    assert all(is_valid(c) for c in codes)
    assert len(set(codes)) == N
    assert len({r[1] for r in rows}) == N
    assert all(r[2] and r[2].isascii() for r in rows)


def test_values_are_traceable_and_plausible(seeded) -> None:
    session, _ = seeded
    model = load_model()
    values = stored_values(session)
    untraced = int((values["batch_id"].isna() & values["submission_id"].isna()).sum())
    assert untraced == 0
    committed = set(session.execute(select(ImportBatch.status)).scalars())
    assert committed == {"committed"}
    # Self-reported values come from approved submissions only.
    self_codes = [i.code for i in model.indicators if i.self_reported]
    reported = values[values["code"].isin(self_codes)]
    state_of = dict(session.execute(select(Submission.id, Submission.state)).all())
    states = {state_of[s] for s in reported["submission_id"].dropna()}
    assert states == {"approved"}
    assert set(reported["source"]) == {SELF_REPORT_SOURCE}
    # R&D staff never exceed insured staff (T04's definition).
    t04 = next(i.code for i in model.indicators if i.self_reported and i.unit == "人")
    pairs = [
        (v.enterprise_id, v.year, v.code, v.value_num)
        for v in stored_rows(session, code=[t04, "insured_staff"])
    ]
    by_key: dict = {}
    for e, y, c, v in pairs:
        by_key.setdefault((e, y), {})[c] = v
    checked = [d for d in by_key.values() if t04 in d and "insured_staff" in d]
    assert checked and all(d[t04] <= d["insured_staff"] for d in checked)


def test_pending_and_returned_submissions(seeded) -> None:
    session, summary = seeded
    pending = session.execute(select(Submission).where(Submission.state == "submitted")).scalars().all()
    assert len(pending) == summary.pending_submissions == 8
    assert all(s.year == YEARS[-1] and s.items for s in pending)
    ent2 = session.execute(select(User).where(User.username == "ent2")).scalar_one()
    assert ent2.enterprise_id in {s.enterprise_id for s in pending}
    returned = session.execute(select(Submission).where(Submission.state == "returned")).scalars().all()
    assert len(returned) == 1 and returned[0].reason


def test_every_reported_list_row_has_its_own_evidence_key(seeded) -> None:
    """The page files a list row's evidence under ``code:uid``: rows sharing one could not be drawn
    (two rows without a uid made the 数据填报 page fail on a duplicate widget key)."""
    session, _ = seeded
    lists = [
        rows
        for s in session.execute(select(Submission)).scalars()
        for rows in (s.items or {}).values()
        if isinstance(rows, list)
    ]
    assert sum(len(rows) > 1 for rows in lists) > 10  # the seed does report several rows of one item
    for rows in lists:
        uids = [row.get("uid") for row in rows]
        assert all(uids) and len(set(uids)) == len(uids), rows


def test_demo_accounts(seeded) -> None:
    session, _ = seeded
    users = {u.username: u for u in session.execute(select(User)).scalars()}
    assert set(users) == {"admin", "officer1", "officer2", "bank1", "ent1", "ent2", "ent3", "ent4", "ent5"}
    assert users["admin"].role == "admin" and users["officer1"].role == "officer"
    assert users["bank1"].role == "bank" and users["bank1"].bank_name and users["bank1"].enterprise_id is None
    assert bcrypt.checkpw(DEMO_PASSWORD.encode(), users["ent3"].password_hash.encode())
    assert all(
        u.must_change_password for u in users.values()
    )  # Demo@2025 is public: one-time unless --local-demo
    ent_ids = [users[f"ent{k}"].enterprise_id for k in range(1, 6)]
    assert None not in ent_ids and len(set(ent_ids)) == 5
    model = load_model()
    revs = {
        v.enterprise_id: v.value_num
        for v in stored_rows(session, year=YEARS[-1], code=model.stage_indicator)
        if v.enterprise_id in ent_ids
    }
    stages = set()
    for eid in ent_ids:
        v = revs[eid]
        stages.add(
            next(
                s.code
                for s in model.stages
                if v >= s.min_revenue and (s.max_revenue is None or v < s.max_revenue)
            )
        )
    assert len(stages) == 5


def test_second_seed_refused(seeded) -> None:
    session, _ = seeded
    with pytest.raises(ValueError, match="空数据库"):
        seed_demo(session, enterprises=N, with_runs=False)


def _snapshot(path: Path, seed: int) -> tuple[list, list]:
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    with Session(engine) as session:
        seed_demo(session, enterprises=60, seed=seed, with_runs=False)
        ents = session.execute(
            select(
                Enterprise.credit_code, Enterprise.name, Enterprise.street, Enterprise.registered_on
            ).order_by(Enterprise.id)
        ).all()
        codes = credit_codes(session)
        vals = sorted(
            (
                (codes[v.enterprise_id], v.year, v.code, v.value_num, v.value_text, v.source)
                for v in stored_rows(session)
            ),
            key=lambda v: v[:3],
        )
    engine.dispose()
    return ents, vals


def test_same_seed_same_data(tmp_path: Path) -> None:
    a = _snapshot(tmp_path / "a.db", 5)
    b = _snapshot(tmp_path / "b.db", 5)
    c = _snapshot(tmp_path / "c.db", 6)
    assert a == b
    assert a[0] != c[0]


def test_demo_runs(session: Session) -> None:
    summary = seed_demo(session, enterprises=N, seed=3, with_runs=True)
    assert set(summary.runs) == set(YEARS)
    runs = {r.year: r for r in session.execute(select(ScoreRun)).scalars()}
    assert runs[YEARS[0]].state == "final"
    assert runs[YEARS[-1]].state == "notice"
    assert runs[YEARS[-1]].notice_start is not None


def test_every_batch_comes_from_a_department_the_import_flow_knows(seeded) -> None:
    """The seed's batches name the departments an officer would pick on the import page."""
    from core.importing import departments

    session, _ = seeded
    known = set(departments(load_model()))
    batch_departments = set(session.execute(select(ImportBatch.department)).scalars())
    assert batch_departments and batch_departments <= known
