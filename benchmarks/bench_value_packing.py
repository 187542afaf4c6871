"""The storage a ≤ 8 s import commit needs: a write's values packed per enterprise, against the row store.

``bench_import.py``'s commit of 100,000 enterprises writes ~2.1M ``IndicatorValue`` rows: on SQLite four
B-trees per row, on PostgreSQL also a retire that rewrites every replaced row (``is_current`` is in a
partial index's predicate, so no update is HOT). The foreign keys' three per-row triggers, about half
the backend's work, became one check per statement in migration 0018.
This script times, on the same machine and the same values (``--rows`` enterprises × 21 numbers):

* the row store: ``db.values.insert_values``, the import's own write path, and ``db.run_inputs``
  reading the year back;
* a prototype of the packed store: one ``valuepacket`` row per enterprise and write (the write's history,
  its foreign keys checked once per enterprise) plus one ``currentvalues`` row per enterprise·year (the
  current values, replaced whole), the numbers tokenised for the whole write by one ``repr`` and joined
  per enterprise; then the same write again (every value replaced) and a year's current values read
  back into a frame, parsed by numpy in one call.

The prototype tables exist only in this benchmark's own database (a temporary SQLite file, or ``--url``:
every table in it is dropped first); nothing in the product reads them.

With ``--index-costs`` it times instead what each part of the row store costs a write: the same insert
into an empty table as it is, without each secondary index, without the reference checks (SQLite's
foreign keys, PostgreSQL's statement-level triggers of migration 0018), and with only the primary key and
the unique index of current rows left — the floor no choice of indexes gets under.

    .venv/bin/python benchmarks/bench_value_packing.py [--rows 100000] [--url URL] [--index-costs]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Column, DateTime, ForeignKey, Integer, MetaData, String, Table, Text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from benchmarks.measure import backend_cpu  # noqa: E402
from benchmarks.own_database import emptied_engine, remove_sqlite  # noqa: E402
from db.bulk import insert_columns  # noqa: E402
from db.models import Enterprise, ImportBatch, Submission, utcnow  # noqa: E402
from db.run_inputs import current_values_frame  # noqa: E402
from db.schema import init_db  # noqa: E402
from db.values import insert_values  # noqa: E402

CODES = [f"K{j:02d}" for j in range(21)]
YEAR = 2025
TARGET = 8  # seconds: a department commit of 100,000 rows on SQLite and on PostgreSQL

PROTOTYPE = MetaData()
PACKETS = Table(
    "valuepacket",
    PROTOTYPE,
    Column("id", Integer, primary_key=True),
    Column("enterprise_id", Integer, ForeignKey(Enterprise.__table__.c.id), nullable=False),
    Column("year", Integer, nullable=False),
    Column("batch_id", Integer, ForeignKey(ImportBatch.__table__.c.id), index=True),
    Column("submission_id", Integer, ForeignKey(Submission.__table__.c.id)),
    Column("created_by", String(64)),
    Column("created_at", DateTime(timezone=True)),
    Column("payload", Text, nullable=False),
)
CURRENT = Table(
    "currentvalues",
    PROTOTYPE,
    Column("enterprise_id", Integer, ForeignKey(Enterprise.__table__.c.id), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("payload", Text, nullable=False),
)


def timed(label: str, session: Session, call: Callable[[], object]) -> float:
    """Run ``call`` and commit; print wall and CPU (this process, and the PostgreSQL backend's when local)."""
    server = backend_cpu(session)
    t0, c0 = time.perf_counter(), time.process_time()
    call()
    session.commit()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    after = backend_cpu(session)
    backend = after[1] - server[1] if server and after and after[0] == server[0] else None
    extra = f" + PostgreSQL backend {backend:.1f}" if backend is not None else ""
    print(f"{label}: {wall:6.1f} s wall, CPU {cpu + (backend or 0.0):.1f} s (this process {cpu:.1f}{extra})")
    return wall


def packets(values: np.ndarray, sources: list[str]) -> list[str]:
    """One JSON text per enterprise: its codes and sources (one text for the whole write, reused) and its
    numbers, every number tokenised by a single ``repr`` of the write's array (exact: shortest round trip)."""
    tokens = repr(values.reshape(-1).tolist())[1:-1].split(", ")
    tokens = ["null" if t == "nan" else t for t in tokens]
    head = '{"c":' + json.dumps(CODES) + ',"s":' + json.dumps(sources, ensure_ascii=False) + ',"n":['
    k = len(CODES)
    return [head + ",".join(tokens[i * k : (i + 1) * k]) + "]}" for i in range(values.shape[0])]


def write_packed(session: Session, ids: np.ndarray, values: np.ndarray, batch_id: int) -> None:
    """A write in the packed store: its packets, and the current values of its enterprises replaced."""
    texts = packets(values, ["经信"] * len(CODES))
    insert_columns(
        session,
        PACKETS,
        {"enterprise_id": ids, "payload": texts},
        {"year": YEAR, "batch_id": batch_id, "created_by": "bench", "created_at": utcnow()},
    )
    # Every enterprise of this file is replaced here; a real write deletes the current rows of its own
    # enterprises and writes them merged with the codes it does not carry (the diff has read them already).
    session.connection().exec_driver_sql(f"DELETE FROM currentvalues WHERE year = {YEAR}")
    insert_columns(session, CURRENT, {"enterprise_id": ids, "payload": texts}, {"year": YEAR})


def read_current(session: Session) -> pd.DataFrame:
    """A year's current values as enterprise × code numbers: the code lists parsed once per distinct
    layout, every number of the year parsed by numpy in one call."""
    cursor = session.connection().connection.cursor()
    cursor.execute(f"SELECT enterprise_id, payload FROM currentvalues WHERE year = {YEAR}")
    rows = cursor.fetchall()
    cursor.close()
    texts = [p for _, p in rows]
    starts = [p.index(',"n":[') for p in texts]
    layouts, layout_of = np.unique(
        np.array([p[:s] for p, s in zip(texts, starts, strict=True)]), return_inverse=True
    )
    layout_codes = [json.loads(text + "}")["c"] for text in layouts]
    counts = np.array([len(layout_codes[i]) for i in layout_of])
    enterprise = np.repeat(np.fromiter((e for e, _ in rows), np.int64, len(rows)), counts)
    code_rank, code_names = pd.factorize(
        np.concatenate([np.array(layout_codes[i], dtype=object) for i in layout_of])
    )
    numbers = ",".join(p[s + 6 : p.index("]", s)] for p, s in zip(texts, starts, strict=True))
    values = np.array(numbers.replace("null", "nan").split(","), dtype=float)
    ids, row = np.unique(enterprise, return_inverse=True)
    grid = np.full((len(ids), len(code_names)), np.nan)
    grid[row, code_rank] = values
    return pd.DataFrame(grid, index=ids, columns=list(code_names))


def run(rows: int, engine) -> int:  # noqa: ANN001 - a SQLAlchemy engine
    load = os.getloadavg()
    print(f"load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs")
    init_db(engine)
    PROTOTYPE.create_all(engine)
    rng = np.random.default_rng(7)
    first = np.round(rng.lognormal(4, 1.2, (rows, len(CODES))), 2)
    second = np.round(rng.lognormal(4, 1.2, (rows, len(CODES))), 2)
    ids = np.arange(1, rows + 1, dtype=np.int64)
    with Session(engine, expire_on_commit=False) as s:
        insert_columns(
            s,
            Enterprise.__table__,  # type: ignore[arg-type]
            {"credit_code": [f"B{i:017d}" for i in ids], "name": [f"基准测试企业{i}" for i in ids]},
            {"bank_consent": False, "created_at": utcnow()},
        )
        batches = [
            ImportBatch(department="综合", year=YEAR, file_name="f", sha256="0" * 64) for _ in range(3)
        ]
        s.add_all(batches)
        s.commit()
        long = pd.DataFrame(
            {
                "enterprise_id": np.repeat(ids, len(CODES)),
                "code": np.tile(np.array(CODES, dtype=object), rows),
                "value_num": first.reshape(-1),
                "value_text": None,
                "source": "经信",
                "flagged": False,
            }
        )
        print(
            f"{rows:,} enterprises × {len(CODES)} values = {len(long):,} values; store {engine.dialect.name}"
        )
        row_store = timed(
            "row store, first write (db.values.insert_values)",
            s,
            lambda: insert_values(
                s, long, year=YEAR, batch_id=batches[0].id, submission_id=None, created_by="bench"
            ),
        )
        timed(
            "row store, a year's current values read into a frame (db.run_inputs)",
            s,
            lambda: current_values_frame(s, year=YEAR, codes=CODES),
        )
        packed = timed("packed, first write", s, lambda: write_packed(s, ids, first, batches[1].id))
        timed("packed, every value replaced", s, lambda: write_packed(s, ids, second, batches[2].id))
        frame: list[pd.DataFrame] = []
        timed("packed, a year's current values read into a frame", s, lambda: frame.append(read_current(s)))
        exact = np.array_equal(frame[0].loc[ids, CODES].to_numpy(), second)
        print(f"          read back {frame[0].shape[0]:,} × {frame[0].shape[1]}, every number exact: {exact}")
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print(
        f"targets: a write ≤ {TARGET} s — row store {row_store:.1f} s {'OK' if row_store <= TARGET else 'MISSED'}; "
        f"packed {packed:.1f} s {'OK' if packed <= TARGET else 'MISSED'}"
    )
    return 0 if packed <= TARGET and exact else 1


SECONDARY = ("ix_indicatorvalue_year_code", "ix_indicatorvalue_enterprise_year", "ix_indicatorvalue_batch_id")
CHECKS = "reference checks"


def drop_parts(session: Session, parts: tuple[str, ...]) -> None:
    """Drop secondary indexes of ``indicatorvalue`` by name, and its reference checks for ``CHECKS``."""
    connection = session.connection()
    for part in parts:
        if part != CHECKS:
            connection.exec_driver_sql(f"DROP INDEX {part}")
        elif connection.dialect.name == "sqlite":
            pass  # per connection: switched off by the insert itself (without_foreign_keys)
        else:
            triggers = connection.exec_driver_sql(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'indicatorvalue'::regclass AND NOT tgisinternal"
            ).scalars()
            for name in list(triggers):
                connection.exec_driver_sql(f"DROP TRIGGER {name} ON indicatorvalue")
    session.commit()


def without_foreign_keys(session: Session) -> None:
    """SQLite's foreign keys off on the connection the insert uses (before its first write: inside a
    transaction the pragma does nothing, so it is read back)."""
    connection = session.connection()
    connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
    if connection.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("SQLite kept its foreign keys on")


def insert_without(session: Session, parts: tuple[str, ...], long: pd.DataFrame, batch_id: int) -> None:
    if CHECKS in parts and session.connection().dialect.name == "sqlite":
        without_foreign_keys(session)
    insert_values(session, long, year=YEAR, batch_id=batch_id, submission_id=None, created_by="bench")


def index_costs(rows: int, url: str | None, tmp: Path) -> int:
    """The row store's insert of ``rows`` × 21 values into an empty table, with parts of it removed."""
    load = os.getloadavg()
    print(f"load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs")
    variants: list[tuple[str, tuple[str, ...]]] = [
        ("as it is", ()),
        *((f"without {name}", (name,)) for name in SECONDARY),
        (f"without the {CHECKS}", (CHECKS,)),
        ("primary key and unique current index only", (*SECONDARY, CHECKS)),
    ]
    ids = np.arange(1, rows + 1, dtype=np.int64)
    long = pd.DataFrame(
        {
            "enterprise_id": np.repeat(ids, len(CODES)),
            "code": np.tile(np.array(CODES, dtype=object), rows),
            "value_num": np.round(np.random.default_rng(7).lognormal(4, 1.2, rows * len(CODES)), 2),
            "value_text": None,
            "source": "经信",
            "flagged": False,
        }
    )
    walls = []
    for label, parts in variants:
        remove_sqlite(tmp / "bench.db")
        engine = emptied_engine(url, tmp)
        try:
            init_db(engine)
            with Session(engine, expire_on_commit=False) as s:
                insert_columns(
                    s,
                    Enterprise.__table__,  # type: ignore[arg-type]
                    {"credit_code": [f"B{i:017d}" for i in ids], "name": [f"基准测试企业{i}" for i in ids]},
                    {"bank_consent": False, "created_at": utcnow()},
                )
                batch = ImportBatch(department="综合", year=YEAR, file_name="f", sha256="0" * 64)
                s.add(batch)
                s.commit()
                drop_parts(s, parts)
                walls.append(
                    timed(
                        f"{len(long):,} rows, {label}",
                        s,
                        lambda s=s, p=parts, b=batch.id: insert_without(s, p, long, b),
                    )
                )
        finally:
            engine.dispose()
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; store {url or 'sqlite'}")
    print(f"floor of the row store {walls[-1]:.1f} s against {TARGET} s for the whole commit")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--url", help="a PostgreSQL database for this benchmark only (emptied first)")
    parser.add_argument(
        "--index-costs", action="store_true", help="time the row store's insert with parts of it removed"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_packing_"))
    if args.index_costs:
        try:
            return index_costs(args.rows, args.url, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    engine = emptied_engine(args.url, tmp)
    try:
        return run(args.rows, engine)
    finally:
        engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
