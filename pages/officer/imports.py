"""数据导入 — department templates, dry run with a per-row report, all-or-nothing commit, history."""


import streamlit as st

from core import clock
from core.importing import ALL_DEPARTMENTS, DEPARTMENTS
from db.session import session_scope
from services import imports
from services.errors import Conflict, ServiceError
from ui.flash import show_flash
from ui.guards import require_role

actor = require_role("officer", "admin")

DRY = "import_dry_run"  # {"report": ImportReport, "data": bytes, "csv": the report as csv bytes}
FLASH = "import_flash"
DEPTS = [*DEPARTMENTS, ALL_DEPARTMENTS]

st.title("数据导入")
show_flash(FLASH)

tab_import, tab_template, tab_history = st.tabs(["导入数据", "下载模板", "导入记录"])

with tab_template:
    dept_t = st.selectbox("部门", DEPTS, key="template_department")
    with session_scope() as session:
        template = imports.template_xlsx(session, actor=actor, department=dept_t)
    st.download_button(f"下载{dept_t}导入模板（xlsx）", template, file_name=f"{dept_t}导入模板.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key="template_download")
    st.caption("模板含“数据”和“填写说明”两个工作表；表头可保留中文名称，也可写指标代码。")

with tab_import:
    c1, c2 = st.columns(2)
    department = c1.selectbox("部门", DEPTS, key="import_department")
    year = c2.number_input("数据年度", min_value=2000, max_value=2100, value=clock.evaluation_year(), step=1,
                           key="import_year")
    upload = st.file_uploader("上传文件（xlsx、xls、csv；UTF-8 或 GBK；不超过 50 MB）", type=["xlsx", "xls", "csv"],
                              key="import_file")
    if st.button("试导入（只检查，不写入）", disabled=upload is None, type="primary"):
        data = upload.getvalue()
        try:
            with session_scope() as session:
                report = imports.dry_run_import(session, actor=actor, department=department, year=int(year),
                                                file_name=upload.name, data=data)
                csv = imports.report_csv(imports.get_batch(session, actor=actor, batch_id=report.batch_id))
            st.session_state[DRY] = {"report": report, "data": data, "csv": csv}
        except ServiceError as exc:
            st.session_state.pop(DRY, None)
            st.error(str(exc))

    dry = st.session_state.get(DRY)
    if dry:
        report = dry["report"]
        st.subheader(f"试导入结果：{report.file_name}（{report.department} · {report.year} 年度）")
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("数据行", report.row_count)
        m2.metric("无问题的行", report.accepted_count)
        m3.metric("问题", report.error_count)
        m4.metric("待核实（不影响导入）", report.flagged_count)
        if report.ignored_columns:
            st.caption("未识别的列（已忽略）：" + "、".join(report.ignored_columns))
        if report.errors:
            st.error(f"发现 {report.error_count} 处问题，整批不能导入。请按下表修改后重新上传。")
            st.dataframe(report.errors_frame(), hide_index=True, width="stretch", key="errors_table")
        if report.flags:
            st.warning(f"{report.flagged_count} 个数值明显偏离同阶段常见范围，将导入并标记待核实。")
            st.dataframe(report.flags_frame(), hide_index=True, width="stretch", key="flags_table")
        st.download_button("下载问题报告（csv）", dry["csv"], file_name=f"导入报告_{report.batch_id}.csv", mime="text/csv",
                           key="report_download")
        if report.ok:
            confirm = True
            if report.duplicate_of:
                st.warning(f"同一文件已于 {imports.batch_time(report.duplicate_of['committed_at'])} 导入过"
                           f"（批次 #{report.duplicate_of['batch_id']}）。")
                confirm = st.checkbox("我确认需要再次导入此文件", key="confirm_duplicate")
            if st.button("确认导入", type="primary", disabled=not confirm, key="commit_button"):
                try:
                    with session_scope() as session:
                        done = imports.commit_import(session, actor=actor, data=dry["data"],
                                                     batch_id=report.batch_id,
                                                     confirm_duplicate=bool(report.duplicate_of))
                    st.session_state.pop(DRY, None)
                    st.session_state[FLASH] = ("success", f"已导入批次 #{done.batch_id}：{done.row_count} 家企业，"
                                                          f"{done.value_count} 个数值。")
                    st.rerun()
                except Conflict as exc:
                    st.warning(str(exc))
                except ServiceError as exc:
                    st.error(str(exc))

with tab_history:
    with session_scope() as session:
        history = imports.list_batches(session, actor=actor)
    if history.empty:
        st.caption("暂无导入记录。")
    else:
        view = history.copy()
        view["status"] = view["status"].map(imports.STATUS_LABELS)
        view["sha256"] = view["sha256"].str.slice(0, 12)
        for column in ("created_at", "committed_at"):
            if column in view.columns:
                view[column] = view[column].map(imports.batch_time)
        st.dataframe(view.rename(columns=imports.BATCH_COLUMNS), hide_index=True, width="stretch")
        batch_id = st.selectbox("查看批次报告", history["id"].tolist(), key="history_batch")
        with session_scope() as session:
            batch = imports.get_batch(session, actor=actor, batch_id=int(batch_id))
            csv = imports.report_csv(batch)
        st.download_button("下载该批次报告（csv）", csv, file_name=f"导入报告_{batch_id}.csv", mime="text/csv",
                           key="history_download")
