"""工作台 — the officer's queues and deadlines: pending reviews, open objections, runs in 公示."""

import contextlib

import pandas as pd
import streamlit as st

from core import clock
from core.reports import label_columns
from db.session import session_scope
from services import imports, objections, review, run_diff
from services.model_versions import current_model
from ui.formats import RUN_COLUMNS, day, run_state
from ui.guards import require_role
from ui.tables import show_table

actor = require_role("officer", "admin")

st.title("工作台")

with session_scope() as session:
    queue = review.pending_queue(session, actor=actor)  # the queue 填报审核 opens on
    open_objections = objections.list_objections(session, actor=actor, states=("open",))
    runs = run_diff.list_runs(session, actor=actor)
    batches = imports.list_batches(session, actor=actor, limit=5)

today = clock.today()
pending = len(queue)
submitted_today = int((queue["submitted_at"].map(clock.beijing_day) == today).sum()) if pending else 0
notice = runs[runs["state"] == "notice"] if not runs.empty else pd.DataFrame()

c1, c2, c3, c4 = st.columns(4)
c1.metric("待审核填报", pending)
c2.metric("待处理异议", len(open_objections))
c3.metric("公示中的批次", len(notice))
c4.metric("草稿批次", int((runs["state"] == "draft").sum()) if not runs.empty else 0)


def _link(path: str, label: str, icon: str) -> None:
    # Outside st.navigation (AppTest of a single page) the link target is unknown: show nothing.
    with contextlib.suppress(Exception):  # StreamlitAPIException: page not in this navigation
        st.page_link(path, label=label, icon=icon)


left, right = st.columns(2)
with left:
    st.subheader("公示期限")
    if notice.empty:
        st.caption("当前没有公示中的批次。")
    for r in notice.itertuples():
        left_days = (r.notice_end - today).days if r.notice_end else None
        when = f"{day(r.notice_start)} 至 {day(r.notice_end)}"
        if left_days is None:
            st.write(f"批次 #{r.id}（{r.year} 年度）：{when}")
        elif left_days < 0:
            st.warning(f"批次 #{r.id}（{r.year} 年度）公示已于 {day(r.notice_end)} 结束，请处理异议后定稿。")
        else:
            st.info(f"批次 #{r.id}（{r.year} 年度）公示中：{when}，还剩 {left_days} 天。")
    _link("pages/officer/runs.py", "积分计算与公示", ":material/calculate:")

    st.subheader("待处理异议")
    if open_objections.empty:
        st.caption("没有待处理的异议。")
    else:
        with session_scope() as session:
            model = current_model(session)
        show_table(
            label_columns(
                model, open_objections[["id", "run_id", "name", "indicator_code", "reason", "created_at"]]
            )
            .assign(created_at=open_objections["created_at"].map(day))
            .rename(
                columns={
                    "id": "编号",
                    "run_id": "批次",
                    "name": "企业",
                    "indicator_code": "指标",
                    "reason": "理由",
                    "created_at": "提出时间",
                }
            ),
            key="workbench_objections",
        )

with right:
    st.subheader("填报审核")
    st.write(f"有 **{pending}** 份企业填报等待审核（今天新提交 {submitted_today} 份）。")
    _link("pages/officer/review.py", "进入填报审核", ":material/fact_check:")
    st.subheader("最近导入")
    view = batches[
        [
            "id",
            "department",
            "year",
            "file_name",
            "status",
            "row_count",
            "error_count",
            "created_by",
            "created_at",
        ]
    ].copy()
    view["status"] = view["status"].map(imports.STATUS_LABELS)
    view["created_at"] = view["created_at"].map(day)
    show_table(view.rename(columns=imports.BATCH_COLUMNS), key="workbench_batches", empty="暂无导入记录。")
    _link("pages/officer/imports.py", "数据导入", ":material/upload_file:")

if not runs.empty:
    st.subheader("积分计算批次")
    view = runs[
        ["id", "year", "state", "enterprise_count", "notice_start", "notice_end", "created_at"]
    ].copy()
    view["state"] = view["state"].map(run_state)
    view["created_at"] = view["created_at"].map(day)
    show_table(view.rename(columns=RUN_COLUMNS), key="workbench_runs")
