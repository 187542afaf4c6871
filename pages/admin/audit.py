"""审计日志 — filter the append-only audit trail and export it (admin and officers)."""

from datetime import date

import streamlit as st

from core import audit_labels, clock
from db.session import session_scope
from services import audit
from ui.filters import day_range
from ui.guards import require_role
from ui.tables import show_table

actor = require_role("officer", "admin")

st.title("审计日志")
with session_scope() as session:
    choices = audit.distinct_values(session, actor=actor)

with st.container(border=True):
    c1, c2, c3, c4 = st.columns(4)
    linked_days = (date(2000, 1, 1), clock.today())  # a linked object: its whole history
    dates = day_range(
        c1,
        "日期",
        default=linked_days if st.query_params.get("entity_id") else clock.recent_days(audit.DEFAULT_DAYS),
        key="audit_dates",
    )
    action = c2.selectbox(
        "操作",
        [None, *choices["action"]],
        format_func=lambda a: "全部" if a is None else audit_labels.action_label(a),
    )
    # a link from another page (企业画像's "审计记录") may name the object: ?entity=ImportBatch&entity_id=12
    linked = st.query_params.get("entity")
    entities = [None, *choices["entity"]]
    entity = c3.selectbox(
        "对象",
        entities,
        index=entities.index(linked) if linked in entities else 0,
        format_func=lambda a: "全部" if a is None else audit_labels.entity_label(a),
    )
    who = c4.text_input("操作人（用户名）", max_chars=64)
    c5, c6 = st.columns(2)
    entity_id = c5.text_input("对象编号", value=st.query_params.get("entity_id", ""), max_chars=50)
    text = c6.text_input("理由包含", max_chars=100)

if dates is None:
    st.stop()
date_from, date_to = dates
filters = {
    "date_from": date_from,
    "date_to": date_to,
    "action": action,
    "entity": entity,
    "actor_name": who or None,
    "entity_id": entity_id or None,
    "text": text or None,
}
with session_scope() as session:
    events = audit.query_events(session, actor=actor, **filters)
    names = audit.code_names(session, actor=actor)
st.caption(f"共 {len(events)} 条（最多显示 {audit.MAX_ROWS} 条）。审计日志只能追加，任何人都不能修改或删除。")
if events.empty:
    st.info(f"{date_from:%Y-%m-%d} 至 {date_to:%Y-%m-%d} 没有符合条件的审计记录。")
else:
    show_table(audit.display_frame(events, names), key="audit_table")

e1, e2 = st.columns(2)
if e1.button("准备导出", key="audit_export"):
    with session_scope() as session:
        st.session_state["audit_xlsx"] = audit.export_events(session, actor=actor, fmt="xlsx", **filters)
        st.session_state["audit_csv"] = audit.export_events(session, actor=actor, fmt="csv", **filters)
if "audit_xlsx" in st.session_state:
    e1.download_button(
        "下载 xlsx", st.session_state["audit_xlsx"], file_name="审计日志.xlsx", key="audit_dl_xlsx"
    )
    e2.download_button(
        "下载 csv",
        st.session_state["audit_csv"],
        file_name="审计日志.csv",
        mime="text/csv",
        key="audit_dl_csv",
    )
