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
            "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
            f"<title>{html.escape(self.title)}</title>", f"<style>{_CSS}</style></head><body>",
            f"<h1>{html.escape(self.title)}</h1>", f'<p class="sub">{html.escape(self.subtitle)}</p>',
            '<nav><ol>' + "".join(f'<li><a href="#s{i}">{html.escape(name)}</a></li>'
                                  for i, name in enumerate(self.tables)) + "</ol></nav>",
        ]
        for i, (name, table) in enumerate(self.tables.items()):
            parts.append(f'<section id="s{i}"><h2>{html.escape(name)}</h2>')
            if name in self.notes:
                parts.append(f'<p class="note">{html.escape(self.notes[name])}</p>')
            if name in self.charts:
                parts.append(f'<figure>{chart_svg(self.charts[name])}</figure>')
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
            cells.append(f'<td class="n">{html.escape(text)}</td>' if numeric else f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


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
    table = pd.DataFrame({"阶段": [names[c] for c in codes],
                          "本年企业数": [int(now.get(c, 0)) for c in codes]})
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
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("阶段:N", sort=table["阶段"].tolist(), title=None), xOffset="年度:N",
        y=alt.Y("企业数:Q"), color=alt.Color("年度:N", legend=alt.Legend(orient="top", title=None)),
    ).properties(width=560, height=260)


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
    delta = (pd.to_numeric(cur["total"]).to_numpy(dtype=float)[i]
             - pd.to_numeric(prev["total"]).to_numpy(dtype=float)[j])
    codes = [c for c in current.model.codes if c in previous.points.columns and c in current.points.columns]
    names = {ind.code: ind.name for ind in current.model.indicators}
    cur_pts = current.points.reset_index(drop=True)[codes].to_numpy(dtype=float)[i] if codes else np.zeros((len(i), 0))
    prev_pts = previous.points.reset_index(drop=True)[codes].to_numpy(dtype=float)[j] if codes else np.zeros((len(i), 0))
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
            rows.append({
                "企业名称": str(cur.at[a, "name"]), "统一社会信用代码": str(cur.at[a, "credit_code"]),
                "本年阶段": cur_names.get(cur.at[a, "stage"], cur.at[a, "stage"]),
                "上年阶段": prev_names.get(prev.at[b, "stage"], prev.at[b, "stage"]),
                "上年积分": round(float(prev.at[b, "total"]), 2), "本年积分": round(float(cur.at[a, "total"]), 2),
                "变化": round(float(delta[k]), 2), "主要变动指标": drivers or "—",
            })
        return pd.DataFrame(rows, columns=["企业名称", "统一社会信用代码", "本年阶段", "上年阶段", "上年积分", "本年积分",
                                           "变化", "主要变动指标"])

    # ties by credit code so the same data always gives the same report
    codes_sorted = cur["credit_code"].to_numpy(dtype=str)[i]
    up = np.lexsort((codes_sorted, -delta))
    down = np.lexsort((codes_sorted, delta))
    risers = table(up[delta[up] > 0][:n], +1)
    fallers = table(down[delta[down] < 0][:n], -1)
    return risers, fallers


def movers_chart(risers: pd.DataFrame, fallers: pd.DataFrame, *, n: int = 10) -> alt.Chart:
    data = pd.concat([risers.head(n), fallers.head(n)])[["企业名称", "变化"]]
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("企业名称:N", sort="-x", title=None), x=alt.X("变化:Q", title="总积分变化"),
        color=alt.condition("datum['变化'] > 0", alt.value("#2f9e44"), alt.value("#e03131")),
    ).properties(width=560, height=max(120, 18 * len(data)))


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
            row = {"指标": f"{ind.code} {ind.name}", "单位": ind.unit, "阶段": stage.name, "本年中位数": round(float(a), 2)}
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
        entry = rows.setdefault(ind.source or "未注明", {"部门": ind.source or "未注明", "指标": [], "应有数据": 0, "实有数据": 0})
        entry["指标"].append(ind.name)
        entry["应有数据"] += n
        entry["实有数据"] += filled
    table = pd.DataFrame(list(rows.values()), columns=["部门", "指标", "应有数据", "实有数据"])
    table["指标"] = table["指标"].map("、".join)
    table["完整率（%）"] = (100 * table["实有数据"] / table["应有数据"].where(table["应有数据"] > 0)).round(1)
    return table.sort_values(["完整率（%）", "部门"], kind="stable").reset_index(drop=True)


def completeness_chart(table: pd.DataFrame) -> alt.Chart:
    return alt.Chart(table).mark_bar(color="#2f6fdf").encode(
        y=alt.Y("部门:N", sort="x", title=None), x=alt.X("完整率（%）:Q", scale=alt.Scale(domain=[0, 100])),
    ).properties(width=560, height=max(120, 24 * len(table)))


def build_report(
    current: RunData,
    previous: RunData | None,
    *,
    carriers: pd.DataFrame,
    pools: pd.DataFrame,
    title: str,
) -> Report:
    """Every section of the yearly monitoring report, in reading order."""
    model = current.model
    subtitle = f"本期：{current.label}；对比：{previous.label if previous else '无上一年度定稿批次'}"
    report = Report(title=title, subtitle=subtitle)
    scores = current.scores
    ranked = int(scores["rank"].notna().sum())
    on_lists = int(scores["tier"].fillna("").isin([t.code for t in model.tiers]).sum())
    overview = [("参评企业", len(scores)), ("参与排名", ranked), ("一票否决", int(scores["veto"].fillna(False).sum())),
                ("上榜企业", on_lists), ("扶持企业", int((pd.to_numeric(scores["subsidy"]).fillna(0) > 0).sum())),
                ("扶持金额（万元）", float(pd.to_numeric(scores["subsidy"]).fillna(0).sum())),
                # the one definition (core.reports): the big screen and the 首页 print the same number
                ("平均积分", overall_average(scores) if len(scores) else None)]
    if previous is not None:
        overview.insert(1, ("上年参评企业", len(previous.scores)))
    report.tables["概况"] = pd.DataFrame({"项目": [k for k, _ in overview],
                                        "数值": pd.Series([v for _, v in overview], dtype=object)})

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
    report.tables["指标中位数"] = indicator_medians(current, previous)
    report.tables["载体评价"] = carriers
    report.tables["培育库"] = pools
    table = completeness(current)
    report.tables["数据完整性"] = table
    report.charts["数据完整性"] = completeness_chart(table)
    report.notes["数据完整性"] = "核心数值指标按来源部门统计：缺失的数据记 0 分并在画像中标为数据缺失。"
    return report
