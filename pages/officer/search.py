"""企业检索 — every filter of a run combined with the search box; a sortable table of chosen columns;
export; open one enterprise's portrait or compare up to five."""

import streamlit as st

from db.session import session_scope
from services import search, search_data
from ui import formats
from ui.exports import export_panel
from ui.guards import require_role
from ui.selection import COMPARE_KEY, PORTRAIT_KEY, RUN_KEY
from ui.service_call import call_service
from ui.tables import show_table
from ui.text import plain
from ui.widgets import multiselect, selectbox

actor = require_role("officer", "admin")
YES_NO = {None: "全部", True: "是", False: "否"}

st.title("企业检索")


def _runs(session) -> tuple:  # noqa: ANN001 - the call's db session
    return search.searchable_runs(session, actor=actor), search_data.default_run(session)


runs, default = call_service(_runs, stop=True)
if runs.empty or default is None:
    st.info("暂无积分批次：请先在“积分计算与公示”中计算积分。", icon=":material/info:")
    st.stop()

run_labels = {
    int(r.id): f"{r.year} 年度 · {formats.run_state(r.state)} · 批次 #{r.id}（{r.enterprise_count} 家）"
    for r in runs.itertuples()
}
run_ids = list(run_labels)
run_id = st.selectbox(
    "积分批次",
    run_ids,
    index=run_ids.index(default.id),
    format_func=run_labels.get,
    key="search_run",
    help="默认为最近的公示或定稿批次",
)
with session_scope() as session:
    options = search.search_options(session, actor=actor, run_id=run_id)


def _range(container, label: str, key: str, step: float = 1.0) -> tuple[float | None, float | None]:  # noqa: ANN001
    a, b = container.columns(2)
    low = a.number_input(f"{label} 不低于", value=None, step=step, key=f"{key}_low", placeholder="不限")
    high = b.number_input(f"{label} 不高于", value=None, step=step, key=f"{key}_high", placeholder="不限")
    return low, high


chosen_indicators = multiselect(
    "指标条件",
    list(options.indicators),
    format_func=options.indicators.get,
    key="search_indicators",
    placeholder="可选：按某项指标的数值或得分筛选",
    help="数值型指标按数值筛选，其他指标按得分筛选；选中的指标也会显示为结果列。范围在下方“类别小计与指标条件”中填写。",
)

with st.form("search_form", border=True):
    query = st.text_input(
        "查找企业",
        max_chars=60,
        key="search_query",
        # the placeholder fits a phone's field (390 px); the full list of what matches is the help
        placeholder="名称、拼音首字母（如 wzlx）或信用代码",
        help="可输入企业名称片段、拼音首字母（如 wzlx）、全拼或统一社会信用代码前缀。",
    )
    c1, c2, c3 = st.columns(3)
    stages = multiselect(
        "发展阶段", options.stages, container=c1, key="search_stages", placeholder="全部阶段"
    )
    tiers = multiselect("榜单", options.tiers, container=c2, key="search_tiers", placeholder="全部")
    total = _range(c3, "总积分", "search_total")
    c4, c5, c6 = st.columns(3)
    industries = multiselect(
        "行业", options.industries, container=c4, key="search_industries", placeholder="全部行业"
    )
    streets = multiselect("街道", options.streets, container=c5, key="search_streets", placeholder="全部街道")
    carriers = multiselect(
        "载体",
        list(options.carriers),
        container=c6,
        format_func=lambda c: plain(options.carriers[c]),
        key="search_carriers",
        placeholder="全部",
    )
    c7, c8, c9, c10 = st.columns(4)
    veto = selectbox("一票否决", YES_NO, container=c7, key="search_veto")
    missing = selectbox("有缺失数据", YES_NO, container=c8, key="search_missing")
    pending = selectbox("有待审自报", YES_NO, container=c9, key="search_pending")
    consent = selectbox("已授权银行推荐", YES_NO, container=c10, key="search_consent")
    q1, q2 = st.columns(2)
    held = multiselect(
        "具备资质", options.qualifications, container=q1, key="search_held", placeholder="不限"
    )
    lacking = multiselect(
        "不具备资质", options.qualifications, container=q2, key="search_lacking", placeholder="不限"
    )
    with st.expander("类别小计与指标条件", expanded=bool(chosen_indicators)):
        subtotals = {code: _range(st, label, f"search_sub_{code}") for code, label in options.classes.items()}
        conditions = []
        for code in chosen_indicators:
            basis = "value" if code in options.numeric_indicators else "points"
            what = options.indicators[code] + ("" if basis == "value" else " 得分")
            low, high = _range(st, what, f"search_ind_{code}", step=0.1)
            conditions.append(search.IndicatorCondition(code, low=low, high=high, basis=basis))
    st.form_submit_button("检索", type="primary", icon=":material/search:")

filters = search.SearchFilters(
    query=query or "",
    stages=stages,
    tiers=tiers,
    total=total,
    subtotals={k: v for k, v in subtotals.items() if v != (None, None)},
    indicators=conditions,
    industries=industries,
    streets=streets,
    carriers=carriers,
    qualifications={**{c: True for c in held}, **{c: False for c in lacking}},
    veto=veto,
    missing=missing,
    pending_self_report=pending,
    bank_consent=consent,
)
if set(held) & set(lacking):
    st.warning("同一资质不能既要求具备又要求不具备：请修改“具备资质”或“不具备资质”。")
    st.stop()
result = call_service(search.search_enterprises, stop=True, actor=actor, filters=filters, run_id=run_id)

columns_available = search.available_columns(result)
default_columns = [c for c in search.DEFAULT_COLUMNS if c in columns_available]
default_columns += [c for c in columns_available if c.startswith((search.VALUE_PREFIX, search.POINTS_PREFIX))]
chosen_columns = multiselect(
    "显示的列",
    [c for c in columns_available if c != "match"],
    default=default_columns,
    format_func=columns_available.get,
    key="search_columns",
)
# the search box's "how it matched" column always follows a query (and never shows without one)
shown_columns = (chosen_columns or default_columns) + (["match"] if filters.query.strip() else [])

st.caption(
    f"{result.year} 年度 · {formats.run_state(result.run_state)} · 符合条件 {result.count:,} 家"
    f"（本批次共 {result.run_size:,} 家）"
    + (
        f"，下表显示前 {search.DISPLAY_LIMIT:,} 家，导出包含全部"
        if result.count > search.DISPLAY_LIMIT
        else ""
    )
)
if result.count == 0:
    st.info("没有符合条件的企业：请放宽筛选条件或换一个查找词。", icon=":material/search_off:")
    st.stop()

table = result.table(shown_columns, limit=search.DISPLAY_LIMIT)
number_formats = {
    label: st.column_config.NumberColumn(label, format="%.2f")
    for key, label in columns_available.items()
    if key in ("total", "percentile") or key.startswith(("sub_", "v_", "p_"))
}
number_formats[columns_available["rank"]] = st.column_config.NumberColumn("阶段排名", format="%d")
show_table(table, key="search_table", column_config=number_formats)


def _export_table(fmt: str):  # noqa: ANN202
    with session_scope() as session:
        return search.export_table(session, actor=actor, result=result, columns=shown_columns, fmt=fmt)


st.subheader("导出")
export_panel(
    "search_export",
    _export_table,
    file_stem=f"企业检索_{result.year}年度_批次{result.run_id}",
    sheet=f"{result.year}年度企业检索",
)

with (
    session_scope() as session
):  # after the page is drawn: the index ready before the officer has typed a name
    search_data.warm_search(session, actor=actor)

st.subheader("画像与对比")
top = result.head(search.DISPLAY_LIMIT)
choices = dict(
    zip(
        top["enterprise_id"].tolist(),
        (f"{n}（{c}）" for n, c in zip(top["name"], top["credit_code"], strict=True)),
        strict=True,
    )
)
# Enterprises picked in an earlier search stay options (and stay picked): a comparison is often put
# together over several searches, and the browser sends back every picked id — one that stopped being an
# option would have no label.
earlier = [i for i in st.session_state.get("search_picked", []) if i not in choices]
if earlier:
    with session_scope() as session:
        choices.update(search.enterprise_labels(session, actor=actor, enterprise_ids=earlier))
picked = multiselect(
    "选择企业（查看画像选 1 家，同阶段对比选 2–5 家）",
    list(choices),
    format_func=choices.get,
    max_selections=5,
    key="search_picked",
    placeholder="从检索结果中选择",
)
b1, b2 = st.columns(2)
if b1.button("查看企业画像", disabled=len(picked) != 1, icon=":material/person_search:"):
    st.session_state[PORTRAIT_KEY] = picked[0]
    st.session_state[RUN_KEY] = result.run_id
    st.switch_page("pages/officer/portrait.py")
if b2.button("同阶段对比", disabled=not 2 <= len(picked) <= 5, icon=":material/compare_arrows:"):
    st.session_state[COMPARE_KEY] = list(picked)
    st.session_state[RUN_KEY] = result.run_id
    st.switch_page("pages/officer/compare.py")
