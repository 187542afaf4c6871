"""载体评价 (pure): carrier aggregates of a run and their ranking.

Input ``frame``: one row per scored enterprise with ``carrier_id, carrier, kind`` (None/NaN outside any
carrier), ``total, veto, tier, subsidy`` and the metric columns ``rd`` (R&D expense, 万元; absent when the model
names no R&D expense indicator: then the table has no R&D column), ``revenue`` and ``prev_revenue`` (operating revenue this and last year, 万元; NaN when unknown).

Means and medians are over the carrier's ranked (non-vetoed) enterprises — a vetoed enterprise keeps its
total but is out of every comparison, as on the lists. Revenue growth is the carrier's aggregate:
Σ revenue ÷ Σ previous revenue − 1 over the enterprises that have both (previous > 0), in %.
Carriers are ranked by mean total, then share on lists, then name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.scoring_model import ScoringModel

NO_CARRIER = "（未入驻载体）"


def carrier_table(model: ScoringModel, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per carrier: 排名, carrier_id, 载体, 类型, 企业数, 否决, 平均积分, 积分中位数, one column per
    list tier (members), 上榜企业, 上榜占比（%）, 研发费用合计（万元）, 营业收入增长率（%）, 扶持家数, 扶持金额（万元）.

    Enterprises outside any carrier are left out (they are not a carrier to assess).
    """
    df = frame[frame["carrier_id"].notna()].copy()
    columns = [
        "排名",
        "carrier_id",
        "载体",
        "类型",
        "企业数",
        "否决",
        "平均积分",
        "积分中位数",
        *[t.name for t in model.tiers],
        "上榜企业",
        "上榜占比（%）",
        *(["研发费用合计（万元）"] if "rd" in frame.columns else []),
        "营业收入增长率（%）",
        "扶持家数",
        "扶持金额（万元）",
    ]
    if df.empty:
        return pd.DataFrame(columns=columns)
    df["carrier_id"] = df["carrier_id"].astype("int64")
    veto = df["veto"].fillna(False).astype(bool)
    ranked = df[~veto]
    tiers = df["tier"].fillna("").astype(str)
    group = df.groupby("carrier_id", sort=False)
    out = pd.DataFrame(
        {
            "载体": group["carrier"].first(),
            "类型": group["kind"].first(),
            "企业数": group.size(),
            "否决": veto.groupby(df["carrier_id"]).sum().astype(int),
        }
    )
    by_ranked = ranked.groupby("carrier_id")["total"]
    out["平均积分"] = by_ranked.mean().round(2)
    out["积分中位数"] = by_ranked.median().round(2)
    on_list = tiers.isin([t.code for t in model.tiers]) & ~veto
    for tier in model.tiers:
        out[tier.name] = (tiers == tier.code)[~veto].groupby(df.loc[~veto, "carrier_id"]).sum()
    out["上榜企业"] = on_list.groupby(df["carrier_id"]).sum()
    ranked_count = (~veto).groupby(df["carrier_id"]).sum()
    out["上榜占比（%）"] = (100 * out["上榜企业"] / ranked_count.where(ranked_count > 0)).round(1)
    if "rd" in df.columns:
        out["研发费用合计（万元）"] = (
            pd.to_numeric(df["rd"]).groupby(df["carrier_id"]).sum(min_count=1).round(2)
        )
    revenue = pd.to_numeric(df["revenue"])
    previous = pd.to_numeric(df["prev_revenue"])
    both = revenue.notna() & previous.notna() & (previous > 0)
    sums = pd.DataFrame({"r": revenue.where(both), "p": previous.where(both), "c": df["carrier_id"]}).groupby(
        "c"
    )
    growth = (sums["r"].sum(min_count=1) / sums["p"].sum(min_count=1) - 1) * 100
    out["营业收入增长率（%）"] = growth.round(1)
    subsidy = pd.to_numeric(df["subsidy"]).fillna(0.0)
    out["扶持家数"] = (subsidy > 0).groupby(df["carrier_id"]).sum()
    out["扶持金额（万元）"] = subsidy.groupby(df["carrier_id"]).sum()
    for tier in model.tiers:
        out[tier.name] = out[tier.name].fillna(0).astype(int)
    for column in ("上榜企业", "扶持家数"):
        out[column] = out[column].fillna(0).astype(int)
    out = out.reset_index().rename(columns={"index": "carrier_id"})
    out = out.sort_values(
        ["平均积分", "上榜占比（%）", "载体"],
        ascending=[False, False, True],
        na_position="last",
        kind="stable",
    ).reset_index(drop=True)
    out.insert(0, "排名", np.arange(1, len(out) + 1, dtype=np.int64))
    return out[columns]
