"""监测报告 (pure): the yearly monitoring report of a run against the previous final run.

:func:`build_report` takes the two runs' data (:class:`RunData`: model, scores, stored input values and
points per indicator) plus the carrier and pool tables, and returns a :class:`Report` — named tables in
order and Altair charts. :meth:`Report.to_xlsx` writes one sheet per table through the one sanitiser;
:meth:`Report.to_html` writes one self-contained page (charts as inline SVG rendered by vl-convert, no
script and no link to any other host; every text escaped).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import altair as alt
import numpy as np
import pandas as pd

from core.lists import list_members
from core.reports import overall_average
from core.scoring_model import NUMERIC_RULES, ScoringModel

MOVERS = 20  # risers and fallers listed
DRIVERS = 3  # indicators named per mover
BAND_SHARE = 0.1  # a score band of the funded-vs-unfunded comparison: 10% of the model's core total
LOAN_DECISIONS = {"credit": "授信", "loan": "放款"}  # counted outcomes (拒绝 is not money moved)


@dataclass
class RunData:
    """One run as the report reads it; frames are row-aligned on ``scores``."""

    label: str  # "2025 年度 · 批次 #12（公示中）"
    year: int
    model: ScoringModel
    scores: pd.DataFrame  # enterprise_id, credit_code, name, stage, total, rank, tier, veto, subsidy, mujun
    values: pd.DataFrame  # one column per indicator code: the stored input value
    points: pd.DataFrame  # one column per indicator code: the points


@dataclass
class Report:
    title: str
    subtitle: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # table name → one explanatory line
    charts: dict[str, alt.Chart] = field(default_factory=dict)  # table name → chart shown above it

    def to_xlsx(self) -> bytes:
        from core.spreadsheet import write_xlsx

        return write_xlsx(self.tables)

    def to_html(self) -> str:
        parts = [
            "<!DOCTYPE html>",
            '<html lang="zh-CN"><head><meta charset="utf-8">',
            f"<title>{html.escape(self.title)}</title>",
            f"<style>{_CSS}</style></head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
            f'<p class="sub">{html.escape(self.subtitle)}</p>',
            "<nav><ol>"
            + "".join(
                f'<li><a href="#s{i}">{html.escape(name)}</a></li>' for i, name in enumerate(self.tables)
            )
            + "</ol></nav>",
        ]
        for i, (name, table) in enumerate(self.tables.items()):
            parts.append(f'<section id="s{i}"><h2>{html.escape(name)}</h2>')
            if name in self.notes:
                parts.append(f'<p class="note">{html.escape(self.notes[name])}</p>')
            if name in self.charts:
                parts.append(f"<figure>{chart_svg(self.charts[name])}</figure>")
            parts.append(table_html(table))
            parts.append("</section>")
        parts.append("</body></html>")
        return "\n".join(parts)


_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:2em auto;max-width:1100px;
color:#1f2933;padding:0 1em}h1{font-size:1.6em;margin-bottom:.2em}.sub{color:#52606d}h2{border-bottom:2px solid
#2f6fdf;padding-bottom:.2em;margin-top:2em}table{border-collapse:collapse;width:100%;font-size:.9em}th,td{border:1px
solid #d9e2ec;padding:.3em .5em;text-align:left}th{background:#eef2f7}td.n{text-align:right}.note{color:#52606d}
figure{margin:1em 0}nav ol{columns:2}
"""


def chart_svg(chart: alt.Chart) -> str:
    """An Altair chart as inline SVG (vl-convert renders it locally; nothing is fetched)."""
    import vl_convert

    return vl_convert.vegalite_to_svg(chart.to_json())


def _cell(v: object) -> tuple[str, bool]:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return "—", False
    if isinstance(v, float | np.floating):
        return f"{float(v):,.2f}".rstrip("0").rstrip("."), True
    if isinstance(v, int | np.integer) and not isinstance(v, bool):
        return f"{int(v):,}", True
    return str(v), False


def table_html(table: pd.DataFrame) -> str:
    """An escaped HTML table; numbers right-aligned, missing cells as —."""
    if table.empty:
        return '<p class="note">（无数据）</p>'
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for row in table.itertuples(index=False):
        cells = []
        for v in row:
            text, numeric = _cell(v)
            cells.append(
                f'<td class="n">{html.escape(text)}</td>' if numeric else f"<td>{html.escape(text)}</td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


@dataclass
class Outcomes:
    """The money side of a final run (published data only).

    ``loans``: enterprise_id, decision (credit/loan/reject), amount (万元) — the bank outcomes answering this
    run; ``payments``: enterprise_id, state, amount — the run's subsidy lines (core.subsidies states);
    ``funded``: enterprise ids funded in the previous final run (subsidy paid or loan made), for the
    comparison of the next year's score against similar unfunded enterprises (None without a previous run).
    """

    loans: pd.DataFrame
    payments: pd.DataFrame
    funded: np.ndarray | None = None


# ------------------------------------------------------------------------------------------- sections
def stage_distribution(current: RunData, previous: RunData | None) -> pd.DataFrame:
    """阶段, 本年企业数, 本年占比（%）, 上年企业数, 上年占比（%）, 变化 — stages of the current model (a stage only
    the previous model had is appended)."""
    now = current.scores["stage"].value_counts()
    names = {s.code: s.name for s in current.model.stages}
    codes = list(current.model.stage_codes)
    before = previous.scores["stage"].value_counts() if previous is not None else pd.Series(dtype=int)
    if previous is not None:
        for s in previous.model.stages:
            if s.code not in names:
                names[s.code] = s.name
                codes.append(s.code)
    table = pd.DataFrame(
        {"阶段": [names[c] for c in codes], "本年企业数": [int(now.get(c, 0)) for c in codes]}
    )
    table["本年占比（%）"] = (100 * table["本年企业数"] / max(int(table["本年企业数"].sum()), 1)).round(1)
    if previous is not None:
        table["上年企业数"] = [int(before.get(c, 0)) for c in codes]
        table["上年占比（%）"] = (100 * table["上年企业数"] / max(int(table["上年企业数"].sum()), 1)).round(1)
        table["变化"] = table["本年企业数"] - table["上年企业数"]
    return table


def stage_chart(table: pd.DataFrame) -> alt.Chart:
    value_columns = [c for c in ("本年企业数", "上年企业数") if c in table.columns]
    long = table.melt(id_vars=["阶段"], value_vars=value_columns, var_name="年度", value_name="企业数")
    long["年度"] = long["年度"].str.removesuffix("企业数")
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("阶段:N", sort=table["阶段"].tolist(), title=None),
            xOffset="年度:N",
            y=alt.Y("企业数:Q"),
            color=alt.Color("年度:N", legend=alt.Legend(orient="top", title=None)),
        )
        .properties(width=560, height=260)
    )


def movers(current: RunData, previous: RunData, *, n: int = MOVERS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(risers, fallers): enterprises scored in both runs with the largest rise / fall of the total, and
    the indicators that moved them (the ``DRIVERS`` largest point changes in the same direction).

    Columns: 企业名称, 统一社会信用代码, 本年阶段, 上年阶段, 上年积分, 本年积分, 变化, 主要变动指标.
    """
    cur = current.scores.reset_index(drop=True)
    prev = previous.scores.reset_index(drop=True)
    position = pd.Series(np.arange(len(prev)), index=prev["enterprise_id"].to_numpy())
    j = position.reindex(cur["enterprise_id"].to_numpy()).to_numpy()
    both = ~np.isnan(j)
    i = np.flatnonzero(both)
    j = j[both].astype(np.int64)
    delta = (
        pd.to_numeric(cur["total"]).to_numpy(dtype=float)[i]
        - pd.to_numeric(prev["total"]).to_numpy(dtype=float)[j]
    )
    codes = [c for c in current.model.codes if c in previous.points.columns and c in current.points.columns]
    names = {ind.code: ind.name for ind in current.model.indicators}
    cur_pts = (
        current.points.reset_index(drop=True)[codes].to_numpy(dtype=float)[i]
        if codes
        else np.zeros((len(i), 0))
    )
    prev_pts = (
        previous.points.reset_index(drop=True)[codes].to_numpy(dtype=float)[j]
        if codes
        else np.zeros((len(i), 0))
    )
    change = np.nan_to_num(cur_pts) - np.nan_to_num(prev_pts)
    cur_names = {s.code: s.name for s in current.model.stages}
    prev_names = {s.code: s.name for s in previous.model.stages}

    def table(order: np.ndarray, sign: int) -> pd.DataFrame:
        rows = []
        for k in order:
            moved = change[k] * sign
            top = [c for c in np.argsort(-moved, kind="stable")[:DRIVERS] if moved[c] > 0.005]
            drivers = "；".join(f"{codes[c]} {names[codes[c]]} {change[k, c]:+.2f}" for c in top)
            a, b = i[k], j[k]
            rows.append(
                {
                    "企业名称": str(cur.at[a, "name"]),
                    "统一社会信用代码": str(cur.at[a, "credit_code"]),
                    "本年阶段": cur_names.get(cur.at[a, "stage"], cur.at[a, "stage"]),
                    "上年阶段": prev_names.get(prev.at[b, "stage"], prev.at[b, "stage"]),
                    "上年积分": round(float(prev.at[b, "total"]), 2),
                    "本年积分": round(float(cur.at[a, "total"]), 2),
                    "变化": round(float(delta[k]), 2),
                    "主要变动指标": drivers or "—",
                }
            )
        return pd.DataFrame(
            rows,
            columns=[
                "企业名称",
                "统一社会信用代码",
                "本年阶段",
                "上年阶段",
                "上年积分",
                "本年积分",
                "变化",
                "主要变动指标",
            ],
        )

    # ties by credit code so the same data always gives the same report
    codes_sorted = cur["credit_code"].to_numpy(dtype=str)[i]
    up = np.lexsort((codes_sorted, -delta))
    down = np.lexsort((codes_sorted, delta))
    risers = table(up[delta[up] > 0][:n], +1)
    fallers = table(down[delta[down] < 0][:n], -1)
    return risers, fallers


def movers_chart(risers: pd.DataFrame, fallers: pd.DataFrame, *, n: int = 10) -> alt.Chart:
    data = pd.concat([risers.head(n), fallers.head(n)])[["企业名称", "变化"]]
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("企业名称:N", sort="-x", title=None),
            x=alt.X("变化:Q", title="总积分变化"),
            color=alt.condition("datum['变化'] > 0", alt.value("#2f9e44"), alt.value("#e03131")),
        )
        .properties(width=560, height=max(120, 18 * len(data)))
    )


def _numeric_codes(model: ScoringModel) -> list:
    return [ind for ind in model.indicators if ind.rule.type in NUMERIC_RULES and ind.is_core]


def _medians(run: RunData, code: str) -> pd.Series:
    values = pd.to_numeric(run.values[code], errors="coerce") if code in run.values.columns else None
    if values is None:
        return pd.Series(dtype=float)
    return values.groupby(run.scores["stage"].to_numpy()).median()


def indicator_medians(current: RunData, previous: RunData | None) -> pd.DataFrame:
    """指标, 单位, 阶段, 本年中位数, 上年中位数, 变化 — the core numeric indicators, by stage (missing values
    are left out of the median)."""
    rows = []
    for ind in _numeric_codes(current.model):
        now = _medians(current, ind.code)
        before = _medians(previous, ind.code) if previous is not None else pd.Series(dtype=float)
        for stage in current.model.stages:
            a = now.get(stage.code, np.nan)
            b = before.get(stage.code, np.nan) if previous is not None else np.nan
            row = {
                "指标": f"{ind.code} {ind.name}",
                "单位": ind.unit,
                "阶段": stage.name,
                "本年中位数": round(float(a), 2),
            }
            if previous is not None:
                row["上年中位数"] = round(float(b), 2)
                row["变化"] = round(float(a - b), 2)
            rows.append(row)
    return pd.DataFrame(rows)


def completeness(run: RunData) -> pd.DataFrame:
    """部门, 指标, 应有数据, 实有数据, 完整率（%） — per declared source department, over the core numeric
    indicators (a missing one scores 0 and is flagged 数据缺失) and every scored enterprise."""
    rows: dict[str, dict] = {}
    n = len(run.scores)
    for ind in _numeric_codes(run.model):
        values = run.values[ind.code] if ind.code in run.values.columns else pd.Series([None] * n)
        filled = int(pd.to_numeric(values, errors="coerce").notna().sum())
        entry = rows.setdefault(
            ind.source or "未注明", {"部门": ind.source or "未注明", "指标": [], "应有数据": 0, "实有数据": 0}
        )
        entry["指标"].append(ind.name)
        entry["应有数据"] += n
        entry["实有数据"] += filled
    table = pd.DataFrame(list(rows.values()), columns=["部门", "指标", "应有数据", "实有数据"])
    table["指标"] = table["指标"].map("、".join)
    table["完整率（%）"] = (100 * table["实有数据"] / table["应有数据"].where(table["应有数据"] > 0)).round(1)
    return table.sort_values(["完整率（%）", "部门"], kind="stable").reset_index(drop=True)


def completeness_chart(table: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(table)
        .mark_bar(color="#2f6fdf")
        .encode(
            y=alt.Y("部门:N", sort="x", title=None),
            x=alt.X("完整率（%）:Q", scale=alt.Scale(domain=[0, 100])),
        )
        .properties(width=560, height=max(120, 24 * len(table)))
    )


# ------------------------------------------------------------------------------------------- outcomes
def _group_codes(model: ScoringModel, scores: pd.DataFrame, by: str) -> tuple[np.ndarray, list[str], str]:
    """Per row of ``scores`` the position of its stage (``by="stage"``) or list (``"tier"``) in model order
    (vetoed or unlisted: 未上榜, last; a stage the model lacks: −1), the names, and the column title."""
    if by == "stage":
        codes = pd.Index(model.stage_codes).get_indexer(scores["stage"].astype(object))
        return np.asarray(codes, dtype=np.int64), [s.name for s in model.stages], "阶段"
    tiers = [t.code for t in model.tiers]
    codes = np.asarray(pd.Index(tiers).get_indexer(scores["tier"].fillna("").astype(object)), dtype=np.int64)
    codes[(codes < 0) | scores["veto"].fillna(False).astype(bool).to_numpy()] = len(tiers)
    return codes, [*(t.name for t in model.tiers), "未上榜"], "榜单"


def outcome_table(
    model: ScoringModel, scores: pd.DataFrame, outcomes: Outcomes, *, by: str = "stage"
) -> pd.DataFrame:
    """Credit granted, loans made and subsidies paid per stage (``by="stage"``) or list (``"tier"``) of the
    run, a 合计 row last. An enterprise counts once per kind however many outcomes it has; amounts add up;
    outcomes of enterprises not scored in the run are left out.

    Columns: 阶段|榜单, 参评企业, 授信企业, 授信金额（万元）, 放款企业, 放款金额（万元）, 已拨付扶持企业,
    已拨付扶持金额（万元）.
    """
    codes, order, title = _group_codes(model, scores, by)
    k = len(order)
    known = codes >= 0
    index = pd.Index(scores["enterprise_id"].to_numpy(dtype=np.int64))
    columns: dict[str, np.ndarray] = {"参评企业": np.bincount(codes[known], minlength=k)}

    def add(frame: pd.DataFrame, mask: np.ndarray, count: str, amount: str) -> None:
        at = index.get_indexer(frame["enterprise_id"].to_numpy(dtype=np.int64)[mask])
        group = np.where(at >= 0, codes[np.maximum(at, 0)], -1)
        keep = group >= 0
        amounts = pd.to_numeric(frame["amount"], errors="coerce").to_numpy(dtype=float)[mask][keep]
        columns[amount] = np.round(np.bincount(group[keep], weights=np.nan_to_num(amounts), minlength=k), 2)
        # one stage and one list per enterprise and run: distinct rows of the run are distinct enterprises
        columns[count] = np.bincount(codes[np.unique(at[keep])], minlength=k)

    loans, payments = outcomes.loans, outcomes.payments
    for code, word in LOAN_DECISIONS.items():
        add(loans, (loans["decision"] == code).to_numpy(dtype=bool), f"{word}企业", f"{word}金额（万元）")
    add(
        payments,
        (payments["state"] == "paid").to_numpy(dtype=bool),
        "已拨付扶持企业",
        "已拨付扶持金额（万元）",
    )
    names = [
        "参评企业",
        "授信企业",
        "授信金额（万元）",
        "放款企业",
        "放款金额（万元）",
        "已拨付扶持企业",
        "已拨付扶持金额（万元）",
    ]
    table = pd.DataFrame({title: [*order, "合计"]})
    for name in names:
        values = columns[name]
        table[name] = np.append(values, values.sum()).astype(float if name.endswith("（万元）") else np.int64)
    return table


def funded_comparison(
    model: ScoringModel,
    previous: pd.DataFrame,
    current: pd.DataFrame,
    funded: np.ndarray,
    *,
    band: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How funded enterprises' totals moved from ``previous`` to ``current`` against similar unfunded ones.

    Similar = same stage and same score band (``band`` points wide, default 10% of the model's core total)
    in the previous run. Enterprises vetoed in the previous run (never funded, not comparable) or not scored
    in the current run are left out. Returns (cells, summary):

    * cells — one row per stage · band with a funded enterprise: 阶段, 上年分数段, 获资助企业, 获资助平均变化,
      同类未获资助企业, 同类未获资助平均变化, 差值 (NaN when the cell has no unfunded enterprise);
    * summary — 项目, 数值: funded enterprises, those with a match, their mean change, the matched unfunded
      mean (weighted by the funded count of each cell) and the difference: Σ nᶠ·(x̄ᶠ − x̄ᵘ) / Σ nᶠ over
      the matched cells.
    """
    width = float(band if band is not None else model.core_total * BAND_SHARE)
    before = previous[~previous["veto"].fillna(False).astype(bool).to_numpy()]
    now = pd.Series(
        pd.to_numeric(current["total"]).to_numpy(dtype=float), index=current["enterprise_id"].to_numpy()
    )
    before = before[before["enterprise_id"].isin(now.index)]
    total = pd.to_numeric(before["total"]).to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "stage": before["stage"].to_numpy(),
            "band": np.floor(np.maximum(total, 0.0) / width).astype(np.int64),
            "funded": before["enterprise_id"].isin(np.asarray(funded)).to_numpy(),
            "change": now.reindex(before["enterprise_id"].to_numpy()).to_numpy() - total,
        }
    )
    cells = frame.groupby(["stage", "band", "funded"])["change"].agg(["size", "mean"]).unstack("funded")
    columns = [
        "阶段",
        "上年分数段",
        "获资助企业",
        "获资助平均变化",
        "同类未获资助企业",
        "同类未获资助平均变化",
        "差值",
    ]
    n_funded = cells["size"].get(True, pd.Series(0, index=cells.index)).fillna(0).astype(int)
    cells = cells[n_funded > 0]
    n_funded = n_funded[n_funded > 0]
    mean_funded = cells["mean"].get(True, pd.Series(np.nan, index=cells.index))
    n_unfunded = cells["size"].get(False, pd.Series(np.nan, index=cells.index)).fillna(0).astype(int)
    mean_unfunded = cells["mean"].get(False, pd.Series(np.nan, index=cells.index)).where(n_unfunded > 0)
    position = {s.code: i for i, s in enumerate(model.stages)}
    names = {s.code: s.name for s in model.stages}
    stages = cells.index.get_level_values("stage")
    bands = cells.index.get_level_values("band").to_numpy()
    table = (
        pd.DataFrame(
            {
                "阶段": [names.get(c, c) for c in stages],
                "上年分数段": [f"{b * width:g}–{(b + 1) * width:g}" for b in bands],
                "获资助企业": n_funded.to_numpy(),
                "获资助平均变化": mean_funded.round(2).to_numpy(),
                "同类未获资助企业": n_unfunded.to_numpy(),
                "同类未获资助平均变化": mean_unfunded.round(2).to_numpy(),
                "差值": (mean_funded - mean_unfunded).round(2).to_numpy(),
                "_s": [position.get(c, len(position)) for c in stages],
                "_b": bands,
            }
        )
        .sort_values(["_s", "_b"], kind="stable")
        .drop(columns=["_s", "_b"])
        .reset_index(drop=True)
    )
    matched = n_unfunded > 0
    weights = n_funded[matched].to_numpy(dtype=float)
    all_funded = frame.loc[frame["funded"], "change"]

    def weighted(values: pd.Series) -> float:
        return (
            round(float(np.dot(weights, values[matched].to_numpy(dtype=float)) / weights.sum()), 2)
            if weights.sum()
            else float("nan")
        )

    summary = pd.DataFrame(
        {
            "项目": [
                "获资助企业（两年均参评）",
                "其中有同类未获资助企业可比",
                "获资助企业平均积分变化",
                "可比获资助企业平均积分变化",
                "同类未获资助企业平均积分变化（按获资助家数加权）",
                "差值（获资助 − 同类未获资助）",
            ],
            "数值": pd.Series(
                [
                    int(len(all_funded)),
                    int(weights.sum()),
                    round(float(all_funded.mean()), 2) if len(all_funded) else float("nan"),
                    weighted(mean_funded),
                    weighted(mean_unfunded),
                    weighted(mean_funded - mean_unfunded),
                ],
                dtype=object,
            ),
        }
    )
    return table[columns], summary


def add_outcomes(
    report: Report, current: RunData, previous: RunData | None, outcomes: Outcomes | None
) -> None:
    """The money side of the report: credit, loans and subsidies paid per stage and list, the payment
    states, and funded enterprises' next-year scores against similar unfunded ones."""
    from core.subsidies import state_summary

    if outcomes is None:
        report.notes["概况"] = "本批次尚未定稿：融资与扶持成效只统计已定稿批次，定稿后在本报告中列出。"
        return
    model = current.model
    report.tables["融资与扶持（按阶段）"] = outcome_table(model, current.scores, outcomes, by="stage")
    report.notes["融资与扶持（按阶段）"] = (
        "合作银行回传的授信、放款（答复本批次推荐名单的结果）和已拨付的扶持资金；"
        "同一企业多笔只计一家，金额相加。"
    )
    report.tables["融资与扶持（按榜单）"] = outcome_table(model, current.scores, outcomes, by="tier")
    report.tables["扶持资金拨付"] = state_summary(
        outcomes.payments.assign(amount=pd.to_numeric(outcomes.payments["amount"]))
        if len(outcomes.payments)
        else outcomes.payments
    )
    report.notes["扶持资金拨付"] = "本批次扶持名单的拨付进度：待确认 → 企业已确认 → 已拨付或不予拨付。"
    if previous is None or outcomes.funded is None:
        return
    cells, summary = funded_comparison(previous.model, previous.scores, current.scores, outcomes.funded)
    report.tables["获资助企业次年积分变化"] = summary
    report.notes["获资助企业次年积分变化"] = (
        f"获资助：{previous.label}的扶持资金已拨付，或获得合作银行放款。同类：上年同一阶段、同一分数段"
        f"（每段 {previous.model.core_total * BAND_SHARE:g} 分）未获资助的企业；上年一票否决的企业不参与比较。"
        "差值为观察到的差异，不等同于因果效果。"
    )
    report.tables["获资助与同类企业对比（分阶段、分数段）"] = cells


def build_report(
    current: RunData,
    previous: RunData | None,
    *,
    carriers: pd.DataFrame,
    pools: pd.DataFrame,
    title: str,
    outcomes: Outcomes | None = None,
) -> Report:
    """Every section of the yearly monitoring report, in reading order; ``outcomes`` (final runs only)
    adds the money side after the lists."""
    model = current.model
    subtitle = f"本期：{current.label}；对比：{previous.label if previous else '无上一年度定稿批次'}"
    report = Report(title=title, subtitle=subtitle)
    scores = current.scores
    ranked = int(scores["rank"].notna().sum())
    on_lists = int(scores["tier"].fillna("").isin([t.code for t in model.tiers]).sum())
    overview = [
        ("参评企业", len(scores)),
        ("参与排名", ranked),
        ("一票否决", int(scores["veto"].fillna(False).sum())),
        ("上榜企业", on_lists),
        ("扶持企业", int((pd.to_numeric(scores["subsidy"]).fillna(0) > 0).sum())),
        ("扶持金额（万元）", float(pd.to_numeric(scores["subsidy"]).fillna(0).sum())),
        # the one definition (core.reports): the big screen and the 首页 print the same number
        ("平均积分", overall_average(scores) if len(scores) else None),
    ]
    if previous is not None:
        overview.insert(1, ("上年参评企业", len(previous.scores)))
    report.tables["概况"] = pd.DataFrame(
        {"项目": [k for k, _ in overview], "数值": pd.Series([v for _, v in overview], dtype=object)}
    )

    distribution = stage_distribution(current, previous)
    report.tables["阶段分布"] = distribution
    report.charts["阶段分布"] = stage_chart(distribution)
    report.notes["阶段分布"] = "按营业收入划分成长阶段；变化为本年企业数减上年企业数。"

    report.tables["榜单企业"] = list_members(model, scores)
    if previous is not None:
        risers, fallers = movers(current, previous)
        report.tables["积分上升最多"] = risers
        report.tables["积分下降最多"] = fallers
        report.charts["积分上升最多"] = movers_chart(risers, fallers)
        report.notes["积分上升最多"] = "两个批次都参评的企业；主要变动指标为得分变化最大的指标（同方向）。"
    else:
        report.notes["榜单企业"] = "没有上一年度的定稿批次，无法计算升降。"
    add_outcomes(report, current, previous, outcomes)
    report.tables["指标中位数"] = indicator_medians(current, previous)
    report.tables["载体评价"] = carriers
    report.tables["培育库"] = pools
    table = completeness(current)
    report.tables["数据完整性"] = table
    report.charts["数据完整性"] = completeness_chart(table)
    report.notes["数据完整性"] = "核心数值指标按来源部门统计：缺失的数据记 0 分并在画像中标为数据缺失。"
    return report
