"""The portrait component: one enterprise's score portrait, the same for the enterprise and for officers.

我的积分 (the enterprise's own page) and 企业画像 (officers, any enterprise) both call
:func:`render_portrait`, so a change to the portrait shows on both. ``viewer`` only changes wording (本企业
versus the enterprise's name) and hints that make sense to one side only (where to file an objection).
Officer-only extras — each value's batch or self-report and the audit trail — are rendered by the
officer page around this component; the what-if panel (:func:`render_what_if`) is the enterprise's.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from db.session import session_scope
from services.actor import Actor
from services.dynamic import DynamicView
from services.portrait import Portrait, simulate_changes
from ui import formats
from ui.charts import points_bar, radar
from ui.charts import show as show_chart
from ui.tables import show_table
from ui.text import plain

VIEWERS = ("enterprise", "officer")


def indicator_table(p: Portrait) -> pd.DataFrame:
    """The portrait's indicator rows as shown (veto indicators left out, fraction in percent)."""
    table = p.indicators[p.indicators["class"] != "veto"].copy()
    table["fraction"] = table["fraction"] * 100
    table["missing"] = table["missing"].map({True: "数据缺失", False: ""})
    return table


# 得分 and 满分 right after the name: on a 390 px phone they are what the first screen width shows.
INDICATOR_COLUMNS = {
    "name": "指标",
    "points": st.column_config.NumberColumn("得分", format="%.2f", width="small"),
    "max": st.column_config.NumberColumn("满分", format="%g", width="small"),
    "value_text": "数值",
    "fraction": st.column_config.ProgressColumn("得分率", format="%.0f%%", min_value=0, max_value=100),
    "source": "来源",
    "missing": "提示",
    "code": st.column_config.TextColumn("代码", width="small"),
}


def render_portrait(p: Portrait, *, viewer: str = "enterprise") -> None:
    """Everything below the page title: run state, veto, metrics, list and gap, structure, indicators."""
    if viewer not in VIEWERS:
        raise ValueError(f"unknown viewer {viewer!r}")
    own = viewer == "enterprise"
    model = p.model
    subject = "本企业" if own else "该企业"

    st.caption(f"{plain(p.enterprise_name)} · {p.credit_code}")
    if p.run_state == "notice":
        hint = "如有异议可在“异议”页面提出。" if own else "公示期内企业可提出异议。"
        st.info(
            f"{p.year} 年度积分**公示中**（{formats.day(p.notice_start)} 至 {formats.day(p.notice_end)}），"
            + hint,
            icon=":material/campaign:",
        )
    else:
        st.caption(f"{p.year} 年度积分（{formats.run_state(p.run_state)}）")

    if p.veto:
        shown_to = "并向您展示" if own else ""
        st.error(
            f"**一票否决**：{plain(p.veto_reason)}。积分照常计算{shown_to}，但不参与排名、榜单、扶持和培育库。",
            icon=":material/block:",
        )

    delta = (
        None if p.total_change is None else f"{formats.signed(p.total_change)}（较 {p.previous['year']} 年）"
    )
    c1, c2, c3 = st.columns(3)
    c1.metric("总积分", formats.points(p.total), delta=delta)
    c2.metric("发展阶段", p.stage_name, help="按营业收入划分")
    if p.veto or p.rank is None:
        c3.metric("阶段排名", "不参与排名")
    else:
        c3.metric(
            "阶段排名",
            f"{p.rank} / {p.ranked_in_stage}",
            help=f"同阶段排名百分位 {formats.num(p.percentile, 1)}（100 为第一名）",
        )
    classes = model.scored_classes  # the run's own model names the subtotals
    for column, cls in zip(st.columns(len(classes)), classes, strict=True):
        cap = model.bonus_cap if cls.kind == "bonus" else cls.cap
        column.metric(
            cls.name,
            formats.points(p.subtotals.get(cls.code)),
            help=f"最多 {cap:g} 分" if cap is not None else None,
        )

    tier_text = formats.tier_label(p.tier, model)
    extra = []
    if p.subsidy:
        extra.append(f"精准扶持 {p.subsidy:g} 万元")
    if p.mujun:
        extra.append(f"亩均评价：{p.mujun}")
    st.markdown(f"**榜单**：{tier_text}" + ("　·　" + "　·　".join(extra) if extra else ""))

    if p.gap is not None:
        st.subheader("距下一榜单")
        st.markdown(
            f"进入**{p.gap.tier_name}**（本阶段前 {p.gap.rank_needed} 名，末位 {p.gap.cutoff_total:.2f} 分）"
            f"还需约 **{p.gap.points_needed:.2f}** 分。"
        )
    elif not p.veto and p.tier:
        st.success(f"已位列{tier_text}。", icon=":material/emoji_events:")
    if p.moves:
        st.markdown("**最省力的提分途径**（按模型测算）：")
        total_gain = 0.0
        for i, move in enumerate(p.moves, start=1):
            total_gain += move.gain
            st.markdown(f"{i}. {move.action}：约 **+{move.gain:.2f}** 分")
        if p.gap is not None:
            enough = "足以" if total_gain >= p.gap.points_needed else "尚不足以"
            st.caption(f"三项合计约 +{total_gain:.2f} 分，{enough}进入{p.gap.tier_name}。")

    st.subheader("得分结构")
    left, right = st.columns([1, 1])
    with left:
        show_chart(
            radar(p.radar, series={"mine": subject, "stage_average": f"{p.stage_name}平均"}), width="stretch"
        )
    with right:
        core = p.indicators[p.indicators["kind"] == "core"]
        show_chart(points_bar(core), width="stretch")

    st.subheader("指标明细")
    table = indicator_table(p)
    show_table(table[list(INDICATOR_COLUMNS)], column_config=INDICATOR_COLUMNS)
    with st.expander("每项得分说明", expanded=False):
        for line in p.explanations:
            st.markdown(f"- {line}")
        st.caption(f"依据园区发布的评价模型「{model.name}」（版本 {model.version}）计算。")


def render_what_if(p: Portrait, *, actor: Actor, base_row: dict[str, Any]) -> None:
    """The what-if panel in the page itself (on a phone the sidebar is collapsed and nobody finds it):
    change inputs, see total, stage rank and list (nothing saved)."""
    model = p.model
    derived = {d.target for d in model.derivations}
    editable = [
        i
        for i in model.indicators
        if i.rule.type in ("bands", "linear_cap", "percentile") and i.code not in derived
    ]
    st.subheader("模拟测算")
    with st.expander(
        "改一改数值，看积分、阶段排名和榜单怎么变（仅供测算，不会保存）",
        expanded=False,
        icon=":material/calculate:",
    ):
        with st.form("what_if"):
            changes = {}
            for ind in editable:
                current = base_row.get(ind.code)
                try:
                    start = float(current) if current is not None else None
                except (TypeError, ValueError):
                    start = None
                value = st.number_input(
                    f"{ind.name}（{ind.unit}）", value=start, key=f"sim_{ind.code}", format="%.2f"
                )
                if value != start:
                    changes[ind.code] = value
            for field in model.base_fields:
                current = base_row.get(field.code)
                start = float(current) if isinstance(current, int | float) else None
                value = st.number_input(
                    f"{field.name}（{field.unit}）", value=start, key=f"sim_{field.code}", format="%.0f"
                )
                if value != start:
                    changes[field.code] = value
            run_it = st.form_submit_button("测算", type="primary", width="stretch")
        if run_it:
            with session_scope() as session:
                baseline = simulate_changes(session, actor=actor, portrait=p, base_row=base_row, changes={})
                result = simulate_changes(
                    session, actor=actor, portrait=p, base_row=base_row, changes=changes
                )
            st.metric(
                "模拟总积分",
                formats.points(result.total),
                delta=formats.signed(result.total - baseline.total),
            )
            st.metric("模拟阶段", model.stage_name(result.stage))
            if result.veto:
                st.metric("阶段排名（估算）", "不参与排名")
            else:
                st.metric("阶段排名（估算）", f"{result.rank} / {result.ranked}")
            st.metric("榜单（估算）", formats.tier_label(result.tier, model))
            if not changes:
                st.caption("未修改任何数值。")


def render_dynamic(p: Portrait, dynamic: DynamicView | None) -> None:
    """年度积分 (the published run) beside 动态积分 (recomputed from today's data), and what moved it."""
    annual_label = f"年度积分（{p.year} 年度 · {formats.run_state(p.run_state)}）"
    left, right = st.columns(2)
    left.metric(
        annual_label, formats.points(p.total), help="已发布（公示或定稿）的积分结果：榜单、扶持均以此为准"
    )
    if dynamic is None:
        right.metric(
            "动态积分", formats.points(p.total), help="根据最新数据实时更新的积分，仅供参考，不进入榜单与扶持"
        )
        right.caption("发布以来本年度数据没有变化，动态积分与年度积分相同。")
        return
    right.metric(
        f"动态积分（截至 {formats.day(dynamic.computed_at)}）",
        formats.points(dynamic.total),
        delta=formats.signed(dynamic.total - p.total) + " 较年度积分",
        help="根据审核通过的填报和新导入的部门数据重新计算的本年度积分，仅供参考，不进入榜单与扶持",
    )
    if dynamic.pending_since is not None:
        right.caption(f"{formats.day(dynamic.pending_since)} 起有新数据，动态积分稍后更新。")
    if dynamic.stage != p.stage:
        right.caption(f"按最新数据，发展阶段为{dynamic.stage_name}（年度积分为{p.stage_name}）。")
    if dynamic.changes.empty:
        st.caption("动态积分与年度积分所用数据相同；差异来自同阶段其他企业的数据变化（百分位类指标）。")
        return
    st.caption("以下数据变化带动了动态积分（与年度积分所用数据相比）：")
    show_table(
        dynamic.changes, column_config={"分值变化": st.column_config.NumberColumn("分值变化", format="%+.2f")}
    )
