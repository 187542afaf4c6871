"""智能助手（工作人员）— ask (about a chosen enterprise or the policies), improve the answers (unanswered and
down-voted questions → a synonym or an answer clause), see 免申即享 confirmations, manage policy texts."""

import streamlit as st

from db.session import session_scope
from services import assistant as svc
from services import assistant_curation, policy_calculator
from services.search import find_enterprises
from ui import formats
from ui.assistant import ask_into, calculator, show_message
from ui.flash import show_flash
from ui.guards import require_role
from ui.service_call import REFUSED, call_and_flash, call_service
from ui.tables import show_table
from ui.text import plain
from ui.widgets import file_uploader, selectbox

actor = require_role("officer", "admin")
HISTORY = "_staff_assistant_history"
FLASH = "_staff_assistant_flash"

st.title("智能助手")
show_flash(FLASH)
svc.warm_up(session_scope)
ask_tab, improve_tab, confirm_tab, texts_tab = st.tabs(["问答", "待改进问题", "免申即享确认", "政策文本"])

with ask_tab:
    query = st.text_input(
        "企业（可选：按名称、拼音首字母或统一社会信用代码查找）", key="as_staff_query", max_chars=60
    )
    enterprise_id = None
    if query.strip():
        with session_scope() as session:
            found = find_enterprises(session, actor=actor, query=query, limit=10)
        if found.empty:
            st.caption("未找到匹配的企业。")
        else:
            options = dict(
                zip(
                    found["enterprise_id"].astype(int),
                    found["name"] + "（" + found["credit_code"] + "）",
                    strict=True,
                )
            )
            enterprise_id = selectbox(
                "按该企业的数据回答", list(options), format_func=lambda e: options[e], key="as_staff_pick"
            )
    history: list = st.session_state.setdefault(HISTORY, [])
    with st.form("as_staff_form", clear_on_submit=True, border=False):
        question = st.text_input("问题", max_chars=300, placeholder="例如：离下一个榜单还差多少分")
        asked = st.form_submit_button("提问", type="primary")
    if asked and question.strip():
        ask_into(history, actor=actor, question=question, enterprise_id=enterprise_id)
    for index, message in enumerate(reversed(history[-20:])):
        show_message(message, actor=actor, index=index)
    if enterprise_id is not None:
        with st.expander("该企业的政策计算器", expanded=False), session_scope() as session:
            calculator(
                policy_calculator.policy_calculator(session, actor=actor, enterprise_id=enterprise_id),
                on_confirm=None,
            )

with improve_tab:
    with session_scope() as session:
        queue = assistant_curation.improvement_queue(session, actor=actor)
    st.caption(
        "没有找到可靠依据（已转人工）或被企业标为“没帮助”的问题，按提问次数排序。补充同义词或答复条目后，同样的问题即可回答。"
    )
    show_table(
        queue,
        columns={
            "question": "问题",
            "count": "次数",
            "unanswered": "未能回答",
            "down_votes": "没帮助",
            "last_asked": "最近提问",
        },
        empty="暂无待改进的问题。",
    )
    choices = {None: "（不关联具体问题）"} | {int(r.id): r.question for r in queue.itertuples()}
    # Options render Markdown: a question is an enterprise's own text.
    target = selectbox(
        "处理的问题", list(choices), format_func=lambda k: plain(choices[k]), key="as_fix_target"
    )

    def _improve(add, done: str, **fields: str) -> None:  # noqa: ANN001 - a services.assistant writer
        """Run one improvement (``fields``: service argument → widget key) and flash its outcome."""
        values = {arg: st.session_state.get(key, "") for arg, key in fields.items()}
        call_and_flash(FLASH, add, success=done, actor=actor, question_id=target, **values)

    # Each improvement: title, (button, key), the service writer, its flash, and its fields (service
    # argument → widget, label, widget key, max characters).
    IMPROVEMENTS = (
        (
            "**添加同义词**（例如 青创贷 → 创业担保贷款）",
            ("添加同义词", "as_syn_add"),
            assistant_curation.add_synonym,
            "已添加同义词。",
            {
                "term": (st.text_input, "企业的说法", "as_syn_term", 50),
                "canonical": (st.text_input, "政策用语", "as_syn_canon", 100),
            },
        ),
        (
            "**添加答复条目**（会被检索并注明“工作人员补充答复”）",
            ("添加答复条目", "as_cl_add"),
            assistant_curation.add_answer_clause,
            "已添加答复条目。",
            {
                "title": (st.text_input, "条目标题", "as_cl_title", 100),
                "body": (st.text_area, "答复内容", "as_cl_body", 3000),
            },
        ),
    )
    for title, (button, button_key), add, done, fields in IMPROVEMENTS:
        with st.container(border=True):
            st.markdown(title)
            for widget, label, key, max_chars in fields.values():
                widget(label, key=key, max_chars=max_chars)
            keys = {arg: spec[2] for arg, spec in fields.items()}
            st.button(button, key=button_key, on_click=_improve, args=(add, done), kwargs=keys)

with confirm_tab:
    with session_scope() as session:
        confirmations = policy_calculator.list_confirmations(session, actor=actor)
    if len(confirmations):
        confirmations = confirmations.assign(confirmed_at=confirmations["confirmed_at"].map(formats.day))
        st.markdown("**最近的确认**")
        for row in confirmations.head(5).itertuples():
            st.markdown(f"- {row.confirmed_at} · {plain(row.enterprise_name)} · 确认“{plain(row.item_name)}”")
    show_table(
        confirmations,
        columns={
            "confirmed_at": "确认时间",
            "enterprise_name": "企业",
            "credit_code": "统一社会信用代码",
            "item_name": "事项",
            "kind_label": "类别",
            "run_id": "积分批次",
            "confirmed_by": "确认账户",
        },
        empty="暂无企业确认免申即享事项。",
    )

with texts_tab:
    st.caption(
        "智能助手检索内置的评价办法、榜单与扶持规则、培育与服务清单、填报与异议指南，以及下方添加的文本。"
    )
    with session_scope() as session:
        texts = assistant_curation.list_texts(session, actor=actor)
    if len(texts):
        texts = texts.assign(
            kind=texts["kind"].map({"document": "政策文件", "clause": "补充答复"}),
            created_at=texts["created_at"].map(formats.day),
        )
    show_table(
        texts,
        columns={"title": "标题", "kind": "类别", "created_by": "添加人", "created_at": "添加时间"},
        empty="暂无添加的文本。",
    )
    if actor.role == "admin":
        upload = file_uploader(
            "添加政策文本（.md 或 .txt，UTF-8 或 GBK，不超过 1 MB）", type=("md", "txt"), key="as_doc"
        )
        if upload is not None and st.button("添加到检索库", key="as_doc_add"):
            row = call_service(
                assistant_curation.add_document, actor=actor, filename=upload.name, content=upload.getvalue()
            )
            if row is not REFUSED:
                st.success(f"已添加《{plain(row.title)}》。")
