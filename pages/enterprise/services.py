"""政策与服务 — matched services with reasons, nearby cultivation pools, subsidy eligibility, requests."""

import contextlib

import streamlit as st

from core import subsidies as subsidy_states
from db.session import session_scope
from services.bank import get_bank_consent, set_bank_consent
from services.service_requests import list_requests, policy_view, request_service
from services.subsidies import confirm_subsidy, my_subsidy_lines
from ui import formats
from ui.flash import show_flash
from ui.guards import require_role
from ui.service_call import call_and_flash
from ui.text import plain

actor = require_role("enterprise")
enterprise_id = actor.enterprise_id
MSG = "_svc_message"


def _act(use_case, success: str, **kwargs: object) -> None:  # noqa: ANN001 - a services function
    """A button's action for this enterprise: the refusal or ``success`` flashed for the next run."""
    call_and_flash(MSG, use_case, success=success, actor=actor, enterprise_id=enterprise_id, **kwargs)


def _request(code: str, name: str) -> None:
    note = st.session_state.get(f"svc_note_{code}", "")
    _act(
        request_service, f"已提交“{plain(name)}”服务申请，工作人员将与您联系。", service_code=code, note=note
    )


with session_scope() as session:
    view = policy_view(session, actor=actor, enterprise_id=enterprise_id)
    requests = list_requests(session, actor=actor, enterprise_id=enterprise_id)

st.title("政策与服务")
# Outside st.navigation (AppTest of a single page) the link target is unknown: show nothing (as 工作台 does).
with contextlib.suppress(Exception):  # StreamlitAPIException: page not in this navigation
    st.page_link(
        "pages/enterprise/assistant.py", label="政策计算器与免申即享：问智能助手", icon=":material/forum:"
    )
show_flash(MSG)
if view.note:
    st.info(view.note)

st.subheader("扶持资格")
if view.subsidy is None:
    st.caption("暂无已定稿的积分结果。")
elif view.subsidy["amount"] > 0:
    st.success(
        f"{view.subsidy['year']} 年度积分定稿结果：可获精准扶持 **{view.subsidy['amount']:g} 万元**。",
        icon=":material/savings:",
    )
else:
    tier = view.subsidy["tier_name"]
    st.caption(f"{view.subsidy['year']} 年度（已定稿）：{tier}，未进入精准扶持名单。")


def _confirm_subsidy(run_id: int, year: int) -> None:
    _act(confirm_subsidy, f"已确认 {year} 年度扶持资金，工作人员将办理拨付。", run_id=run_id)


with session_scope() as session:
    lines = my_subsidy_lines(session, actor=actor, enterprise_id=enterprise_id).lines
# One card per line of a final run: its amount, its state and, while 待确认, the confirm button.
for line in lines.itertuples():
    state = subsidy_states.STATE_LABELS[line.state]
    with st.container(border=True):
        st.markdown(f"**{int(line.year)} 年度精准扶持资金 {float(line.amount):g} 万元** · {state}")
        if line.state == subsidy_states.PENDING:
            st.caption("确认后，工作人员将按定稿结果办理拨付（免申即享，无需另交申请材料）。")
            st.button(
                "确认扶持资金",
                key=f"subsidy_confirm_{int(line.run_id)}",
                type="primary",
                on_click=_confirm_subsidy,
                args=(int(line.run_id), int(line.year)),
            )
        elif line.state == subsidy_states.CONFIRMED:
            st.caption(f"已于 {formats.day(line.confirmed_at)} 确认，等待拨付。")
        elif line.state == subsidy_states.PAID:
            st.caption(f"已于 {line.paid_on.isoformat()} 拨付，凭证号：{plain(line.voucher)}")
        else:
            st.caption(f"不予拨付。理由：{plain(line.reason)}")

st.subheader("为您推荐的服务")
if not view.recommendations:
    st.caption("暂无匹配的服务。")
open_codes = set(requests.loc[requests["state"] == "open", "service_code"]) if len(requests) else set()
for rec in view.recommendations:
    with st.container(border=True):
        st.markdown(f"**{plain(rec.name)}**")  # officers name services (服务目录): text, never markup
        for reason in rec.reasons:
            st.caption(f"推荐理由：{reason}")
        if rec.code in open_codes:
            st.caption("✅ 已申请，待受理")
        else:
            st.text_input("需求说明（可选）", key=f"svc_note_{rec.code}", max_chars=500)
            st.button("申请服务", key=f"svc_req_{rec.code}", on_click=_request, args=(rec.code, rec.name))

st.subheader("培育库")
near = [p for p in view.pools if not p.holds]
held = [p for p in view.pools if p.holds]
if not near:
    st.caption("暂无可对照的培育方向。")
for pool in near:
    with st.container(border=True):
        if pool.met:
            st.markdown(f"**{pool.name}**：已满足主要条件，可申请认定。")
        else:
            st.markdown(f"**{pool.name}**：满足 {pool.closeness:.0%} 条件，还差：")
            for gap in pool.gaps:
                st.markdown(f"- {gap}")
if held:
    st.caption("已具备：" + "、".join(p.name for p in held))

st.subheader("金融服务授权")
with session_scope() as session:
    consent = get_bank_consent(session, actor=actor, enterprise_id=enterprise_id)
since = formats.day(consent.changed_at) if consent.changed_at else None
if consent.consent:
    st.success(
        "您已同意：积分结果可用于向合作银行推荐（科创指数贷等）。" + (f"（{since} 同意）" if since else ""),
        icon=":material/verified:",
    )
else:
    st.caption(
        "您尚未同意向合作银行推荐。同意后，符合条件时本企业的名称、统一社会信用代码、阶段和积分会出现在"
        "提供给合作银行的推荐名单中；可随时撤回。" + (f"（{since} 撤回）" if since else "")
    )


def _consent(value: bool) -> None:
    _act(
        set_bank_consent,
        "已同意向合作银行推荐。" if value else "已撤回授权：今后的推荐名单不再包含本企业。",
        consent=value,
    )


if consent.consent:
    st.button("撤回授权", key="bank_consent_withdraw", on_click=_consent, args=(False,))
else:
    st.button("同意向合作银行推荐", key="bank_consent_give", on_click=_consent, args=(True,), type="primary")

if len(requests):
    st.subheader("我的服务申请")
    # One card per request, not a table: on a phone a table's 状态 and 答复 columns sit off screen.
    for row in requests.itertuples():
        with st.container(border=True):
            st.markdown(f"**{plain(row.service_name)}** · {plain(row.state_label)}")
            st.caption(
                f"申请时间 {formats.day(row.created_at)}"
                + (f" · 需求说明：{plain(row.note)}" if isinstance(row.note, str) and row.note else "")
            )
            if isinstance(row.answer, str) and row.answer:
                st.markdown(f"答复：{plain(row.answer)}")
            else:
                st.caption("尚未答复。")
