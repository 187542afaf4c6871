"""填报审核 — filter the queue, open a report (items, evidence, diff), approve / return, bulk approve."""

from functools import partial

import streamlit as st

from core.workflows import SUBMISSION
from db.session import session_scope
from services import review
from ui.confirm import confirm
from ui.evidence import show_evidence
from ui.filters import day_range
from ui.flash import show_flash
from ui.formats import day, submission_state
from ui.guards import require_role
from ui.row_selection import selection_key
from ui.service_call import REFUSED, call_service
from ui.tables import show_table
from ui.text import plain
from ui.widgets import multiselect

actor = require_role("officer", "admin")

FLASH = "review_flash"
FOCUS = (
    "review_focus"  # (submission id opened by 通过/退回并打开下一条, queue key and selection at that moment)
)
STATE_CHOICES = {s: SUBMISSION.labels[s] for s in ("submitted", "returned", "approved")}

st.title("填报审核")
show_flash(FLASH)

with session_scope() as session:
    options = review.filter_options(session, actor=actor)
    defaults = review.default_filters(session, actor=actor)

with st.container(border=True):
    f1, f2, f3, f4, f5 = st.columns([2, 1, 1, 2, 2])
    with f1:
        states = multiselect(
            "状态", list(STATE_CHOICES), default=list(defaults["states"]), format_func=STATE_CHOICES.get
        )
    year = f2.selectbox(
        "年度", [None, *options["years"]], format_func=lambda y: "全部" if y is None else str(y)
    )
    stage = f3.selectbox(
        "阶段",
        [None, *options["stages"]],
        format_func=lambda s: "全部" if s is None else options["stages"][s],
    )
    carrier = f4.selectbox(
        "载体",
        [None, *options["carriers"]],
        format_func=lambda c: "全部" if c is None else plain(options["carriers"][c]),
    )
    # No date bound unless the officer sets one: a report waiting for a decision is never hidden by
    # the default view, whatever the clocks of the servers and the database say.
    dates = (defaults["submitted_from"], defaults["submitted_to"])
    if f5.toggle("按提交日期筛选", key="review_by_date"):
        with session_scope() as session:
            suggested = review.date_filter_default(session, actor=actor)
        dates = day_range(f5, "提交日期", default=suggested, key="review_dates")
    search = st.text_input("搜索企业（名称或统一社会信用代码）", max_chars=60, key="review_search")

if dates is None:
    st.stop()
date_from, date_to = dates
filters = dict(states=states or None, year=year, stage=stage, carrier_id=carrier, search=search)
with session_scope() as session:
    queue = review.list_reviews(
        session, actor=actor, submitted_from=date_from, submitted_to=date_to, **filters
    )
    hidden = review.waiting_hidden_by_dates(
        session, actor=actor, submitted_from=date_from, submitted_to=date_to, **filters
    )

st.caption(f"共 {len(queue)} 条。勾选行可批量通过；只勾选一行时在下方打开详情。")
if hidden:
    st.caption(f"提交日期筛选隐去了 {hidden} 份待审核的填报；关闭“按提交日期筛选”即可看到全部待审核填报。")
view = (
    queue[
        [
            "id",
            "credit_code",
            "name",
            "carrier",
            "stage_name",
            "year",
            "state_label",
            "item_count",
            "submitted_at",
            "reviewer",
        ]
    ]
    .assign(submitted_at=queue["submitted_at"].map(day), carrier=queue["carrier"].replace("", "—"))
    .rename(
        columns={
            "id": "编号",
            "credit_code": "统一社会信用代码",
            "name": "企业名称",
            "carrier": "载体",
            "stage_name": "阶段",
            "year": "年度",
            "state_label": "状态",
            "item_count": "填报项数",
            "submitted_at": "提交时间",
            "reviewer": "审核人",
        }
    )
)
# Ticks belong to the reports they were made on: when the queue's rows change (a bulk approval takes the
# approved reports out) the table gets a new key and no report stays ticked by position (ui.row_selection).
queue_key = selection_key("review_queue", queue["id"].tolist())
event = show_table(view, key=queue_key, on_select="rerun", selection_mode="multi-row")
selected = queue.iloc[list(event.selection.rows)] if event and event.selection.rows else queue.iloc[0:0]

bulk = selected[selected["state"] == "submitted"]


def _bulk_approve(items: list[tuple[int, int]]) -> None:
    with session_scope() as session:
        result = review.bulk_approve(session, actor=actor, items=items)
    kind = "warning" if result.failed else "success"
    detail = "；".join(f"#{k}：{v}" for k, v in result.failed.items())
    st.session_state[FLASH] = (kind, result.message + (f"。{detail}" if detail else ""))


if st.button(f"批量通过所选（{len(bulk)} 条）", disabled=bulk.empty, type="primary"):
    names = bulk["name"].tolist()
    shown = "、".join(names[:5]) + (f" 等 {len(names)} 家" if len(names) > 5 else "")
    confirm(
        f"批量通过 {len(bulk)} 条填报？",
        [
            f"将通过：{shown}。",
            f"共 {int(bulk['item_count'].sum())} 个填报项写入数据（来源：自报），并在下一次计算积分时计入。",
            "通过后的填报锁定；如有错误，只能逐条“撤销通过”并说明理由。",
        ],
        confirm_label="确认通过",
        action=partial(_bulk_approve, list(zip(bulk["id"].tolist(), bulk["version"].tolist(), strict=True))),
    )

rows_now = tuple(event.selection.rows) if event else ()
focus = st.session_state.get(FOCUS)
if focus is not None:
    # the selection the decision was made with, or — the queue changed, so its ticks were cleared — none
    same_selection = focus[2] == rows_now if focus[1] == queue_key else rows_now == ()
    if not same_selection or not (queue["id"] == focus[0]).any():
        st.session_state.pop(FOCUS, None)  # the officer picked rows themselves, or the report left the queue
    else:
        selected = queue[queue["id"] == focus[0]]
if len(selected) != 1 and len(queue) == 1:
    selected = queue  # a search that finds one report opens it
if len(selected) != 1:
    st.info("勾选一行查看填报内容、证明材料和与上次通过值的对比。")
    st.stop()

submission_id = int(selected["id"].iloc[0])
with session_scope() as session:
    detail = review.get_review(session, actor=actor, submission_id=submission_id)
    files = [review.get_attachment(session, actor=actor, attachment_id=a["id"]) for a in detail.attachments]
sub = detail.submission
next_id = review.next_waiting(queue, sub.id)


def _decide(decision, message: str, open_next: bool = False, **fields: object) -> None:  # noqa: ANN001
    """``decision`` (a services.review function) on this report as shown; refused: said under the form.
    Done: the flash ``message``, and with ``open_next`` the next waiting report opened."""
    done = call_service(decision, actor=actor, submission_id=sub.id, expected_version=sub.version, **fields)
    if done is REFUSED:
        return
    if open_next and next_id is not None:
        st.session_state[FOCUS] = (next_id, queue_key, rows_now)
        name = queue.loc[queue["id"] == next_id, "name"].iloc[0]
        message += f"。已打开下一条：{plain(name)}"
    elif open_next:
        message += "。队列中已没有待审核的填报"
    st.session_state[FLASH] = ("success", message)
    st.rerun()


st.subheader(f"{plain(detail.enterprise_name)}（{detail.credit_code}）· {sub.year} 年度")
st.caption(
    f"状态：{submission_state(sub.state)} · 提交：{day(sub.submitted_at)} · 版本 {sub.version}"
    + (f" · 上次理由：{plain(sub.reason)}" if sub.reason else "")
)

items = detail.items.rename(
    columns={
        "code": "代码",
        "name": "指标",
        "unit": "单位",
        "value": "本次填报",
        "last_approved": "上次通过",
        "current": "当前生效值",
        "current_source": "来源",
        "changed": "有变化",
        "comment": "审核意见",
    }
)
show_table(items, key="review_items")

st.markdown("**证明材料**")
show_evidence(files, key="dl")  # the same display as 异议处理's evidence (ui.evidence)

if "approve" in detail.allowed_actions:
    a1, a2 = st.columns(2)
    with a1, st.form("approve_form"):
        st.markdown("**审核通过**：填报值写入数据（来源：自报）。")
        approve_only = st.form_submit_button("审核通过", type="primary")
        approve_next = st.form_submit_button(
            "通过并打开下一条", disabled=next_id is None, help="通过本条，并直接打开队列中的下一条待审核填报"
        )
        if approve_only or approve_next:
            _decide(review.approve, f"已通过：{plain(detail.enterprise_name)}", approve_next)
    with a2, st.form("return_form"):
        reason = st.text_area("退回理由（必填）", max_chars=500, key=f"reason_{sub.id}")
        comments = {}
        for row in detail.items.itertuples():
            comments[row.code] = st.text_input(
                f"{row.name}（{row.code}）意见",
                value=row.comment or "",
                key=f"c_{sub.id}_{row.code}",
                max_chars=200,
            )
        return_only = st.form_submit_button("退回企业修改")
        return_next = st.form_submit_button(
            "退回并打开下一条", disabled=next_id is None, help="退回本条，并直接打开队列中的下一条待审核填报"
        )
        if return_only or return_next:
            _decide(
                review.return_submission,
                f"已退回：{plain(detail.enterprise_name)}",
                return_next,
                reason=reason,
                field_comments=comments,
            )
elif "unapprove" in detail.allowed_actions:
    with st.form("unapprove_form"):
        reason = st.text_area("撤销通过的理由（必填）", max_chars=500)
        if st.form_submit_button("撤销通过"):
            _decide(review.unapprove, "已撤销通过，填报已退回企业。", reason=reason)
else:
    st.caption("该填报当前无需审核操作。")
