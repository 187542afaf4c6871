"""Benchmark of score+rank (core.engine.score on prepared inputs) against the naive per-row engine.

Usage:  .venv/bin/python -m benchmarks.bench_scoring [--sizes 3000,100000,1000000] [--naive-max 100000]

For every N it prints: prepare_inputs time (cell parsing, incl. the sparse list columns), the median
score+rank time on already-prepared inputs and the CPU seconds it used (all threads: on a machine
shared with other work the wall time grows while the CPU time stays put), the peak extra memory of one score+rank (tracemalloc: numpy
reports its buffers to it), and — up to --naive-max — the naive engine's time and the speed-up, after
asserting that both engines give the same totals, ranks, lists and subsidies.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # allow `python benchmarks/bench_scoring.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.naive_engine import naive_score  # noqa: E402
from benchmarks.synthetic import make_inputs  # noqa: E402
from core.engine import score  # noqa: E402
from core.measures import prepare_inputs  # noqa: E402
from core.model_loading import load_model  # noqa: E402

# The targets: score+rank seconds per N, extra memory at 1M, speed-up over the naive engine at 100k
TARGET_SECONDS = {100_000: 0.3, 1_000_000: 2.5}
TARGET_PEAK_MIB = 1024
TARGET_SPEEDUP = 30

COMPARED = ("stage", "total", "technology", "bonus", "deduction", "veto", "rank", "tier", "subsidy", "mujun")


def _timeit(fn, repeat: int) -> float:
    return _timeit_cpu(fn, repeat)[0]


def _timeit_cpu(fn, repeat: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (process_time: every thread of this process)."""
    times, cpus = [], []
    for _ in range(repeat):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(times), statistics.median(cpus)


def _peak_mib(fn) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def _assert_same(a, b) -> None:
    for col in COMPARED:
        x = a[col].astype(object).fillna(-1).tolist()
        y = b[col].astype(object).fillna(-1).tolist()
        assert x == y, f"engine and naive engine differ in {col}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="3000,100000,1000000")
    ap.add_argument("--naive-max", type=int, default=100_000)
    args = ap.parse_args(argv)
    model = load_model()
    sizes = [int(s) for s in args.sizes.split(",")]
    verdicts: list[str] = []
    print(
        f"{'N':>9} | {'prepare s':>9} | {'score+rank s':>12} | {'cpu s':>6} | {'peak MiB':>8} | {'naive s':>8} | "
        f"{'speed-up':>8}"
    )
    print("-" * 81)
    for n in sizes:
        raw = make_inputs(n, seed=1)
        repeat = 7 if n <= 10_000 else 5 if n <= 200_000 else 3
        t_prep = _timeit(lambda raw=raw: prepare_inputs(model, raw), 1 if n >= 1_000_000 else 3)
        X = prepare_inputs(model, raw)
        score(model, X)  # warm-up (imports, thread pool, page faults of the first run)
        t_score, cpu_score = _timeit_cpu(lambda X=X: score(model, X), repeat)
        peak = _peak_mib(lambda X=X: score(model, X))
        naive_txt, ratio_txt = "-", "-"
        if n <= args.naive_max:
            t0 = time.perf_counter()
            b = naive_score(model, X)
            t_naive = time.perf_counter() - t0
            _assert_same(score(model, X), b)
            naive_txt, ratio_txt = f"{t_naive:8.2f}", f"{t_naive / t_score:7.1f}x"
        print(
            f"{n:>9} | {t_prep:9.3f} | {t_score:12.3f} | {cpu_score:6.3f} | {peak:8.0f} | {naive_txt:>8} | "
            f"{ratio_txt:>8}",
            flush=True,
        )
        if n in TARGET_SECONDS:
            ok = t_score <= TARGET_SECONDS[n]
            verdicts.append(f"{n:,}: {t_score:.2f} s ≤ {TARGET_SECONDS[n]} s {'OK' if ok else 'MISSED'}")
        if n == 1_000_000:
            verdicts.append(
                f"peak {peak:.0f} MiB ≤ {TARGET_PEAK_MIB} {'OK' if peak <= TARGET_PEAK_MIB else 'MISSED'}"
            )
        if n == 100_000 and n <= args.naive_max:
            fast = t_naive / t_score
            verdicts.append(
                f"speed-up {fast:.0f}× ≥ {TARGET_SPEEDUP}× {'OK' if fast >= TARGET_SPEEDUP else 'MISSED'}"
            )
        del raw, X
        gc.collect()
    print(f"numpy {np.__version__}; engine and naive engine agree on {', '.join(COMPARED)}")
    if verdicts:
        print("targets: " + "; ".join(verdicts))


if __name__ == "__main__":
    main()
