"""The banks' API at scale: the whitelist of a final run and a batch of outcomes.

    .venv/bin/python benchmarks/bench_bank_api.py [--n 100000] [--outcomes 10000] [--db /tmp/bench_bank.db | --url URL]

Seeds ``n`` enterprises (60 % consenting) and one final run of the shipped model with a Score row each
(bulk inserts — COPY on PostgreSQL —, not timed), then times, through the same service calls the HTTP
handlers make (services.bank_api: token check, rate-limit window, audit):

* ``GET /api/v1/whitelist`` — authenticate + the answer's JSON bytes (rendered by the database) + audit;
* ``POST /api/v1/outcomes`` — ``json.loads`` of a body of ``--outcomes`` rows + authenticate + check
  every row + write them all + audit.

Prints each figure, the answer sizes and a targets line (whitelist ≤ 1 s and outcomes ≤ 5 s at
100,000 enterprises). ``--url`` must name a database of its own (every table in it is dropped).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.own_database import add_database_options, database_url, empty_database  # noqa: E402
from core.credit_code import make_code  # noqa: E402
from core.model_loading import load_model  # noqa: E402
from db.bulk import insert_columns  # noqa: E402
from db.models import Enterprise, Score, ScoreRun  # noqa: E402
from db.schema import init_db  # noqa: E402
from db.session import make_engine, session_scope  # noqa: E402

WHITELIST_TARGET_S = 1.0
OUTCOMES_TARGET_S = 5.0


def populate(url: str, n: int, seed: int = 19) -> int:
    """A migrated database with ``n`` enterprises and one final run scoring all of them; the run id."""
    from services.model_versions import ensure_default_model

    engine = make_engine(url)
    init_db(engine)
    rng = np.random.default_rng(seed)
    model = load_model()
    stages = [s.code for s in model.stages]
    tiers = [t.code for t in model.tiers]
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        version = ensure_default_model(session)
        codes = [make_code(f"{i:08d}") for i in range(1, n + 1)]
        insert_columns(
            session,
            Enterprise.__table__,
            {
                "credit_code": codes,
                "name": [f"基准测试企业{i:06d}有限公司" for i in range(1, n + 1)],
                "bank_consent": (rng.random(n) < 0.6).tolist(),
                "name_initials": [""] * n,
                "name_pinyin": [""] * n,
            },
            {"created_at": now},
        )
        run = ScoreRun(
            year=2025,
            model_version_id=version.id,
            input_fingerprint="0" * 64,
            state="final",
            enterprise_count=n,
            finalized_at=now,
            published_at=now,
        )
        session.add(run)
        session.flush()
        stage = rng.integers(0, len(stages), n)
        technology = np.round(rng.uniform(0, 60, n), 2)
        growth = np.round(rng.uniform(0, 30, n), 2)
        bonus = np.round(rng.uniform(0, 20, n), 2)
        total = technology + growth + bonus
        order = np.lexsort((-total, stage))
        rank = np.empty(n, dtype=np.int64)
        for s in range(len(stages)):
            members = order[stage[order] == s]
            rank[members] = np.arange(1, len(members) + 1)
        tier = np.where(rank <= 50, tiers[0], np.where(rank <= 500, tiers[1], None))
        subtotals = [
            json.dumps({"technology": t, "growth": g, "bonus": b, "deduction": 0.0})
            for t, g, b in zip(technology.tolist(), growth.tolist(), bonus.tolist(), strict=True)
        ]
        insert_columns(
            session,
            Score.__table__,
            {
                "enterprise_id": np.arange(1, n + 1),
                "stage": [stages[k] for k in stage.tolist()],
                "subtotals": subtotals,
                "technology": technology,
                "growth": growth,
                "core": technology + growth,
                "bonus": bonus,
                "total": total,
                "rank": rank,
                "tier": tier.tolist(),
            },
            {"run_id": run.id, "deduction": 0.0, "veto": False, "subsidy": 0.0, "missing_count": 0},
        )
        run_id = run.id
    engine.dispose()
    return run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--outcomes", type=int, default=10_000)
    add_database_options(parser, db="/tmp/bench_bank_api.db")
    args = parser.parse_args()
    url = database_url(args)
    empty_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ["BANK_API_RATE_LIMIT"] = "1000"

    t0 = time.perf_counter()
    run_id = populate(url, args.n)
    seed_s = time.perf_counter() - t0

    from core import clock
    from services import bank_api
    from services.actor import Actor

    engine = make_engine(url)
    with session_scope(engine) as session:
        token = bank_api.create_token(session, actor=Actor.system(), bank_name="基准测试银行")

    def whitelist() -> tuple[float, int, int, float]:
        start, cpu = time.perf_counter(), time.process_time()
        with session_scope(engine) as session:
            caller = bank_api.authenticate(
                session, authorization=f"Bearer {token}", path="/api/v1/whitelist", address="bench"
            )
            status, body = bank_api.get_whitelist(session, caller=caller, run=str(run_id), address="bench")
        elapsed = time.perf_counter() - start  # the body is the response's bytes (rendered by the database)
        cpu = time.process_time() - cpu
        assert status == 200, body
        return elapsed, json.loads(body)["count"], len(body), cpu

    whitelist()  # warm: imports, the model's parse cache
    timings = [whitelist() for _ in range(3)]
    wl_s = min(t[0] for t in timings)
    wl_cpu = min(t[3] for t in timings)
    count, size = timings[0][1], timings[0][2]

    with session_scope(engine) as session:
        from sqlalchemy import select

        consenting = (
            session.execute(
                select(Enterprise.credit_code).where(Enterprise.bank_consent.is_(True)).limit(args.outcomes)
            )
            .scalars()
            .all()
        )
    today = clock.today()
    items = [
        {
            "credit_code": code,
            "product": "科创积分贷",
            "decision": ("授信", "放款", "拒绝")[i % 3],
            "reason": "经营年限不足" if i % 3 == 2 else None,
            "amount": None if i % 3 == 2 else 100.0 + i,
            "rate": 3.65,
            "term_months": 12,
            "decided_on": (today - timedelta(days=i % 30)).isoformat(),
            "start_on": (today - timedelta(days=i % 30)).isoformat(),
            "end_on": (today + timedelta(days=365)).isoformat(),
        }
        for i, code in enumerate(consenting)
    ]
    raw = json.dumps({"run": run_id, "outcomes": items}).encode()
    start, cpu = time.perf_counter(), time.process_time()
    body = json.loads(raw)
    with session_scope(engine) as session:
        caller = bank_api.authenticate(
            session, authorization=f"Bearer {token}", path="/api/v1/outcomes", address="bench"
        )
        status, answer = bank_api.post_outcomes(
            session, caller=caller, body=body, dry_run=False, address="bench"
        )
    oc_s = time.perf_counter() - start
    oc_cpu = time.process_time() - cpu
    assert status == 200 and answer["accepted"] == len(items), answer
    engine.dispose()

    store = "PostgreSQL" if args.url else "SQLite"
    print(f"store                {store}")
    print(f"enterprises          {args.n:,} (seeded in {seed_s:.1f} s, not timed)")
    print(
        f"whitelist            {wl_s:.3f} s best of 3 ({[round(t[0], 3) for t in timings]}), this process's CPU "
        f"{wl_cpu:.3f} s — {count:,} consenting enterprises, {size / 1e6:.1f} MB JSON"
    )
    print(
        f"outcomes             {oc_s:.3f} s for {len(items):,} rows, this process's CPU {oc_cpu:.3f} s "
        f"({len(raw) / 1e6:.1f} MB JSON)"
    )
    print(
        f"CPU cores            {os.cpu_count()} (on a loaded machine the wall times above include waiting for a core;"
        " SQLite works in this process, so its CPU time is the unloaded cost)"
    )
    print(f"load average         {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    ok_wl, ok_oc = wl_s <= WHITELIST_TARGET_S, oc_s <= OUTCOMES_TARGET_S
    print(
        f"targets              whitelist ≤ {WHITELIST_TARGET_S:g} s: {'met' if ok_wl else 'MISSED'}; "
        f"outcomes ≤ {OUTCOMES_TARGET_S:g} s: {'met' if ok_oc else 'MISSED'} (at {args.n:,} enterprises)"
    )


if __name__ == "__main__":
    main()
