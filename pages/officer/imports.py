"""数据导入 — templates, dry run (mapping step, skipped rows, name checks, what will change), commit, history, undo."""

import streamlit as st

from core.importing import DIFF_STATES, IGNORE_LABEL, department_columns
from core.spreadsheet import write_csv
from db.session import session_scope
from services import imports
from services.errors import Conflict, ServiceError
from services.model_versions import current_model
from ui import uploads
from ui.flash import show_flash
from ui.guards import require_role
from ui.service_call import REFUSED, call_service, show_refusal
from ui.tables import show_table
from ui.text import plain
from ui.widgets import year_input

actor = require_role("officer", "admin")

# What a dry run was asked to read: kept with its report (and csv, accepted matches) under DRY.
REQUEST = ("data", "name", "sheet", "department", "year", "column_map", "ignore")
DRY = "import_dry_run"
SHEETS = "import_sheets"  # (file name, size, [sheet names]) when the workbook has several data sheets
FLASH = "import_flash"
with session_scope() as _session:
    DEPTS = imports.department_choices(_session)  # the active model's departments (its sources), then 综合
PROFILES = imports.profile_choices()  # public and shared sources (企查查, 专利清单 …), offered beside them
DIFF_SHOWN_ON_SCREEN = 1000
CHOOSE = "（请选择）"

st.title("数据导入")
show_flash(FLASH)

tab_import, tab_template, tab_history = st.tabs(["导入数据", "下载模板", "导入记录"])

with tab_template:
    dept_t = st.selectbox("部门", DEPTS, key="template_department")
    with session_scope() as session:
        template = imports.template_xlsx(session, actor=actor, department=dept_t)
    st.download_button(
        f"下载{dept_t}导入模板（xlsx）",
        template,
        file_name=f"{dept_t}导入模板.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="template_download",
    )
    st.caption(
        "模板含“数据”工作表、每个列表类指标一个工作表（每行一项）和“填写说明”；表头可写中文名称、常用简称或指标代码。"
    )


def _dry_run(request: dict, list_mode: str | None, accepted: dict | None = None) -> None:
    """Check a file without writing (``request``: its data, name and sheet, the department, year, column
    mapping and ignored columns); the report and the request are kept under DRY for the next steps."""

    def check(session) -> tuple:  # noqa: ANN001 - the call's db session
        report = imports.dry_run_import(
            session,
            actor=actor,
            department=request["department"],
            year=request["year"],
            file_name=request["name"],
            data=request["data"],
            column_map=request["column_map"] or None,
            ignore=request["ignore"] or None,
            list_mode=list_mode,
            sheet=request["sheet"],
            accepted_matches=accepted or None,
        )
        return report, imports.report_csv(imports.get_batch(session, actor=actor, batch_id=report.batch_id))

    def refused(exc: ServiceError) -> None:
        # Shown after the rerun (a re-run dry run after mapping reruns the page at once); the message
        # may quote the file's headers and sheet names: text, never markup.
        st.session_state.pop(DRY, None)
        if isinstance(exc, imports.SheetChoiceRequired):
            st.session_state[SHEETS] = (request["name"], len(request["data"]), exc.sheets)
            st.session_state[FLASH] = ("warning", plain(f"{exc}：请在上方选择工作表后再点“试导入”。"))
        else:
            st.session_state[FLASH] = ("error", plain(exc))
        st.rerun()

    report, csv = call_service(check, on_refusal=refused)  # a refusal reruns the page
    st.session_state[DRY] = {**request, "report": report, "csv": csv, "accepted": dict(accepted or {})}
    if report.other_sheets and request["sheet"] is None:  # read the active one; offer the others
        st.session_state[SHEETS] = (
            request["name"],
            len(request["data"]),
            [report.sheet, *report.other_sheets],
        )


def _dry_run_again(dry: dict, list_mode: str | None, accepted: dict | None = None, **changed: object) -> None:
    """The last dry run's file once more, with another list mode, accepted matches or column mapping."""
    request = {key: dry.get(key) for key in REQUEST}
    _dry_run({**request, **changed}, list_mode, accepted)


with tab_import:
    c1, c2 = st.columns(2)
    department = c1.selectbox(
        "部门或数据来源",
        [*DEPTS, *PROFILES],
        key="import_department",
        format_func=lambda d: f"数据来源：{d}" if d in PROFILES else d,
    )
    year = year_input("数据年度", container=c2, key="import_year")
    uploads.allow(st.get_option("server.maxUploadSize"))  # this page accepts the server-wide size
    upload = st.file_uploader(
        "上传文件（xlsx、xls、et、csv、txt；UTF-8 或 GBK；不超过 50 MB）",
        # Read by content, never by the name: a WPS .et, Excel's "Unicode 文本" (.txt) and an .ods reach the
        # reader, which reads them or says in Chinese how to save them (the browser's refusal is English).
        type=["xlsx", "xls", "et", "csv", "txt", "ods"],
        key="import_file",
    )
    sheet_choices = st.session_state.get(SHEETS)
    sheet = None
    if upload is not None and sheet_choices and sheet_choices[:2] == (upload.name, upload.size):
        sheet = st.selectbox("要导入的工作表（文件中有多个数据工作表）", sheet_choices[2], key="import_sheet")
    if upload is not None:
        found = imports.recognise_profile(upload.getvalue(), upload.name)
        if found and found != department:
            st.info(f"该文件的表头与数据来源“{found}”一致，可在上方选择“数据来源：{found}”。")
    if st.button("试导入（只检查，不写入）", disabled=upload is None, type="primary"):
        request = {"data": upload.getvalue(), "name": upload.name, "sheet": sheet}
        _dry_run(
            {**request, "department": department, "year": int(year), "column_map": {}, "ignore": []}, None
        )

    dry = st.session_state.get(DRY)
    if dry:
        report = dry["report"]
        st.subheader("试导入结果")
        st.text(f"{report.file_name}（{report.department} · {report.year} 年度）：{report.summary()}")
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("数据行", report.row_count)
        m2.metric("无问题的行", report.accepted_count)
        m3.metric("问题", report.error_count)
        m4.metric("待核实（不影响导入）", report.flagged_count)
        for note in report.notes:
            st.text("· " + note)
        if report.ignored_columns:
            st.text("不导入的列：" + "、".join(report.ignored_columns))

        # ---- mapping step: every column that looks like data is mapped or marked 不导入
        if report.unmapped:
            st.warning(
                f"{len(report.unmapped)} 列看似数据，但没有对应到指标。请为每列选择对应的指标，或选“{IGNORE_LABEL}”，"
                "然后重新试导入。"
            )
            with session_scope() as session:
                cols = department_columns(current_model(session), dry["department"])
            labels = {c.code: f"{c.name}（{c.code}）" for c in cols}
            choices: dict[str, str] = {}
            for i, u in enumerate(report.unmapped):
                suggested = [s["code"] for s in u["suggestions"]]
                options = [CHOOSE, *suggested, IGNORE_LABEL, *(c for c in labels if c not in suggested)]
                st.text(f"列“{u['header']}”对应：")  # a file's header is user text: never markup
                choices[u["header"]] = st.selectbox(
                    "对应指标",
                    options,
                    key=f"map_{i}",
                    label_visibility="collapsed",
                    format_func=lambda o, s=suggested: (
                        o
                        if o in (CHOOSE, IGNORE_LABEL)
                        else labels.get(o, o) + ("（建议）" if o in s else "")
                    ),
                )
            ready = all(v != CHOOSE for v in choices.values())
            if st.button("按以上对应重新试导入", disabled=not ready, key="remap_button"):
                column_map = dict(dry["column_map"])
                ignore = list(dry["ignore"])
                for header, choice in choices.items():
                    if choice == IGNORE_LABEL:
                        ignore.append(header)
                    else:
                        column_map[header] = choice
                _dry_run_again(dry, report.list_mode, column_map=column_map, ignore=ignore)
                st.rerun()

        if report.skipped:
            with st.expander(f"已跳过 {len(report.skipped)} 行（合计、注释、单位行、空行）"):
                show_table(report.skipped_frame(), key="skipped_table")
        if report.errors:
            st.error(f"发现 {report.error_count} 处问题，整批不能导入。请按下表修改后重新上传。")
            show_table(report.errors_frame(), key="errors_table")
        if report.flags:
            st.warning(f"{report.flagged_count} 个数值明显偏离同阶段常见范围，将导入并标记待核实。")
            show_table(report.flags_frame(), key="flags_table")
        st.download_button(
            "下载问题报告（csv）",
            dry["csv"],
            file_name=f"导入报告_{report.batch_id}.csv",
            mime="text/csv",
            key="report_download",
        )

        # ---- list sheets: replace or add, an explicit choice
        list_mode = report.list_mode
        if report.list_codes:
            modes = list(imports.LIST_MODES)
            picked = st.radio(
                "列表类指标的导入方式",
                modes,
                index=modes.index(list_mode) if list_mode in modes else None,
                format_func=imports.LIST_MODES.get,
                horizontal=True,
                key="list_mode",
            )
            if picked != list_mode and picked is not None:
                _dry_run_again(dry, picked)
                st.rerun()

        # ---- fuzzy name matches wait for the officer (never accepted silently)
        if report.pending:
            st.warning(
                f"{len(report.pending)} 行的企业名称与已登记企业相近但不完全一致，未导入；请逐行确认："
            )
            picks: dict[int, str] = {}
            for p in report.pending:
                options = ["", *(c["credit_code"] for c in p["candidates"])]
                labels = {
                    c["credit_code"]: f"{c['name']}（{c['credit_code']}，相似度 {c['score']:g}）"
                    for c in p["candidates"]
                }
                st.text(f"第 {p['row']} 行：{p['name']}")
                picks[p["row"]] = st.selectbox(
                    "对应企业",
                    options,
                    key=f"match_{p['row']}",
                    label_visibility="collapsed",
                    format_func=lambda o, lb=labels: lb.get(o, "不确认（本行不导入）"),
                )
            if st.button("按以上确认重新试导入", key="accept_matches"):
                accepted = {**dry.get("accepted", {}), **{r: c for r, c in picks.items() if c}}
                _dry_run_again(dry, report.list_mode, accepted)
                st.rerun()
        if report.matches:
            counts: dict[str, int] = {}
            for m in report.matches:
                counts[m["method"]] = counts.get(m["method"], 0) + 1
            st.text("企业识别方式：" + "，".join(f"{k} {v} 行" for k, v in counts.items()))

        # ---- name and code disagree
        accept_mismatch = True
        if report.mismatches:
            st.warning(f"{len(report.mismatches)} 行的企业名称属于另一家已登记企业，与信用代码不一致：")
            show_table(report.mismatch_frame(), key="mismatch_table")
            accept_mismatch = st.checkbox("我已核对：以上各行按统一社会信用代码导入", key="accept_mismatch")

        # ---- what will change
        if report.ok and report.diff is not None:
            st.subheader("将要发生的变化")
            counts = report.diff_counts
            d1, d2, d3 = st.columns(3)
            for box, state in zip((d1, d2, d3), DIFF_STATES, strict=True):
                box.metric(state, counts.get(state, 0))
            f1, f2, f3 = st.columns(3)
            status = f1.selectbox("变化", ["全部", *DIFF_STATES], key="diff_status")
            names = report.diff_codes()
            code = f2.selectbox(
                "指标",
                ["全部", *names],
                key="diff_code",
                format_func=lambda c: c if c == "全部" else names.get(c, c),
            )
            query = f3.text_input("企业名称或信用代码", key="diff_query")
            filters = (None if status == "全部" else status, None if code == "全部" else code, query)
            view = report.diff_frame(*filters, limit=DIFF_SHOWN_ON_SCREEN + 1)
            show_table(view.head(DIFF_SHOWN_ON_SCREEN), key="diff_table", empty="没有符合筛选条件的变化。")
            if len(view) > DIFF_SHOWN_ON_SCREEN:
                st.caption(f"屏幕上显示前 {DIFF_SHOWN_ON_SCREEN} 行；完整内容请下载。")
            # The full (filtered) download is built only when asked for: 100,000 rows × 30 columns is 3M lines.
            if st.button("生成变化明细下载（csv）", key="diff_prepare"):
                st.session_state["import_diff_csv"] = (
                    report.batch_id,
                    write_csv(report.diff_frame(*filters)),
                )
            prepared = st.session_state.get("import_diff_csv")
            if prepared and prepared[0] == report.batch_id:
                st.download_button(
                    "下载变化明细（csv）",
                    prepared[1],
                    file_name=f"导入变化_{report.batch_id}.csv",
                    mime="text/csv",
                    key="diff_download",
                )

        if report.ok:
            confirm = True
            if report.duplicate_of:
                st.warning(
                    f"同一文件已于 {imports.batch_time(report.duplicate_of['committed_at'])} 导入过"
                    f"（批次 #{report.duplicate_of['batch_id']}）。"
                )
                confirm = st.checkbox("我确认需要再次导入此文件", key="confirm_duplicate")
            blocked = not confirm or not accept_mismatch or report.needs_list_mode
            if st.button("确认导入", type="primary", disabled=blocked, key="commit_button"):
                done = call_service(
                    imports.commit_import,
                    on_refusal=lambda exc: show_refusal(
                        exc, kind="warning" if isinstance(exc, Conflict) else "error"
                    ),
                    actor=actor,
                    data=dry["data"],
                    batch_id=report.batch_id,
                    sheet=dry.get("sheet"),
                    confirm_duplicate=bool(report.duplicate_of),
                    column_map=dry["column_map"] or None,
                    ignore=dry["ignore"] or None,
                    list_mode=report.list_mode,
                    accept_name_mismatch=bool(report.mismatches),
                    accepted_matches=dry.get("accepted") or None,
                )
                if done is not REFUSED:
                    st.session_state.pop(DRY, None)
                    counts = "，".join(f"{k} {v}" for k, v in done.diff_counts.items())
                    st.session_state[FLASH] = (
                        "success",
                        f"已导入批次 #{done.batch_id}：{done.row_count} 行，"
                        f"{done.value_count} 个数值（{counts}）。",
                    )
                    st.rerun()

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
        show_table(view.rename(columns=imports.BATCH_COLUMNS), key="history_table")
        batch_id = st.selectbox(
            "查看批次", history["id"].tolist(), key="history_batch", format_func=lambda b: f"批次 #{b}"
        )
        with session_scope() as session:
            batch = imports.get_batch(session, actor=actor, batch_id=int(batch_id))
            csv = imports.report_csv(batch)
            status = batch.status
        st.download_button(
            "下载该批次报告（csv）",
            csv,
            file_name=f"导入报告_{batch_id}.csv",
            mime="text/csv",
            key="history_download",
        )
        if status == "committed":
            st.markdown("**撤销该批次**")
            st.caption(
                "被该批次替换的数值恢复为当前值；之后已被其他批次或审核通过的自报值替换的数值保持不变并列出。"
                "已计算的积分批次不受影响。"
            )
            reason = st.text_input("撤销原因", key="undo_reason", max_chars=200)
            sure = st.checkbox(f"确认撤销批次 #{batch_id}", key=f"undo_confirm_{batch_id}")
            if st.button("撤销该批次", disabled=not sure, key="undo_button"):
                undone = call_service(
                    imports.undo_batch, actor=actor, batch_id=int(batch_id), reason=reason.strip() or None
                )
                if undone is not REFUSED:
                    st.success(
                        f"已撤销批次 #{undone.batch_id}：{undone.reverted} 个数值不再有效，"
                        f"{undone.restored} 个原有数值恢复为当前值。"
                    )
                    if len(undone.left_alone):
                        st.warning(f"{len(undone.left_alone)} 个数值之后已被替换，保持不变：")
                        show_table(undone.left_alone_frame(), key="left_alone")
