"""数据填报 — the items only the enterprise can report, with evidence; department values shown read-only."""

import streamlit as st

from core.self_report_rules import form_specs
from db.session import session_scope
from services import self_report as service
from services.errors import ServiceError
from services.service_requests import catalogue
from ui import formats, pending
from ui.guards import require_role
from ui.service_call import REFUSED, call_service
from ui.text import plain
from ui.widgets import file_uploader, multiselect, selectbox

actor = require_role("enterprise")
enterprise_id = actor.enterprise_id
UPLOADS = "_sr_uploads"  # bumped after each upload: a new uploader key empties the chooser
# A save's message is kept in a holder, not written to the session state after the save: a rerun that
# starts meanwhile (a second click) would stop the callback there and lose it (ui/pending.py). A run
# waits for a save still under way, so it shows the draft as saved, with the version the save left.
outcome = pending.settle(pending.holder("_sr_outcome"))


def _say(kind: str, text: str, problems: list | None = None, *, where: str = "top") -> None:
    """A message shown once, next to where the user acted (``where``: "top", "submit" or an item key)."""
    outcome["message"] = (kind, text, problems or [], where)


def _run(action, success: str | None = None, *, where: str = "top") -> None:  # noqa: ANN001 - a closure
    def refused(exc: ServiceError) -> None:
        _say("error", str(exc), getattr(exc, "problems", []), where=where)

    with pending.under_way(outcome):
        if call_service(action, on_refusal=refused) is not REFUSED and success:
            _say("success", success, where=where)


def _show_message(where: str) -> None:
    message = outcome.get("message")
    if not message or message[3] != where:
        return
    outcome.pop("message", None)
    getattr(st, message[0])(message[1])
    for problem in message[2][1:]:
        st.caption(f"· {plain(problem['problem'])}")


with session_scope() as session:
    years = service.open_years(session, actor=actor, enterprise_id=enterprise_id)
    model = service.active_model(session)
    services_catalogue = catalogue(session, actor=actor)

st.title("数据填报")
if len(years) > 1:
    year = selectbox("填报年度", years, format_func=lambda y: f"{y} 年度", key="sr_year")
else:
    year = years[0]
st.markdown(f"正在填报 **{year} 年度**的数据：审核通过后计入 {year} 年度企业创新积分。")

with session_scope() as session:
    submission = service.get_or_create_draft(session, actor=actor, enterprise_id=enterprise_id, year=year)
    attachments = service.list_attachments(session, actor=actor, submission_id=submission.id)
    department = service.department_context(session, actor=actor, enterprise_id=enterprise_id, year=year)
    counted = service.counted_in(session, actor=actor, submission=submission)
    correctable = submission.state == "approved" and not service.reporting_closed(session, year=year)

specs = form_specs(model)
items = dict(submission.items or {})
editable = submission.state in service.EDITABLE_STATES
sid, version = submission.id, submission.version
evidence_by_key: dict[str, list] = {}
for a in attachments:
    evidence_by_key.setdefault(a.item_code or "", []).append(a)

state_label = formats.submission_state(submission.state)
if submission.state == "returned":
    st.error(
        f"**已退回**：{plain(submission.reason) or '请按审核意见修改后重新提交。'}", icon=":material/undo:"
    )
    for code, comment in (submission.field_comments or {}).items():
        name = next((s.name for s in specs if s.code == code), code)
        st.warning(f"**{plain(name)}**：{plain(comment)}")
elif submission.state == "submitted":
    st.info(
        f"已提交，等待审核（提交时间 {formats.day(submission.submitted_at)}）。审核期间不能修改。",
        icon=":material/hourglass_top:",
    )
elif submission.state == "approved":
    st.success(f"已审核通过（{formats.day(submission.reviewed_at)}）。{counted}", icon=":material/verified:")
    if correctable:
        # the form path to correct a value of the year under evaluation (公示 included)
        with st.expander("申请更正本年度填报", expanded=False), st.form("correct_form"):
            st.caption(
                f"{year} 年度积分定稿前可更正：填报重新打开为草稿，修改后再次提交审核；"
                "审核通过前，原已通过的数值继续有效。"
            )
            reason = st.text_area("更正原因（必填）", max_chars=500, key="correct_reason")
            if st.form_submit_button("申请更正", type="primary"):
                _run(
                    lambda s: service.request_correction(
                        s, actor=actor, submission_id=submission.id, version=submission.version, reason=reason
                    ),
                    "填报已重新打开，请修改后再次提交审核。",
                )
                st.rerun()
else:
    st.caption(f"状态：{state_label}。填写后可先保存草稿，确认无误再提交审核。")

_show_message("top")


# ---------------------------------------------------------------- callbacks (run before the page renders)
def _range_hint(spec) -> str:  # noqa: ANN001 - a core.self_report_rules spec
    if spec.rate:
        return ""
    return "请填写 0–100 之间的数（例如 45 表示 45%）。" if spec.unit == "%" else "请填写 0 或正数。"


def _save_numbers() -> None:
    new_items = dict(items)
    for spec in specs:
        if spec.kind == "number":
            new_items[spec.code] = st.session_state.get(f"num_{spec.code}")
    needs = st.session_state.get("sr_needs", [])
    _run(
        lambda s: service.save_draft(
            s, actor=actor, submission_id=sid, items=new_items, service_needs=needs, version=version
        ),
        "草稿已保存。",
    )


def _save_items(new_items: dict, done: str) -> None:
    """Save the draft with ``new_items`` (the service needs as they are) and flash ``done``."""
    _run(
        lambda s: service.save_draft(
            s,
            actor=actor,
            submission_id=sid,
            items=new_items,
            service_needs=submission.service_needs,
            version=version,
        ),
        done,
    )


def _add_item(code: str) -> None:
    spec = next(s for s in specs if s.code == code)
    row = {f.key: st.session_state.get(f"new_{code}_{f.key}") for f in spec.fields}
    new_items = dict(items)
    new_items[code] = [*list(items.get(code) or []), row]
    _save_items(new_items, f"已添加到“{spec.name}”，请为该项上传证明材料。")


def _remove_item(code: str, uid: str) -> None:
    new_items = dict(items)
    new_items[code] = [r for r in items.get(code) or [] if r.get("uid") != uid]
    _save_items(new_items, "已删除。")


def _upload(key: str, widget: str) -> None:
    """Choosing a file uploads it (no second click); a fresh widget key then empties the chooser."""
    file = st.session_state.get(widget)
    if file is None:
        return
    content = file.getvalue()
    _run(
        lambda s: service.add_attachment(
            s, actor=actor, submission_id=sid, item_code=key, file_name=file.name, content=content
        ),
        f"已上传“{file.name}”。",
        where=key,
    )
    st.session_state[UPLOADS] = st.session_state.get(UPLOADS, 0) + 1


def _remove_attachment(attachment_id: int) -> None:
    _run(lambda s: service.remove_attachment(s, actor=actor, attachment_id=attachment_id), "材料已删除。")


def _submit() -> None:
    _run(
        lambda s: service.submit(s, actor=actor, submission_id=sid, version=version),
        "已提交审核。",
        where="submit",
    )


# ---------------------------------------------------------------- numbers and service needs
st.subheader("基本数据")
with st.form("sr_numbers"):
    for spec in specs:
        if spec.kind != "number":
            continue
        current = items.get(spec.code)
        # No min_value/max_value: Streamlit would answer an out-of-range value with an English tooltip.
        # The range is stated here and checked on 提交 by core.self_report_rules (Chinese messages).
        st.number_input(
            f"{spec.name}（{spec.unit}）",
            value=float(current) if isinstance(current, int | float) else None,
            step=1.0,
            format="%.0f" if spec.integer else "%.2f",
            key=f"num_{spec.code}",
            help="\n\n".join(t for t in (spec.help, _range_hint(spec)) if t),
            disabled=not editable,
        )
        supplied = department.get(spec.code)
        if supplied is not None:
            st.caption(
                f"已由{supplied['source']}部门提供：{supplied['value']}（{supplied['year']} 年），仅供参考。"
            )
        if spec.max_field and spec.max_field in department:
            ref = department[spec.max_field]
            st.caption(
                f"{spec.max_field_label}（已由{ref['source']}部门提供）：{ref['value']:g}，填报值不能超过此数。"
            )
    codes = [c for c, _ in services_catalogue]
    labels = dict(services_catalogue)
    multiselect(
        "服务需求",
        codes,
        default=[c for c in submission.service_needs or [] if c in labels],
        format_func=lambda c: labels.get(c, c),
        key="sr_needs",
        disabled=not editable,
    )
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
        summary = "，".join(
            f"{f.label}：{row.get(f.key)}" for f in spec.fields if row.get(f.key) not in (None, "")
        )
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
                widget = f"ev_{key}_{st.session_state.get(UPLOADS, 0)}"
                file_uploader(
                    "上传证明材料（PDF/JPG/PNG，≤10 MB，选择文件即上传）",
                    key=widget,
                    on_change=_upload,
                    args=(key, widget),
                )
                _show_message(key)
                st.button("删除此项", key=f"rm_{key}", on_click=_remove_item, args=(spec.code, uid))
    if editable:
        with (
            st.expander(f"添加{spec.name}", expanded=not rows),
            st.form(f"add_{spec.code}", clear_on_submit=True),
        ):
            for f in spec.fields:
                widget_key = f"new_{spec.code}_{f.key}"
                label = f.label + ("（必填）" if f.required else "")
                if f.kind in ("level", "choice"):
                    selectbox(label, f.options, index=None, key=widget_key)
                elif f.kind == "year":
                    low = year - (spec.years_back if spec.years_back is not None else 10)
                    selectbox(label, list(range(year, low - 1, -1)), index=None, key=widget_key)
                else:
                    st.text_input(label, key=widget_key, max_chars=200)
            st.form_submit_button("添加", on_click=_add_item, args=(spec.code,))

# ---------------------------------------------------------------- submit
st.divider()
if editable:
    label = "重新提交审核" if submission.state == "returned" else "提交审核"
    st.button(label, type="primary", on_click=_submit, key="sr_submit")
    _show_message("submit")
    st.caption(f"提交 {year} 年度的填报前，请确认每个填报项都已上传证明材料；提交后在审核完成前不能修改。")
else:
    _show_message("submit")
