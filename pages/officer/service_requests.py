"""服务需求处理 — the service requests enterprises file: filter by state, service and stage, take one,
answer it, close it (or decline with a reason). The enterprise sees the state and the answer."""

import streamlit as st

from core.workflows import SERVICE_REQUEST
from db.session import session_scope
from services.service_requests import (
    answer_request,
    catalogue,
    decline_request,
    list_requests,
    request_stages,
    take_request,
)
from ui.flash import show_flash
from ui.guards import require_role
from ui.service_call import REFUSED, call_service
from ui.tables import download_table, show_table
from ui.text import plain

actor = require_role("officer", "admin")
FLASH = "service_requests_flash"

st.title("服务需求处理")
show_flash(FLASH)

with session_scope() as session:
    services = dict(catalogue(session, actor=actor))
    stages = request_stages(session, actor=actor)

with st.container(border=True):
    f1, f2, f3 = st.columns(3)
    state = f1.selectbox(
        "状态",
        [None, *SERVICE_REQUEST.labels],
        key="sr_state",
        format_func=lambda s: "全部状态" if s is None else SERVICE_REQUEST.labels[s],
    )
    service = f2.selectbox(
        "服务",
        [None, *services],
        key="sr_service",
        format_func=lambda c: "全部服务" if c is None else services[c],
    )
    stage = f3.selectbox(
        "阶段（最新公示/定稿批次）",
        [None, *stages],
        key="sr_stage",
        format_func=lambda s: "全部阶段" if s is None else stages[s],
    )

with session_scope() as session:
    requests = list_requests(session, actor=actor, state=state, service_code=service, stage=stage)

view = requests.assign(stage_name=requests["stage"].map(stages) if len(requests) else [])
view = view[
    [
        "id",
        "enterprise_name",
        "credit_code",
        "stage_name",
        "service_name",
        "note",
        "state_label",
        "answer",
        "handled_by",
        "created_at",
        "handled_at",
    ]
].rename(
    columns={
        "id": "编号",
        "enterprise_name": "企业",
        "credit_code": "统一社会信用代码",
        "stage_name": "阶段",
        "service_name": "服务",
        "note": "需求说明",
        "state_label": "状态",
        "answer": "答复",
        "handled_by": "经办人",
        "created_at": "申请时间",
        "handled_at": "处理时间",
    }
)
st.caption(f"共 {len(view)} 条。勾选一行办理。")
event = show_table(view, key="sr_table", on_select="rerun", selection_mode="single-row")
if len(view):
    download_table(view, name="服务申请", key="sr_dl")
rows = list(event.selection.rows) if event is not None and event.selection.rows else []
if not rows:
    st.stop()

chosen = requests.iloc[rows[0]]
request_id = int(chosen["id"])


def _act(use_case, done: str, **kwargs: object) -> None:  # noqa: ANN001 - a services.service_requests function
    """``use_case`` on this request; done: ``done`` flashed and the page rerun; refused: said where it was asked."""
    if call_service(use_case, actor=actor, request_id=request_id, **kwargs) is not REFUSED:
        st.session_state[FLASH] = ("success", done)
        st.rerun()


st.subheader(f"#{request_id} · {plain(chosen['enterprise_name'])} · {plain(chosen['service_name'])}")
st.text(f"需求说明：{chosen['note'] or '（未填写）'}")
st.caption(f"状态：{chosen['state_label']}")
allowed = SERVICE_REQUEST.allowed_actions(chosen["state"])
if "take" in allowed and st.button("受理", type="primary", key="sr_take"):
    _act(take_request, f"已受理服务申请 #{request_id}。")
if "answer" in allowed:
    with st.form("sr_answer_form"):
        answer = st.text_area("答复企业（必填）", value=chosen["answer"] or "", max_chars=2000)
        a1, a2 = st.columns(2)
        save = a1.form_submit_button("保存答复")
        finish = a2.form_submit_button("答复并办结", type="primary")
        if save or finish:
            _act(
                answer_request,
                f"服务申请 #{request_id} 已{'办结' if finish else '答复'}。",
                answer=answer,
                close=finish,
            )
if "decline" in allowed:
    with st.expander("不予受理"), st.form("sr_decline_form"):
        reason = st.text_area("理由（必填，企业可见）", max_chars=2000)
        if st.form_submit_button("不予受理"):
            _act(decline_request, f"服务申请 #{request_id} 已标记为不予受理。", reason=reason)
if not allowed:
    st.caption("该申请已处理完毕。")
