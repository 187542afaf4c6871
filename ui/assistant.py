"""智能助手 widgets shared by the enterprise page and the staff page: the conversation and the calculator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core import assistant_calc as calc
from services import assistant as svc
from services import policy_calculator
from services.actor import Actor
from services.errors import ServiceError
from ui import formats
from ui.service_call import REFUSED, call_service
from ui.text import plain

# Material icons ship with Streamlit (no emoji font is needed on an offline desktop)
OUTCOME_ICONS = {
    calc.ELIGIBLE: ":material/check_circle:",
    calc.NOT_ELIGIBLE: ":material/cancel:",
    calc.UNKNOWN: ":material/help:",
    calc.HELD: ":material/workspace_premium:",
}


def _paragraphs(text: str) -> None:
    for part in (text or "").split("\n"):
        if part.strip():
            st.markdown(plain(part))


def show_message(message: dict[str, Any], *, actor: Actor, index: int) -> None:
    """One turn of the conversation (the user's words as text, never Markdown)."""
    with st.chat_message("user" if message["role"] == "user" else "assistant"):
        if message["role"] == "user":
            st.text(message["text"])
            return
        _paragraphs(message["text"])
        for source in message.get("sources") or []:
            st.caption("依据：" + plain(source))
        st.caption(f"识别为：{message.get('intent_name', '')}")
        qid = message.get("question_id")
        if qid is None:
            return
        voted = message.get("vote")
        if voted:
            st.caption("感谢您的反馈。" if voted > 0 else "已记录，工作人员会改进这个答复。")
            return
        votes = (("有帮助", "thumb_up", "as_up", True), ("没帮助", "thumb_down", "as_down", False))
        for column, (label, icon, key, helpful) in zip(st.columns(2), votes, strict=True):
            column.button(
                label,
                icon=f":material/{icon}:",
                key=f"{key}_{index}",
                on_click=_vote,
                args=(actor, message, helpful),
            )


def _vote(actor: Actor, message: dict[str, Any], helpful: bool) -> None:
    voted = call_service(
        svc.vote,
        on_refusal=lambda exc: None,  # a vote refused (e.g. already given) changes nothing visible
        actor=actor,
        question_id=message["question_id"],
        helpful=helpful,
    )
    if voted is not REFUSED:
        message["vote"] = 1 if helpful else -1


def ask_into(
    history: list[dict[str, Any]], *, actor: Actor, question: str, enterprise_id: int | None = None
) -> None:
    """Ask and append both turns to ``history`` (an error becomes the assistant's Chinese reply)."""
    history.append({"role": "user", "text": question})

    def refused(exc: ServiceError) -> None:
        history.append({"role": "assistant", "text": str(exc), "sources": [], "intent_name": "—"})

    result = call_service(
        svc.ask, on_refusal=refused, actor=actor, question=question, enterprise_id=enterprise_id
    )
    if result is REFUSED:
        return
    a = result.answer
    history.append(
        {
            "role": "assistant",
            "text": a.text,
            "sources": a.sources,
            "intent_name": a.intent_name,
            "question_id": result.question_id,
            "answered": a.answered,
        }
    )


def calculator(view: policy_calculator.CalculatorView, *, on_confirm: Callable[[str], None] | None) -> None:
    """免申即享 first (with one-click confirmation when ``on_confirm``), then every item by kind."""
    if view.run_id is not None:
        state = formats.run_state(view.run_state)
        st.caption(
            f"依据 {view.year} 年度积分批次 #{view.run_id}（{state}），评价模型版本 {view.model_version}。"
        )
    elif view.note:
        st.info(plain(view.note), icon=":material/info:")
    instant = [i for i in view.items if i.instant]
    st.markdown("**免申即享**：以下事项数据完整、条件已满足，无需另交申请材料，确认即可办理。")
    if not instant:
        st.caption("暂无可免申即享的事项。")
    for item in instant:
        with st.container(border=True):
            st.markdown(f":material/check_circle: **{plain(item.name)}**（{item.kind_label}）")
            st.caption(plain(item.reason))
            done = view.confirmed.get(item.key)
            if done:
                st.caption(":material/done_all: 已确认，工作人员将为您办理。")
            elif on_confirm is not None:
                st.button(
                    "一键确认",
                    key=f"as_confirm_{item.key}",
                    on_click=on_confirm,
                    args=(item.key,),
                    type="primary",
                )
    counts = {k: sum(1 for i in view.items if i.outcome == k) for k in calc.OUTCOME_LABELS}
    st.markdown(
        "**政策计算器**：" + "，".join(f"{calc.OUTCOME_LABELS[k]} {n} 项" for k, n in counts.items() if n)
    )
    kinds = list(dict.fromkeys(i.kind for i in view.items))
    for kind in kinds:
        items = [i for i in view.items if i.kind == kind]
        fits = sum(1 for i in items if i.outcome == calc.ELIGIBLE)
        with st.expander(
            f"{calc.KIND_LABELS.get(kind, kind)}（{len(items)} 项，符合 {fits} 项）", expanded=False
        ):
            for item in items:
                st.markdown(f"{OUTCOME_ICONS[item.outcome]} **{plain(item.name)}** · {item.outcome_label}")
                st.caption(plain(item.reason))
