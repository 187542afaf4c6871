"""展示大屏 helpers: a dark full-screen style, large-type Altair charts and the screen's panels.

Sized for 1920×1080 seen from the back of a room: every chart and table text at least
:data:`MIN_FONT_PX` (24 px), few colours, no tooltips needed. Smaller screens (a 1366×768 projector) show
the same layout scaled to fit (:func:`scale_rules`).
Nothing here fetches from another host: the style is inline CSS and the charts render locally.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import streamlit as st

from core.clock import display_time
from services.dashboard import DashboardData, OutcomeFigures
from ui import charts
from ui.text import plain

BACKGROUND = "#0b1226"
PANEL = "#131d3b"
TEXT = "#e8eefc"
MUTED = "#9fb0d8"
ACCENT = "#4fc3f7"
PALETTE = ["#4fc3f7", "#ffb74d", "#81c784", "#f06292", "#ba68c8", "#fff176", "#4db6ac"]
MIN_FONT_PX = 24  # legible across a room at 1920×1080
FONT = MIN_FONT_PX
DESIGN_SIZE = (1920, 1080)
# Screens smaller than the design that the page is shown on: the 1366×768 projectors and laptops of most
# meeting rooms, and the common sizes of a browser window. Width and height both reach these or more.
SMALLER_SCREENS = ((1152, 648), (1280, 720), (1366, 768), (1440, 810), (1536, 864), (1600, 900), (1728, 972))


def scale_rules(screens: tuple[tuple[int, int], ...] = SMALLER_SCREENS) -> str:
    """CSS that draws the 1920×1080 layout scaled down to fit each of ``screens`` (the largest one the
    viewport holds wins; from the design size up, none). A projector throws 1366×768 on the same wall as
    1920×1080, so the scaled text is as large in the room as :data:`MIN_FONT_PX` on the design screen;
    re-flowed at 24 px, the second row of panels fell below the fold. Narrower viewports (phones, tablets)
    keep the page's own stacked layout and scroll."""
    rules = []
    for width, height in sorted({*screens, DESIGN_SIZE}):  # the design size itself: zoom 1
        zoom = math.floor(min(width / DESIGN_SIZE[0], height / DESIGN_SIZE[1]) * 10_000) / 10_000
        rules.append(
            f"@media (min-width: {width}px) and (min-height: {height}px) {{\n"
            f'  [data-testid="stMainBlockContainer"] {{ zoom: {zoom}; }}\n}}'
        )
    return "\n".join(rules)


# Static CSS only (no user text): dark page, no sidebar or toolbar, big metrics and tables.
SCREEN_CSS = f"""
<style>
[data-testid="stAppViewContainer"], [data-testid="stMain"], [data-testid="stHeader"] {{
  background: {BACKGROUND}; color: {TEXT};
}}
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stToolbar"],
[data-testid="stHeader"], [data-testid="stDecoration"] {{ display: none; }}
[data-testid="stMainBlockContainer"] {{ padding: 0.5rem 2rem 0.25rem 2rem; max-width: 100%; }}
[data-testid="stMain"] h1, [data-testid="stMain"] h2, [data-testid="stMain"] h3,
[data-testid="stMain"] p, [data-testid="stMain"] label, [data-testid="stMain"] span {{ color: {TEXT}; }}
[data-testid="stMain"] h1 {{ font-size: 3rem; padding: 0; }}
[data-testid="stMain"] h3 {{ font-size: 2rem; padding: 0.2rem 0; }}
[data-testid="stMetric"] {{ background: {PANEL}; border-radius: 10px; padding: 0.6rem 1rem; }}
[data-testid="stMetricLabel"] p {{ font-size: 1.6rem; color: {MUTED}; }}
[data-testid="stMetricValue"] {{ font-size: 3rem; color: {ACCENT}; }}
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {{ color: {MUTED}; font-size: 1.5rem; }}
[data-testid="stTable"] table {{ font-size: 1.5rem; color: {TEXT}; background: {PANEL}; }}
[data-testid="stTable"] td, [data-testid="stTable"] th, [data-testid="stTable"] p {{ font-size: 1.5rem; white-space: nowrap !important; }}
[data-testid="stTable"] td, [data-testid="stTable"] th {{ white-space: nowrap; padding: 0.2rem 0.3rem; }}
[data-testid="stTable"] th {{ color: {MUTED}; background: {PANEL}; }}
[data-testid="stTable"] td, [data-testid="stTable"] th {{ border-color: #24315c; }}
[data-testid="stVerticalBlockBorderWrapper"] {{ background: {PANEL}; border-radius: 10px; }}
[data-testid="stAlertContainer"] {{ background: {PANEL}; border-left: 6px solid {ACCENT}; }}
[data-testid="stAlertContainer"] p {{ color: {TEXT}; font-size: 1.8rem; }}
/* A chart takes its panel's width from its own box (Vega's "container" width, in the box's zoomed pixels):
   Streamlit's "stretch" measures the box on the screen, so under a zoom it drew 0.71 of the panel. */
[data-testid="stElementContainer"]:has([data-testid="stVegaLiteChart"]),
[data-testid="stFullScreenFrame"]:has([data-testid="stVegaLiteChart"]),
[data-testid="stFullScreenFrame"] > div:has(> [data-testid="stVegaLiteChart"]),
[data-testid="stVegaLiteChart"] {{ width: 100% !important; }}
{scale_rules()}
</style>
"""


def apply_screen_style() -> None:
    st.html(SCREEN_CSS)


def _dark(chart: alt.TopLevelMixin, height: int) -> alt.TopLevelMixin:
    return (
        chart.properties(height=height, background="transparent")
        .configure_axis(
            labelColor=TEXT,
            titleColor=MUTED,
            labelFontSize=FONT,
            titleFontSize=FONT,
            gridColor="#24315c",
            domainColor="#3a4a7a",
            tickColor="#3a4a7a",
            labelLimit=300,
            labelOverlap=True,
        )  # a label that would overlap is left out, never drawn over another
        .configure_legend(
            labelColor=TEXT,
            titleColor=MUTED,
            labelFontSize=FONT,
            titleFontSize=FONT,
            orient="top",
            symbolSize=240,
            columns=2,
            labelLimit=260,
        )
        .configure_view(stroke=None)
        .configure_text(color=TEXT, fontSize=FONT)
    )


def show(spec: dict) -> None:
    """Draw a chart spec from :func:`chart_specs` (a dict: no Altair validation on every refresh) across
    its panel: Vega sizes it to its box (see SCREEN_CSS), which stays right under :func:`scale_rules`."""
    st.vega_lite_chart(spec={**charts.unspoken(spec), "width": "container"}, width="content", theme=None)


@st.cache_resource(max_entries=8, show_spinner=False)
def _specs(key: tuple, height: int, _data: DashboardData) -> dict[str, dict]:
    data = _data
    specs = {
        "stages": stage_chart(data, height),
        "distribution": distribution_chart(data, height),
        "trend": trend_chart(data, height),
        "carriers": ranking_chart(data.carriers, "载体", height) if not data.carriers.empty else None,
        "streets": ranking_chart(data.streets, "街道", height) if not data.streets.empty else None,
    }
    return {name: chart.to_dict() for name, chart in specs.items() if chart is not None}


def chart_specs(data: DashboardData, height: int) -> dict[str, dict]:
    """Every chart of the screen as a Vega-Lite dict, built once per published run and height.

    Building and validating the Altair charts costs more than the rest of a refresh together; the
    specs depend only on the cached aggregates, so they are kept beside them (a few entries, replaced).
    """
    return _specs((data.run_id, data.year, data.built_at), height, data)


def stage_chart(data: DashboardData, height: int) -> alt.TopLevelMixin:
    """Enterprises per stage, and how many of them are on each list (model's stage and list names)."""
    stages = data.stages
    order = stages["阶段"].tolist()
    frame = stages.melt(
        id_vars=["阶段"], value_vars=["参评企业", *data.tier_names], var_name="类别", value_name="企业数"
    )
    categories = ["参评企业", *data.tier_names]
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("阶段:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("类别:N", sort=categories),
            y=alt.Y("企业数:Q", title="企业数"),
            color=alt.Color("类别:N", sort=categories, scale=alt.Scale(range=PALETTE), title=None),
        )
    )
    return _dark(chart, height)


def distribution_chart(data: DashboardData, height: int) -> alt.TopLevelMixin:
    frame = data.distribution
    order = list(dict.fromkeys(frame.sort_values("bin_start")["分数段"]))
    stages = list(dict.fromkeys(frame["阶段"]))
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("分数段:N", sort=order, title="积分", axis=alt.Axis(labelAngle=-40)),
            y=alt.Y("企业数:Q", title="企业数", stack="zero"),
            # Beside the bars, one stage a line: on top, the stages' rows and the slanted score labels
            # below left the bars a few pixels of the panel's height (a flat chart).
            color=alt.Color(
                "阶段:N",
                sort=stages,
                scale=alt.Scale(range=PALETTE),
                title=None,
                legend=alt.Legend(orient="right", columns=1),
            ),
            order=alt.Order("stage_order:Q"),
        )
        .transform_calculate(stage_order=f"indexof({stages!r}, datum['阶段'])")
    )
    return _dark(chart, height)


def trend_chart(data: DashboardData, height: int) -> alt.TopLevelMixin:
    frame = data.trend.assign(年度=data.trend["年度"].astype(str))
    base = alt.Chart(frame).encode(x=alt.X("年度:N", title=None, axis=alt.Axis(labelAngle=0)))
    line = base.mark_line(point=alt.OverlayMarkDef(size=160), strokeWidth=4, color=ACCENT).encode(
        y=alt.Y("平均积分:Q", title="平均积分（折线）")
    )
    text = base.mark_text(dy=-24, fontSize=FONT, color=TEXT).encode(
        y="平均积分:Q", text=alt.Text("平均积分:Q", format=".2f")
    )
    bars = base.mark_bar(opacity=0.35, color=PALETTE[1], size=60).encode(
        y=alt.Y("上榜企业:Q", title="上榜企业（柱）", axis=alt.Axis(orient="right", titleAngle=90))
    )
    return _dark(alt.layer(bars, line + text).resolve_scale(y="independent"), height)


def ranking_chart(frame: pd.DataFrame, label: str, height: int) -> alt.TopLevelMixin:
    """Horizontal bars of the mean total per group (carriers or streets), best first: as many as fit at
    :data:`MIN_FONT_PX` (a label needs ~34 px of bar height)."""
    top = frame.head(max(3, min(10, (height - 50) // 34)))
    order = top[label].tolist()
    base = alt.Chart(top).encode(y=alt.Y(f"{label}:N", sort=order, title=None))
    bars = base.mark_bar(color=ACCENT).encode(
        # Long carrier names leave the bars a narrow band: "0204060" ran together on the screen.
        # Labels that would touch are dropped (the bars carry their own values anyway).
        x=alt.X(
            "平均积分:Q",
            title="平均积分",
            axis=alt.Axis(tickCount=3, labelOverlap="greedy", labelSeparation=8),
        ),
    )
    text = base.mark_text(align="left", dx=6, fontSize=FONT).encode(
        x="平均积分:Q", text=alt.Text("平均积分:Q", format=".1f")
    )
    return _dark(bars + text, height)


def qualification_table(data: DashboardData, *, years: int | None = None) -> None:
    """Enterprises per qualification (rows) and published year (columns): the newest ``years`` of them
    (the grid's narrow panel holds two at 24 px; a third published year pushed the newest out of sight)."""
    table = data.qualifications.pivot(index="资质", columns="年度", values="企业数")
    table = table.reindex(list(dict.fromkeys(data.qualifications["资质"])))
    if years is not None:
        table = table[sorted(table.columns)[-years:]]
    table.columns = [f"{y}" for y in table.columns]
    table.index.name = None
    st.table(table.map(lambda v: "—" if pd.isna(v) else f"{int(v):,}"))


COMPANY_FORMS = ("股份有限公司", "有限责任公司", "有限公司")


def short_name(name: str) -> str:
    """An enterprise's name without its legal form (温州卓通机械有限公司 → 温州卓通机械), as display boards
    write it: at 24 px the full names pushed the narrow panel's 变化 column out of sight."""
    for form in COMPANY_FORMS:
        if name.endswith(form) and len(name) - len(form) >= 2:
            return name.removesuffix(form)
    return name


def movers_table(data: DashboardData, limit: int = 10, *, previous: bool = True) -> None:
    """The largest gains among listed enterprises; ``previous=False`` leaves out 上年积分 (narrow panel)."""
    if data.movers.empty:
        st.caption("暂无上年度积分可比较。")
        return
    # 阶段 stays: a 67.08 under 领跑 beside a 75.05 under 竞跑 is read right only with its stage
    table = data.movers.head(limit)
    if not previous:  # the narrow panel: no 上年积分, lists by their short name (创新领跑榜 → 领跑)
        table = table.drop(columns="上年积分")
        table["榜单"] = table["榜单"].map(lambda n: n.removeprefix("创新").removesuffix("榜") or n)
        table["企业名称"] = table["企业名称"].map(short_name)
    for column in ("积分", "上年积分"):
        if column in table.columns:
            table[column] = table[column].map(lambda x: f"{x:.2f}")
    table["变化"] = table["变化"].map(lambda x: f"+{x:.2f}")
    # st.table renders every cell as Markdown: names (user text) go through the one escaping rule.
    for column in table.select_dtypes(include=[object, "string"]).columns:
        table[column] = table[column].map(plain)
    st.table(table.set_index(pd.RangeIndex(1, len(table) + 1)))


def header(data: DashboardData, *, view_title: str | None = None) -> None:
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    left.title(f"企业创新积分 · {data.year} 年度" + (f" · {view_title}" if view_title else ""))
    window = ""
    if data.state == "notice" and data.notice_start and data.notice_end:
        window = f"，公示期 {data.notice_start} 至 {data.notice_end}"
    right.caption(
        f"{data.state_label}{window} · {data.model_name}（{data.model_version}）"
        f" · 数据更新 {display_time(data.built_at)}"
    )


def headline(data: DashboardData) -> None:
    cols = st.columns(5)
    cols[0].metric("参评企业", f"{data.evaluated:,}")
    cols[1].metric("参与排名", f"{data.ranked:,}")
    cols[2].metric("上榜企业", f"{data.on_lists:,}")
    cols[3].metric("精准扶持（万元）", f"{data.subsidy_total:,.0f}")
    cols[4].metric("获扶持企业", f"{data.subsidy_count:,}")


def outcome_text(figures: OutcomeFigures) -> str:
    return (
        f"{figures.year} 年度（已定稿）融资与扶持成效：授信 {figures.credit_count:,} 家 {figures.credit_total:,.0f} 万元"
        f" · 放款 {figures.loan_count:,} 家 {figures.loan_total:,.0f} 万元"
        f" · 扶持资金已拨付 {figures.paid_count:,} 家 {figures.paid_total:,.0f} 万元"
    )


def outcome_panel(figures: OutcomeFigures) -> None:
    """Three figures and, per stage, the enterprises and sums (numbers as text: large and aligned)."""
    cols = st.columns(3)
    cols[0].metric(f"授信（{figures.credit_count:,} 家）", f"{figures.credit_total:,.0f} 万元")
    cols[1].metric(f"放款（{figures.loan_count:,} 家）", f"{figures.loan_total:,.0f} 万元")
    cols[2].metric(f"扶持资金已拨付（{figures.paid_count:,} 家）", f"{figures.paid_total:,.0f} 万元")
    # 阶段 and the money side of core.monitoring.outcome_table
    table = figures.by_stage.drop(columns="参评企业")
    for column in table.columns[1:]:
        table[column] = table[column].map(lambda v: f"{v:,.0f}")
    table["阶段"] = table["阶段"].map(plain)
    st.table(table.set_index("阶段").rename(columns=_short_outcome_header))


def _short_outcome_header(name: str) -> str:
    """授信企业 → 授信（家）, 授信金额（万元） → 授信（万元）, 已拨付扶持… → 拨付…: the seven columns of
    core.monitoring.outcome_table in the carousel's panel at 24 px (the full names ran 290 px past it)."""
    name = name.replace("已拨付扶持", "拨付").replace("金额（万元）", "（万元）")
    return name.removesuffix("企业") + "（家）" if name.endswith("企业") else name


def panel(title: str) -> st.delta_generator.DeltaGenerator:
    box = st.container(border=True)
    box.subheader(title)
    return box
