"""载体评价 — carrier aggregates of a published run (enterprises, mean and median total, list members by
tier, share on lists, R&D, revenue growth, subsidies), carriers ranked, drill-down to one carrier."""

import streamlit as st

from db.session import session_scope
from services.scenarios import carrier_enterprises, carriers_view
from ui.guards import require_role
from ui.run_picker import published_run_view
from ui.tables import download_table, show_table
from ui.text import plain

actor = require_role("officer", "admin")

st.title("载体评价")
run_id, view = published_run_view(actor, carriers_view, key="carriers_run")
ranking = view.ranking
st.caption(
    f"{view.run_label}。平均积分与中位数按参与排名的企业计算；营业收入增长率为载体企业营业收入合计的同比增长；"
    "按平均积分、上榜占比排序。"
)
if ranking.empty:
    st.info("该批次没有入驻载体的企业。")
    st.stop()
kinds = ["全部类型", *dict.fromkeys(ranking["类型"].tolist())]
kind = st.selectbox("载体类型", kinds, key="carrier_kind")
shown = ranking if kind == "全部类型" else ranking[ranking["类型"] == kind]
show_table(shown.drop(columns=["carrier_id"]), key="carrier_table")
download_table(shown.drop(columns=["carrier_id"]), name="载体评价", key="carrier_dl")

st.subheader("载体企业")
labels = dict(zip(shown["carrier_id"].tolist(), shown["载体"].tolist(), strict=True))
carrier_id = st.selectbox(
    "选择载体", list(labels), format_func=lambda c: plain(labels[c]), key="carrier_choice"
)
with session_scope() as session:
    members = carrier_enterprises(session, actor=actor, run_id=int(run_id), carrier_id=int(carrier_id))
st.caption(f"{plain(labels[carrier_id])}：{len(members)} 家企业。")
show_table(members, key="carrier_members")
download_table(members, name=f"载体企业_{labels[carrier_id]}", key="carrier_members_dl")
