"""首页 — what the programme is, and the headline figures of the latest published run."""

import altair as alt
import streamlit as st

from core.model_loading import parse_model
from core.model_text import model_summary, programme_caption
from db.session import session_scope
from services.public import public_model, public_overview
from ui.charts import show as show_chart
from ui.formats import run_state
from ui.freshness import data_version
from ui.guards import current_actor
from ui.tables import show_table


@st.cache_data(ttl=60, max_entries=4, show_spinner=False)
def _overview(version: tuple[int, str]):  # keyed by the database version: fresh after a write on any server
    with session_scope() as session:
        overview = public_overview(session)
        # the one model-version rule: the model of the run shown, else the active model
        return overview, public_model(session).model.to_dict()


overview, model_dict = _overview(data_version())
model = parse_model(model_dict)

st.title("企业创新积分")
st.caption(programme_caption(model))
st.markdown(model_summary(model) + "积分结果用于政策扶持、金融授信、企业培育和个性化服务。")
st.caption(f"评价依据：园区发布的评价模型「{model.name}」（版本 {model.version}），指标与分值见“指标体系”。")
if current_actor() is None:
    st.page_link("pages/common/login.py", label="企业和工作人员登录", icon=":material/login:")

if overview is None:
    st.info("暂无已发布的积分结果。积分计算完成并进入公示后，将在此展示。")
    st.stop()

state = run_state(overview.state)
if overview.state == "notice" and overview.notice_end:
    st.warning(
        f"{overview.year} 年度积分结果**公示中**，公示期 {overview.notice_start} 至 {overview.notice_end}。"
    )
else:
    st.success(f"{overview.year} 年度积分结果{state}。")

cols = st.columns(4)
cols[0].metric("参评企业", f"{overview.evaluated:,}")
cols[1].metric("参与排名", f"{overview.ranked:,}")
cols[2].metric("上榜企业", f"{overview.on_lists:,}")
cols[3].metric("精准扶持（万元）", f"{overview.subsidy_total:,.0f}", help=f"{overview.subsidy_count} 家企业")

by_stage = overview.by_stage.drop(columns=["stage"])
# The stage table has a dozen columns: it gets the full width (side by side with the chart it was cut
# off at 1280 px), the chart follows below it.
st.subheader("分阶段概况")
st.caption("平均积分、最高积分按参与排名的企业计（一票否决的企业不参与排名）。")
show_table(by_stage)
st.subheader("参评企业阶段分布")
chart = (
    alt.Chart(by_stage)
    .mark_bar()
    .encode(
        x=alt.X("阶段:N", sort=list(by_stage["阶段"]), title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("参评企业:Q", title="企业数"),
        tooltip=[alt.Tooltip("阶段:N"), alt.Tooltip("参评企业:Q"), alt.Tooltip("平均积分:Q")],
    )
    .properties(height=260)
)
show_chart(chart, width="stretch")


st.caption(f"评价模型版本 {overview.model_version} · 计算批次 #{overview.run_id}")
