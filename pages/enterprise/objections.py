"""异议 — during a run's 公示 window the enterprise objects to its score or one indicator; sees the answers."""

import streamlit as st

from db.session import session_scope
from services.objections import file_objection, list_objections, window_open, window_text
from services.portrait import model_for_run
from services.public import latest_published_run
from ui import formats
from ui.flash import show_flash
from ui.guards import require_role
from ui.service_call import call_and_flash
from ui.text import plain
from ui.widgets import file_uploader, selectbox

actor = require_role("enterprise")
enterprise_id = actor.enterprise_id
MSG = "_obj_message"

with session_scope() as session:
    run = latest_published_run(session)
    model = model_for_run(session, run) if run is not None else None
    history = list_objections(session, actor=actor, enterprise_id=enterprise_id)


def _file() -> None:
    code = st.session_state.get("obj_indicator") or None
    reason = st.session_state.get("obj_reason", "")
    files = st.session_state.get("obj_files") or []
    call_and_flash(
        MSG,
        file_objection,
        success="异议已提交，工作人员处理后将在此答复。",
        actor=actor,
        run_id=run.id,
        enterprise_id=enterprise_id,
        indicator_code=code,
        reason=reason,
        attachments=[(f.name, f.getvalue()) for f in files],
    )


st.title("异议")
show_flash(MSG)

if run is None or run.state != "notice":
    st.info("当前没有处于公示期的积分结果。积分公示期间，您可以在此对本企业的积分或某项指标提出异议。")
elif not window_open(run):
    st.info(f"{run.year} 年度积分{window_text(run)}。当前不在公示期内，不能提出异议。")
else:
    st.markdown(
        f"{run.year} 年度积分{window_text(run)}。"
        "如对本企业的积分或某项指标数据有异议，请说明理由并附证明材料。"
    )
    options = [""] + [i.code for i in model.indicators]
    names = {i.code: i.name for i in model.indicators}
    with st.form("objection_form", clear_on_submit=True):
        selectbox(
            "异议对象", options, format_func=lambda c: names.get(c, "总积分（整体）"), key="obj_indicator"
        )
        st.text_area(
            "异议理由（必填）",
            key="obj_reason",
            max_chars=2000,
            placeholder="例如：2025 年研发费用应为 120 万元，部门数据有误，附加计扣除备案表。",
        )
        file_uploader(
            "证明材料（PDF/JPG/PNG，每个 ≤10 MB，最多 5 个）", accept_multiple_files=True, key="obj_files"
        )
        st.form_submit_button("提交异议", type="primary", on_click=_file)

st.subheader("我的异议")
if history.empty:
    st.caption("暂无异议记录。")
else:
    names = {i.code: i.name for i in model.indicators} if model else {}
    for row in history.itertuples():
        with st.container(border=True):
            target = names.get(row.indicator_code, row.indicator_code) if row.indicator_code else "总积分"
            st.markdown(f"**{row.year} 年度 · {target}** — {row.state_label}")
            st.caption(f"提出时间 {formats.day(row.created_at)}：{plain(row.reason)}")
            if row.answer:
                st.markdown(f"答复（{formats.day(row.answered_at)}）：{plain(row.answer)}")
