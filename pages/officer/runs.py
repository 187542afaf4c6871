"""积分计算与公示 — compute a run, list runs, compare two, start 公示, handle objections, finalise, verify."""

from functools import partial

import pandas as pd
import streamlit as st

from core.reports import label_columns
from db.session import session_scope
from services import corrections, objections, robustness, run_diff, runs
from services.errors import ServiceError
from services.model_versions import get_model
from ui.confirm import confirm
from ui.evidence import show_evidence
from ui.flash import show_flash
from ui.formats import LIST_CHANGE_COLUMNS, RUN_COLUMNS, day, run_state
from ui.guards import require_role
from ui.service_call import REFUSED, call_service, show_refusal
from ui.tables import show_table
from ui.widgets import year_input

# The largest moves between two runs: column → heading, in the order shown.
MOVE_COLUMNS = {
    "credit_code": "统一社会信用代码",
    "name": "企业",
    "stage_name": "阶段",
    "total_a": "原总分",
    "total_b": "新总分",
    "delta_total": "总分变化",
    "rank_a": "原排名",
    "rank_b": "新排名",
    "delta_rank": "名次上升",
    "list_a": "原榜单",
    "list_b": "新榜单",
    "changed_inputs": "变化的输入",
}

actor = require_role("officer", "admin")

FLASH = "runs_flash"
st.title("积分计算与公示")
show_flash(FLASH)


def _done(kind: str, text: str) -> None:
    st.session_state[FLASH] = (kind, text)
    st.rerun()


def _pick_objection(label: str, rows: pd.DataFrame, *, key: str) -> int:
    """One of the objections in ``rows``, shown as number · enterprise · indicator."""
    names = {r.id: f"#{r.id} · {r.name} · {r.indicator_label}" for r in rows.itertuples()}
    return st.selectbox(label, rows["id"].tolist(), key=key, format_func=names.get)


def _compute(year: int, version_id: int | None = None) -> None:
    bar = st.progress(0.0, text="准备计算…")

    def refused(exc: ServiceError) -> None:
        bar.empty()
        show_refusal(exc)

    run = call_service(
        runs.compute_run,
        on_refusal=refused,
        actor=actor,
        year=year,
        model_version_id=version_id,
        progress=lambda f, msg: bar.progress(min(max(f, 0.0), 1.0), text=msg),
    )
    if run is REFUSED:
        return
    st.session_state["run_select"] = run.id  # show the new run below
    _done("success", f"已生成批次 #{run.id}（{year} 年度，草稿）：{run.enterprise_count} 家企业。")


with session_scope() as session:
    all_runs = run_diff.list_runs(session, actor=actor)
    versions = run_diff.model_version_choices(session, actor=actor)
    open_objections = objections.list_objections(session, actor=actor, states=("open",))

# A keyed tab bar keeps its tab across reruns (after 提交答复 the page stays on 异议处理).
tab_runs, tab_diff, tab_objections = st.tabs(
    ["计算与批次", "批次对比", "异议处理"], key="runs_tab", on_change="rerun"
)

with tab_runs:
    with st.container(border=True):
        c1, c2, c3 = st.columns([1, 2, 2])
        year = year_input("评价年度", container=c1, key="compute_year")
        version_id = c2.selectbox(
            "评价模型版本",
            [None, *versions],
            key="compute_version",
            format_func=lambda v: "当前发布版本" if v is None else versions[v],
        )
        c3.caption("计算全部企业的积分，生成草稿批次；草稿可对比、公示。")
        if c3.button("计算积分", type="primary", key="compute_button"):
            _compute(int(year), version_id)

    if all_runs.empty:
        st.info("尚无积分计算批次。")
        st.stop()
    view = all_runs[list(RUN_COLUMNS)].copy()
    # Every column one type (text or integer): a column mixing dates and "" made pyarrow log a
    # traceback on every render while a draft (no notice dates yet) existed.
    view["state"] = view["state"].map(run_state)
    for column in ("created_at", "notice_start", "notice_end"):
        view[column] = view[column].map(day)
    view["supersedes_id"] = [f"#{int(v)}" if pd.notna(v) else "—" for v in view["supersedes_id"]]
    view["created_by"] = view["created_by"].fillna("—").astype(str).replace({"system": "系统"})
    show_table(view, columns=RUN_COLUMNS)

    ids = all_runs["id"].tolist()
    # No state in the label: Streamlit keeps a selected option's old text while the option list is
    # unchanged, so "草稿" would linger after 开始公示. The table above shows the state.
    labels = {r.id: f"#{r.id} · {r.year} 年度" for r in all_runs.itertuples()}
    run_id = st.selectbox("选择批次", ids, format_func=labels.get, key="run_select")
    run = all_runs.set_index("id").loc[run_id]
    with session_scope() as session:
        summary = runs.run_summary(session, actor=actor, run_id=int(run_id))
    tier_names = summary.attrs.get("tier_names", {})  # the run's own model names its lists
    show_table(
        summary.rename(columns=tier_names).rename(
            columns={
                "stage_name": "阶段",
                "enterprises": "企业数",
                "vetoed": "否决",
                "ranked": "参与排名",
                "mean_total": "平均分",
                "max_total": "最高分",
                "subsidy_count": "奖励家数",
                "subsidy_total": "奖励金额（万元）",
            }
        )
    )
    st.caption("平均分、最高分按参与排名的企业计（与首页同一口径）。")

    state = run["state"]
    if state == "draft":
        elsewhere = open_objections[
            (open_objections["year"] == int(run["year"])) & (open_objections["run_id"] != int(run_id))
        ]
        with st.form("publish_form"):
            st.markdown("**开始公示**（同年度公示中的其他批次将被替代）")
            if not elsewhere.empty:
                runs_text = "、".join(f"#{int(r)}" for r in sorted(elsewhere["run_id"].unique()))
                st.warning(
                    f"{int(run['year'])} 年度批次 {runs_text} 还有 {len(elsewhere)} 条异议尚未答复："
                    "开始公示后该批次将被替代，请先在“异议处理”中答复。",
                    icon=":material/warning:",
                )
            d1, d2 = st.columns(2)
            default_start, default_end = runs.default_notice_window()
            start = d1.date_input("公示开始", value=default_start, format="YYYY-MM-DD")
            end = d2.date_input("公示结束", value=default_end, format="YYYY-MM-DD")
            st.caption("公示期含首尾两天，截至结束日 24:00（北京时间）。")
            asked = st.form_submit_button("开始公示", type="primary")
        if asked:
            publish = partial(
                runs.publish_run, actor=actor, run_id=int(run_id), notice_start=start, notice_end=end
            )
            published = f"批次 #{int(run_id)} 已开始公示：{start} 至 {end}。"

            def _publish_replacing(publish=publish, published: str = published) -> None:
                """The dialog's action: a refusal is raised, for the dialog to show."""
                with session_scope() as session:
                    publish(session, replace=True)
                _done("success", published)

            # the one guard of run transitions says what this replaces
            guard = call_service(runs.guard_transition, actor=actor, run_id=int(run_id), action="publish")
            if guard is not REFUSED and guard.replaces:
                confirm(
                    f"开始公示批次 #{int(run_id)}？",
                    [f"公示期：{start} 至 {end}。"],
                    warnings=list(guard.notes),
                    confirm_label="确认替代并开始公示",
                    action=_publish_replacing,
                )
            elif guard is not REFUSED and call_service(publish) is not REFUSED:
                _done("success", published)
    elif state == "notice":
        st.info(f"公示期：{day(run['notice_start'])} 至 {day(run['notice_end'])}。")
        if st.button("定稿（不可撤销）", key="finalize_button"):
            with session_scope() as session:  # open objections, the window, who may finalise early
                guard = runs.guard_transition(session, actor=actor, run_id=int(run_id), action="finalize")

            def _finalize(reason: str | None = None, run_id: int = int(run_id)) -> None:
                with session_scope() as session:  # the service enforces the same guard
                    runs.finalize_run(session, actor=actor, run_id=run_id, reason=reason)
                _done("success", f"批次 #{run_id} 已{'提前' if reason else ''}定稿。")

            listed = int(
                summary.loc[summary.index != "all", [c for c in summary.columns if c.startswith("tier_")]]
                .sum()
                .sum()
            )
            confirm(
                f"定稿批次 #{int(run_id)}？",
                [
                    f"{int(run['year'])} 年度 · {int(run['enterprise_count'])} 家企业 · 上榜 {listed} 家。",
                    "定稿后积分、榜单和扶持名单不可再修改，并作为该年度的正式结果发布；",
                    "如需更正，只能重新计算新批次。",
                ],
                warnings=list(guard.notes),
                refusal=guard.refusal,
                reason_label="提前定稿理由（必填，记入审计日志）" if guard.reason_required else None,
                confirm_label="确认定稿",
                action=_finalize,
            )
    if st.button("重算核验", key="verify_button"):
        with session_scope() as session:
            report = runs.verify_run(session, actor=actor, run_id=int(run_id))
            model_of_run = get_model(session, int(run["model_version_id"]))
        if report.identical:
            st.success(f"核验通过：{report.enterprise_count} 家企业的全部数字与重算结果完全一致。")
        else:
            st.error(
                f"核验未通过：{len(report.differing_enterprises)} 家企业存在差异"
                f"（输入指纹{'一致' if report.fingerprint_matches else '不一致'}）。"
            )
            show_table(
                label_columns(model_of_run, report.differences.head(200)).rename(
                    columns={
                        "credit_code": "统一社会信用代码",
                        "column": "项目",
                        "stored": "存储值",
                        "recomputed": "重算值",
                    }
                ),
                key="verify_differences",
            )
    with st.expander("排名稳健性（各分值随机浮动 ±20%，200 次）"):
        st.caption(
            "检验榜单对分值设定的敏感程度：每次把每个分值随机放大或缩小至多 20%，重新计算排名和榜单。"
            "“保持榜单概率”低于 90% 的上榜企业标记为“不稳定”。"
        )
        if st.button("开始分析", key="robustness_button"):
            with session_scope() as session, st.spinner("正在分析…"):
                st.session_state["robustness"] = (
                    int(run_id),
                    robustness.run_robustness(session, actor=actor, run_id=int(run_id)),
                )
        stored = st.session_state.get("robustness")
        if stored is not None and stored[0] == int(run_id):
            result = stored[1]
            members = result[result["list"] != ""]
            st.metric("上榜企业中排名不稳定的", f"{int(members['fragile'].sum())} / {len(members)}")
            shown = members.assign(
                interval=[
                    f"{int(lo)}–{int(hi)}"
                    for lo, hi in zip(members["rank_low"], members["rank_high"], strict=True)
                ],
                p_keep=(members["p_keep"] * 100).round(1),
                fragile=members["fragile"].map({True: "不稳定", False: ""}),
            )[["credit_code", "name", "stage_name", "rank", "list", "interval", "p_keep", "fragile"]]
            show_table(
                shown.rename(
                    columns={
                        "credit_code": "统一社会信用代码",
                        "name": "企业",
                        "stage_name": "阶段",
                        "rank": "排名",
                        "list": "榜单",
                        "interval": "排名区间（5%–95%）",
                        "p_keep": "保持榜单概率（%）",
                        "fragile": "稳健性",
                    }
                ),
                key="robustness_table",
            )

with tab_diff:
    if len(all_runs) < 2:
        st.info("至少需要两个批次才能对比。")
    else:
        ids = all_runs["id"].tolist()
        d1, d2 = st.columns(2)
        run_a = d1.selectbox("原批次", ids, index=1, format_func=labels.get, key="diff_a")
        run_b = d2.selectbox("新批次", ids, index=0, format_func=labels.get, key="diff_b")
        if st.button("对比", key="diff_button"):
            with session_scope() as session:
                st.session_state["run_diff"] = run_diff.diff_runs(
                    session, actor=actor, run_a=int(run_a), run_b=int(run_b)
                )
        diff = st.session_state.get("run_diff")
        if diff is not None:
            s = diff.summary
            if s["models_differ"]:
                st.warning(
                    f"两个批次使用了不同的评价模型（原批次：{s['model_a']}；新批次：{s['model_b']}），"
                    "只对比总分、排名和榜单，不对比指标输入。"
                )
            m1, m2, m3, m4 = st.columns(4)
            m1.metric("总分变化的企业", s["total_changed"])
            m2.metric("排名变化的企业", s["rank_changed"])
            m3.metric("进入榜单", s["list_entered"])
            m4.metric("退出榜单", s["list_left"])
            st.markdown("**榜单进出**")
            show_table(
                diff.list_changes[
                    ["credit_code", "name", "stage_name", "list", "change", "list_a", "list_b"]
                ].rename(columns=LIST_CHANGE_COLUMNS),
                key="diff_lists",
            )
            st.markdown("**变化最大的企业**")
            moves = diff.largest_moves(50)[list(MOVE_COLUMNS)]
            show_table(
                label_columns(diff.model, moves).rename(columns=MOVE_COLUMNS),
                key="diff_moves",
            )
            if not diff.input_changes.empty:
                st.markdown("**输入数据变化**")
                show_table(
                    label_columns(diff.model, diff.input_changes.head(500)).rename(
                        columns={
                            "credit_code": "统一社会信用代码",
                            "name": "企业",
                            "code": "指标",
                            "before": "原值",
                            "after": "新值",
                        }
                    ),
                    key="diff_inputs",
                )

with tab_objections:
    with session_scope() as session:
        items = objections.list_objections(session, actor=actor)
    if items.empty:
        st.info("暂无异议。")
    else:
        view = (
            items[
                [
                    "id",
                    "run_id",
                    "credit_code",
                    "name",
                    "indicator_label",
                    "reason",
                    "attachments",
                    "state_label",
                    "answer",
                    "created_at",
                ]
            ]
            .assign(
                created_at=items["created_at"].map(day),
                attachments=[f"{n} 个" if n else "—" for n in items["attachments"]],
            )
            .rename(
                columns={
                    "id": "编号",
                    "run_id": "批次",
                    "credit_code": "统一社会信用代码",
                    "name": "企业",
                    "indicator_label": "指标",
                    "reason": "异议理由",
                    "attachments": "证明材料",
                    "state_label": "状态",
                    "answer": "答复",
                    "created_at": "提出时间",
                }
            )
        )
        show_table(view, key="objections_table")
        with_files = items[items["attachments"] > 0]
        with st.expander(f"查看证明材料（{len(with_files)} 条异议附有材料）", expanded=not with_files.empty):
            if with_files.empty:
                st.caption("暂无附有证明材料的异议。")
            else:
                shown = _pick_objection("异议", with_files, key="objection_evidence")
                st.text(f"异议理由：{with_files.set_index('id').loc[shown, 'reason']}")
                with session_scope() as session:
                    files = objections.objection_attachments(session, actor=actor, objection_id=int(shown))
                show_evidence(files, key=f"objection_file_{int(shown)}")
        open_items = items[items["state"] == "open"]
        if open_items.empty:
            st.caption("没有待处理的异议。")
        else:
            labels = {r.id: f"#{r.id} · {r.name} · {r.reason[:20]}" for r in open_items.itertuples()}
            with st.form("answer_form"):
                objection_id = st.selectbox("待处理异议", open_items["id"].tolist(), format_func=labels.get)
                action = st.radio(
                    "处理",
                    ["reject", "uphold"],
                    horizontal=True,
                    format_func={"reject": "驳回", "uphold": "采纳"}.get,
                )
                answer = st.text_area("答复理由（必填）", max_chars=1000)
                if st.form_submit_button("提交答复", type="primary"):
                    done = call_service(
                        objections.answer_objection,
                        actor=actor,
                        objection_id=int(objection_id),
                        action=action,
                        answer=answer,
                    )
                    if done is not REFUSED:
                        if done.state == "upheld":
                            year_of = int(items.set_index("id").loc[int(objection_id), "year"])
                            st.session_state["recompute_year"] = year_of
                        _done(
                            "success", f"异议 #{objection_id} 已{'采纳' if action == 'uphold' else '驳回'}。"
                        )
            with st.expander(f"批量驳回（{len(open_items)} 条待处理）"), st.form("bulk_close_form"):
                chosen = st.multiselect(
                    "异议",
                    open_items["id"].tolist(),
                    format_func=labels.get,
                    placeholder="选择要一并驳回的异议",
                )
                every = st.checkbox(f"驳回全部 {len(open_items)} 条待处理异议")
                bulk_answer = st.text_area("驳回理由（必填，对所选异议相同）", max_chars=1000)
                if st.form_submit_button("批量驳回"):
                    closed = call_service(
                        objections.close_objections,
                        actor=actor,
                        answer=bulk_answer,
                        objection_ids=open_items["id"].tolist() if every else chosen,
                    )
                    if closed is not REFUSED:
                        _done("success", f"已驳回 {closed} 条异议。")
    upheld = items[items["state"] == "upheld"] if not items.empty else items
    if not upheld.empty:
        # the form path for a department value of the year under 公示 (an upheld objection's correction)
        with st.expander("更正部门数据（已采纳异议）", expanded=bool(st.session_state.get("recompute_year"))):
            with session_scope() as session:
                columns = {c.code: c for c in corrections.correctable_columns(session, actor=actor)}
            with st.form("correct_value_form"):
                chosen = _pick_objection("已采纳的异议", upheld, key="correct_objection")
                row = upheld.set_index("id").loc[chosen]
                codes = list(columns)
                code = st.selectbox(
                    "更正的数据项",
                    codes,
                    key="correct_code",
                    index=codes.index(row["indicator_code"]) if row["indicator_code"] in columns else 0,
                    format_func=lambda c: (
                        f"{columns[c].name}（{columns[c].unit or '—'}，{columns[c].department}）"
                    ),
                )
                value = st.text_input(
                    "更正后的数值", key="correct_value", help="与部门导入模板的填写方式相同"
                )
                reason = st.text_area(
                    "更正依据（必填，记入审计日志）",
                    key="correct_reason_text",
                    placeholder="如：异议采纳，营业收入以税务部门复核数为准",
                )
                if st.form_submit_button("提交更正", type="primary"):
                    done = call_service(
                        corrections.correct_value,
                        actor=actor,
                        enterprise_id=int(row["enterprise_id"]),
                        year=int(row["year"]),
                        code=code,
                        value=value,
                        reason=reason,
                    )
                    if done is not REFUSED:
                        st.session_state["recompute_year"] = int(row["year"])
                        _done(
                            "success",
                            f"已更正 {row['name']} 的{columns[code].name}（导入批次 #{done.batch_id}），"
                            f"重新计算 {int(row['year'])} 年度积分后计入。",
                        )
    recompute = st.session_state.get("recompute_year")
    if recompute:
        st.warning(
            f"已采纳异议：请更正数据（上方“更正部门数据”，或企业申请更正填报后审核）后，重新计算 {recompute} 年度积分；"
            "新批次开始公示后将替代原批次。"
        )
        if st.button("重新计算", type="primary", key="recompute_button"):
            st.session_state.pop("recompute_year", None)
            _compute(int(recompute))
