"""Department import at province scale: a generated 100,000-row × 35-column xlsx on SQLite.

Targets: dry run ≤ 10 s and commit ≤ 8 s end to end.
Prints wall and CPU time (this process plus the reading worker, and on a local PostgreSQL the server
backend's) in all and per phase (read, validate, diff, write — split into retire and insert) and the dry
run's new / changed / unchanged counts; then a second dry run of the same file over the committed values
(every value unchanged: the diff's worst case) and, with ``--recommit``, its commit (every current value
superseded). The last line says whether the targets are met.

The file is the consolidated (综合) template — every department's columns — plus six columns a
department export typically carries and the import ignores, 35 in all; 100,000 enterprises are inserted
in bulk first.

    .venv/bin/python benchmarks/bench_import.py [--rows 100000] [--keep] [--recommit] [--url URL]

``--url`` runs it on that database instead of a temporary SQLite file (a database of its own: every
table in it is dropped first).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xlsxwriter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, func, select  # noqa: E402
from sqlmodel import Session  # noqa: E402

from benchmarks.measure import backend_cpu  # noqa: E402
from benchmarks.own_database import emptied_engine  # noqa: E402
from core import importing  # noqa: E402
from core.credit_code import make_code  # noqa: E402
from core.model_loading import load_model  # noqa: E402
from db.bulk import insert_columns  # noqa: E402
from db.models import Enterprise, IndicatorValue, utcnow  # noqa: E402
from db.schema import init_db  # noqa: E402
from services import imports  # noqa: E402
from services.actor import Actor  # noqa: E402

EXTRA = ["法定代表人", "注册地址", "联系电话", "所属街道", "所属行业", "备注"]
DRY_TARGET = 10
COMMIT_TARGET = 8  # a commit of 100,000 × 35 in ≤ 8 s on SQLite and on PostgreSQL


def make_file(codes: list[str], seed: int = 7) -> bytes:
    """The consolidated template filled with plausible values (lognormal amounts, a few items)."""
    model = load_model()
    cols = importing.department_columns(model, importing.ALL_DEPARTMENTS)
    rng = np.random.default_rng(seed)
    n = len(codes)
    data: dict[str, list] = {"统一社会信用代码": codes, "企业名称": [f"基准测试企业{i}" for i in range(n)]}
    for c in cols:
        if c.kind == "number":
            v = np.round(rng.lognormal(4, 1.2, n), 2)
            if c.allow_negative:
                v = v - np.round(rng.lognormal(3, 1, n), 2)
            data[c.name] = v.tolist()
        elif c.kind == "share":
            data[c.name] = np.round(rng.uniform(5, 95, n), 1).tolist()
        elif c.kind == "flag":
            data[c.name] = np.where(rng.random(n) < 0.2, "是", "否").tolist()
        elif c.kind == "category":
            labels = list(dict.fromkeys(c.canonical.values()))
            pick = rng.integers(0, len(labels) + 3, n)
            data[c.name] = [labels[p] if p < len(labels) else None for p in pick]
        elif c.kind == "items":
            has = rng.random(n) < 0.05
            item = json.dumps([{"level": c.levels[-1]}], ensure_ascii=False)
            data[c.name] = [item if h else None for h in has]
        else:
            has = rng.random(n) < 0.03
            data[c.name] = ['{"abnormal": false, "penalties": 1}' if h else None for h in has]
    for name in EXTRA:
        data[name] = [f"{name}{i % 97}" for i in range(n)]
    headers = list(data)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"constant_memory": True, "strings_to_numbers": False})
    ws = wb.add_worksheet("数据")
    ws.write_row(0, 0, headers)
    columns = [data[h] for h in headers]
    for r, row in enumerate(zip(*columns, strict=True), start=1):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, str):
                ws.write_string(r, c, v)
            else:
                ws.write_number(r, c, v)
    wb.close()
    return buf.getvalue()


PHASES = ("read", "validate", "diff", "write")


def timed(label: str, call: Callable[[], Any], session: Session) -> tuple[Any, float]:
    """Run one service call (the use case commits); print wall and CPU time, whole and per phase.

    CPU time is this process's (all threads) plus the reading worker's, and the PostgreSQL backend's when
    the server is local: under load the wall time grows with the other processes' demand, the CPU time
    hardly at all.
    """
    server = backend_cpu(session)
    t0, c0 = time.perf_counter(), time.process_time()
    report = call()
    session.commit()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    after = backend_cpu(session)
    backend = after[1] - server[1] if server and after and after[0] == server[0] else None
    tm = report.timings
    worker = tm.get("read_worker_cpu", 0.0)
    parts = []
    for phase in PHASES:
        if phase in tm:
            cpu_phase = tm.get(phase + "_cpu", 0.0)
            extra = ""
            if phase == "read":  # the database is queried while the worker reads the file
                cpu_phase -= tm.get("prefetch_cpu", 0.0)
                extra = (f" + reader {worker:.1f}" if worker else "") + (
                    f"; database meanwhile {tm['prefetch']:.1f} s, CPU {tm['prefetch_cpu']:.1f}"
                    if "prefetch" in tm
                    else ""
                )
            if phase == "write" and "insert" in tm:  # where the write's time goes
                extra = "; " + ", ".join(
                    f"{part} {tm[part]:.1f} s, CPU {tm[part + '_cpu']:.1f}" for part in ("retire", "insert")
                )
            parts.append(f"{phase} {tm[phase]:.1f} s (CPU {cpu_phase:.1f}{extra})")
    rest = wall - sum(tm.get(p, 0.0) for p in PHASES)
    parts.append(f"batch, audit and transaction commit {rest:.1f} s")
    print(
        f"{label}: {wall:6.1f} s wall, CPU {cpu + worker + (backend or 0.0):.1f} s (this process {cpu:.1f} + "
        f"reader {worker:.1f}" + (f" + PostgreSQL backend {backend:.1f}" if backend is not None else "") + ")"
    )
    print("          " + " · ".join(parts))
    return report, wall


def run(args: argparse.Namespace, tmp: Path, engine: Engine) -> int:
    """Set up the database and the file, time dry run and commit; 0 when both targets are met."""
    load = os.getloadavg()
    print(f"load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs")
    init_db(engine)
    codes = [make_code(str(i)) for i in range(1, args.rows + 1)]
    t = time.perf_counter()
    with Session(engine) as s:
        names = [f"基准测试企业{i}" for i in range(len(codes))]
        insert_columns(
            s,
            Enterprise.__table__,  # type: ignore[arg-type]
            {"credit_code": codes, "name": names},
            {"bank_consent": False, "created_at": utcnow()},
        )
        s.commit()
    print(f"setup: {args.rows:,} enterprises inserted in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    data = make_file(codes)
    (tmp / "综合.xlsx").write_bytes(data)
    print(
        f"setup: xlsx {args.rows:,} rows × {len(importing.department_columns(load_model(), '综合')) + 2 + len(EXTRA)}"
        f" columns, {len(data) / 1e6:.1f} MB, written in {time.perf_counter() - t:.1f} s"
    )

    actor = Actor(username="bench", role="officer")
    with Session(engine, expire_on_commit=False) as s:
        dry, dry_total = timed(
            "dry run",
            lambda: imports.dry_run_import(
                s, actor=actor, department="综合", year=2025, file_name="综合.xlsx", data=data
            ),
            s,
        )
        print(
            f"          rows {dry.row_count:,}, errors {dry.error_count}, flagged {dry.flagged_count}, "
            f"values {dry.value_count:,}; diff {dry.diff_counts}"
        )
        done, commit_total = timed(
            "commit", lambda: imports.commit_import(s, actor=actor, data=data, batch_id=dry.batch_id), s
        )
        stored = s.execute(select(func.count()).select_from(IndicatorValue)).scalar_one()
        print(f"          stored {stored:,} IndicatorValue rows")
        again, again_total = timed(
            "dry run over committed values",
            lambda: imports.dry_run_import(
                s, actor=actor, department="综合", year=2025, file_name="综合.xlsx", data=data
            ),
            s,
        )
        print(f"          diff {again.diff_counts}")
        if args.recommit:
            timed(
                "commit over committed values (every value replaced)",
                lambda: imports.commit_import(
                    s, actor=actor, data=data, batch_id=again.batch_id, confirm_duplicate=True
                ),
                s,
            )
    load = os.getloadavg()
    print(
        f"load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs "
        "(wall times above a load of the CPU count are not comparable; CPU times are)"
    )
    print(f"store {engine.dialect.name}")
    print(
        f"targets: dry run ≤ {DRY_TARGET} s {'OK' if dry_total <= DRY_TARGET else 'MISSED'}, "
        f"over committed values (the file sent again) {'OK' if again_total <= DRY_TARGET else 'MISSED'}; "
        f"commit ≤ {COMMIT_TARGET} s {'OK' if commit_total <= COMMIT_TARGET else 'MISSED'}"
    )
    return 0 if max(dry_total, again_total) <= DRY_TARGET and commit_total <= COMMIT_TARGET else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary database and file")
    parser.add_argument("--url", help="a PostgreSQL database for this benchmark only (emptied first)")
    parser.add_argument(
        "--recommit",
        action="store_true",
        help="also commit the file a second time (every current value superseded)",
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_import_"))
    engine = emptied_engine(args.url, tmp)
    try:
        return run(args, tmp, engine)
    finally:  # also when interrupted: the 300 MB database does not stay behind
        engine.dispose()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
