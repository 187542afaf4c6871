"""评价模型 — versions, drafts edited in forms (validated by the model loader), diff, impact preview, publish."""

import pandas as pd
import streamlit as st

from core.model_loading import parse_model
from core.workflows import MODEL_VERSION_STATES
from db.session import session_scope
from services import model_versions, model_workbench
from ui.confirm import confirm
from ui.flash import flash, show_flash
from ui.formats import LIST_CHANGE_COLUMNS, day
from ui.guards import require_role
from ui.service_call import REFUSED, call_and_flash, call_service
from ui.tables import MISSING, show_table
from ui.text import plain
from ui.widgets import number_input

actor = require_role("admin")
FLASH = "model_flash"

st.title("评价模型")
st.caption(
    "每个版本都是一份完整的评价模型。已发布的版本不可修改；从任一版本创建草稿，修改、预览影响后发布。"
    "已有的积分批次始终保留其计算时的模型版本。"
)
show_flash(FLASH)

with session_scope() as session:
    versions = model_versions.list_model_versions(session, actor=actor)
if not versions:
    with session_scope() as session:
        model_versions.ensure_default_model(session, actor=actor)
    st.rerun()

table = pd.DataFrame(
    [
        {
            "id": v.id,
            "版本": v.version,
            "名称": v.name,
            "状态": MODEL_VERSION_STATES.get(v.state, v.state),
            "创建人": "系统" if v.created_by == "system" else (v.created_by or ""),
            "创建时间": day(v.created_at),
            "发布时间": day(v.published_at),
        }
        for v in versions
    ]
)
show_table(table.drop(columns=["id"]), key="model_versions_table")
labels = {v.id: f"{v.version} · {v.name}（{MODEL_VERSION_STATES.get(v.state, v.state)}）" for v in versions}
by_id = {v.id: v for v in versions}

tab_edit, tab_diff = st.tabs(["编辑与发布", "版本对比"])

with tab_edit:
    chosen = st.selectbox("模型版本", list(labels), format_func=labels.get, key="wb_version")
    version = by_id[chosen]

    def _new_draft(source_id: int) -> None:
        # a callback: it runs before the selectbox exists, so it may select the new draft
        source = by_id[source_id]
        draft = call_and_flash(
            FLASH,
            model_versions.register_model,
            success=lambda draft: f"已创建草稿 {draft.version}。",
            actor=actor,
            definition=source.definition,
            parent_id=source.id,
            note=f"由 {source.version} 创建",
        )
        if draft is not REFUSED:
            st.session_state["wb_version"] = draft.id

    st.button("从此版本创建草稿", key="wb_new_draft", on_click=_new_draft, args=(chosen,))

    model = parse_model(version.definition)
    editable = version.state == "draft"
    locked = not editable  # a published version's tables are read-only: an edit there would be lost
    if not editable:
        st.info("已发布的版本不可修改：请先点“从此版本创建草稿”，再在草稿中修改。", icon=":material/lock:")
    data = model.to_dict()
    stage_names = {s.code: s.name for s in model.stages}

    def _editor(
        frame: pd.DataFrame, fixed: list[str], name: str, hidden: tuple[str, ...] = ()
    ) -> pd.DataFrame:
        # One key per version: no edit state crosses versions; a published version takes no edit at all.
        # ``hidden`` columns stay in the data (rows are matched on them) but are not shown. An empty cell
        # (a class without a cap) stays empty in the data and shows "—", not the grid's English "None".
        return st.data_editor(
            frame,
            hide_index=True,
            placeholder=MISSING,
            disabled=locked or fixed,
            key=f"{name}_{version.id}",
            width="stretch",
            column_config=dict.fromkeys(hidden),
        )

    with st.form("wb_form"):
        st.subheader(f"核心指标分值（每个阶段合计须为 {model.core_total:g} 分）")
        core = [i for i in model.indicators if i.is_core]
        # A model over the national guide says which indicators are national and which local.
        layered = any(i.origin for i in model.indicators)
        origin = {"national": "国家指引", "local": "本地"}

        def _layer(i) -> dict:
            return {"层级": origin.get(i.origin or "", "本地")} if layered else {}

        points_edit = _editor(
            pd.DataFrame(
                [
                    {
                        "代码": i.code,
                        "指标": i.name,
                        **_layer(i),
                        **{stage_names[s]: i.points[s] for s in model.stage_codes},
                    }
                    for i in core
                ]
            ),
            ["代码", "指标", "层级"],
            "wb_points",
        )
        aux_classes = "、".join(c.name for c in model.classes_of_kind("bonus", "deduction"))
        st.subheader(f"{aux_classes or '加分与扣分'}：各指标最高分与总加分上限")
        aux = [i for i in model.indicators if i.kind in ("bonus", "deduction")]
        aux_edit = _editor(
            pd.DataFrame(
                [{"代码": i.code, "指标": i.name, **_layer(i), "最高分": i.max_points} for i in aux]
            ),
            ["代码", "指标", "层级"],
            "wb_aux",
        )
        bonus_cap = number_input(
            "加分上限",
            value=float(model.bonus_cap),
            min_value=0.0,
            key=f"wb_bonus_cap_{version.id}",
            disabled=locked,
        )
        st.subheader("类别上限（留空为不设上限）")
        classes_edit = _editor(
            pd.DataFrame(
                [
                    {"代码": c.code, "类别": c.name, "上限": c.cap}
                    for c in model.ordered_classes
                    if c.kind != "veto"
                ]
            ),
            ["代码", "类别"],
            "wb_classes",
            hidden=("代码",),
        )  # class codes are English words
        st.subheader("分档与上限")
        banded = [i for i in model.indicators if i.rule.type == "bands"]
        bands_rows = [
            {"代码": i.code, "指标": i.name, "档次": k + 1, "门槛": b.at, "得分系数": b.f}
            for i in banded
            for k, b in enumerate(i.rule.bands)
        ]
        bands_edit = _editor(pd.DataFrame(bands_rows), ["代码", "指标", "档次"], "wb_bands")
        capped = [i for i in model.indicators if i.rule.type == "linear_cap" and i.rule.caps]
        caps_edit = _editor(
            pd.DataFrame(
                [
                    {
                        "代码": i.code,
                        "指标": i.name,
                        **{stage_names[s]: i.rule.caps[s] for s in model.stage_codes},
                    }
                    for i in capped
                ]
            ),
            ["代码", "指标"],
            "wb_caps",
        )
        st.subheader("榜单比例（累计）与扶持")
        tiers_edit = _editor(
            pd.DataFrame([{"代码": t.code, "榜单": t.name, "比例": t.share} for t in model.tiers]),
            ["代码"],
            "wb_tiers",
        )
        subsidies_edit = _editor(
            pd.DataFrame(
                [
                    {
                        "阶段": stage_names[s.stage],
                        "比例": s.share,
                        "最多家数": s.max_count,
                        "金额（万元）": s.amount,
                    }
                    for s in model.subsidies
                ]
            ),
            ["阶段"],
            "wb_subsidies",
        )
        saved = st.form_submit_button("保存草稿", type="primary", disabled=not editable)

    if saved and editable:
        by_name = {v: k for k, v in stage_names.items()}
        for ind in data["indicators"]:
            row = points_edit[points_edit["代码"] == ind["code"]]
            if len(row):
                ind["points"] = {s: float(row.iloc[0][stage_names[s]]) for s in model.stage_codes}
            row = aux_edit[aux_edit["代码"] == ind["code"]]
            if len(row):
                ind["max_points"] = float(row.iloc[0]["最高分"])
            rows = bands_edit[bands_edit["代码"] == ind["code"]].sort_values("档次")
            if len(rows):
                ind["rule"]["bands"] = [
                    {"at": float(r["门槛"]), "f": float(r["得分系数"])} for _, r in rows.iterrows()
                ]
            row = caps_edit[caps_edit["代码"] == ind["code"]] if len(caps_edit) else caps_edit
            if len(row):
                ind["rule"]["caps"] = {s: float(row.iloc[0][stage_names[s]]) for s in model.stage_codes}
        data["meta"]["bonus_cap"] = float(bonus_cap)
        for cls in data["classes"]:
            row = classes_edit[classes_edit["代码"] == cls["code"]]
            if len(row):
                cap = row.iloc[0]["上限"]
                if pd.isna(cap):
                    cls.pop("cap", None)
                else:
                    cls["cap"] = float(cap)
        data["tiers"] = [
            {"code": r["代码"], "name": r["榜单"], "share": float(r["比例"])}
            for _, r in tiers_edit.iterrows()
        ]
        data["subsidies"] = [
            {
                "stage": by_name.get(r["阶段"], r["阶段"]),
                "share": float(r["比例"]),
                "max_count": int(r["最多家数"]),
                "amount": float(r["金额（万元）"]),
            }
            for _, r in subsidies_edit.iterrows()
        ]
        saved = call_service(
            model_versions.update_draft,
            on_refusal=lambda exc: st.error(f"未保存：{plain(exc)}"),
            actor=actor,
            version_id=version.id,
            definition=data,
        )
        if saved is not REFUSED:
            flash(FLASH, "success", f"草稿 {version.version} 已保存。")
            st.rerun()

    if editable:
        st.subheader("影响预览")
        st.caption("用所选年度的数据，分别按当前发布的模型和本草稿计算（不保存任何结果）。")
        with session_scope() as session:
            years = model_workbench.preview_years(session, actor=actor)
        if years.empty:
            st.info("还没有任何企业数据，无法预览影响。")
        else:
            counts = dict(zip(years["year"], years["enterprises"], strict=True))
            default = int(years.index[years["default"]][0])
            preview_year = st.selectbox(
                "数据年度",
                years["year"].tolist(),
                index=default,
                key="wb_preview_year",
                format_func=lambda y: f"{y} 年（{counts[y]:,} 家企业有数据）",
            )
            if counts[preview_year] < max(counts.values()) / 2:
                st.warning(
                    f"{preview_year} 年只有 {counts[preview_year]:,} 家企业有数据（最多的年度有 "
                    f"{max(counts.values()):,} 家），预览结果不代表全体企业。",
                    icon=":material/warning:",
                )
            if st.button("预览影响", key="wb_preview"):
                with st.spinner("正在计算…"):
                    impact = call_service(
                        model_workbench.preview_impact,
                        actor=actor,
                        draft_id=version.id,
                        year=int(preview_year),
                    )
                if impact is not REFUSED:
                    st.session_state["wb_impact"] = (version.id, impact)
        impact = st.session_state.get("wb_impact")
        if impact is not None and impact[0] == version.id:
            p = impact[1]
            for note in p.notes:
                st.warning(note)
            c1, c2, c3 = st.columns(3)
            c1.metric("数据年度", f"{p.year} 年")
            c2.metric(
                "扶持资金（万元）",
                f"{p.subsidy_after:,.0f}",
                delta=f"{p.subsidy_after - p.subsidy_before:+,.0f}",
            )
            c3.metric("榜单进出", f"{len(p.list_changes)} 家次")
            show_table(
                p.spearman.drop(columns=["stage"]).rename(
                    columns={
                        "stage_name": "阶段",
                        "enterprises": "参与排名企业",
                        "spearman": "排名相关系数（斯皮尔曼）",
                    }
                )
            )
            show_table(
                p.list_changes.rename(columns=LIST_CHANGE_COLUMNS),
                empty="没有企业进出榜单。",
            )
            show_table(
                p.movers.rename(
                    columns={
                        "credit_code": "统一社会信用代码",
                        "name": "企业",
                        "stage_name": "阶段",
                        "total_before": "原总分",
                        "total_after": "新总分",
                        "delta": "变化",
                        "rank_before": "原排名",
                        "rank_after": "新排名",
                        "why": "主要原因",
                    }
                )
            )
        if st.button("发布此版本", type="primary", key="wb_publish"):

            def _publish(version_id: int = version.id, label: str = version.version) -> None:
                with session_scope() as session:
                    model_versions.publish_model_version(session, actor=actor, version_id=version_id)
                st.session_state[FLASH] = ("success", f"版本 {label} 已发布：新的积分计算将使用该版本。")

            with session_scope() as session:  # what publishing changes, said before it happens
                active = model_versions.active_model_version(session)
                changes = model_workbench.diff_versions(
                    session, actor=actor, version_a=active.id, version_b=version.id
                )
            # the changed fields (field, before, after), the version label itself excepted
            changed = [
                row
                for row in changes.itertuples(index=False)
                if (str(row[1]), str(row[2])) != (active.version, version.version)
            ]
            previewed = impact is not None and impact[0] == version.id
            confirm(
                f"发布版本 {version.version}？",
                [
                    f"发布后新的积分计算将使用该版本（替代当前发布的 {active.version}）；已有的积分批次保留其计算时的版本。",
                    f"与 {active.version} 相比有 {len(changed)} 处不同。",
                    "已发布的版本不可再修改。",
                ],
                warnings=[] if previewed else ["尚未预览本草稿对积分和榜单的影响。"],
                confirm_label="确认发布",
                action=_publish,
            )

with tab_diff:
    ids = list(labels)
    if len(ids) < 2:
        st.info("至少需要两个版本才能对比。")
    else:
        d1, d2 = st.columns(2)
        a = d1.selectbox("原版本", ids, index=1, format_func=labels.get, key="wb_diff_a")
        b = d2.selectbox("新版本", ids, index=0, format_func=labels.get, key="wb_diff_b")
        with session_scope() as session:
            diff = model_workbench.diff_versions(session, actor=actor, version_a=a, version_b=b)
        if diff.empty:
            st.success("两个版本完全相同。")
        else:
            show_table(diff)
