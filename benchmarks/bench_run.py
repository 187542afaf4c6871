"""End-to-end score run: read current values → derive → score → write Score rows, SQLite or PostgreSQL.

    .venv/bin/python benchmarks/bench_run.py [--n 100000] [--db /tmp/bench_run.db | --url URL] [--keep]

Generates ``n`` enterprises with two years of department values (bulk inserts — COPY on PostgreSQL —,
not timed; with ``--keep``, only when the database does not hold them yet), then times ``services.runs.compute_run`` and prints the split read / derive / score /
fingerprint / write in wall and CPU seconds (and the CPU of the database's PostgreSQL backends when local), the
total, the run's size in the database (its Score rows and their indexes), the peak RSS and a targets
line (≤ 5 s at 100,000 on either store, ≤ 25 s at 520,000 and ≤ 60 s at 1,000,000 with
≤ 6 GiB peak; ≤ 60 MB per run at 100,000, pro rata). ``--url`` must name a database of its own (the
benchmark drops every table in it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import database_backends_cpu  # noqa: E402
from benchmarks.own_database import add_database_options, database_url, empty_database, sqlite_file  # noqa: E402
from core.credit_code import make_code  # noqa: E402
from db.schema import init_db  # noqa: E402
from db.session import make_engine  # noqa: E402

TIERS_T09 = ["国家", "省", "市", "区"]
TIERS_A03 = ["小巨人", "省级专精特新", "创新型中小企业"]


def _value_rows(rng: np.random.Generator, n: int, year: int, scale: float) -> list[tuple]:
    """Long-format (enterprise_id, year, code, value_num, value_text, source) rows for one year."""
    ids = np.arange(1, n + 1)
    revenue = np.round(rng.lognormal(6.0, 1.6, n) * scale, 2)
    staff = np.maximum(1, np.round(rng.lognormal(3.0, 1.0, n))).astype(int)
    numeric = {
        "G01": ("税务", revenue),
        "T01": ("税务", np.round(revenue * rng.uniform(0, 0.12, n), 2)),
        "total_cost": ("税务", np.round(revenue * rng.uniform(0.5, 1.1, n), 2)),
        "G03": ("税务", np.round(revenue * rng.normal(0.05, 0.1, n), 2)),
        "G04": ("税务", np.round(revenue * rng.uniform(0, 0.08, n), 2)),
        "G08": ("税务", np.round(rng.uniform(10, 95, n), 1)),
        "staff": ("人社", staff),
        "insured_staff": ("人社", np.maximum(0, staff - rng.integers(0, 3, n))),
        "T04": ("人社", np.round(staff * rng.uniform(0, 0.4, n))),
        "T06": ("市监", rng.poisson(1.0, n)),
        "T07": ("市监", rng.poisson(3.0, n)),
        "T08": ("科技", np.round(rng.exponential(50, n), 2)),
        "G07": ("金融", np.where(rng.random(n) < 0.1, np.round(rng.exponential(800, n), 2), 0.0)),
        "A07": ("人社", rng.poisson(1.0, n)),
        "T11": ("自报", np.round(rng.uniform(0, 90, n), 1)),
    }
    rows: list[tuple] = []
    for code, (source, values) in numeric.items():
        rows += zip(
            ids.tolist(),
            [year] * n,
            [code] * n,
            np.asarray(values, dtype=float).tolist(),
            [None] * n,
            [source] * n,
            strict=True,
        )
    flags = {
        "A01": ("科技", 0.2),
        "A02": ("科技", 0.4),
        "A08": ("税务", 0.3),
        "N01": ("市监", 0.005),
        "N02": ("应急", 0.003),
        "N04": ("税务", 0.01),
    }
    for code, (source, p) in flags.items():
        rows += zip(
            ids.tolist(),
            [year] * n,
            [code] * n,
            (rng.random(n) < p).astype(float).tolist(),
            [None] * n,
            [source] * n,
            strict=True,
        )
    sparse_text = [
        ("T09", "科技", 0.3, lambda: TIERS_T09[rng.integers(4)]),
        ("A03", "经信", 0.15, lambda: TIERS_A03[rng.integers(3)]),
        (
            "T10",
            "科技",
            0.2,
            lambda: json.dumps([{"level": TIERS_T09[rng.integers(4)], "role": "牵头"}], ensure_ascii=False),
        ),
        ("T12", "自报", 0.1, lambda: json.dumps([{"level": "行业", "role": "参与"}], ensure_ascii=False)),
        ("A04", "自报", 0.1, lambda: json.dumps([{"level": "博士"}], ensure_ascii=False)),
        ("A06", "自报", 0.05, lambda: json.dumps([{"level": "市"}], ensure_ascii=False)),
        ("N03", "市监", 0.05, lambda: json.dumps({"abnormal": False, "penalties": 1})),
    ]
    for code, source, p, make in sparse_text:
        for i in np.flatnonzero(rng.random(n) < p).tolist():
            rows.append((i + 1, year, code, None, make(), source))
    return rows


def copy_two_years(cursor, n: int, year: int, rng: np.random.Generator, now: str) -> None:  # noqa: ANN001
    """COPY current values of ``year`` and the year before for enterprises 1..n (a psycopg cursor), then
    ANALYZE, as autovacuum would soon after a bulk load."""
    for y, scale in ((year - 1, 0.85), (year, 1.0)):
        with cursor.copy(
            "COPY indicatorvalue (enterprise_id, year, code, value_num, value_text, source, "
            "is_current, flagged, created_at) FROM STDIN"
        ) as copy:
            for r in _value_rows(rng, n, y, scale):
                copy.write_row((*r, True, False, now))
    cursor.execute("ANALYZE")


def _populate_postgres(engine, n: int, year: int, rng: np.random.Generator, now: str) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        with cursor.copy(
            "COPY enterprise (id, credit_code, name, bank_consent, created_at) FROM STDIN"
        ) as copy:
            for i in range(1, n + 1):
                copy.write_row((i, make_code(str(i)), f"测试企业{i:06d}有限公司", False, now))
        cursor.execute("SELECT setval(pg_get_serial_sequence('enterprise', 'id'), %s)", (n,))
        copy_two_years(cursor, n, year, rng, now)
        raw.driver_connection.commit()
    finally:
        raw.close()


def populate(url: str, n: int, year: int, seed: int = 7) -> None:
    """A migrated database with ``n`` enterprises and current values for ``year - 1`` and ``year``."""
    engine = make_engine(url)
    init_db(engine)
    rng = np.random.default_rng(seed)
    now = "2025-01-01 00:00:00.000000"
    if engine.dialect.name == "postgresql":
        _populate_postgres(engine, n, year, rng, now)
        engine.dispose()
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.executemany(
            "INSERT INTO enterprise (id, credit_code, name, bank_consent, created_at) VALUES (?, ?, ?, 0, ?)",
            [(i, make_code(str(i)), f"测试企业{i:06d}有限公司", now) for i in range(1, n + 1)],
        )
        for y, scale in ((year - 1, 0.85), (year, 1.0)):
            rows = _value_rows(rng, n, y, scale)
            cursor.executemany(
                "INSERT INTO indicatorvalue (enterprise_id, year, code, value_num, value_text, source, "
                "is_current, flagged, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, 0, ?)",
                [(*r, now) for r in rows],
            )
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


def generated(url: str, n: int) -> bool:
    """Whether ``url`` already holds the ``n`` generated enterprises (a new, empty database does not)."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return False
    from sqlalchemy import text

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM enterprise")).scalar_one() == n
    except Exception:  # noqa: BLE001 - no such table: nothing generated yet
        return False
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--year", type=int, default=2025)
    add_database_options(parser, db="/tmp/bench_run.db")
    parser.add_argument("--keep", action="store_true", help="reuse the generated database")
    args = parser.parse_args()

    url = database_url(args)
    if not (args.keep and generated(url, args.n)):
        empty_database(url)
        t = time.perf_counter()
        populate(url, args.n, args.year)
        print(f"generated {args.n:,} enterprises × 2 years in {time.perf_counter() - t:.1f} s (not timed)")

    from sqlmodel import Session

    from services.actor import Actor
    from services.model_versions import ensure_default_model
    from services.runs import LAST_TIMINGS, compute_run
    from services.runs.compute import STEPS

    engine = make_engine(url)
    init_db(engine)  # a kept database from an older schema gets the newer tables
    before = store_size(engine)
    with Session(engine, expire_on_commit=False) as session:
        ensure_default_model(session)
        server_before = database_backends_cpu(session)
        t, cpu = time.perf_counter(), time.process_time()
        run = compute_run(session, actor=Actor.system(), year=args.year)
        total, cpu = time.perf_counter() - t, time.process_time() - cpu
        server_after = database_backends_cpu(session)
    size = store_size(engine) - before
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"run {run.id}: {run.enterprise_count:,} enterprises ({engine.dialect.name})")
    for step in STEPS:
        wall, step_cpu = LAST_TIMINGS.get(step, float("nan")), LAST_TIMINGS.get(step + "_cpu", float("nan"))
        beside = "   (its own thread, beside score and write)" if step == "fingerprint" else ""
        print(f"  {step:<11} {wall:6.2f} s   CPU {step_cpu:6.2f} s{beside}")
    print(f"  total       {total:6.2f} s   CPU {cpu:6.2f} s of this process (under load read the CPU)")
    if server_before is not None and server_after is not None:
        server = sum(s - server_before.get(pid, 0.0) for pid, s in server_after.items())
        print(
            f"  server      CPU {server:6.2f} s of the PostgreSQL backends (the session's and its readers')"
        )
    size = float(size)
    print(f"  size    {size / 1e6:6.1f} MB per run   peak RSS {peak:.2f} GiB   load {os.getloadavg()}")
    n = run.enterprise_count
    time_target = 5.0 if n <= 100_000 else 25.0 if n <= 520_000 else 60.0
    size_target = 60e6 * n / 100_000
    ok = total <= time_target and size <= size_target and (n < 1_000_000 or peak <= 6)
    print(
        f"targets: total {total:.2f} s ≤ {time_target:g} s, size {size / 1e6:.1f} MB ≤ {size_target / 1e6:.0f} MB"
        f"{', peak ≤ 6 GiB' if n >= 1_000_000 else ''}: {'met' if ok else 'NOT met'}"
    )
    engine.dispose()


def store_size(engine) -> int:
    """Bytes the run tables take (Score and RunBreakdown with their indexes and, on PostgreSQL, TOAST;
    after VACUUM there). A run's size is the growth over its compute."""
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "postgresql":
            driver = raw.driver_connection
            driver.autocommit = True  # VACUUM runs outside a transaction
            try:
                driver.execute("VACUUM score")
                driver.execute("VACUUM runbreakdown")
                return int(
                    driver.execute(
                        "SELECT pg_total_relation_size('score') + pg_total_relation_size('runbreakdown')"
                    ).fetchone()[0]
                )
            finally:
                driver.autocommit = False  # back to the pool as it came: the run's session gets it next
        cursor = raw.cursor()
        cursor.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master "
            "WHERE tbl_name IN ('score', 'runbreakdown'))"
        )
        return int(cursor.fetchone()[0] or 0)
    finally:
        raw.close()


if __name__ == "__main__":
    main()
