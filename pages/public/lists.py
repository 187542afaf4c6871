"""积分榜单 — the published lists per stage; a run in its notice window is marked 公示中."""

from functools import partial

import streamlit as st

from db.session import session_scope
from services.public import published_board, published_years
from ui.formats import run_state
from ui.freshness import published_version
from ui.tables import show_table
from ui.widgets import open_tab_only, selectbox


# Shared, not copied per reader (st.cache_resource), and kept until the published runs change: the key
# says when (ui.freshness.published_version), so no time limit rebuilds it. The lists themselves are kept
# by services.public (read after a server start too: services.scenarios.warm_after_start).
@st.cache_resource(max_entries=4, show_spinner=False)
def _years(version: tuple) -> list[int]:  # keyed by the published runs (a publish on any server)
    with session_scope() as session:
        return published_years(session)


def _load(year: int):
    with session_scope() as session:  # services.public keeps it per published version
        board = published_board(session, year=year)
    return board.model, board.run, board.lists


st.title("积分榜单")
version = published_version()
years = _years(version)
if not years:
    st.info("暂无已发布的榜单。")
    st.stop()

year = selectbox("年度", years, index=0, format_func=lambda y: f"{y} 年度")
model_dict, run, lists = _load(year)
stage_names = {s["code"]: s["name"] for s in model_dict["stages"]}
tier_names = {t["code"]: t["name"] for t in model_dict["tiers"]}

if run["state"] == "notice":
    st.warning(
        f"**公示中**：公示期 {run['start']} 至 {run['end']}。对结果有异议的企业可在公示期内登录后提出异议。"
    )
else:
    st.success(f"{year} 年度榜单已定稿。")

stage_order = [s["code"] for s in model_dict["stages"]][::-1]  # mature first, as the notice lists them


def _stage(code: str) -> None:
    frame = lists[lists["stage"] == code]
    if frame.empty:
        st.caption("本阶段暂无上榜企业。")
        return
    for tier_code, tier_name in tier_names.items():
        part = frame[frame["tier"] == tier_code]
        st.markdown(f"**{tier_name}**（{len(part)} 家）")
        columns = {"rank": "排名", "name": "企业名称", "credit_code": "统一社会信用代码", "total": "积分"}
        if model_dict.get("mujun"):  # a model without 亩均 flags has no such column
            columns["mujun"] = "亩均论英雄"
        show_table(
            part.assign(mujun=part["mujun"].fillna("").replace("", "—")),
            columns=columns,
            empty="本榜单暂无企业。",
        )


# one stage's lists drawn at a time (ui.widgets.open_tab_only)
open_tab_only({stage_names[code]: partial(_stage, code) for code in stage_order}, key=f"lists_stage_{year}")
st.caption(f"计算批次 #{run['id']} · {run_state(run['state'])}")
