"""金融推荐 (pure): a bank whitelist from a run's scores, only enterprises that consented.

Three ways to choose (``Criteria.mode``): ``min_total`` (total ≥ a threshold), ``tier`` (on the chosen
list or a better one — lists are cumulative), ``top_n`` (the first N of every stage). In every mode a
vetoed or unranked enterprise is never listed, and neither is one without ``bank_consent``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.clock import display_time
from core.lists import notice_frame, ranked_rows
from core.scoring_model import ScoringModel

MODES = {"min_total": "积分不低于门槛", "tier": "按榜单", "top_n": "各阶段前若干名"}


@dataclass(frozen=True)
class Criteria:
    mode: str
    min_total: float | None = None
    tier: str | None = None  # a list tier code of the model
    top_n: int | None = None

    def tier_code(self, model: ScoringModel) -> str | None:
        """The chosen list's code; ``tier`` may be given as a code (竞跑) or a full name (创新竞跑榜)."""
        for t in model.tiers:
            if self.tier in (t.code, t.name):
                return t.code
        return None

    def check(self, model: ScoringModel) -> None:
        """Raise ValueError (Chinese) when the criteria cannot be applied to ``model``."""
        if self.mode not in MODES:
            raise ValueError(f"筛选方式“{self.mode}”无效：应为 {'、'.join(MODES)}")
        if self.mode == "min_total":
            if self.min_total is None or not math.isfinite(self.min_total) or self.min_total < 0:
                raise ValueError("积分门槛应为不小于 0 的数字")
        elif self.mode == "tier":
            if self.tier_code(model) is None:
                names = "、".join(f"{t.code}（{t.name}）" for t in model.tiers)
                raise ValueError(f"榜单“{self.tier}”不存在：该批次的评价模型有 {names}")
        elif self.top_n is None or self.top_n <= 0:
            raise ValueError("每阶段名额应为正整数")

    def describe(self, model: ScoringModel) -> str:
        if self.mode == "min_total":
            return f"总积分 ≥ {self.min_total:g}"
        if self.mode == "tier":
            names = [t.name for t in model.tiers]
            chosen = next(t.name for t in model.tiers if t.code == self.tier_code(model))
            upto = names[: names.index(chosen) + 1]
            return "、".join(upto)
        return f"各阶段前 {self.top_n} 名"


def select(model: ScoringModel, scores: pd.DataFrame, criteria: Criteria) -> np.ndarray:
    """Boolean mask of the rows ``criteria`` choose (before consent): ranked, non-vetoed rows only."""
    criteria.check(model)
    ranked = scores["rank"].notna().to_numpy() & ~scores["veto"].fillna(False).astype(bool).to_numpy()
    if criteria.mode == "min_total":
        assert criteria.min_total is not None  # check() refused a missing threshold
        chosen = pd.to_numeric(scores["total"]).to_numpy(dtype=float) >= float(criteria.min_total)
    elif criteria.mode == "tier":
        codes = [t.code for t in model.tiers]
        tier_code = criteria.tier_code(model)
        assert tier_code is not None  # check() refused an unknown list
        allowed = codes[: codes.index(tier_code) + 1]
        chosen = scores["tier"].fillna("").isin(allowed).to_numpy()
    else:
        rank = pd.to_numeric(scores["rank"]).to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            chosen = rank <= criteria.top_n
    return ranked & chosen


def whitelist(model: ScoringModel, scores: pd.DataFrame, criteria: Criteria) -> pd.DataFrame:
    """The whitelist: 序号, 企业名称, 统一社会信用代码, 所属阶段, 阶段排名, 积分, 榜单, 授权时间.

    ``scores`` needs ``bank_consent`` (bool) and may carry ``bank_consent_at``; only consenting rows are
    listed. Order: model stage order, then rank. ``attrs["chosen"]`` / ``attrs["without_consent"]``:
    how many the criteria chose and how many of those were left out for want of consent.
    """
    chosen = select(model, scores, criteria)
    consent = scores["bank_consent"].fillna(False).astype(bool).to_numpy()
    df = ranked_rows(model, scores, chosen & consent)
    names = {t.code: t.name for t in model.tiers}
    at = (
        df["bank_consent_at"]
        if "bank_consent_at" in df.columns
        else pd.Series([None] * len(df), index=df.index)
    )
    out = notice_frame(
        model,
        df,
        **{
            "榜单": df["tier"].fillna("").map(lambda t: names.get(t, "未上榜")).to_numpy(),
            "授权时间": [display_time(v) or "—" for v in at.tolist()],
        },
    )
    out.attrs["chosen"] = int(chosen.sum())
    out.attrs["without_consent"] = int((chosen & ~consent).sum())
    return out
