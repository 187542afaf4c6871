"""监测报告 — the yearly monitoring report of a published run against the previous final run, on screen
and as downloads (multi-sheet xlsx, self-contained HTML with its charts embedded)."""

import streamlit as st

from db.session import session_scope
from services.monitoring import monitoring_report
from ui.charts import show as show_chart
from ui.guards import require_role
from ui.run_picker import pick_published_run
from ui.tables import download_file, show_table

actor = require_role("officer", "admin")
REPORT = "monitoring_report"  # (run id, report, xlsx bytes, html text)

st.title("监测报告")
run_id = int(pick_published_run(actor, key="monitoring_run"))
cached = st.session_state.get(REPORT)
if st.button("生成监测报告", type="primary", key="monitoring_build") or (cached and cached[0] != run_id):
    with st.spinner("正在生成监测报告…"), session_scope() as session:
        report = monitoring_report(session, actor=actor, run_id=run_id)
        st.session_state[REPORT] = cached = (run_id, report, report.to_xlsx(), report.to_html())
if not cached or cached[0] != run_id:
    st.caption("报告对比上一年度的定稿批次：阶段分布、榜单、积分升降、指标中位数、载体、培育库和数据完整性。")
    st.stop()

_, report, xlsx, page = cached
st.subheader(report.title)
st.caption(report.subtitle)
d1, d2 = st.columns(2)
download_file(
    "下载报告（xlsx，多工作表）", xlsx, file_name=f"{report.title}.xlsx", key="monitoring_xlsx", container=d1
)
download_file(
    "下载报告（HTML，可离线打开）",
    page.encode("utf-8"),
    file_name=f"{report.title}.html",
    key="monitoring_html",
    container=d2,
)
for name, table in report.tables.items():
    st.markdown(f"#### {name}")
    if name in report.notes:
        st.caption(report.notes[name])
    if name in report.charts:
        show_chart(report.charts[name], width="content")
    show_table(table, key=f"monitoring_{name}")
