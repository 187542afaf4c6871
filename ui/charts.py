"""Altair charts shared by pages (Altair has no radar mark: polygons are computed in pandas), and
:func:`show`, the one way a page draws an Altair chart.

Encodings are channel objects (``alt.Order("order:Q")``), never bare shorthand strings: Altair turns a
string into its channel by hashing every class of the Vega-Lite schema, each time (10 ms a string).
"""

from __future__ import annotations

import threading
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

_THEME_LOCK = threading.Lock()  # Altair's active theme is one setting for every thread

# Colours keep one meaning on every radar: the first series (the enterprise) is always the brand blue,
# the second (the stage average) always grey, whatever the labels say; the legend names both.
SERIES_COLOURS = ("#1f5fbf", "#9aa3ad", "#e07b39", "#3a9d5d")


def radar(frame: pd.DataFrame, *, series: dict[str, str], axis: str = "axis", height: int = 320) -> alt.Chart:
    """A radar chart: one closed polygon per series, values in [0, 1] on each axis.

    ``frame`` has one row per axis; ``series`` maps a value column to its legend label, the subject first
    (its colour is fixed by position, :data:`SERIES_COLOURS`). Points are placed
    at angle 2π·k/K (first axis at 12 o'clock, clockwise), and each polygon repeats its first point so the
    ``order``-encoded line closes; ``fill`` shades it.
    """
    k = len(frame)
    angles = np.pi / 2 - 2 * np.pi * np.arange(k) / max(k, 1)
    rows = []
    for column, label in series.items():
        values = frame[column].astype(float).clip(0, 1).to_numpy()
        for i in [*range(k), 0]:
            rows.append(
                {
                    "series": label,
                    "axis": frame[axis].iloc[i],
                    "value": values[i],
                    "x": values[i] * np.cos(angles[i]),
                    "y": values[i] * np.sin(angles[i]),
                    "order": len(rows),
                }
            )
    polygons = pd.DataFrame(rows)
    grid_rows = []
    for level in (0.25, 0.5, 0.75, 1.0):
        for i in [*range(k), 0]:
            grid_rows.append(
                {
                    "level": level,
                    "x": level * np.cos(angles[i]),
                    "y": level * np.sin(angles[i]),
                    "order": len(grid_rows),
                }
            )
    grid = pd.DataFrame(grid_rows)
    spokes = pd.DataFrame(
        {"x": 1.12 * np.cos(angles), "y": 1.12 * np.sin(angles), "axis": frame[axis].to_numpy()}
    )

    scale = alt.Scale(domain=[-1.35, 1.35], nice=False)
    x = alt.X("x:Q", scale=scale, axis=None)
    y = alt.Y("y:Q", scale=scale, axis=None)
    grid_layer = (
        alt.Chart(grid)
        .mark_line(color="#d0d4da", strokeWidth=0.8)
        .encode(x=x, y=y, order=alt.Order("order:Q"), detail=alt.Detail("level:N"))
    )
    labels = alt.Chart(spokes).mark_text(fontSize=12, color="#444").encode(x=x, y=y, text=alt.Text("axis:N"))
    colours = alt.Scale(domain=list(series.values()), range=list(SERIES_COLOURS[: len(series)]))
    shape = (
        alt.Chart(polygons)
        .mark_line(strokeWidth=2, point=True, fillOpacity=0.18)
        .encode(
            x=x,
            y=y,
            order=alt.Order("order:Q"),
            color=alt.Color("series:N", scale=colours, legend=alt.Legend(orient="bottom", title=None)),
            fill=alt.Fill("series:N", scale=colours, legend=None),
            tooltip=[
                alt.Tooltip("series:N", title="对象"),
                alt.Tooltip("axis:N", title="维度"),
                alt.Tooltip("value:Q", title="得分率", format=".0%"),
            ],
        )
    )
    return (grid_layer + labels + shape).properties(height=height).configure_view(stroke=None)


def points_bar(frame: pd.DataFrame, *, height_per_row: int = 24) -> alt.Chart:
    """Horizontal bars of points against the maximum, one row per indicator (``name, points, max``).

    Every bar is named: label thinning is off (it dropped every other name) and rows are tall enough
    for a label each."""
    data = frame[["name", "points", "max"]].copy()
    order = data["name"].tolist()
    axis = alt.Axis(labelOverlap=False, labelLimit=150, labelFontSize=12)
    base = alt.Chart(data).encode(y=alt.Y("name:N", sort=order, title=None, axis=axis))
    full = base.mark_bar(color="#e4e7ec").encode(x=alt.X("max:Q", title="分值"))
    got = base.mark_bar(color="#2f6fdf").encode(
        x=alt.X("points:Q"),
        tooltip=[
            alt.Tooltip("name:N", title="指标"),
            alt.Tooltip("points:Q", title="得分", format=".2f"),
            alt.Tooltip("max:Q", title="满分"),
        ],
    )
    return (full + got).properties(height=max(120, height_per_row * len(data)))


def unspoken(spec: dict) -> dict:
    """``spec`` without Vega's generated descriptions of its marks, axes and legends.

    Vega writes them in English into aria-label ("Y-axis titled '企业数' for a linear scale with values
    from 0 to 10", one "积分: 10–20; 企业数: 2; stage_order: 0" per bar, internal field names included):
    a screen reader read the whole drawing in English. Every chart's numbers are in a table on its page;
    the chart itself is announced as 图表 (ui/chrome.py)."""
    return {**spec, "config": {**spec.get("config", {}), "aria": False}}


def show(chart: alt.TopLevelMixin, **kwargs: Any) -> None:
    """Draw ``chart`` (keyword arguments as ``st.vega_lite_chart``'s, e.g. ``width="stretch"``).

    As ``st.altair_chart`` draws it (Altair's theme "none": no 300-pixel default view), but without
    validating the spec against the Vega-Lite JSON schema on every page load — a radar took 25 ms to
    validate; the charts are built by the functions above, whose shapes the tests draw."""
    with _THEME_LOCK, alt.theme.enable("none"):
        spec = chart.to_dict(validate=False)
    st.vega_lite_chart(spec=unspoken(spec), **kwargs)
