"""企业画像 (officers) — any enterprise's portrait: the same component the enterprise sees, plus where each
value came from (department batch or self-report) with a link to its audit trail."""

import streamlit as st

from services.compare import value_provenance
from services.portrait import get_portrait
from ui.formats import day
from ui.guards import require_role
from ui.portrait import render_portrait
from ui.selection import PORTRAIT_KEY, enterprise_picker, run_picker
from ui.service_call import call_service, refusal_as
from ui.tables import show_table

actor = require_role("officer", "admin")

st.title("企业画像")
run_id = run_picker(actor, key="portrait_run")
if run_id is None:
    st.stop()
preset = [st.session_state[PORTRAIT_KEY]] if st.session_state.get(PORTRAIT_KEY) else []
picked = enterprise_picker(actor, key="portrait_pick", run_id=run_id, preset=preset, max_selections=1)
if not picked:
    st.info(
        "查找并选择一家企业查看其画像；也可在“企业检索”中选中企业后打开。", icon=":material/person_search:"
    )
    st.stop()
enterprise_id = picked[0]
st.session_state[PORTRAIT_KEY] = enterprise_id

about = {"actor": actor, "enterprise_id": enterprise_id, "run_id": run_id}
portrait = call_service(get_portrait, on_refusal=refusal_as("warning"), stop=True, **about)
provenance = call_service(value_provenance, on_refusal=refusal_as("warning"), stop=True, **about)

st.header(portrait.enterprise_name, divider="gray")
render_portrait(portrait, viewer="officer")

st.subheader("数据来源与审计")
st.caption("本批次计算时使用的每项数据：来源部门或企业自报、所属导入批次或自报单、录入人和时间。")
view = provenance.assign(entered_at=provenance["entered_at"].map(day))
show_table(
    view[["code", "name", "value_text", "source", "origin", "entered_by", "entered_at", "audit_text"]],
    key="portrait_provenance",
    column_config={
        "code": st.column_config.TextColumn("代码", width="small"),
        "name": "指标",
        "value_text": "数值",
        "source": "来源",
        "origin": "导入批次或自报",
        "entered_by": "录入人",
        "entered_at": "录入时间",
        "audit_text": "审计记录",
    },
)
trails = provenance[provenance["audit_entity"] != ""][
    ["audit_entity", "audit_entity_id", "origin"]
].drop_duplicates()
if not trails.empty:
    st.markdown("**审计记录**")
    cols = st.columns(min(4, len(trails)))
    for i, trail in enumerate(trails.itertuples()):
        cols[i % len(cols)].page_link(
            "pages/admin/audit.py",
            label=f"{trail.origin}的审计记录",
            icon=":material/history:",
            query_params={"entity": trail.audit_entity, "entity_id": trail.audit_entity_id},
        )
