"""金融推荐 — a whitelist for a partner bank by minimum total, list tier or top N per stage; only
enterprises that consented are listed; every export is audited (who, when, which bank, what)."""

import streamlit as st

from core.bank import MODES, Criteria
from db.session import session_scope
from services.bank import bank_whitelist, export_history, export_whitelist
from services.errors import ServiceError
from services.loan_outcomes import list_outcomes, outcome_summary
from services.scenarios import run_model
from ui.guards import require_role
from ui.run_picker import pick_published_run
from ui.tables import XLSX_MIME, show_table
from ui.text import plain
from ui.widgets import number_input

actor = require_role("officer", "admin")
EXPORT = "bank_export"  # (file name, bytes, mime, message) of the last export

st.title("金融推荐")
run_id = pick_published_run(actor, key="bank_run")
with session_scope() as session:
    model = run_model(session, actor=actor, run_id=int(run_id))

with st.container(border=True):
    c1, c2 = st.columns([1, 2])
    mode = c1.radio("筛选方式", list(MODES), format_func=MODES.get, key="bank_mode")
    if mode == "min_total":
        criteria = Criteria(
            "min_total",
            min_total=float(
                number_input(
                    "总积分不低于",
                    container=c2,
                    min_value=0.0,
                    max_value=200.0,
                    value=60.0,
                    step=5.0,
                    key="bank_min",
                )
            ),
        )
    elif mode == "tier":
        names = {t.code: t.name for t in model.tiers}
        tier = c2.selectbox("榜单（含更高的榜单）", list(names), format_func=names.get, key="bank_tier")
        criteria = Criteria("tier", tier=tier)
    else:
        criteria = Criteria(
            "top_n",
            top_n=int(
                number_input(
                    "每个阶段取前几名",
                    container=c2,
                    min_value=1,
                    max_value=1000,
                    value=10,
                    step=1,
                    key="bank_top",
                )
            ),
        )

try:
    with session_scope() as session:
        result = bank_whitelist(session, actor=actor, run_id=int(run_id), criteria=criteria)
except ServiceError as exc:
    st.error(plain(exc))
    st.stop()
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
        try:
            with session_scope() as session:
                data, done = export_whitelist(
                    session, actor=actor, run_id=int(run_id), criteria=criteria, bank_name=bank_name, fmt=fmt
                )
            name = f"推荐名单_{bank_name.strip()}_{done.run_id}.{fmt}"
            st.session_state[EXPORT] = (
                name,
                data,
                XLSX_MIME if fmt == "xlsx" else "text/csv",
                f"已为“{bank_name.strip()}”生成推荐名单：{len(done.table)} 家企业。",
            )
        except ServiceError as exc:
            st.session_state.pop(EXPORT, None)
            st.error(plain(exc))

export = st.session_state.get(EXPORT)
if export:
    st.success(export[3])
    st.download_button(
        f"下载 {export[0]}",
        export[1],
        file_name=export[0],
        mime=export[2],
        key="bank_download",
        icon=":material/download:",
    )

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
