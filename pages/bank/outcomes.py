"""贷款结果报送 — a partner bank records what it did for recommended enterprises: one at a time, or a
file in the published template (checked first; written only when every row is right)."""

import streamlit as st

from core import loans
from db.session import session_scope
from services import bank_portal, loan_outcomes
from ui.guards import require_role
from ui.service_call import REFUSED, call_service
from ui.tables import download_file, show_table
from ui.text import plain
from ui.widgets import day_until_today, file_uploader, number_input, selectbox

actor = require_role("bank")
CHECKED = "bank_outcome_checked"  # (file name, size, problems, rows) of the last dry run
FLASH = "bank_outcome_flash"

st.title("贷款结果报送")
st.caption(
    f"{plain(actor.bank_name)}：报送对推荐企业的授信、放款或拒绝结果；区科技局在“金融推荐”中查看。"
    "金额单位为万元，日期不能晚于今天（北京时间）。"
)
flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash)


def _optional_number(
    container, label: str, key: str, low: float, high: float, step: float, placeholder: str = "选填"
):  # noqa: ANN001, ANN202
    """An empty number field bounded to ``low``–``high`` (checked in Chinese by ui.widgets.number_input)."""
    return number_input(
        label,
        container=container,
        min_value=low,
        max_value=high,
        value=None,
        step=step,
        key=key,
        placeholder=placeholder,
    )


def _problem_frame(problems: list[dict]):  # noqa: ANN202 - a DataFrame
    import pandas as pd

    return pd.DataFrame(
        [
            {"行": p["row"], "列": p["column"], "填写内容": p["value"] or "（空）", "问题": p["problem"]}
            for p in problems[:500]
        ]
    )


with session_scope() as session:
    runs = bank_portal.final_runs(session, actor=actor)
    view = bank_portal.bank_view(session, actor=actor) if runs else None

# ------------------------------------------------------------------ one outcome
st.subheader("录入一条结果")
if view is None or view.rows.empty:
    st.info("暂无可报送的企业（已定稿批次中没有同意推荐的企业）。")
else:
    choices = {r.credit_code: f"{r.name}（{r.credit_code}）" for r in view.rows.itertuples()}
    with st.form("bank_outcome_form"):
        c1, c2 = st.columns(2)
        code = selectbox(
            "企业",
            list(choices),
            format_func=lambda c: plain(choices.get(c, c)),
            container=c1,
            key="outcome_code",
            index=None,
            placeholder="输入名称或代码查找",
        )
        outcome = {"credit_code": code or ""}  # the service's arguments, field by field
        outcome["product"] = c2.text_input(
            "产品名称", max_chars=loans.MAX_PRODUCT, key="outcome_product", placeholder="例如：科创积分贷"
        )
        # Two fields a row: a form's "按回车键提交" hint sits inside a narrow number field, over its middle.
        c3, c4 = st.columns(2)
        outcome["decision"] = c3.radio(
            "决定",
            list(loans.DECISIONS),
            format_func=loans.DECISIONS.get,
            horizontal=True,
            key="outcome_decision",
        )
        outcome["amount"] = _optional_number(
            c4, "金额（万元）", "outcome_amount", 0.0, loans.MAX_AMOUNT, 10.0, placeholder="授信、放款时必填"
        )
        c5, c6 = st.columns(2)
        outcome["rate"] = _optional_number(c5, "年利率（%）", "outcome_rate", 0.0, loans.MAX_RATE, 0.05)
        outcome["term_months"] = _optional_number(c6, "期限（月）", "outcome_term", 1, loans.MAX_TERM, 1)
        d1, d2, d3 = st.columns(3)
        outcome["decided_on"] = day_until_today("决定日期", key="outcome_decided", container=d1)
        # Optional dates as text (an empty date picker would show its Latin format as placeholder); the
        # service reads them as a file's dates are read.
        outcome["start_on"] = d2.text_input(
            "起始日期（选填）", max_chars=10, key="outcome_start", placeholder="如 2026-11-20"
        )
        outcome["end_on"] = d3.text_input(
            "到期日期（选填）", max_chars=10, key="outcome_end", placeholder="如 2027-11-19"
        )
        outcome["reason"] = st.text_input(
            "拒绝理由（决定为拒绝时必填）", max_chars=loans.MAX_REASON, key="outcome_reason"
        )
        if st.form_submit_button("保存结果", type="primary"):
            result = call_service(loan_outcomes.record_outcome, actor=actor, run_id=view.run_id, **outcome)
            if result is not REFUSED:
                if result.problems:
                    st.error(
                        "未保存：" + "；".join(f"{p['column']}：{p['problem']}" for p in result.problems)
                    )
                else:
                    what = f"{plain(choices.get(code, code))} · {loans.DECISIONS[outcome['decision']]}"
                    st.session_state[FLASH] = (
                        f"本行已报送过相同的结果（{what}），未重复保存。"
                        if result.duplicates
                        else f"已保存：{what}。"
                    )
                    st.rerun()

# ------------------------------------------------------------------ a file
st.subheader("上传结果文件")
download_file(
    "下载报送模板（xlsx）",
    loan_outcomes.outcome_template(),
    file_name="贷款结果报送模板.xlsx",
    key="outcome_template",
)
upload = file_uploader(
    "上传填好的模板（xlsx、xls、csv，不超过 10 MB）",
    type=("xlsx", "xls", "csv"),
    max_upload_size=10,
    key="outcome_file",
)
if upload is not None:
    data = upload.getvalue()

    def _import_file(*, dry_run: bool) -> object:
        """The file through the service (a dry run only checks); what it found is kept for this file."""
        check = call_service(
            loan_outcomes.import_outcomes_file,
            actor=actor,
            data=data,
            filename=upload.name,
            dry_run=dry_run,
            run_id=view.run_id if view else None,
        )
        if check is not REFUSED:
            st.session_state[CHECKED] = (upload.name, len(data), check.problems, check.rows, check.duplicates)
        elif dry_run:
            st.session_state.pop(CHECKED, None)
        return check

    if st.button("预检", key="outcome_check"):
        _import_file(dry_run=True)
    checked = st.session_state.get(CHECKED)
    if checked and checked[:2] == (upload.name, len(data)):
        if checked[2]:
            st.error(f"预检发现 {len(checked[2])} 处问题，整份文件不会写入。请按下表修改后重新上传。")
            show_table(_problem_frame(checked[2]), key="bank_outcome_problems")
        else:
            fresh = checked[3] - checked[4]
            st.success(
                f"预检通过：{checked[3]} 行均符合要求。"
                + (f"其中 {checked[4]} 行本行已报送过，不会重复写入。" if checked[4] else "")
            )
            if fresh and st.button(f"确认导入 {fresh} 行", type="primary", key="outcome_commit"):
                done = _import_file(dry_run=False)
                if done is not REFUSED:
                    # With problems (consent withdrawn between the dry run and now) their check is shown.
                    if not done.problems:
                        st.session_state.pop(CHECKED, None)
                        st.session_state[FLASH] = f"已导入 {len(done.accepted)} 条贷款结果。" + (
                            f"另有 {done.duplicates} 行本行已报送过，未重复写入。" if done.duplicates else ""
                        )
                    st.rerun()

# ------------------------------------------------------------------ what this bank reported
st.subheader("本行已报送的结果")
with session_scope() as session:
    mine = loan_outcomes.list_outcomes(session, actor=actor)
show_table(mine.drop(columns=["合作银行"]), key="bank_outcome_list", empty="尚未报送贷款结果。")
