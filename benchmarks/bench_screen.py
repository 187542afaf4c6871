"""展示大屏: server time per refresh, the cold build after a publish, and memory over many refreshes.

    .venv/bin/python benchmarks/bench_screen.py --n 3000              # seeds /tmp/bench_screen_3000.db once
    .venv/bin/python benchmarks/bench_screen.py --n 100000 [--db path] [--refreshes 200]

Seeds the demo (two published runs: a final year and a year in 公示) into a SQLite file unless it exists,
then runs the page script itself (Streamlit's AppTest, the same script a browser gets) repeatedly:

* cold — the first run after a publish: the aggregates are built from the run's Score rows;
* refresh — every later run: one small query for the published runs, then the cached aggregates and
  the charts (what ``st.fragment(run_every=…)`` does every minute);
* RSS after the first and after the last refresh (flat memory: nothing accumulates per refresh).

Targets: refresh ≤ 0.3 s at 3,000 enterprises, ≤ 1.5 s at 100,000.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.measure import rss_mib  # noqa: E402


def _ensure_db(path: Path, n: int) -> None:
    if path.exists():
        return
    from db.schema import init_db
    from db.session import make_engine, session_scope
    from demo import seed_demo

    print(f"seeding {n:,} enterprises into {path} (once) …", flush=True)
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    with session_scope(engine) as session:
        seed_demo(session, enterprises=n)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--refreshes", type=int, default=50)
    args = parser.parse_args()
    path = args.db or Path(f"/tmp/bench_screen_{args.n}.db")
    _ensure_db(path, args.n)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"

    from streamlit.testing.v1 import AppTest

    from services import dashboard

    page = str(ROOT / "pages" / "public" / "dashboard.py")
    at = AppTest.from_file(page, default_timeout=600)
    at.run()  # imports and first render (warm the interpreter; the build is timed next)
    dashboard.clear_cache()
    start = time.perf_counter()
    at.run()
    cold = time.perf_counter() - start
    assert not at.exception, at.exception
    evaluated = next(m.value for m in at.metric if m.label == "参评企业")
    build = next(iter(dashboard._CACHE.values())).build_seconds

    times = []
    rss_first = None
    for i in range(args.refreshes):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        if i == 0:
            rss_first = rss_mib() or 0.0
    rss_last = rss_mib() or 0.0
    times.sort()
    print(f"enterprises (参评企业 shown): {evaluated}")
    print(f"cold page run after a publish: {cold:.3f} s (aggregates built in {build:.3f} s)")
    print(
        f"refresh, {args.refreshes} runs: median {statistics.median(times):.3f} s · "
        f"p95 {times[int(0.95 * (len(times) - 1))]:.3f} s · max {times[-1]:.3f} s"
    )
    print(
        f"RSS after the first refresh {rss_first:.0f} MiB, after the last {rss_last:.0f} MiB "
        f"({rss_last - rss_first:+.1f} MiB over {args.refreshes - 1} refreshes)"
    )


if __name__ == "__main__":
    main()
