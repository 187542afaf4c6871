"""同阶段对比 — up to five enterprises side by side and against their stage's average, median and
top-10% line (radar of the class scores, table of every indicator's points)."""

from functools import partial

import streamlit as st

from services.compare import BENCHMARKS, MAX_COMPARED, compare_enterprises
from ui.charts import radar
from ui.charts import show as show_chart
from ui.guards import require_role
from ui.selection import COMPARE_KEY, enterprise_picker, run_picker
from ui.service_call import call_service, refusal_as
from ui.tables import show_table
from ui.text import plain

actor = require_role("officer", "admin")

st.title("同阶段对比")
run_id = run_picker(actor, key="compare_run")
if run_id is None:
    st.stop()
picked = enterprise_picker(
    actor,
    key="compare_pick",
    run_id=run_id,
    preset=st.session_state.get(COMPARE_KEY, []),
    max_selections=MAX_COMPARED,
)
st.session_state[COMPARE_KEY] = list(picked)
if not picked:
    st.info(
        f"查找并选择 1–{MAX_COMPARED} 家企业进行对比；也可在“企业检索”中选中企业后打开。",
        icon=":material/compare_arrows:",
    )
    st.stop()

compare = partial(
    call_service,
    compare_enterprises,
    on_refusal=refusal_as("warning"),
    stop=True,
    actor=actor,
    enterprise_ids=picked,
    run_id=run_id,
)
first = compare()
stages = {s.code: s.name for s in first.model.stages}
stage = st.selectbox(
    "对比阶段（平均、中位数、前10%线取自该阶段）",
    list(stages),
    index=list(stages).index(first.stage),
    format_func=stages.get,
    key="compare_stage",
)
result = first if stage == first.stage else compare(stage=stage)

st.caption(
    f"{result.year} 年度 · {result.stage_name}共 {result.stage_count} 家企业参评 · 前10%线：该阶段 10% 的企业达到或超过的水平"
)
if result.other_stage:
    st.warning(
        f"{plain('、'.join(result.other_stage))}不属于{result.stage_name}：各阶段的指标分值不同，得分按其本阶段计算。"
    )

summary = result.enterprises[["label", "credit_code", "stage_name", "total", "rank", "tier_name"]]
show_table(
    summary,
    key="compare_summary",
    column_config={
        "label": "企业名称",
        "credit_code": "统一社会信用代码",
        "stage_name": "发展阶段",
        "total": st.column_config.NumberColumn("总积分", format="%.2f"),
        "rank": st.column_config.NumberColumn("阶段排名", format="%d"),
        "tier_name": "榜单",
    },
)

series = dict(zip(result.enterprises["key"], result.enterprises["label"], strict=True))
series.update({key: f"{result.stage_name}{label}" for key, label in BENCHMARKS.items()})
st.subheader("得分结构")
show_chart(radar(result.radar, series=series, height=420), width="stretch")

st.subheader("逐项对比（得分）")
labels = result.enterprises["label"].tolist()
config = {"item": "项目", "max": st.column_config.NumberColumn("满分", format="%g")}
config.update({c: st.column_config.NumberColumn(c, format="%.2f") for c in [*labels, *BENCHMARKS.values()]})
show_table(result.table, key="compare_table", column_config=config)
