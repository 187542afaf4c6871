"""How fast hostile uploads are refused, and what they cost the reading (server) process.

For each hostile case — one cell at XFD1048576 (declared, hidden behind a lying ``<dimension>``,
no dimension), cell bombs (millions of cells in about 1 MB; 5 million addressed empty cells in 13 MB,
too wide or within the column and cell limits), a 400 MB shared string in a 400 KB
file, a csv of 120,000 columns, an encrypted workbook — prints the file size, the refusal time, the
growth of this process's resident memory (target < 500 MiB; the worker process takes the blow) and
the first words of the Chinese message. Then a normal 100,000 × 35 read for comparison (``--rows``).

    .venv/bin/python benchmarks/bench_hostile_files.py [--rows 100000] [--skip-normal]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openpyxl  # noqa: E402

from adapters import reader_worker  # noqa: E402
from core import spreadsheet as sp  # noqa: E402
from tests import hostile_files as hf  # noqa: E402

TARGET_SECONDS = 5.0
TARGET_MIB = 500


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _encrypted() -> bytes:
    import msoffcrypto.format.ooxml

    wb = openpyxl.Workbook()
    wb.active.append(["统一社会信用代码", "企业名称"])
    plain, out = io.BytesIO(), io.BytesIO()
    wb.save(plain)
    msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(plain.getvalue())).encrypt("pw", out)
    return out.getvalue()


CASES = {
    "one cell at XFD1048576 (declared)": (lambda: hf.far_cell(), "far.xlsx"),
    "one cell at XFD1048576 (dimension A1 lies)": (lambda: hf.far_cell(dimension="A1"), "far.xlsx"),
    "one cell at XFD1048576 (no dimension)": (lambda: hf.far_cell(dimension=None), "far.xlsx"),
    "cell bomb: 5 million cells in < 1 MB": (lambda: hf.compressed_cell_bomb(2_000, 2_500), "bomb.xlsx"),
    "cell bomb: 5 million cells with addresses": (lambda: hf.cell_bomb(rows=1_000, cols=5_000), "bomb.xlsx"),
    "cell bomb: 5 M empty strings, 2,000 columns": (
        lambda: hf.cell_bomb(rows=2_500, cols=2_000),
        "bomb.xlsx",
    ),
    'cell bomb: 5 M <c r=".."/> under a header': (lambda: hf.empty_cell_bomb(2_500, 2_000), "bomb.xlsx"),
    "400 MB shared string": (lambda: hf.shared_string_bomb(400), "sst.xlsx"),
    "csv of 120,000 columns": (lambda: hf.wide_csv(120_000, 50), "wide.csv"),
    '20,000 "<row " in a cell of a sheet hiding a row': (lambda: hf.tag_soup(), "soup.xlsx"),
    "encrypted workbook": (_encrypted, "enc.xlsx"),
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--skip-normal", action="store_true")
    args = parser.parse_args()
    reader_worker.read_table(
        b"a,b\r\n1,2\r\n", "warm.csv"
    )  # start the spare workers, as a running server has
    time.sleep(3)
    ok = True
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times scale with it)")
    print(f"{'case':46} {'size':>10} {'refused in':>11} {'RSS growth':>11}  message")
    for label, (make, name) in CASES.items():
        data = make()
        before = _rss_mib()
        t0 = time.perf_counter()
        try:
            reader_worker.read_table(data, name)
            outcome = "NOT REFUSED"
            ok = False
        except sp.SpreadsheetError as exc:
            outcome = str(exc)[:60]
        seconds = time.perf_counter() - t0
        growth = _rss_mib() - before
        ok &= seconds <= TARGET_SECONDS and growth < TARGET_MIB
        print(f"{label:46} {len(data) / 1024:8.1f} KB {seconds:9.2f} s {growth:8.1f} MiB  {outcome}")
        del data
        time.sleep(1.5)  # let the next spare finish starting, as between two real uploads
    print(
        f"targets: refused ≤ {TARGET_SECONDS:.0f} s and RSS growth < {TARGET_MIB} MiB each: {'OK' if ok else 'MISSED'}"
    )
    if not args.skip_normal:
        _normal_read(args.rows)
    return 0 if ok else 1


def _normal_read(rows: int) -> None:
    """Time an ordinary workbook of ``rows`` rows read through the worker, then in this process."""
    from benchmarks.bench_spreadsheet import build_workbook

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "normal.xlsx"
        build_workbook(path, rows)
        data = path.read_bytes()
    for isolated in (True, False):
        t0, c0 = time.perf_counter(), time.process_time()
        result = reader_worker.read_upload(data, "normal.xlsx", limits=sp.ReadLimits(isolated=isolated))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        worker_cpu = result.timings.get("worker_cpu")
        where = "worker process" if isolated else "in-process (unbounded, for comparison)"
        extra = f", worker CPU {worker_cpu:.2f} s" if worker_cpu is not None else ""
        print(
            f"normal read {rows:,} × {result.frame.shape[1]} via {where}: {wall:.2f} s wall, "
            f"this process CPU {cpu:.2f} s{extra}"
        )


if __name__ == "__main__":
    sys.exit(main())
