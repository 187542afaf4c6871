"""榜单与扶持 (scoring-model.md §6), pure: list sizes, the subsidy plan and table, 亩均 flags.

Every number comes from the run's model: its stages, its list tiers and shares, its subsidy rules
(share of the stage, maximum count, amount) and its 亩均 shares. Membership itself is the engine's
(``tier``, ``subsidy`` and ``mujun`` stored on each Score row); this module explains it — how many
places ⌈share·N⌉ gives, which cap applied, what it costs — and shapes the public-notice tables.

Input ``scores``: one row per enterprise of a run with ``credit_code, name, stage`` (code), ``total,
rank`` (<NA> when vetoed), ``veto, tier, subsidy, mujun``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.explain import list_size
from core.reports import stage_label
from core.scoring_model import ScoringModel


def places(share: float, n: int) -> int:
    """⌈share·n⌉ places among ``n`` ranked enterprises (0 when the stage has none)."""
    return 0 if n <= 0 else list_size(share, n)


def ranked_counts(model: ScoringModel, scores: pd.DataFrame) -> pd.Series:
    """Ranked (non-vetoed) enterprises per stage code, every stage of the model, model order."""
    ranked = scores[scores["rank"].notna() & ~scores["veto"].fillna(False).astype(bool)]
    return ranked.groupby("stage").size().reindex(model.stage_codes, fill_value=0).astype(int)


def share_text(share: float) -> str:
    """A model's share as people read it, never rounded: 0.025 → "2.5%", 0.1 → "10%"."""
    return f"{share * 100:g}%"


_pct = share_text


def list_sizes(model: ScoringModel, scores: pd.DataFrame) -> pd.DataFrame:
    """Per stage: N ranked, and for every list tier the cumulative ⌈share·N⌉, its own places, members.

    Columns: ``stage, 阶段, 参与排名`` then per tier ``<name>名额`` (its own band: ⌈share·N⌉ minus the
    better lists' places), ``<name>测算`` ("⌈10%×57⌉ = 6") and ``<name>实际`` (enterprises on it).
    """
    n = ranked_counts(model, scores)
    tiers = scores["tier"].fillna("").astype(str)
    table = pd.DataFrame(
        {"stage": model.stage_codes, "阶段": [s.name for s in model.stages], "参与排名": n.to_numpy()}
    )
    previous = np.zeros(len(table), dtype=np.int64)
    for tier in model.tiers:
        cumulative = np.array([places(tier.share, int(k)) for k in n], dtype=np.int64)
        table[f"{tier.name}名额"] = cumulative - previous
        table[f"{tier.name}测算"] = [
            f"⌈{_pct(tier.share)}×{int(k)}⌉ = {c}" for k, c in zip(n, cumulative, strict=True)
        ]
        actual = scores[tiers == tier.code].groupby("stage").size()
        table[f"{tier.name}实际"] = table["stage"].map(actual).fillna(0).astype(int)
        previous = cumulative
    return table


def subsidy_plan(model: ScoringModel, scores: pd.DataFrame) -> pd.DataFrame:
    """Per stage with a subsidy rule: N, ⌈share·N⌉, the maximum count, the places, which cap applied,
    the amount and the budget (places × amount, 万元); a final 合计 row sums places and budget.

    Columns: ``stage, 阶段, 参与排名, 比例, 按比例名额, 名额上限, 扶持名额, 适用限制, 每家金额（万元）,
    预算（万元）, 实际家数, 实际金额（万元）`` (实际 from the stored ``subsidy`` column).
    """
    n = ranked_counts(model, scores)
    paid = scores[pd.to_numeric(scores["subsidy"]).fillna(0) > 0]
    paid_count = paid.groupby("stage").size()
    paid_sum = paid.groupby("stage")["subsidy"].sum()
    rows = []
    by_stage = {s.stage: s for s in model.subsidies}
    for stage in model.stages:
        rule = by_stage.get(stage.code)
        if rule is None:
            continue
        count = int(n[stage.code])
        by_share = places(rule.share, count)
        granted = min(by_share, rule.max_count)
        if count == 0:
            cap = "本阶段无参与排名企业"
        elif rule.max_count < by_share:
            cap = f"名额上限 {rule.max_count} 家（按比例 ⌈{_pct(rule.share)}×{count}⌉ = {by_share} 家）"
        else:
            cap = f"按比例 ⌈{_pct(rule.share)}×{count}⌉ = {by_share} 家（上限 {rule.max_count} 家）"
        rows.append(
            {
                "stage": stage.code,
                "阶段": stage.name,
                "参与排名": count,
                "比例": _pct(rule.share),
                "按比例名额": by_share,
                "名额上限": rule.max_count,
                "扶持名额": granted,
                "适用限制": cap,
                "每家金额（万元）": float(rule.amount),
                "预算（万元）": float(granted * rule.amount),
                "实际家数": int(paid_count.get(stage.code, 0)),
                "实际金额（万元）": float(paid_sum.get(stage.code, 0.0)),
            }
        )
    plan = pd.DataFrame(
        rows,
        columns=[
            "stage",
            "阶段",
            "参与排名",
            "比例",
            "按比例名额",
            "名额上限",
            "扶持名额",
            "适用限制",
            "每家金额（万元）",
            "预算（万元）",
            "实际家数",
            "实际金额（万元）",
        ],
    )
    total = {
        "stage": "all",
        "阶段": "合计",
        "参与排名": int(plan["参与排名"].sum()),
        "比例": "",
        "按比例名额": None,
        "名额上限": None,
        "扶持名额": int(plan["扶持名额"].sum()),
        "适用限制": "",
        "每家金额（万元）": None,
        "预算（万元）": float(plan["预算（万元）"].sum()),
        "实际家数": int(plan["实际家数"].sum()),
        "实际金额（万元）": float(plan["实际金额（万元）"].sum()),
    }
    out = pd.concat([plan, pd.DataFrame([total])], ignore_index=True)
    for column in ("按比例名额", "名额上限"):
        out[column] = out[column].astype("Int64")
    return out


def ranked_rows(model: ScoringModel, scores: pd.DataFrame, keep: pd.Series | np.ndarray) -> pd.DataFrame:
    """The kept rows in notice order: the model's stage order, then rank, then credit code."""
    frame = scores[keep]
    position = {s.code: i for i, s in enumerate(model.stages)}
    return frame.assign(
        _stage=frame["stage"].map(position).fillna(len(position)), _rank=pd.to_numeric(frame["rank"])
    ).sort_values(["_stage", "_rank", "credit_code"], kind="stable")


def notice_frame(model: ScoringModel, rows: pd.DataFrame, **extra: object) -> pd.DataFrame:
    """The public-notice columns of :func:`ranked_rows` output — 序号, 企业名称, 统一社会信用代码, 所属阶段,
    阶段排名, 积分 — followed by ``extra`` columns (name → values aligned with ``rows``)."""
    columns: dict[str, object] = {
        "序号": np.arange(1, len(rows) + 1, dtype=np.int64),
        "企业名称": rows["name"].astype(str).to_numpy(),
        "统一社会信用代码": rows["credit_code"].astype(str).to_numpy(),
        "所属阶段": stage_label(model, rows["stage"]).to_numpy(),
        "阶段排名": pd.to_numeric(rows["rank"]).astype("int64").to_numpy(),
        "积分": pd.to_numeric(rows["total"]).round(2).to_numpy(),
    }
    columns.update(extra)
    return pd.DataFrame(columns)


def not_vetoed(scores: pd.DataFrame) -> pd.Series:
    return ~scores["veto"].fillna(False).astype(bool)


def subsidy_table(model: ScoringModel, scores: pd.DataFrame) -> pd.DataFrame:
    """The 扶持名单 in public-notice form: 序号, 企业名称, 统一社会信用代码, 所属阶段, 阶段排名, 积分,
    扶持金额（万元）, 适用限制 — model stage order, then rank. Vetoed enterprises never appear."""
    plan = subsidy_plan(model, scores).set_index("stage")
    df = ranked_rows(model, scores, (pd.to_numeric(scores["subsidy"]).fillna(0) > 0) & not_vetoed(scores))
    return notice_frame(
        model,
        df,
        **{
            "扶持金额（万元）": pd.to_numeric(df["subsidy"]).to_numpy(dtype=float),
            "适用限制": df["stage"].map(plan["适用限制"]).fillna("").to_numpy(),
        },
    )


def mujun_table(model: ScoringModel, scores: pd.DataFrame) -> pd.DataFrame:
    """亩均论英雄 flags: 序号, 企业名称, 统一社会信用代码, 所属阶段, 阶段排名, 积分, 亩均论英雄, 测算."""
    n = ranked_counts(model, scores)
    shares = {m.code: m.share for m in model.mujun}
    df = ranked_rows(
        model, scores, scores["mujun"].fillna("").astype(str).isin(list(shares)) & not_vetoed(scores)
    )
    basis = [
        f"前 {_pct(shares[f])}：⌈{_pct(shares[f])}×{int(n[s])}⌉ = {places(shares[f], int(n[s]))} 家"
        for f, s in zip(df["mujun"], df["stage"], strict=True)
    ]
    return notice_frame(model, df, **{"亩均论英雄": df["mujun"].astype(str).to_numpy(), "测算": basis})


def list_members(model: ScoringModel, scores: pd.DataFrame, *, stage: str | None = None) -> pd.DataFrame:
    """Enterprises on a list (optionally of one stage): the notice columns, then 榜单 (full name),
    亩均论英雄 (when the model has 亩均 flags), 扶持金额（万元）."""
    names = {t.code: t.name for t in model.tiers}
    keep = scores["tier"].fillna("").isin(list(names)) & not_vetoed(scores)
    if stage is not None:
        keep &= scores["stage"] == stage
    df = ranked_rows(model, scores, keep)
    extra = {"榜单": df["tier"].map(names).to_numpy()}
    if model.mujun:  # a model without 亩均 flags has no such column
        extra["亩均论英雄"] = df["mujun"].fillna("").astype(str).to_numpy()
    extra["扶持金额（万元）"] = pd.to_numeric(df["subsidy"]).fillna(0.0).to_numpy(dtype=float)
    return notice_frame(model, df, **extra)
