"""The demo seed: ``seed_demo(session, enterprises=3000, seed=42)`` fills an *empty* database.

A plausible pilot: values for two consecutive evaluation years (:data:`demo.vocabulary.YEARS`) plus the
previous year's growth bases, every value traceable to a committed department :class:`ImportBatch` or an
approved self-report :class:`Submission`, a handful of pending self-reports, the service catalogue
(``core/models/services.toml``), demo accounts and (``with_runs``) a final run for the first year and a
run in 公示 for the second, computed and published through the run services (an application above
``services/``). Which values exist is driven by the scoring model — indicators, base fields,
derivations, rule types and stage bounds; :mod:`demo.distributions` draws them from one seeded
``numpy.random.Generator``: the same seed gives the same data.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import bcrypt
import numpy as np
from sqlalchemy import func, insert, select
from sqlmodel import Session

from core import clock, engine
from core.importing import DEPARTMENTS
from core.importing import departments as model_departments
from core.matching import shipped_catalogue
from core.model_loading import load_model
from core.scoring_model import Indicator, ScoringModel
from db.models import (
    SELF_REPORT_SOURCE,
    Carrier,
    Enterprise,
    ImportBatch,
    ServiceItem,
    Submission,
    User,
    enterprise_search_keys,
)
from db.values import insert_seeded
from demo.distributions import Traits, generator, generic
from demo.rows import at_ten, bulk_insert, department_of, encode, report_items, value_row
from demo.vocabulary import (
    CARRIERS,
    DEMO_BANK,
    DEMO_PASSWORD,
    INDUSTRY_WORDS,
    SEED_ACTOR,
    STREETS,
    YEARS,
    credit_codes,
    enterprise_names,
)
from services.actor import Actor
from services.audit import record
from services.model_versions import ensure_default_model, publish_model_version, register_model
from services.runs import compute_run, finalize_run, publish_run


@dataclass
class SeedSummary:
    """What :func:`seed_demo` wrote (row counts, run ids and states) and how long it took."""

    enterprises: int = 0
    carriers: int = 0
    users: int = 0
    values: int = 0
    batches: int = 0
    submissions: int = 0
    pending_submissions: int = 0
    service_items: int = 0
    runs: dict[int, int] = field(default_factory=dict)  # year -> run id
    run_states: dict[int, str] = field(default_factory=dict)
    stage_counts: dict[str, int] = field(default_factory=dict)  # stage code -> enterprises (last year)
    seconds: float = 0.0
    run_seconds: float = 0.0


def is_empty(session: Session) -> bool:
    """True when the database holds no enterprise and no user (``seed-demo --if-empty``)."""
    has_ent = session.execute(select(func.count()).select_from(Enterprise)).scalar_one()
    has_user = session.execute(select(func.count()).select_from(User)).scalar_one()
    return has_ent == 0 and has_user == 0


def _stored_codes(model: ScoringModel) -> tuple[list[Indicator], list[str], list[str]]:
    """(indicators stored as values, base fields, codes whose previous year the growth derivations need)."""
    derived = {d.target for d in model.derivations}
    stored = [ind for ind in model.indicators if ind.code not in derived]
    base = [b.code for b in model.base_fields]
    growth_of = [d.of for d in model.derivations if d.kind == "growth" and d.of]
    return stored, base, list(dict.fromkeys(growth_of))


def seed_demo(
    session: Session,
    *,
    enterprises: int = 3000,
    seed: int = 42,
    with_runs: bool = True,
    model: ScoringModel | None = None,
    local_demo: bool = False,
) -> SeedSummary:
    """Fill an empty database with deterministic demo data (commits); see the module docstring.

    The demo accounts share the published password :data:`DEMO_PASSWORD`, so it is a one-time password
    (changed at first login) unless ``local_demo`` — ``make run``'s demo on one's own machine.
    """
    if enterprises < 10:
        raise ValueError("演示企业数量至少为 10 家")
    if not is_empty(session):
        raise ValueError("数据库中已有企业或用户数据：演示数据只能写入空数据库（可使用 --if-empty 跳过）")
    t0 = time.perf_counter()
    model = model or load_model()
    rng = np.random.default_rng(seed)
    n = enterprises
    summary = SeedSummary()
    ctx = Traits(rng, n, model)
    stage_codes = model.stage_codes
    last = YEARS[-1]

    # ---------------------------------------------------------------- carriers
    carrier_rows = [{"name": c[0], "kind": c[1], "level": c[2], "street": c[3]} for c in CARRIERS]
    session.execute(insert(Carrier), carrier_rows)
    carrier_ids = dict(session.execute(select(Carrier.name, Carrier.id)).all())
    summary.carriers = len(carrier_rows)

    # ---------------------------------------------------------------- enterprises
    names = enterprise_names(rng, ctx.stage_idx, ctx.industry)
    search_keys = [enterprise_search_keys(name) for name in names]  # pinyin once per enterprise
    codes = credit_codes(rng, n)
    streets = [s for s, _ in STREETS]
    sweights = np.array([w for _, w in STREETS])
    street_pick = rng.choice(len(streets), size=n, p=sweights / sweights.sum())
    in_carrier = rng.random(n) < np.where(ctx.stage_idx <= 1, 0.45, 0.25)
    carrier_pick = rng.random(n)
    age_years = np.array([0.4, 1.0, 2.0, 4.0, 6.0])[np.minimum(ctx.stage_idx, 4)] + rng.gamma(
        2.0, 1.0 + ctx.stage_idx * 1.2
    )
    consent = rng.random(n) < 0.6
    end_of_year = date(last, 12, 31)
    created = at_ten(date(YEARS[0] + 1, 2, 20))
    ent_rows = []
    for i in range(n):
        carrier_id = None
        if in_carrier[i]:
            hosts = [c[0] for c in CARRIERS if int(ctx.stage_idx[i]) in c[4]] or [CARRIERS[-1][0]]
            carrier_id = carrier_ids[hosts[int(carrier_pick[i] * len(hosts))]]
            street = next(c[3] for c in CARRIERS if carrier_ids[c[0]] == carrier_id)
        else:
            street = streets[street_pick[i]]
        ent_rows.append(
            {
                "credit_code": codes[i],
                "name": names[i],
                **search_keys[i],
                "industry": INDUSTRY_WORDS[ctx.industry[i]][1],
                "street": street,
                "carrier_id": carrier_id,
                "registered_on": end_of_year - timedelta(days=int(age_years[i] * 365.25)),
                "bank_consent": bool(consent[i]),
                "created_at": created,
            }
        )
    bulk_insert(session, Enterprise, ent_rows)
    id_by_code = dict(session.execute(select(Enterprise.credit_code, Enterprise.id)).all())
    ent_ids = [id_by_code[c] for c in codes]
    summary.enterprises = n

    # ---------------------------------------------------------------- raw values per year
    stored, base, growth_of = _stored_codes(model)
    self_codes = [ind.code for ind in stored if ind.self_reported]
    by_code = {ind.code: ind for ind in model.indicators}
    # values[(year, code)] = array per enterprise (None/NaN = missing)
    values: dict[tuple[int, str], np.ndarray] = {}
    plan: list[tuple[int, str]] = [(y, c) for y in YEARS for c in [i.code for i in stored] + base]
    plan += [(YEARS[0] - 1, c) for c in growth_of]
    for y, code in plan:
        ind = by_code.get(code)
        gen, missing = generator(model, code)
        arr = gen(ctx, ind, y) if gen is not None else generic(ctx, ind, y)
        arr = np.array(arr, dtype=object if np.asarray(arr).dtype == object else float, copy=True)
        if missing and y >= YEARS[0]:
            drop = rng.random(n) < missing
            if arr.dtype == object:
                arr[drop] = None
            else:
                arr[drop] = np.nan
        values[(y, code)] = arr

    # ---------------------------------------------------------------- users' enterprises and pending reports
    stage_last = engine.stage_codes(model, values[(last, model.stage_indicator)])  # missing → first stage
    summary.stage_counts = {s: int((stage_last == s).sum()) for s in stage_codes}
    veto_codes = [ind.code for ind in model.by_kind("veto")]
    vetoed = np.zeros(n, dtype=bool)
    for y in YEARS:
        for c in veto_codes:
            if (y, c) in values and values[(y, c)].dtype != object:
                vetoed |= values[(y, c)] > 0
    # Demo accounts and pending reports go to enterprises without vetoes or missing cells.
    complete = ~vetoed & ctx.self_report_present[YEARS[0]] & ctx.self_report_present[last]
    for (y, _c), arr in values.items():
        if y >= YEARS[0] and arr.dtype != object:
            complete &= np.isfinite(arr)
    # ent1 … ent5 sit in different stages: growth-like, startup-like, seed, expansion-like, mature.
    user_stage_order = [2, 1, 0, 3, 4]
    user_ents: list[int] = []
    for s_pos in user_stage_order:
        if s_pos >= len(stage_codes):
            continue
        cand = np.flatnonzero(complete & (stage_last == stage_codes[s_pos]))
        if not len(cand):
            cand = np.flatnonzero(stage_last == stage_codes[s_pos])
        # A well-placed but not top enterprise: the 70th percentile of innovativeness in its stage.
        order = cand[np.argsort(ctx.z[cand], kind="stable")]
        user_ents.append(int(order[int(0.7 * (len(order) - 1))]))
    # Pending self-reports of the last year: ent2's enterprise plus seven more; one more is returned.
    others = np.flatnonzero(complete & ~np.isin(np.arange(n), user_ents))
    extra = rng.choice(others, size=min(8, len(others)), replace=False).tolist()
    pending = ([user_ents[1]] if len(user_ents) > 1 else []) + [int(i) for i in extra[:7]]
    returned = [int(i) for i in extra[7:8]]
    not_approved_last = set(pending) | set(returned)

    # ---------------------------------------------------------------- submissions (approved, pending, returned)
    sub_rows = []
    for y in YEARS:
        submitted_on = date(y + 1, 3, 20)
        for i in range(n):
            if not ctx.self_report_present[y][i]:
                continue
            items = report_items({c: values[(y, c)][i] for c in self_codes})
            state = "approved"
            extra_fields: dict[str, Any] = {"reason": None, "field_comments": None, "version": 1}
            submitted_at = at_ten(submitted_on - timedelta(days=int(i % 20)))
            reviewed_at = submitted_at + timedelta(days=3)
            reviewer: str | None = "officer1" if i % 2 else "officer2"
            if y == last and i in not_approved_last:
                state = "submitted" if i in pending else "returned"
                submitted_at = at_ten(clock.today() - timedelta(days=1 + (i % 5)))
                reviewed_at = None
                reviewer = None
                if state == "returned":
                    first = by_code[self_codes[0]] if self_codes else None
                    reviewer = "officer1"
                    reviewed_at = submitted_at + timedelta(hours=20)
                    label = f"“{first.name}”" if first else "填报数据"
                    extra_fields = {
                        "reason": f"{label}与部门数据不一致，请核对后补充证明材料再提交。",
                        "field_comments": {first.code: "请上传名单及社保缴纳证明等佐证材料"}
                        if first
                        else None,
                        "version": 2,
                    }
            sub_rows.append(
                {
                    "enterprise_id": ent_ids[i],
                    "year": y,
                    "state": state,
                    "items": items,
                    "service_needs": None,
                    "submitted_at": submitted_at,
                    "reviewer": reviewer,
                    "reviewed_at": reviewed_at,
                    "created_at": submitted_at,
                    "updated_at": reviewed_at or submitted_at,
                    **extra_fields,
                }
            )
    if sub_rows:
        bulk_insert(session, Submission, sub_rows)
    sub_ids = {
        (e, y): sid
        for sid, e, y in session.execute(
            select(Submission.id, Submission.enterprise_id, Submission.year)
        ).all()
    }
    summary.submissions = len(sub_rows)
    summary.pending_submissions = len(pending)

    # ---------------------------------------------------------------- import batches (department · year)
    dept_codes: dict[tuple[int, str], list[str]] = {}
    depts = model_departments(model)
    base_source = {b.code: b.source for b in model.base_fields}
    for y, code in plan:
        ind = by_code.get(code)
        if ind is not None and ind.self_reported:
            continue
        dept = department_of(ind.source if ind is not None else base_source.get(code, ""), depts)
        dept_codes.setdefault((y, dept), []).append(code)
    batch_rows = []
    for (y, dept), codes_of in sorted(dept_codes.items()):
        committed = at_ten(
            date(y + 1, 3, 1)
            + timedelta(days=DEPARTMENTS.index(dept) if dept in DEPARTMENTS else len(DEPARTMENTS))
        )
        digest = hashlib.sha256(f"demo-{seed}-{n}-{dept}-{y}-{','.join(codes_of)}".encode()).hexdigest()
        batch_rows.append(
            {
                "department": dept,
                "year": y,
                "file_name": f"{y}年度{dept}部门数据报送.xlsx",
                "sha256": digest,
                "row_count": n,
                "accepted_count": n,
                "error_count": 0,
                "flagged_count": 0,
                "errors": [],
                "flags": [],
                "status": "committed",
                "created_by": "officer1",
                "created_at": committed - timedelta(minutes=15),
                "committed_at": committed,
            }
        )
    session.execute(insert(ImportBatch), batch_rows)
    batch_ids = {
        (y, d): bid
        for bid, y, d in session.execute(
            select(ImportBatch.id, ImportBatch.year, ImportBatch.department)
        ).all()
    }
    batch_time = {(r["year"], r["department"]): r["committed_at"] for r in batch_rows}
    summary.batches = len(batch_rows)

    # ---------------------------------------------------------------- indicator values
    value_rows: list[dict] = []
    for y, code in plan:
        ind = by_code.get(code)
        nums, texts, present = encode(ind, values[(y, code)])
        if ind is not None and ind.self_reported:
            ok = present & ctx.self_report_present.get(y, np.zeros(n, dtype=bool))
            if y == last:
                ok[list(not_approved_last)] = False
            for i in np.flatnonzero(ok):
                sid = sub_ids[(ent_ids[i], y)]
                value_rows.append(
                    value_row(
                        ent_ids[i],
                        y,
                        code,
                        nums[i],
                        texts[i],
                        SELF_REPORT_SOURCE,
                        None,
                        sid,
                        at_ten(date(y + 1, 3, 25)),
                        "officer1",
                    )
                )
            continue
        dept = department_of(ind.source if ind is not None else base_source.get(code, ""), depts)
        bid = batch_ids[(y, dept)]
        at = batch_time[(y, dept)]
        for i in np.flatnonzero(present):
            value_rows.append(
                value_row(ent_ids[i], y, code, nums[i], texts[i], dept, bid, None, at, "officer1")
            )
    insert_seeded(session, value_rows)
    summary.values = len(value_rows)

    # ---------------------------------------------------------------- services, users, audit
    summary.service_items = _seed_services(session)
    summary.users = _seed_users(
        session, [ent_ids[i] for i in user_ents], [names[i] for i in user_ents], one_time=not local_demo
    )
    record(
        session,
        actor=Actor(username=SEED_ACTOR, role="system"),
        action="seed_demo",
        entity="database",
        after={"enterprises": n, "seed": seed, "values": summary.values},
        reason="演示数据",
    )
    session.commit()
    summary.seconds = time.perf_counter() - t0

    if with_runs:
        t1 = time.perf_counter()
        _seed_runs(session, summary, model)
        summary.run_seconds = time.perf_counter() - t1
    return summary


def _seed_services(session: Session) -> int:
    """The shipped service catalogue as ``service_item`` rows (officers edit it in the app later)."""
    rows = [{**service, "active": True} for service in shipped_catalogue()]
    session.execute(insert(ServiceItem), rows)
    return len(rows)


def _seed_users(
    session: Session, enterprise_ids: list[int], enterprise_names: list[str], *, one_time: bool
) -> int:
    """admin, two officers, a partner bank's account and one account per enterprise in ``enterprise_ids``."""
    # One bcrypt hash for the shared demo password: hashing costs ~0.2 s each and a salt per account
    # buys nothing when everybody's password is printed in the README.
    hashed = bcrypt.hashpw(DEMO_PASSWORD.encode(), bcrypt.gensalt()).decode()
    now = clock.now()
    staff = [
        ("admin", "系统管理员", "admin"),
        ("officer1", "王晓东（区科技局）", "officer"),
        ("officer2", "李静（区科技局）", "officer"),
    ]
    rows = [
        {"username": u, "display_name": d, "role": r, "enterprise_id": None, "bank_name": None}
        for u, d, r in staff
    ]
    # A partner bank's account: it sees the final run's consenting enterprises only.
    rows.append(
        {
            "username": "bank1",
            "display_name": "赵敏（温州银行龙湾支行）",
            "role": "bank",
            "enterprise_id": None,
            "bank_name": DEMO_BANK,
        }
    )
    for k, (eid, name) in enumerate(zip(enterprise_ids, enterprise_names, strict=True), start=1):
        rows.append(
            {
                "username": f"ent{k}",
                "display_name": name,
                "role": "enterprise",
                "enterprise_id": eid,
                "bank_name": None,
            }
        )
    for r in rows:
        r.update(
            {
                "password_hash": hashed,
                "failed_attempts": 0,
                "locked_until": None,
                "must_change_password": one_time,
                "active": True,
                "created_at": now,
                "password_changed_at": now,
            }
        )
    session.execute(insert(User), rows)
    return len(rows)


def _seed_runs(session: Session, summary: SeedSummary, model: ScoringModel) -> None:
    """Final run for the first year, run in 公示 (today + 7 days) for the last: via the run services.

    The runs use the seeded model: the shipped default, or `model` stored and published as a version.
    """
    actor = Actor.system()
    if model.fingerprint() == load_model().fingerprint():
        version = ensure_default_model(session)
    else:
        version = register_model(session, actor=actor, definition=model.to_dict())
        version = publish_model_version(session, actor=actor, version_id=version.id)
    first, last = YEARS[0], YEARS[-1]
    run = compute_run(session, actor=actor, year=first, model_version_id=version.id)
    # The first year's notice ran in the spring after it (dates in the past are history, not a plan).
    start = date(first + 1, 5, 6)
    publish_run(session, actor=actor, run_id=run.id, notice_start=start, notice_end=start + timedelta(days=7))
    finalize_run(session, actor=actor, run_id=run.id)
    summary.runs[first] = run.id
    summary.run_states[first] = "final"
    run2 = compute_run(session, actor=actor, year=last, model_version_id=version.id)
    today = clock.today()
    publish_run(
        session, actor=actor, run_id=run2.id, notice_start=today, notice_end=today + timedelta(days=7)
    )
    summary.runs[last] = run2.id
    summary.run_states[last] = "notice"
    session.commit()
