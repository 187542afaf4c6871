"""智能助手 — ask about the enterprise's own score and the policies; 政策计算器 and 免申即享."""

import streamlit as st

from db.session import session_scope
from services.assistant import warm_up
from services.policy_calculator import confirm_item, policy_calculator
from ui.assistant import ask_into, calculator, show_message
from ui.flash import show_flash
from ui.guards import require_role
from ui.service_call import REFUSED, call_and_flash, call_service, refusal_as

actor = require_role("enterprise")
HISTORY = "_assistant_history"
FLASH = "_assistant_flash"
SUGGESTIONS = ("我的积分是多少", "我离下一个榜单还差多少分", "我能享受哪些政策", "对积分有异议怎么办")

st.title("智能助手")
st.caption(
    "回答本企业的积分、指标和差距（按已发布的积分批次计算），以及评价政策、填报、公示与异议的规定（引用政策原文）。"
    "只提供本企业的数据。"
)
show_flash(FLASH)
history: list = st.session_state.setdefault(HISTORY, [])
warm_up(session_scope)  # the first question should not wait for the search index


def _suggest(question: str) -> None:
    ask_into(history, actor=actor, question=question)


if not history:
    st.markdown("您可以这样问：")
    for i, text in enumerate(SUGGESTIONS):
        st.button(text, key=f"as_suggest_{i}", on_click=_suggest, args=(text,))

question = st.chat_input("请输入问题，例如：我离下一个榜单还差多少分", max_chars=300)
if question:
    ask_into(history, actor=actor, question=question)
for index, message in enumerate(history):
    show_message(message, actor=actor, index=index)


def _confirm(item_key: str) -> None:
    call_and_flash(
        FLASH,
        confirm_item,
        success=lambda row: f"已确认“{row.item_name}”，工作人员将为您办理。",
        actor=actor,
        enterprise_id=actor.enterprise_id,
        item_key=item_key,
    )


st.divider()
st.subheader("政策计算器")
view = call_service(
    policy_calculator,
    on_refusal=refusal_as("info", icon=":material/info:"),
    actor=actor,
    enterprise_id=actor.enterprise_id,
)
if view is not REFUSED:
    calculator(view, on_confirm=_confirm)
