"""培育库 — per cultivation pool, the enterprises that do not hold the qualification yet (never vetoed
ones), nearest first, with every unmet condition and its numeric gap; counts per pool; export."""

import streamlit as st

from db.session import session_scope
from services.scenarios import pools_view
from ui.guards import require_role
from ui.run_picker import pick_published_run
from ui.tables import download_table, show_table

actor = require_role("officer", "admin")

st.title("培育库")
run_id = pick_published_run(actor, key="pools_run")
with session_scope() as session:
    view = pools_view(session, actor=actor, run_id=int(run_id))
st.caption(f"{view.run_label}。候选企业：尚未具备该资格、未被一票否决；按接近程度（满足条件的比例，未满足的条件按差距折算）排序。")

st.subheader("各培育库企业数")
show_table(view.counts, key="pool_counts")

names = list(view.candidates)
pool = st.selectbox("培育库", names, key="pool_choice")
table = view.candidates[pool].drop(columns=["enterprise_id"])
f1, f2 = st.columns(2)
stages = ["全部阶段", *sorted(set(table["所属阶段"]), key=table["所属阶段"].tolist().index)]
stage = f1.selectbox("阶段", stages, key="pool_stage")
max_gaps = f2.selectbox("未满足条件不超过", [None, 0, 1, 2, 3], key="pool_gaps",
                        format_func=lambda k: "不限" if k is None else ("0 项（已满足，可申报）" if k == 0 else f"{k} 项"))
if stage != "全部阶段":
    table = table[table["所属阶段"] == stage]
if max_gaps is not None:
    table = table[table["未满足条件数"] <= max_gaps]
st.caption(f"{pool}：{len(table)} 家候选企业。")
show_table(table, key="pool_table", column_config={"未满足条件": st.column_config.TextColumn(width="large")})
download_table(table, name=f"培育库_{pool}", key="pool_dl")
download_table({"汇总": view.counts, **{n: t.drop(columns=["enterprise_id"]) for n, t in view.candidates.items()}},
               name="培育库_全部", key="pools_all_dl", csv=False)
