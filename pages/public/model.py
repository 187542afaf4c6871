"""指标体系 — the model of the published results (services.public.public_model): stages, classes,
indicators, points per stage, rules in words."""

import pandas as pd
import streamlit as st

from core.lists import share_text
from core.model_loading import parse_model
from core.model_text import describe_rule, model_summary
from db.session import session_scope
from services.public import public_model
from ui.formats import source_label
from ui.freshness import data_version
from ui.tables import show_table
from ui.text import plain

KIND_SUFFIX = {"core": "指标", "bonus": "（加分）", "deduction": "（扣分）", "veto": ""}


@st.cache_data(ttl=60, max_entries=4, show_spinner=False)
def _model(version: tuple[int, str]) -> tuple[dict, int | None, bool, str]:  # keyed by the database version
    with session_scope() as session:
        shown = public_model(session)  # the model of the published results, as on 首页 and 积分榜单
        return shown.model.to_dict(), shown.run_year, shown.newer_active, shown.active_version


model_dict, run_year, newer_active, active_version = _model(data_version())
model = parse_model(model_dict)

st.title("指标体系")
st.caption(f"{model.name} · 版本 {model.version}")
if run_year is not None:
    st.info(
        f"以下为 {run_year} 年度已发布积分结果所依据的评价模型「{model.name}」（版本 {model.version}），"
        "榜单上的每个分数都按这些规则计算。",
        icon=":material/info:",
    )
else:
    st.info(
        f"以下为园区发布的企业创新积分评价模型「{model.name}」（版本 {model.version}）。",
        icon=":material/info:",
    )
if newer_active:
    st.caption(f"园区已发布新版本 {active_version}，将用于今后的积分计算；已发布的结果仍按上述版本。")

st.subheader("成长阶段")
stages = pd.DataFrame(
    {
        "阶段": [s.name for s in model.stages],
        "营业收入（万元）": [
            f"{s.min_revenue:g} 及以上"
            if s.max_revenue is None
            else f"{s.min_revenue:g} – {s.max_revenue:g}（不含）"
            for s in model.stages
        ],
    }
)
show_table(stages, width="content")
st.markdown(model_summary(model))

stage_names = {s.code: s.name for s in model.stages}
for cls in model.ordered_classes:
    indicators = model.by_class(cls.code)
    if not indicators:
        continue
    title = cls.name + KIND_SUFFIX[cls.kind] if not cls.name.endswith("指标") else cls.name
    st.subheader(
        title + (f"（本类最多 {cls.cap:g} 分）" if cls.cap is not None and cls.kind != "bonus" else "")
    )
    rows = []
    for ind in indicators:
        row = {
            "代码": ind.code,
            "指标": ind.name,
            "单位": ind.unit,
            "来源": source_label(ind.source),
            "企业填报": "是" if ind.self_reported else "",
        }
        if ind.is_core:
            for code, name in stage_names.items():
                row[name] = (ind.points or {}).get(code, 0.0)
        elif cls.kind != "veto":
            row["分值"] = ind.max_points
        rows.append(row)
    frame = pd.DataFrame(rows)
    if indicators[0].is_core:
        totals = {column: "" for column in frame.columns} | {"指标": "合计"}
        totals |= {name: frame[name].sum() for name in stage_names.values()}
        frame = pd.concat([frame, pd.DataFrame([totals])], ignore_index=True)
    show_table(frame)
    # Rules and definitions are sentences: shown in full as text, never cut off in a table cell.
    with st.expander(f"{title}：计分规则与定义", expanded=False):
        for ind in indicators:
            st.markdown(f"**{plain(ind.code)} {plain(ind.name)}**")
            if ind.definition:
                st.markdown(f"定义：{plain(ind.definition)}")
            st.markdown(f"计分规则：{plain(describe_rule(ind, model))}")

st.subheader("榜单与扶持")
tiers = pd.DataFrame(
    {
        "榜单": [t.name for t in model.tiers],
        "范围": [f"各阶段排名前 {share_text(t.share)}（向上取整）" for t in model.tiers],
    }
)
show_table(tiers, width="content")
subsidies = pd.DataFrame(
    {
        "阶段": [stage_names.get(s.stage, s.stage) for s in model.subsidies],
        "名额": [f"前 {share_text(s.share)}（向上取整），最多 {s.max_count} 家" for s in model.subsidies],
        "扶持金额（万元/家）": [s.amount for s in model.subsidies],
    }
)
show_table(subsidies, width="content")
if model.mujun:
    st.caption("；".join(f"各阶段前 {share_text(m.share)}：亩均论英雄「{m.code}」" for m in model.mujun))
