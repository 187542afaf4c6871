"""Search over 100,000 generated enterprise names: key computation, index build, query times.

Prints the time to compute the stored keys (pypinyin, once per name — what creating the enterprises
costs), the index build time (from stored keys, what a server does once), and the median and p95 query
time over a realistic query mix: name fragments, pinyin initials, full pinyin, polyphonic readings,
typos and credit-code prefixes. The last line is ``search 100000 names: median X ms, p95 Y ms``
(targets: median ≤ 10 ms, p95 ≤ 30 ms).

    .venv/bin/python benchmarks/bench_search.py [N]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.synthetic import make_credit_codes, make_names  # noqa: E402
from core.search import SearchIndex, name_keys  # noqa: E402


def queries(
    names: list[str], codes: list[str], keys: list, rng: np.random.Generator, count: int
) -> list[str]:
    """A mix of what officers type, each drawn from a random existing enterprise."""
    out: list[str] = []
    kinds = ["fragment", "initials", "pinyin", "typo", "missing", "code", "prefix_name"]
    for i in range(count):
        j = int(rng.integers(len(names)))
        name, initials, pinyin = names[j], keys[j].initials.split("|")[-1], keys[j].pinyin.split("|")[-1]
        kind = kinds[i % len(kinds)]
        if kind == "fragment":
            start = int(rng.integers(0, max(1, len(name) - 4)))
            out.append(name[start : start + int(rng.integers(2, 5))])
        elif kind == "initials":
            out.append(initials[: int(rng.integers(3, 7))])
        elif kind == "pinyin":
            start = int(rng.integers(0, 6))
            out.append(pinyin[start : start + int(rng.integers(6, 14))])
        elif kind == "typo":  # one wrong character in the distinctive part
            chars = list(name[:8])
            chars[int(rng.integers(2, len(chars)))] = "某"
            out.append("".join(chars))
        elif kind == "missing":
            chars = list(name[:8])
            del chars[int(rng.integers(2, len(chars)))]
            out.append("".join(chars))
        elif kind == "code":
            out.append(codes[j][: int(rng.integers(10, 18))])
        else:
            out.append(name[: int(rng.integers(4, 8))])
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = np.random.default_rng(9)
    names = make_names(n, rng)
    codes = list(make_credit_codes(n, rng))
    t0 = time.perf_counter()
    keys = [name_keys(name) for name in names]
    t_keys = time.perf_counter() - t0
    print(
        f"stored keys (pypinyin, once per enterprise): {t_keys:.1f} s for {n} names "
        f"({t_keys / n * 1e6:.0f} µs each)"
    )

    t0 = time.perf_counter()
    index = SearchIndex(
        list(range(1, n + 1)), codes, names, [k.initials for k in keys], [k.pinyin for k in keys]
    )
    print(f"index build from stored keys: {time.perf_counter() - t0:.2f} s")

    mix = queries(names, codes, keys, rng, 1000)
    for q in mix[:50]:  # warm-up (first calls page memory in)
        index.search(q, limit=20)
    times_by_kind: dict[int, list[float]] = {}
    times = []
    for i, q in enumerate(mix):
        t0 = time.perf_counter()
        index.search(q, limit=20)
        elapsed = (time.perf_counter() - t0) * 1000
        times.append(elapsed)
        times_by_kind.setdefault(i % 7, []).append(elapsed)
    labels = ["fragment", "initials", "pinyin", "typo", "missing", "code", "name prefix"]
    for k, label in enumerate(labels):
        ts = times_by_kind[k]
        print(f"  {label:12s} median {statistics.median(ts):6.2f} ms, p95 {np.percentile(ts, 95):6.2f} ms")
    print(
        f"search {n} names: median {statistics.median(times):.2f} ms, p95 {np.percentile(times, 95):.2f} ms"
    )


if __name__ == "__main__":
    main()
