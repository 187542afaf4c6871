"""培育库 — per cultivation pool, the enterprises that do not hold the qualification yet (never vetoed
ones), nearest first, with every unmet condition and its numeric gap; counts per pool; export.

The page writes the gap sentences only for the rows it shows (the numbers are computed for everyone);
exports write them for every candidate, on request."""

import streamlit as st

from db.session import session_scope
from services.scenarios import export_pool, pools_view
from ui.exports import export_panel
from ui.guards import require_role
from ui.run_picker import published_run_view
from ui.tables import XLSX_MIME, show_table

actor = require_role("officer", "admin")
SHOWN_ROWS = 500  # the gap sentences are written for these rows; an export writes them for every row

st.title("培育库")
run_id, view = published_run_view(actor, pools_view, key="pools_run")
st.caption(
    f"{view.run_label}。候选企业：尚未具备该资格、未被一票否决；按接近程度（满足条件的比例，未满足的条件按差距折算）排序。"
)

st.subheader("各培育库企业数")
show_table(view.counts, key="pool_counts")

names = list(view.candidates)
pool = st.selectbox("培育库", names, key="pool_choice")
table = view.candidates[pool]
f1, f2 = st.columns(2)
# in the order they first appear (nearest first); unique() in C: a set() of the Arrow strings walked
# every candidate in Python (~0.5 s a run at 520,000 enterprises)
stages = ["全部阶段", *table["所属阶段"].unique().tolist()]
stage = f1.selectbox("阶段", stages, key="pool_stage")
max_gaps = f2.selectbox(
    "未满足条件不超过",
    [None, 0, 1, 2, 3],
    key="pool_gaps",
    format_func=lambda k: "不限" if k is None else ("0 项（已满足，可申报）" if k == 0 else f"{k} 项"),
)
if stage != "全部阶段":
    table = table[table["所属阶段"] == stage]
if max_gaps is not None:
    table = table[table["未满足条件数"] <= max_gaps]
shown = view.with_gaps(pool, table.head(SHOWN_ROWS))  # sentences for the rows on screen only
st.caption(
    f"{pool}：{len(table):,} 家候选企业"
    + (f"，下表显示最接近的 {SHOWN_ROWS:,} 家，导出包含全部。" if len(table) > SHOWN_ROWS else "。")
)
show_table(
    shown.drop(columns=["enterprise_id"]),
    key="pool_table",
    column_config={"未满足条件": st.column_config.TextColumn(width="large")},
)

st.subheader("导出")
export_panel(
    "pool_export",
    lambda _fmt: view.with_gaps(pool, table).drop(columns=["enterprise_id"]),
    file_stem=f"培育库_{pool}",
    sheet=pool[:31],
)
if st.button("生成全部培育库（xlsx，汇总 + 每库一张表）", key="pools_all_build", icon=":material/download:"):
    with session_scope() as session, st.spinner("正在生成…"):
        st.session_state["pools_all_file"] = (
            int(run_id),
            export_pool(session, actor=actor, run_id=int(run_id)),
        )
ready = st.session_state.get("pools_all_file")
if ready and ready[0] == int(run_id):
    st.download_button(
        "下载 培育库_全部.xlsx",
        ready[1],
        file_name="培育库_全部.xlsx",
        mime=XLSX_MIME,
        key="pools_all_dl",
        type="primary",
    )
