"""金融推荐 — a whitelist for a partner bank by minimum total, list tier or top N per stage; only
enterprises that consented are listed; every export is audited (who, when, which bank, what)."""

import streamlit as st

from core.bank import MODES, Criteria
from db.session import session_scope
from services.bank import bank_whitelist, export_history, export_whitelist
from services.loan_outcomes import list_outcomes, outcome_summary
from services.scenarios import run_model
from ui.guards import require_role
from ui.run_picker import published_run_view
from ui.service_call import REFUSED, call_service
from ui.tables import download_file, show_table
from ui.widgets import number_input

actor = require_role("officer", "admin")
EXPORT = "bank_export"  # (file name, bytes, message) of the last export
# The modes chosen by a number: mode → label, widget key, type, bounds and default.
NUMBER_CRITERIA = {
    "min_total": (
        "总积分不低于",
        "bank_min",
        float,
        {"min_value": 0.0, "max_value": 200.0, "value": 60.0, "step": 5.0},
    ),
    "top_n": (
        "每个阶段取前几名",
        "bank_top",
        int,
        {"min_value": 1, "max_value": 1000, "value": 10, "step": 1},
    ),
}

st.title("金融推荐")
run_id, model = published_run_view(actor, run_model, key="bank_run")

with st.container(border=True):
    c1, c2 = st.columns([1, 2])
    mode = c1.radio("筛选方式", list(MODES), format_func=MODES.get, key="bank_mode")
    # one criterion's field drawn at a time: the others keep what the officer set (persist_state) while
    # hidden, as Streamlit would otherwise reset a field it does not draw
    if mode == "tier":
        names = {t.code: t.name for t in model.tiers}
        tier = c2.selectbox(
            "榜单（含更高的榜单）", list(names), format_func=names.get, key="bank_tier", persist_state="page"
        )
        criteria = Criteria("tier", tier=tier)
    else:  # a number criterion: its field in Criteria is named as the mode
        label, key, kind, bounds = NUMBER_CRITERIA[mode]
        value = number_input(label, container=c2, key=key, persist_state="page", **bounds)
        criteria = Criteria(mode, **{mode: kind(value)})

result = call_service(bank_whitelist, stop=True, actor=actor, run_id=int(run_id), criteria=criteria)
m1, m2, m3 = st.columns(3)
m1.metric("符合条件", f"{result.chosen} 家")
m2.metric("未同意推荐（不列入）", f"{result.without_consent} 家")
m3.metric("推荐名单", f"{len(result.table)} 家")
st.caption(
    f"{result.run_label}；条件：{result.criteria_text}。只列入已在“政策与服务”中同意向合作银行推荐、未被一票否决的企业。"
)
show_table(result.table, key="whitelist_table")

with st.form("bank_export_form"):
    st.markdown("**导出推荐名单**（导出记录写入审计日志：操作人、时间、银行、条件和名单）")
    e1, e2 = st.columns([3, 1])
    bank_name = e1.text_input(
        "合作银行", max_chars=100, key="bank_name", placeholder="例如：温州银行龙湾支行"
    )
    fmt = e2.selectbox("格式", ["xlsx", "csv"], key="bank_fmt")
    if st.form_submit_button("导出名单", type="primary"):
        st.session_state.pop(EXPORT, None)
        exported = call_service(
            export_whitelist, actor=actor, run_id=int(run_id), criteria=criteria, bank_name=bank_name, fmt=fmt
        )
        if exported is not REFUSED:
            data, done = exported
            name = f"推荐名单_{bank_name.strip()}_{done.run_id}.{fmt}"
            st.session_state[EXPORT] = (
                name,
                data,
                f"已为“{bank_name.strip()}”生成推荐名单：{len(done.table)} 家企业。",
            )

export = st.session_state.get(EXPORT)
if export:
    st.success(export[2])
    download_file(f"下载 {export[0]}", export[1], file_name=export[0], key="bank_download")

st.subheader("导出记录")
with session_scope() as session:
    history = export_history(session, actor=actor)
show_table(history, key="bank_history")

# ------------------------------------------------------------------ loan outcomes
st.subheader("合作银行报送的贷款结果")
st.caption("合作银行在其账户中录入、上传或经接口报送的授信、放款和拒绝结果。")
with session_scope() as session:
    summary = outcome_summary(session, actor=actor)
    outcomes = list_outcomes(session, actor=actor)
show_table(summary, key="bank_outcome_summary", empty="尚无合作银行报送贷款结果。")
if not outcomes.empty:
    show_table(outcomes, key="bank_outcomes")
