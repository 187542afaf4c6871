"""榜单与扶持 against hand-computed numbers: ⌈share·N⌉ list sizes, subsidy places, caps, budget, 亩均."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import lists
from core.engine import rank
from core.model_loading import load_model


@pytest.fixture(scope="module")
def model():  # noqa: ANN201
    return load_model()


def _scores(model, counts: dict[str, int], vetoed: dict[str, int] | None = None) -> pd.DataFrame:  # noqa: ANN001
    """Distinct totals per stage (best first), ranked by the engine itself."""
    rows = []
    k = 0
    for stage, n in counts.items():
        for i in range(n + (vetoed or {}).get(stage, 0)):
            k += 1
            rows.append(
                {
                    "credit_code": f"C{k:05d}",
                    "name": f"企业{k}",
                    "stage": stage,
                    "total": 100.0 - i * 0.5,
                    "technology": 50.0,
                    "veto": i >= n,
                }
            )
    return rank(model, pd.DataFrame(rows))


def test_places_is_ceiling_of_share_times_n() -> None:
    assert lists.places(0.05, 57) == 3  # 2.85 → 3
    assert lists.places(0.10, 57) == 6  # 5.7 → 6
    assert lists.places(0.20, 57) == 12  # 11.4 → 12
    assert lists.places(0.07, 100) == 7  # 7.000000000000001 in binary must stay 7
    assert lists.places(0.05, 0) == 0


def test_list_sizes_per_stage_are_cumulative_bands(model) -> None:  # noqa: ANN001
    scores = _scores(model, {"seed": 57, "startup": 20}, vetoed={"seed": 2})
    sizes = lists.list_sizes(model, scores).set_index("stage")
    seed = sizes.loc["seed"]
    assert seed["参与排名"] == 57  # the two vetoed enterprises are not counted
    # 领跑 ⌈2.85⌉ = 3; 竞跑 ⌈5.7⌉ = 6 → 3 more; 进取 ⌈11.4⌉ = 12 → 6 more
    assert (seed["创新领跑榜名额"], seed["创新竞跑榜名额"], seed["创新进取榜名额"]) == (3, 3, 6)
    assert (seed["创新领跑榜实际"], seed["创新竞跑榜实际"], seed["创新进取榜实际"]) == (3, 3, 6)
    assert seed["创新竞跑榜测算"] == "⌈10%×57⌉ = 6"
    startup = sizes.loc["startup"]  # 20: 1, 2 → 1 more, 4 → 2 more
    assert (startup["创新领跑榜名额"], startup["创新竞跑榜名额"], startup["创新进取榜名额"]) == (1, 1, 2)
    assert sizes.loc["mature", "参与排名"] == 0 and sizes.loc["mature", "创新领跑榜名额"] == 0


def test_subsidy_plan_share_cap_and_budget(model) -> None:  # noqa: ANN001
    # seed 57: ⌈2%×57⌉ = 2 (≤ 10) · 5 万 → 10; startup 200: ⌈4⌉ = 4 > 3 → capped at 3 · 5 万 → 15;
    # growth 250: ⌈2.5⌉ = 3 (= max 3) · 10 万 → 30; expansion 40: ⌈0.4⌉ = 1 · 30 → 30; mature none.
    scores = _scores(
        model, {"seed": 57, "startup": 200, "growth": 250, "expansion": 40}, vetoed={"startup": 1}
    )
    plan = lists.subsidy_plan(model, scores).set_index("stage")
    assert plan.loc["seed", ["按比例名额", "名额上限", "扶持名额"]].tolist() == [2, 10, 2]
    assert plan.loc["seed", "预算（万元）"] == 10.0
    assert plan.loc["startup", ["按比例名额", "名额上限", "扶持名额"]].tolist() == [4, 3, 3]
    assert plan.loc["startup", "适用限制"].startswith("名额上限 3 家")
    assert plan.loc["startup", "预算（万元）"] == 15.0
    assert plan.loc["growth", "扶持名额"] == 3 and plan.loc["growth", "预算（万元）"] == 30.0
    assert plan.loc["growth", "适用限制"].startswith("按比例")
    assert plan.loc["expansion", "扶持名额"] == 1 and plan.loc["expansion", "预算（万元）"] == 30.0
    assert plan.loc["mature", "扶持名额"] == 0 and plan.loc["mature", "适用限制"] == "本阶段无参与排名企业"
    assert plan.loc["all", "预算（万元）"] == 85.0 and plan.loc["all", "扶持名额"] == 9
    # the engine paid exactly the planned places
    assert plan.loc["all", "实际家数"] == 9 and plan.loc["all", "实际金额（万元）"] == 85.0


def test_subsidy_table_in_notice_order_without_vetoed(model) -> None:  # noqa: ANN001
    scores = _scores(model, {"seed": 57, "startup": 200}, vetoed={"startup": 3})
    # the best-scored vetoed enterprise would top any list: give it the highest total of its stage
    scores.loc[scores["veto"], "total"] = 150.0
    scores = rank(model, scores)
    table = lists.subsidy_table(model, scores)
    assert table["序号"].tolist() == [1, 2, 3, 4, 5]
    assert table["所属阶段"].tolist() == ["种子期", "种子期", "初创期", "初创期", "初创期"]
    assert table["阶段排名"].tolist() == [1, 2, 1, 2, 3]
    assert table["扶持金额（万元）"].sum() == 25.0
    assert not set(table["统一社会信用代码"]) & set(scores.loc[scores["veto"], "credit_code"])


def test_mujun_flags_by_share(model) -> None:  # noqa: ANN001
    scores = _scores(model, {"seed": 120})  # 提升一档 ⌈2.4⌉ = 3, 适当加分 up to ⌈6⌉ = 6
    table = lists.mujun_table(model, scores)
    assert table["亩均论英雄"].tolist() == ["提升一档"] * 3 + ["适当加分"] * 3
    assert table["测算"].iloc[0] == "前 2%：⌈2%×120⌉ = 3 家"


def test_list_members_carry_full_list_names(model) -> None:  # noqa: ANN001
    members = lists.list_members(model, _scores(model, {"growth": 20}))
    assert members["榜单"].tolist() == ["创新领跑榜", "创新竞跑榜", "创新进取榜", "创新进取榜"]
    assert np.array_equal(members["阶段排名"].to_numpy(), [1, 2, 3, 4])
