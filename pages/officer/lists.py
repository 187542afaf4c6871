"""榜单与扶持 — a published run's lists per stage with their ⌈share·N⌉ sizes, the subsidy table with the
cap that applied and the budget, the 亩均 flags, and the public-notice exports."""

import streamlit as st

from db.session import session_scope
from services.scenarios import export_lists, lists_view
from ui.guards import require_role
from ui.run_picker import pick_published_run
from ui.tables import XLSX_MIME, download_table, show_table

actor = require_role("officer", "admin")

st.title("榜单与扶持")
run_id = pick_published_run(actor, key="lists_run")
with session_scope() as session:
    view = lists_view(session, actor=actor, run_id=int(run_id))
model = view.model
st.caption(f"{view.run_label} · 评价模型 {model.name} {model.version}。名额按“阶段内参与排名企业数 × 比例”向上取整，"
           "榜单逐级累计；一票否决的企业不进入任何榜单和扶持名单。")

tab_lists, tab_subsidy, tab_mujun, tab_export = st.tabs(["榜单", "精准扶持", "亩均论英雄", "公示导出"])

with tab_lists:
    st.subheader("各阶段榜单名额")
    show_table(view.sizes.drop(columns=["stage"]), key="sizes_table")
    stages = {s.code: s.name for s in model.stages}
    stage = st.selectbox("阶段", [None, *stages], format_func=lambda s: "全部阶段" if s is None else stages[s],
                         key="lists_stage")
    members = view.members if stage is None else view.members[view.members["所属阶段"] == stages[stage]]
    st.caption(f"上榜企业 {len(members)} 家。")
    show_table(members, key="members_table")
    download_table(members, name="上榜企业", key="members_dl")

with tab_subsidy:
    plan = view.plan.drop(columns=["stage"])
    total = view.plan.iloc[-1]
    c1, c2, c3 = st.columns(3)
    c1.metric("扶持企业", f"{int(total['实际家数'])} 家")
    c2.metric("扶持资金", f"{float(total['实际金额（万元）']):g} 万元")
    c3.metric("预算", f"{float(total['预算（万元）']):g} 万元")
    st.subheader("名额与预算")
    st.caption("扶持名额 = min(⌈比例 × N⌉, 名额上限)；“适用限制”说明本阶段是比例还是上限起作用。")
    show_table(plan, key="plan_table")
    st.subheader("扶持名单")
    show_table(view.subsidies, key="subsidy_table")
    download_table({"扶持名单": view.subsidies, "名额与预算": plan}, name="扶持名单", key="subsidy_dl")

with tab_mujun:
    shares = "；".join(f"{m.code}：阶段前 {m.share * 100:g}%" for m in model.mujun)
    st.caption(f"亩均论英雄标记（{shares}）。")
    show_table(view.mujun, key="mujun_table")
    download_table(view.mujun, name="亩均论英雄", key="mujun_dl")

with tab_export:
    st.markdown("**公示格式导出**：公示名单（序号、企业名称、统一社会信用代码、所属阶段、榜单、积分）、扶持名单、名额与预算、亩均论英雄。")
    with session_scope() as session:
        workbook = export_lists(session, actor=actor, run_id=int(run_id), fmt="xlsx", part="all")
        notice_csv = export_lists(session, actor=actor, run_id=int(run_id), fmt="csv", part="lists")
    e1, e2 = st.columns(2)
    e1.download_button("下载公示文件（xlsx，全部工作表）", workbook, file_name=f"榜单与扶持_{run_id}.xlsx", mime=XLSX_MIME,
                       key="notice_xlsx", icon=":material/download:")
    e2.download_button("下载公示名单（csv）", notice_csv, file_name=f"公示名单_{run_id}.csv", mime="text/csv",
                       key="notice_csv", icon=":material/download:")
