"""数据填报 — the items only the enterprise can report, with evidence; department values shown read-only."""

import streamlit as st

from core.self_report_rules import form_specs
from db.session import session_scope
from services import self_report as service
from services.errors import ServiceError
from services.service_requests import catalogue
from ui import formats
from ui.flash import show_flash
from ui.guards import require_role
from ui.text import plain

actor = require_role("enterprise")
enterprise_id = actor.enterprise_id
MSG = "_sr_messages"


def _say(kind: str, text: str, problems: list | None = None) -> None:
    st.session_state[MSG] = (kind, text, problems or [])


def _run(action, success: str | None = None) -> None:  # noqa: ANN001 - a closure over the session
    try:
        with session_scope() as session:
            action(session)
    except ServiceError as exc:
        _say("error", str(exc), getattr(exc, "problems", []))
    else:
        if success:
            _say("success", success)


with session_scope() as session:
    years = service.open_years(session, actor=actor, enterprise_id=enterprise_id)
    model = service.active_model(session)
    services_catalogue = catalogue(session, actor=actor)

st.title("数据填报")
year = st.selectbox("填报年度", years, format_func=lambda y: f"{y} 年度", key="sr_year") if len(years) > 1 else years[0]

with session_scope() as session:
    submission = service.get_or_create_draft(session, actor=actor, enterprise_id=enterprise_id, year=year)
    attachments = service.list_attachments(session, actor=actor, submission_id=submission.id)
    department = service.department_context(session, actor=actor, enterprise_id=enterprise_id, year=year)

specs = form_specs(model)
items = dict(submission.items or {})
editable = submission.state in service.EDITABLE_STATES
sid, version = submission.id, submission.version
evidence_by_key: dict[str, list] = {}
for a in attachments:
    evidence_by_key.setdefault(a.item_code or "", []).append(a)

state_label = formats.submission_state(submission.state)
if submission.state == "returned":
    st.error(f"**已退回**：{plain(submission.reason) or '请按审核意见修改后重新提交。'}", icon=":material/undo:")
    for code, comment in (submission.field_comments or {}).items():
        name = next((s.name for s in specs if s.code == code), code)
        st.warning(f"**{plain(name)}**：{plain(comment)}")
elif submission.state == "submitted":
    st.info(f"已提交，等待审核（提交时间 {formats.day(submission.submitted_at)}）。审核期间不能修改。",
            icon=":material/hourglass_top:")
elif submission.state == "approved":
    st.success(f"已审核通过（{formats.day(submission.reviewed_at)}），数据已计入积分。", icon=":material/verified:")
else:
    st.caption(f"状态：{state_label}。填写后可先保存草稿，确认无误再提交审核。")

message = show_flash(MSG)
if message:
    for problem in message[2][1:]:
        st.caption(f"· {problem['problem']}")


# ---------------------------------------------------------------- callbacks (run before the page renders)
def _save_numbers() -> None:
    new_items = dict(items)
    for spec in specs:
        if spec.kind == "number":
            new_items[spec.code] = st.session_state.get(f"num_{spec.code}")
    needs = st.session_state.get("sr_needs", [])
    _run(lambda s: service.save_draft(s, actor=actor, submission_id=sid, items=new_items, service_needs=needs,
                                      version=version), "草稿已保存。")


def _add_item(code: str) -> None:
    spec = next(s for s in specs if s.code == code)
    row = {f.key: st.session_state.get(f"new_{code}_{f.key}") for f in spec.fields}
    new_items = dict(items)
    new_items[code] = [*list(items.get(code) or []), row]
    _run(lambda s: service.save_draft(s, actor=actor, submission_id=sid, items=new_items,
                                      service_needs=submission.service_needs, version=version),
         f"已添加到“{spec.name}”，请为该项上传证明材料。")


def _remove_item(code: str, uid: str) -> None:
    new_items = dict(items)
    new_items[code] = [r for r in items.get(code) or [] if r.get("uid") != uid]
    _run(lambda s: service.save_draft(s, actor=actor, submission_id=sid, items=new_items,
                                      service_needs=submission.service_needs, version=version), "已删除。")


def _upload(key: str, widget: str) -> None:
    file = st.session_state.get(widget)
    if file is None:
        _say("error", "请先选择文件。")
        return
    content = file.getvalue()
    _run(lambda s: service.add_attachment(s, actor=actor, submission_id=sid, item_code=key, file_name=file.name,
                                          content=content), f"已上传“{file.name}”。")


def _remove_attachment(attachment_id: int) -> None:
    _run(lambda s: service.remove_attachment(s, actor=actor, attachment_id=attachment_id), "材料已删除。")


def _submit() -> None:
    _run(lambda s: service.submit(s, actor=actor, submission_id=sid, version=version), "已提交审核。")


# ---------------------------------------------------------------- numbers and service needs
st.subheader("基本数据")
with st.form("sr_numbers"):
    for spec in specs:
        if spec.kind != "number":
            continue
        current = items.get(spec.code)
        st.number_input(
            f"{spec.name}（{spec.unit}）", min_value=0.0, max_value=100.0 if spec.unit == "%" else None,
            value=float(current) if isinstance(current, int | float) else None,
            step=1.0, format="%.0f" if spec.integer else "%.2f", key=f"num_{spec.code}", help=spec.help,
            disabled=not editable,
        )
        supplied = department.get(spec.code)
        if supplied is not None:
            st.caption(f"已由{supplied['source']}部门提供：{supplied['value']}（{supplied['year']} 年），仅供参考。")
        if spec.max_field and spec.max_field in department:
            ref = department[spec.max_field]
            st.caption(f"{spec.max_field_label}（已由{ref['source']}部门提供）：{ref['value']:g}，填报值不能超过此数。")
    codes = [c for c, _ in services_catalogue]
    labels = dict(services_catalogue)
    st.multiselect("服务需求", codes, default=[c for c in submission.service_needs or [] if c in labels],
                   format_func=lambda c: labels.get(c, c), key="sr_needs", disabled=not editable)
    st.form_submit_button("保存草稿", on_click=_save_numbers, disabled=not editable)

# ---------------------------------------------------------------- list items with evidence
for spec in specs:
    if spec.kind != "items":
        continue
    st.subheader(spec.name)
    st.caption(spec.help)
    supplied = department.get(spec.code)
    if supplied is not None and supplied["value"]:
        st.caption(f"已由{supplied['source']}部门提供的记录会自动计入，无需重复填报。")
    rows = items.get(spec.code) or []
    if not rows:
        st.caption("暂无填报项。")
    for position, row in enumerate(rows, start=1):
        uid = row.get("uid", "")
        key = spec.evidence_key(uid)
        summary = "，".join(f"{f.label}：{row.get(f.key)}" for f in spec.fields if row.get(f.key) not in (None, ""))
        with st.container(border=True):
            st.markdown(f"**{position}.** {plain(summary)}")
            files = evidence_by_key.get(key, [])
            for a in files:
                cols = st.columns([4, 1])
                cols[0].caption(f"📎 {plain(a.file_name)}（{formats.file_size(a.size)}）")
                if editable:
                    cols[1].button("删除", key=f"rm_att_{a.id}", on_click=_remove_attachment, args=(a.id,))
            if not files and spec.evidence_required:
                st.caption(":red[尚未上传证明材料]")
            if editable:
                with st.form(f"ev_form_{key}", clear_on_submit=True):
                    st.file_uploader("证明材料（PDF/JPG/PNG，≤10 MB）", type=["pdf", "jpg", "jpeg", "png"],
                                     key=f"ev_{key}")
                    st.form_submit_button("上传材料", on_click=_upload, args=(key, f"ev_{key}"))
                st.button("删除此项", key=f"rm_{key}", on_click=_remove_item, args=(spec.code, uid))
    if editable:
        with st.expander(f"添加{spec.name}", expanded=not rows), st.form(f"add_{spec.code}", clear_on_submit=True):
            for f in spec.fields:
                widget_key = f"new_{spec.code}_{f.key}"
                label = f.label + ("（必填）" if f.required else "")
                if f.kind in ("level", "choice"):
                    st.selectbox(label, f.options, index=None, placeholder="请选择", key=widget_key)
                elif f.kind == "year":
                    low = year - (spec.years_back if spec.years_back is not None else 10)
                    st.selectbox(label, list(range(year, low - 1, -1)), index=None, placeholder="请选择",
                                 key=widget_key)
                else:
                    st.text_input(label, key=widget_key, max_chars=200)
            st.form_submit_button("添加", on_click=_add_item, args=(spec.code,))

# ---------------------------------------------------------------- submit
st.divider()
if editable:
    label = "重新提交审核" if submission.state == "returned" else "提交审核"
    st.button(label, type="primary", on_click=_submit, key="sr_submit")
    st.caption("提交前请确认每个填报项都已上传证明材料；提交后在审核完成前不能修改。")
