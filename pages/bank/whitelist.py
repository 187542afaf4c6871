"""推荐名单 — a partner bank: the consenting enterprises of a final run, their published figures only;
download as xlsx (audited)."""

import streamlit as st

from db.session import session_scope
from services import bank_portal
from ui.guards import require_role
from ui.service_call import REFUSED, call_service
from ui.tables import download_file, show_table
from ui.text import plain
from ui.widgets import selectbox

actor = require_role("bank")
DOWNLOAD = "bank_portal_download"  # (run id, file name, bytes) of the last export

st.title("推荐名单")
st.caption(
    f"{plain(actor.bank_name)}：只列出已定稿批次中同意向合作银行推荐、未被一票否决的企业；"
    "企业撤回同意后即从名单、下载和接口中消失。"
)
with session_scope() as session:
    runs = bank_portal.final_runs(session, actor=actor)
if not runs:
    st.info("暂无已定稿的积分批次。")
    st.stop()
labels = dict(runs)
run_id = selectbox("积分批次", list(labels), format_func=labels.get, key="bank_portal_run")
view = call_service(bank_portal.bank_view, stop=True, actor=actor, run_id=int(run_id))

m1, m2 = st.columns(2)
m1.metric("推荐企业", f"{len(view.rows)} 家")
m2.metric("名单有效期至", view.valid_until.isoformat())
table = view.table()
show_table(table, key="bank_portal_table", empty="该批次暂无同意推荐的企业。")

if st.button("生成下载文件（xlsx）", key="bank_portal_export", icon=":material/download:"):
    st.session_state.pop(DOWNLOAD, None)
    exported = call_service(bank_portal.export_bank_whitelist, actor=actor, run_id=int(run_id))
    if exported is not REFUSED:
        data, done = exported
        st.session_state[DOWNLOAD] = (done.run_id, f"推荐名单_批次{done.run_id}.xlsx", data, len(done.rows))
download = st.session_state.get(DOWNLOAD)
if download and download[0] == int(run_id):
    st.success(f"已生成推荐名单：{download[3]} 家企业（下载记录写入审计日志）。")
    download_file(f"下载 {download[1]}", download[2], file_name=download[1], key="bank_portal_file")
