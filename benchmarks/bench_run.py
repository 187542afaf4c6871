"""End-to-end score run on SQLite: read current values → derive → score → write Score rows.

    .venv/bin/python benchmarks/bench_run.py [--n 100000] [--db /tmp/bench_run.db] [--keep]

Generates ``n`` enterprises with two years of department values (bulk inserts, not timed), then times
``services.runs.compute_run`` and prints the split read / derive / score / write and the total.
Target: ≤ 15 s at 100,000 enterprises.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
        rows += zip(ids.tolist(), [year] * n, [code] * n, np.asarray(values, dtype=float).tolist(),
                    [None] * n, [source] * n, strict=True)
    flags = {"A01": ("科技", 0.2), "A02": ("科技", 0.4), "A08": ("税务", 0.3), "N01": ("市监", 0.005),
             "N02": ("应急", 0.003), "N04": ("税务", 0.01)}
    for code, (source, p) in flags.items():
        rows += zip(ids.tolist(), [year] * n, [code] * n, (rng.random(n) < p).astype(float).tolist(),
                    [None] * n, [source] * n, strict=True)
    sparse_text = [
        ("T09", "科技", 0.3, lambda: TIERS_T09[rng.integers(4)]),
        ("A03", "经信", 0.15, lambda: TIERS_A03[rng.integers(3)]),
        ("T10", "科技", 0.2, lambda: json.dumps([{"level": TIERS_T09[rng.integers(4)], "role": "牵头"}],
                                                 ensure_ascii=False)),
        ("T12", "自报", 0.1, lambda: json.dumps([{"level": "行业", "role": "参与"}], ensure_ascii=False)),
        ("A04", "自报", 0.1, lambda: json.dumps([{"level": "博士"}], ensure_ascii=False)),
        ("A06", "自报", 0.05, lambda: json.dumps([{"level": "市"}], ensure_ascii=False)),
        ("N03", "市监", 0.05, lambda: json.dumps({"abnormal": False, "penalties": 1})),
    ]
    for code, source, p, make in sparse_text:
        for i in np.flatnonzero(rng.random(n) < p).tolist():
            rows.append((i + 1, year, code, None, make(), source))
    return rows


def populate(url: str, n: int, year: int, seed: int = 7) -> None:
    """A migrated database with ``n`` enterprises and current values for ``year - 1`` and ``year``."""
    engine = make_engine(url)
    init_db(engine)
    rng = np.random.default_rng(seed)
    now = "2025-01-01 00:00:00.000000"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--db", default="/tmp/bench_run.db")
    parser.add_argument("--keep", action="store_true", help="reuse an existing database file")
    args = parser.parse_args()

    path = Path(args.db)
    url = f"sqlite:///{path}"
    if not (args.keep and path.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        t = time.perf_counter()
        populate(url, args.n, args.year)
        print(f"generated {args.n:,} enterprises × 2 years in {time.perf_counter() - t:.1f} s (not timed)")

    from sqlmodel import Session

    from services.actor import Actor
    from services.model_versions import ensure_default_model
    from services.runs import LAST_TIMINGS, compute_run

    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        ensure_default_model(session)
        t = time.perf_counter()
        run = compute_run(session, actor=Actor.system(), year=args.year)
        total = time.perf_counter() - t
    print(f"run {run.id}: {run.enterprise_count:,} enterprises")
    for step in ("read", "derive", "score", "write"):
        print(f"  {step:<7} {LAST_TIMINGS.get(step, float('nan')):6.2f} s")
    print(f"  total   {total:6.2f} s  (target ≤ 15 s)")
    engine.dispose()


if __name__ == "__main__":
    main()
