"""展示大屏 — published aggregates on one dark 1920×1080 screen; refreshes itself; optional carousel.

``?mode=carousel`` (or the switch at the bottom) cycles the views for unattended screens. The view
shown follows the clock (``now // CAROUSEL_SECONDS``), so nothing is kept per refresh: a screen left
open for days holds the same memory as after its first minute.
"""

from datetime import timedelta

import streamlit as st

from core import clock
from db.session import session_scope
from services.dashboard import dashboard_data, outcome_figures
from ui import bigscreen as screen

REFRESH_SECONDS = 60
CAROUSEL_SECONDS = 15
CHART_HEIGHT = 255  # 290 before the one-line money side under the headline: the grid keeps its height
BIG_HEIGHT = 640


def _load():
    with session_scope() as session:
        return dashboard_data(session)


def _load_outcomes():
    with session_scope() as session:
        return outcome_figures(session)


def _outcome_line() -> None:
    """One line under the headline: what the programme moved (the latest final run's money side)."""
    figures = _load_outcomes()
    if figures is not None:
        st.caption(screen.outcome_text(figures))


def _outcomes(data, height: int) -> None:
    with screen.panel("融资与扶持成效（已定稿批次）"):
        figures = _load_outcomes()
        if figures is None:
            st.caption("暂无已定稿的积分批次。")
        else:
            screen.outcome_panel(figures)


def _chart(title: str, chart: str, *, empty: str | None = None):  # noqa: ANN202 - a panel drawer
    """A panel of one of ``screen.chart_specs``; ``empty``: the note shown when its data has no rows (the
    data field is named as the chart)."""

    def draw(data, height: int) -> None:  # noqa: ANN001 - DashboardData
        with screen.panel(title):
            if empty is not None and getattr(data, chart).empty:
                st.caption(empty)
            else:
                screen.show(screen.chart_specs(data, height)[chart])

    return draw


_stages = _chart("各阶段参评与上榜企业", "stages")
_distribution = _chart("积分分布", "distribution")
_carriers = _chart("载体平均积分排名", "carriers", empty="暂无载体数据。")
_streets = _chart("街道平均积分", "streets", empty="暂无街道数据。")


def _trend(data, height: int) -> None:
    with screen.panel("历年趋势"):
        if len(data.trend) < 2:
            st.caption("仅有一个年度的已发布结果。")
        screen.show(screen.chart_specs(data, height)["trend"])


def _movers(data, height: int) -> None:
    with screen.panel(f"进步最快的上榜企业（较 {data.year - 1} 年度）"):
        big = height >= BIG_HEIGHT
        screen.movers_table(data, limit=10 if big else 5, previous=big)


def _qualifications(data, height: int) -> None:
    with screen.panel("资质企业数（历年）"):
        if data.qualifications.empty:
            st.caption("本模型未设资质类指标。")
        else:  # a table of counts per year: large digits read better than a dozen thin bars
            screen.qualification_table(data, years=None if height >= BIG_HEIGHT else 2)


# Carousel views: (title, panels side by side, their widths).
VIEWS = [
    ("总览", [_stages, _distribution], [1, 1]),
    ("趋势与资质", [_trend, _qualifications], [1, 1]),
    ("进步之星", [_movers, _carriers], [1, 1]),
    ("区域分布", [_streets, _carriers], [1, 1]),
    ("融资与扶持", [_outcomes, _stages], [1.6, 1]),  # seven columns of outcomes per stage
]

screen.apply_screen_style()
carousel = st.query_params.get("mode") == "carousel"
# ?mode=carousel&view=3 holds the carousel on its third view (进步之星 during an award, say)
pinned_view = str(st.query_params.get("view", ""))
pinned = int(pinned_view) - 1 if pinned_view.isdigit() and 1 <= int(pinned_view) <= len(VIEWS) else None


@st.fragment(run_every=timedelta(seconds=CAROUSEL_SECONDS if carousel else REFRESH_SECONDS))
def show_screen() -> None:
    data = _load()
    if data is None:
        st.title("企业创新积分")
        st.info("暂无已发布的积分结果。积分计算完成并进入公示后，将在此展示。")
        return
    if carousel:
        shown = (
            pinned if pinned is not None else int(clock.now().timestamp() // CAROUSEL_SECONDS) % len(VIEWS)
        )
        title, panels, widths = VIEWS[shown]
        screen.header(data, view_title=title)
        screen.headline(data)
        for column, draw in zip(st.columns(widths), panels, strict=True):
            with column:
                draw(data, BIG_HEIGHT)
        return
    screen.header(data)
    screen.headline(data)
    _outcome_line()
    # Three and four panels: at 24 px text a fourth chart in the first row would crowd its labels.
    for row, widths in (
        ([_stages, _distribution, _trend], [1.2, 1.4, 1.0]),
        ([_qualifications, _movers, _carriers, _streets], [1.06, 1.64, 1.2, 0.8]),
    ):
        for column, draw in zip(st.columns(widths), row, strict=True):
            with column:
                draw(data, CHART_HEIGHT)


show_screen()


def _switch_mode() -> None:
    if st.session_state.get("screen_carousel"):
        st.query_params["mode"] = "carousel"
    else:
        st.query_params.pop("mode", None)


st.toggle("轮播模式（无人值守时自动切换视图）", value=carousel, key="screen_carousel", on_change=_switch_mode)
