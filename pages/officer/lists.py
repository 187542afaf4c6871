"""榜单与扶持 — a published run's lists per stage with their ⌈share·N⌉ sizes, the subsidy table with the
cap that applied and the budget, the payment of each subsidy line of a final run (资金拨付), the 亩均 flags,
and the public-notice exports."""

from datetime import date

import streamlit as st

from core import subsidies as subsidy_states
from core.lists import share_text
from db.session import session_scope
from services.scenarios import export_lists, lists_view, run_label
from services.subsidies import (
    export_subsidy_lines,
    payment_run,
    record_payment,
    refuse_subsidy,
    subsidy_lines,
)
from ui.confirm import confirm
from ui.flash import show_flash
from ui.guards import require_role
from ui.run_picker import published_run_view
from ui.service_call import call_and_flash
from ui.tables import download_file, download_table, first_rows, show_table
from ui.widgets import day_until_today, open_tab_only

actor = require_role("officer", "admin")

st.title("榜单与扶持")
run_id, view = published_run_view(actor, lists_view, key="lists_run")
model = view.model
st.caption(
    f"{view.run_label} · 评价模型 {model.name} {model.version}。名额按“阶段内参与排名企业数 × 比例”向上取整，"
    "榜单逐级累计；一票否决的企业不进入任何榜单和扶持名单。"
)

PAY_MSG = "_subsidy_pay_message"


def _lists() -> None:
    st.subheader("各阶段榜单名额")
    show_table(view.sizes.drop(columns=["stage"]), key="sizes_table")
    stages = {s.code: s.name for s in model.stages}
    stage = st.selectbox(
        "阶段",
        [None, *stages],
        format_func=lambda s: "全部阶段" if s is None else stages[s],
        key="lists_stage",
    )
    members = view.members if stage is None else view.members[view.members["所属阶段"] == stages[stage]]
    show_table(first_rows(members, f"上榜企业 {len(members):,} 家"), key="members_table")
    download_table(members, name="上榜企业", key="members_dl")


def _subsidy() -> None:
    plan = view.plan.drop(columns=["stage"])
    total = view.plan.iloc[-1]
    c1, c2, c3 = st.columns(3)
    c1.metric("扶持企业", f"{int(total['实际家数'])} 家")
    c2.metric("扶持资金", f"{float(total['实际金额（万元）']):g} 万元")
    c3.metric("预算", f"{float(total['预算（万元）']):g} 万元")
    st.subheader("名额与预算")
    st.caption("扶持名额 = min(⌈比例 × N⌉, 名额上限)；“适用限制”说明本阶段是比例还是上限起作用。")
    show_table(plan, key="plan_table")
    st.subheader("扶持名单")
    show_table(view.subsidies, key="subsidy_table")
    download_table({"扶持名单": view.subsidies, "名额与预算": plan}, name="扶持名单", key="subsidy_dl")


def _pay() -> None:
    show_flash(PAY_MSG)
    with session_scope() as session:
        pay_run = payment_run(session, actor=actor, run_id=int(run_id))
        pay = subsidy_lines(session, actor=actor, run_id=pay_run.id) if pay_run is not None else None

    def _pay_xlsx(run: int = pay_run.id if pay_run is not None else 0) -> bytes:  # written on the click
        with session_scope() as session:
            return export_subsidy_lines(session, actor=actor, run_id=run)

    if pay is None:
        st.info("暂无已定稿的积分批次：扶持资金按已定稿批次确认和拨付。")
    else:
        if pay_run.id != int(run_id):
            st.info(f"所选批次尚未定稿；以下为最近的已定稿批次：{run_label(pay_run)}。")
        st.caption(
            "扶持金额与名额均来自定稿批次。流程：待确认 → 企业已确认（企业在“政策与服务”或免申即享中确认）"
            " → 已拨付（登记拨付日期与凭证号）或不予拨付（须填写理由）。"
        )
        counts = dict(
            zip(
                pay.summary["拨付状态"],
                zip(pay.summary["家数"], pay.summary["金额（万元）"], strict=True),
                strict=True,
            )
        )
        for column, label in zip(st.columns(4), subsidy_states.STATE_LABELS.values(), strict=True):
            column.metric(f"{label}（{counts[label][1]:g} 万元）", f"{counts[label][0]} 家")
        show_table(pay.table, key="subsidy_pay_table")
        download_file(
            "下载拨付进度（xlsx）",
            _pay_xlsx,
            file_name=f"扶持资金拨付_{pay_run.id}.xlsx",
            key="subsidy_pay_xlsx",
        )
        open_lines = pay.lines[pay.lines["state"].isin([subsidy_states.PENDING, subsidy_states.CONFIRMED])]
        if open_lines.empty:
            # a model without subsidies (or a stage without any) has no lines: nothing was handled
            st.caption("本批次没有扶持资金。" if pay.lines.empty else "本批次的扶持资金均已办结。")
        else:
            options = {
                int(r.enterprise_id): f"{r.name}（{r.credit_code}）· {subsidy_states.STATE_LABELS[r.state]}"
                f" · {float(r.amount):g} 万元"
                for r in open_lines.itertuples()
            }
            picked = st.selectbox("办理企业", list(options), format_func=options.get, key="subsidy_pay_pick")
            line = open_lines.set_index("enterprise_id").loc[picked]
            if line["state"] == subsidy_states.CONFIRMED:
                # Not an st.form: a form sends its fields only when submitted, and the browser drops what
                # was typed in one when its tab closes; plain fields reach the server as they are left, so
                # open_tab_only keeps them while the officer looks at another tab.
                with st.container(border=True):
                    paid_on = day_until_today("拨付日期", key="subsidy_paid_on")
                    voucher = st.text_input(
                        "拨付凭证号", max_chars=subsidy_states.VOUCHER_MAX, key="subsidy_voucher"
                    )
                    if st.button("登记拨付", type="primary", key="subsidy_pay_submit"):
                        call_and_flash(
                            PAY_MSG,
                            record_payment,
                            success=f"已登记拨付：{options[picked]}。",
                            actor=actor,
                            run_id=pay_run.id,
                            enterprise_id=picked,
                            paid_on=paid_on if isinstance(paid_on, date) else None,
                            voucher=voucher,
                        )
                        st.rerun()
            else:
                st.caption("企业尚未确认：确认后才能登记拨付。")

            def _refuse(reason: str | None) -> None:
                with session_scope() as session:
                    refuse_subsidy(
                        session, actor=actor, run_id=pay_run.id, enterprise_id=picked, reason=reason
                    )
                st.session_state[PAY_MSG] = ("success", f"已登记不予拨付：{options[picked]}。")

            if st.button("不予拨付…", key="subsidy_refuse"):
                confirm(
                    "不予拨付",
                    [options[picked], "登记后该笔扶持资金不再拨付，企业将看到理由；此操作不能撤销。"],
                    confirm_label="确认不予拨付",
                    action=_refuse,
                    reason_label="不予拨付理由（必填）",
                )


def _mujun() -> None:
    shares = "；".join(f"{m.code}：阶段前 {share_text(m.share)}" for m in model.mujun)
    st.caption(f"亩均论英雄标记（{shares}）。")
    show_table(first_rows(view.mujun, f"标记企业 {len(view.mujun):,} 家"), key="mujun_table")
    download_table(view.mujun, name="亩均论英雄", key="mujun_dl")


def _export_tab() -> None:
    sheets = "公示名单（序号、企业名称、统一社会信用代码、所属阶段、榜单、积分）、扶持名单、名额与预算"
    st.markdown(f"**公示格式导出**：{sheets}{'、亩均论英雄' if model.mujun else ''}。")

    def _export(fmt: str, part: str) -> bytes:  # written when its button is clicked
        with session_scope() as session:
            return export_lists(session, actor=actor, run_id=int(run_id), fmt=fmt, part=part)

    e1, e2 = st.columns(2)
    download_file(
        "下载公示文件（xlsx，全部工作表）",
        lambda: _export("xlsx", "all"),
        file_name=f"榜单与扶持_{run_id}.xlsx",
        key="notice_xlsx",
        container=e1,
    )
    download_file(
        "下载公示名单（csv）",
        lambda: _export("csv", "lists"),
        file_name=f"公示名单_{run_id}.csv",
        key="notice_csv",
        container=e2,
    )


# one tab drawn at a time (ui.widgets.open_tab_only): each load drew all five, the lists and the subsidy
# table included, though one is read at a time
# a model without 亩均 flags has no 亩均论英雄 tab (the flags are a model parameter, not every zone's)
tabs = {"榜单": _lists, "精准扶持": _subsidy, "资金拨付": _pay, "亩均论英雄": _mujun, "公示导出": _export_tab}
if not model.mujun:
    del tabs["亩均论英雄"]
open_tab_only(tabs, key="lists_tab")
