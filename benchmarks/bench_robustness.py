"""Benchmark of core.robustness.rank_robustness (200 draws, ±20 % on every point value).

Usage:  .venv/bin/python -m benchmarks.bench_robustness [--sizes 3000,100000] [--draws 200]

Prints, per N: the time of one robustness analysis on a scored run (synthetic enterprises, default
model), the number of list members and how many of them are fragile. Targets: ≤ 10 s for 3,000,
≤ 60 s for 100,000.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.synthetic import make_inputs  # noqa: E402
from core.engine import score  # noqa: E402
from core.measures import prepare_inputs  # noqa: E402
from core.model_loading import load_model  # noqa: E402
from core.robustness import rank_robustness  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="3000,100000")
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args()
    model = load_model()
    print(f"{'N':>9} | {'robustness s':>12} | {'on lists':>8} | {'fragile':>7} | target")
    print("-" * 56)
    for n in (int(x) for x in args.sizes.split(",")):
        scored = score(model, prepare_inputs(model, make_inputs(n)))
        fractions = scored[[f"f_{c}" for c in model.codes]].to_numpy()
        t0 = time.perf_counter()
        result = rank_robustness(
            model,
            stage=scored["stage"].to_numpy(),
            fractions=fractions,
            veto=scored["veto"].to_numpy(),
            order=scored["rank"].to_numpy(dtype=float, na_value=0),
            draws=args.draws,
        )
        seconds = time.perf_counter() - t0
        on_lists = int((result["tier"] != "").sum())
        target = 10 if n <= 3000 else 60
        print(f"{n:>9} | {seconds:>12.2f} | {on_lists:>8} | {int(result['fragile'].sum()):>7} | ≤ {target} s")


if __name__ == "__main__":
    main()
