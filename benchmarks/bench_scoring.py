"""Benchmark of score+rank (core.engine.score on prepared inputs) against the naive per-row engine.

Usage:  .venv/bin/python -m benchmarks.bench_scoring [--sizes 3000,100000,1000000] [--naive-max 100000]

For every N it prints: prepare_inputs time (cell parsing, incl. the sparse list columns), the median
score+rank time on already-prepared inputs, the peak extra memory of one score+rank (tracemalloc: numpy
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
from core.engine import prepare_inputs, score  # noqa: E402
from core.scoring_model import load_model  # noqa: E402

COMPARED = ("stage", "total", "technology", "bonus", "deduction", "veto", "rank", "tier", "subsidy", "mujun")


def _timeit(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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
    print(f"{'N':>9} | {'prepare s':>9} | {'score+rank s':>12} | {'peak MiB':>8} | {'naive s':>8} | {'speed-up':>8}")
    print("-" * 72)
    for n in sizes:
        raw = make_inputs(n, seed=1)
        repeat = 7 if n <= 10_000 else 5 if n <= 200_000 else 3
        t_prep = _timeit(lambda raw=raw: prepare_inputs(model, raw), 1 if n >= 1_000_000 else 3)
        X = prepare_inputs(model, raw)
        score(model, X)  # warm-up (imports, thread pool, page faults of the first run)
        t_score = _timeit(lambda X=X: score(model, X), repeat)
        peak = _peak_mib(lambda X=X: score(model, X))
        naive_txt, ratio_txt = "-", "-"
        if n <= args.naive_max:
            t0 = time.perf_counter()
            b = naive_score(model, X)
            t_naive = time.perf_counter() - t0
            _assert_same(score(model, X), b)
            naive_txt, ratio_txt = f"{t_naive:8.2f}", f"{t_naive / t_score:7.1f}x"
        print(f"{n:>9} | {t_prep:9.3f} | {t_score:12.3f} | {peak:8.0f} | {naive_txt:>8} | {ratio_txt:>8}",
              flush=True)
        del raw, X
        gc.collect()
    print(f"numpy {np.__version__}; engine and naive engine agree on {', '.join(COMPARED)}")


if __name__ == "__main__":
    main()
