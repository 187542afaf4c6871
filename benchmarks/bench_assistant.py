"""智能助手: quality on the question set, start-up cost and memory, answer time, 政策计算器 time.

    .venv/bin/python benchmarks/bench_assistant.py [--n 3000] [--db /tmp/bench_assistant_3000.db] [--fresh]

* quality — tests/assistant/questions.toml: intent accuracy, clause recall@3 (targets ≥ 90 %), and the
  out-of-scope questions that must get the office contact instead of a quote;
* start-up — in this fresh process: importing the assistant, then building the classifier and the BM25
  index of the shipped corpus (jieba loads its dictionary here), wall time and resident memory added;
* answers — the demo database with N enterprises (``demo.seed_demo``; made once, reused): every
  question of the set asked as ent1…ent5 through ``services.assistant.ask`` (logged, as on the page),
  once to warm up, then timed: median and p95 (target p95 ≤ 300 ms warm);
* 政策计算器 — every declared item for one enterprise (ent1…ent5 and 45 others): with the portrait read
  afresh (the first calculator of a session) and with it reused (the page's later reruns); target
  ≤ 200 ms.

Prints wall times (the machine may be loaded: the load average is printed first).
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

from benchmarks.measure import pct, rss_mib  # noqa: E402


def _rss() -> float:
    return rss_mib() or 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--fresh", action="store_true", help="seed the database again")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    # ---------------------------------------------------------------- start-up
    rss0 = _rss()
    t0 = time.perf_counter()
    from core.assistant import Brain
    from core.assistant_text import default_documents, load_data
    from core.model_loading import load_model

    model = load_model()
    t1 = time.perf_counter()
    brain = Brain(model, data=load_data(), documents=[(d, t, None) for d, t in default_documents()])
    t2 = time.perf_counter()
    print(
        f"start-up: imports + model {t1 - t0:.2f} s, classifier + BM25 index (jieba dictionary included) "
        f"{t2 - t1:.2f} s; resident memory +{_rss() - rss0:.0f} MB "
        f"({len(brain.retriever.clauses)} clauses)"
    )

    # ---------------------------------------------------------------- quality
    from tests.assistant.quality import load_questions, measure

    questions = load_questions()
    quality = measure(brain, questions)
    print(
        f"question set: {quality.intent.total} questions ({', '.join(f'{k} {v}' for k, v in sorted(quality.by_topic.items()))})"
    )
    print(f"intent accuracy {quality.intent} = {quality.intent.share:.1%} (target ≥ 90 %)")
    print(f"clause recall@3 {quality.clause} = {quality.clause.share:.1%} (target ≥ 90 %)")
    print(f"out of scope → office contact {quality.refusal}")
    for miss in quality.misses:
        print("  miss:", miss)

    # ---------------------------------------------------------------- database
    path = args.db or Path(f"/tmp/bench_assistant_{args.n}.db")
    from sqlmodel import Session

    from db.schema import init_db
    from db.session import make_engine

    if args.fresh and path.exists():
        path.unlink()
    if not path.exists():
        from demo import seed_demo

        t = time.perf_counter()
        engine = make_engine(f"sqlite:///{path}")
        init_db(engine)
        with Session(engine, expire_on_commit=False) as session:
            seed_demo(session, enterprises=args.n, local_demo=True)
        engine.dispose()
        print(f"seeded {args.n} enterprises in {time.perf_counter() - t:.0f} s → {path}")
    engine = make_engine(f"sqlite:///{path}")

    from sqlalchemy import select

    from db.models import Enterprise
    from services import assistant as svc
    from services import policy_calculator
    from services.actor import Actor

    with Session(engine, expire_on_commit=False) as session:
        actors = [svc.actor_for_username(session, f"ent{k}") for k in range(1, 6)]
        t = time.perf_counter()
        svc.get_brain(session)
        print(f"first question's brain in the service (cached afterwards): {time.perf_counter() - t:.2f} s")

        # ------------------------------------------------------------ answers
        texts = [q["q"] for q in questions]
        for actor in actors:  # warm-up: portraits, stage context, jieba's caches
            for text in texts[:20]:
                svc.ask(session, actor=actor, question=text)
        times: list[float] = []
        by_intent: dict[str, list[float]] = {}
        for actor in actors:
            for text in texts:
                t = time.perf_counter()
                result = svc.ask(session, actor=actor, question=text)
                dt = time.perf_counter() - t
                times.append(dt)
                by_intent.setdefault(result.answer.intent, []).append(dt)
        print(
            f"answers ({len(times)} asks, warm, logged): median {statistics.median(times) * 1000:.1f} ms, "
            f"p95 {pct(times, 0.95) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms (target p95 ≤ 300 ms)"
        )
        for intent, values in sorted(by_intent.items()):
            print(
                f"  {intent:<18} n={len(values):>4}  median {statistics.median(values) * 1000:6.1f} ms  "
                f"p95 {pct(values, 0.95) * 1000:6.1f} ms"
            )

        # ------------------------------------------------------------ 政策计算器
        others = (
            session.execute(select(Enterprise.id).order_by(Enterprise.id).limit(45).offset(100))
            .scalars()
            .all()
        )
        system = Actor.system()
        subjects = [(a, a.enterprise_id) for a in actors] + [(system, eid) for eid in others]
        portrait_times, evaluate_times, reused, counts = [], [], [], []
        for actor, eid in subjects:
            policy_calculator._PORTRAITS.clear()
            policy_calculator._ITEMS.clear()
            t = time.perf_counter()
            # what 我的积分 reads anyway
            policy_calculator.portrait_for(session, actor=actor, enterprise_id=eid)
            portrait_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            # every item evaluated
            view = policy_calculator.policy_calculator(session, actor=actor, enterprise_id=eid)
            evaluate_times.append(time.perf_counter() - t)
            counts.append(len(view.items))
            t = time.perf_counter()
            policy_calculator.policy_calculator(session, actor=actor, enterprise_id=eid)
            reused.append(time.perf_counter() - t)

        def line(label: str, values: list[float]) -> str:
            return (
                f"  {label}: median {statistics.median(values) * 1000:.1f} ms, p95 {pct(values, 0.95) * 1000:.1f} ms, "
                f"max {max(values) * 1000:.1f} ms"
            )

        print(
            f"政策计算器 at {args.n} enterprises, {min(counts)}–{max(counts)} items each, {len(subjects)} enterprises:"
        )
        print(line("every item evaluated (portrait in hand) ", evaluate_times) + " (target ≤ 200 ms)")
        print(line("the portrait itself (read from the run)  ", portrait_times))
        print(line("page rerun (evaluation reused)          ", reused))
    engine.dispose()
    print(
        f"resident memory at the end: {_rss():.0f} MB; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
