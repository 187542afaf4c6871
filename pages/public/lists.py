"""积分榜单 — the published lists per stage; a run in its notice window is marked 公示中."""

from functools import partial

import streamlit as st

from db.session import session_scope
from services.public import latest_published_run, public_lists, public_model, published_years
from ui.formats import run_state
from ui.freshness import published_version
from ui.tables import show_table
from ui.widgets import open_tab_only, selectbox


# Shared, not copied per reader (st.cache_resource: the frame is only read), and kept until the published
# runs change: the key says when (ui.freshness.published_version), so no time limit rebuilds it.
@st.cache_resource(max_entries=4, show_spinner=False)
def _years(version: tuple) -> list[int]:  # keyed by the published runs (a publish on any server)
    with session_scope() as session:
        return published_years(session)


@st.cache_resource(max_entries=4, show_spinner=False)
def _load(year: int, version: tuple):
    with session_scope() as session:
        run = latest_published_run(session, year=year)
        # the one model-version rule: the stages and lists of the run's own model
        model = public_model(session, year=year).model
        lists = public_lists(session, run_id=run.id) if run else None
        run_info = (
            {
                "id": run.id,
                "year": run.year,
                "state": run.state,
                "start": run.notice_start,
                "end": run.notice_end,
            }
            if run
            else None
        )
        return model.to_dict(), run_info, lists


st.title("积分榜单")
version = published_version()
years = _years(version)
if not years:
    st.info("暂无已发布的榜单。")
    st.stop()

year = selectbox("年度", years, index=0, format_func=lambda y: f"{y} 年度")
model_dict, run, lists = _load(year, version)
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
        show_table(
            part.assign(mujun=part["mujun"].fillna("").replace("", "—")),
            columns={
                "rank": "排名",
                "name": "企业名称",
                "credit_code": "统一社会信用代码",
                "total": "积分",
                "mujun": "亩均论英雄",
            },
            empty="本榜单暂无企业。",
        )


# one stage's lists drawn at a time (ui.widgets.open_tab_only)
open_tab_only({stage_names[code]: partial(_stage, code) for code in stage_order}, key=f"lists_stage_{year}")
st.caption(f"计算批次 #{run['id']} · {run_state(run['state'])}")
