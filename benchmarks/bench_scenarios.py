"""Scenario computations over N synthetic enterprises (default 100,000): score once, then time the
cultivation-pool evaluation as the 培育库 page does it (every pool's numbers for every enterprise, gap
sentences for the rows shown) and as an export does it (every sentence), the list sizes and subsidy
plan, the carrier table and a bank whitelist. Prints one line per step and a summary line:

    scenarios 100000 enterprises: pools X s (export Y s), lists Y s, carriers Z s, whitelist W s
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.synthetic import make_inputs  # noqa: E402
from core import carriers, lists, pools  # noqa: E402
from core.bank import Criteria, whitelist  # noqa: E402
from core.derive import derive_indicators  # noqa: E402
from core.engine import score  # noqa: E402
from core.model_loading import load_model  # noqa: E402

SHOWN_ROWS = 500  # what pages/officer/pools.py shows (and writes sentences for)


def main(n: int = 100_000) -> None:
    model = load_model()
    rng = np.random.default_rng(1)
    inputs = derive_indicators(model, make_inputs(n, seed=1))
    scored = score(model, inputs)
    facts = inputs.copy()
    facts["staff"] = rng.integers(3, 800, n)
    facts["registered_years"] = rng.uniform(0, 20, n)
    facts["veto"] = scored["veto"].to_numpy()
    facts["percentile"] = scored["percentile"].to_numpy()

    config = pools.config_for(model)
    pool_facts = pools.facts_frame(model, facts, config)
    t = time.perf_counter()
    table = pools.evaluate_pools_frame(model, pool_facts, config, gaps_for=np.zeros(0, dtype=np.int64))
    t_numbers = time.perf_counter() - t
    first = pools.pools_of(config)[0]["code"]
    part = table[(table["pool"] == first) & ~table["holds"]].sort_values("closeness", ascending=False)
    shown = part["row"].to_numpy()[:SHOWN_ROWS]
    t = time.perf_counter()
    pools.evaluate_pools_frame(model, pool_facts.iloc[shown], config, only=first)
    t_shown = time.perf_counter() - t
    t_pools = t_numbers + t_shown
    print(
        f"pools (page): {len(table)} enterprise·pool rows, {int((table['gap_count'] > 0).sum())} with gaps — "
        f"numbers for all {t_numbers:.2f} s + sentences for the {len(shown)} rows shown {t_shown:.3f} s"
    )
    t = time.perf_counter()
    pools.evaluate_pools_frame(model, pool_facts, config)
    t_export = time.perf_counter() - t
    print(f"pools (export of every pool with every sentence): {t_export:.2f} s")

    t = time.perf_counter()
    lists.list_sizes(model, scored)
    plan = lists.subsidy_plan(model, scored)
    lists.subsidy_table(model, scored)
    lists.mujun_table(model, scored)
    t_lists = time.perf_counter() - t
    print(
        f"lists: sizes, plan ({int(plan.iloc[-1]['扶持名额'])} places), subsidy and 亩均 tables {t_lists:.2f} s"
    )

    frame = scored.assign(
        carrier_id=rng.integers(0, 40, n).astype(float),
        carrier="载体",
        kind="孵化器",
        rd=inputs["T01"].to_numpy(),
        revenue=inputs["G01"].to_numpy(),
        prev_revenue=inputs["G01"].to_numpy() * rng.uniform(0.7, 1.3, n),
    )
    frame["carrier"] = "载体" + frame["carrier_id"].astype(int).astype(str)
    t = time.perf_counter()
    carriers.carrier_table(model, frame)
    t_carriers = time.perf_counter() - t
    print(f"carriers: 40 carriers {t_carriers:.2f} s")

    scored["bank_consent"] = rng.random(n) < 0.6
    t = time.perf_counter()
    listed = whitelist(model, scored, Criteria("min_total", min_total=40))
    t_white = time.perf_counter() - t
    print(f"whitelist: {len(listed)} enterprises {t_white:.2f} s")
    print(
        f"scenarios {n} enterprises: pools {t_pools:.2f} s (export {t_export:.2f} s), lists {t_lists:.2f} s, carriers {t_carriers:.2f} s, "
        f"whitelist {t_white:.2f} s"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
