"""服务目录 — the services the zone offers: which stages of the active model each suits (stage fit is how
政策与服务 recommends it), who provides it, on or off. An item keyed to stages the model does not know is
flagged with how to fix it; the stage picker offers the model's stages only.

A save names the version its form was drawn at (the button's callback holds it): when another officer,
or another tab, saved the item since, the service refuses and the form is drawn again from what is stored.
Deactivating an item that pools, rules or open requests name asks first, naming them."""

import streamlit as st

from db.session import session_scope
from services.errors import ServiceError
from services.service_catalogue import (
    CHANGED_ELSEWHERE,
    DEACTIVATION_EFFECT,
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_PROVIDER,
    add_service_item,
    catalogue_overview,
    update_service_item,
)
from ui.confirm import confirm
from ui.flash import flash, show_flash
from ui.guards import require_role
from ui.service_call import REFUSED, call_service
from ui.tables import show_table
from ui.text import plain
from ui.widgets import multiselect, selectbox

actor = require_role("officer", "admin")
FLASH = "catalogue_flash"
EDIT_FLASH = "catalogue_edit_flash"  # a refused save, shown at the form
PENDING = "catalogue_pending_deactivation"  # a deactivation waiting for the officer's confirmation
FIELDS = ("name", "provider", "description", "stages", "active")


def _key(field: str, code: str, version: int) -> str:
    """A form field's key: per item and per stored version, so a save since draws the form afresh."""
    return f"catalogue_{field}_{code}_v{version}"


def _refused(exc: ServiceError) -> None:
    text = str(exc)
    if text == CHANGED_ELSEWHERE:
        text += "下方表单已载入最新内容。"
    flash(EDIT_FLASH, "error", plain(text))


def _save(code: str, version: int, was_active: bool, references: list[str]) -> None:
    """The 保存 button's callback: ``version`` is the one the form was drawn at."""
    values = {field: st.session_state.get(_key(field, code, version)) for field in FIELDS}
    if was_active and not values["active"] and references:
        st.session_state[PENDING] = (code, version, values, references)
        return
    done = call_service(
        update_service_item, on_refusal=_refused, actor=actor, code=code, version=version, **values
    )
    if done is not REFUSED:
        flash(FLASH, "success", f"已保存“{plain(done.name)}”。")


st.title("服务目录")
show_flash(FLASH)

with session_scope() as session:
    overview = catalogue_overview(session, actor=actor)
model, items = overview.model, overview.items
stages = {s.code: s.name for s in model.stages}

st.caption(
    f"适用阶段按当前评价模型（{plain(model.name)}）的阶段填写：企业在“政策与服务”中按所在阶段获得推荐；"
    "不限阶段的服务只在指标或培育库条件满足时推荐。"
)
if overview.run_stages:
    st.info(
        f"最新公示/定稿的积分批次按另一版评价模型计算（阶段：{plain(overview.run_stages)}）：在按当前模型计算并"
        "公示新批次之前，企业仍按该批次的阶段匹配服务。",
        icon=":material/info:",
    )
if overview.unknown_items:
    st.warning(
        f"有 {overview.unknown_items} 项启用中的服务，其适用阶段不在当前评价模型中，这些阶段不会为任何企业"
        "匹配服务。请在下方“修改服务”中选择该服务，重新勾选当前模型的适用阶段并保存。",
        icon=":material/warning:",
    )

view = items.assign(状态=items["active"].map({True: "启用", False: "停用"}))[
    ["name", "provider", "kind", "stage_text", "状态", "problem"]
].rename(
    columns={
        "name": "服务",
        "provider": "提供单位",
        "kind": "类别",
        "stage_text": "适用阶段",
        "problem": "需处理",
    }
)
BANK_RULE = (
    "提供单位含“银行”的服务按金融产品推荐：企业须先同意向合作银行推荐才能办理，被一票否决的企业不推荐。"
)
st.caption(f"共 {len(view)} 项。")
show_table(view, key="catalogue_table")

st.subheader("修改服务")
show_flash(EDIT_FLASH)
pending = st.session_state.pop(PENDING, None)
if pending is not None:
    p_code, p_version, p_values, p_references = pending

    def _deactivate() -> None:
        """The dialog's action: a refusal (someone saved meanwhile) is raised, for the dialog to show."""
        with session_scope() as session:
            done = update_service_item(
                session,
                actor=actor,
                code=p_code,
                version=p_version,
                confirm_deactivation=True,
                **p_values,
            )
            flash(FLASH, "success", f"已停用“{plain(done.name)}”。")

    confirm(
        "确认停用服务",
        [f"停用“{p_values['name']}”。该服务被以下内容引用：", *(f"· {r}" for r in p_references)],
        warnings=[DEACTIVATION_EFFECT],
        confirm_label="确认停用",
        action=_deactivate,
    )

names = {row.code: row.name + ("（适用阶段需更新）" if row.problem else "") for row in items.itertuples()}
chosen = selectbox("选择服务", names, index=None, key="catalogue_item")
if chosen is not None:
    item = items.loc[items["code"] == chosen].iloc[0]
    version = int(item["version"])
    references = list(item["references"])
    with st.form(f"catalogue_edit_{chosen}"):
        st.text_input("服务名称", value=item["name"], max_chars=MAX_NAME, key=_key("name", chosen, version))
        st.text_input(
            "提供单位", value=item["provider"], max_chars=MAX_PROVIDER, key=_key("provider", chosen, version)
        )
        st.caption(f"现为{item['kind']}。{BANK_RULE}")
        st.text_area(
            "服务说明",
            value=item["description"],
            max_chars=MAX_DESCRIPTION,
            key=_key("description", chosen, version),
        )
        multiselect(
            "适用阶段（不选 = 不限阶段，只按指标或培育库推荐）",
            stages,
            default=[code for code in item["stages"] if code in stages],
            placeholder="选择当前模型的阶段（可多选）",
            key=_key("stages", chosen, version),
        )
        if item["problem"]:
            st.caption(f"{plain(item['problem'])}：保存后不再保留，请改选上面列出的阶段。")
        st.checkbox("启用", value=bool(item["active"]), key=_key("active", chosen, version))
        if references:
            st.caption(f"被以下内容引用：{plain('、'.join(references))}。停用前会请您确认。")
        st.form_submit_button(
            "保存",
            type="primary",
            on_click=_save,
            args=(chosen, version, bool(item["active"]), references),
        )

with st.expander("新增服务"), st.form("catalogue_add", clear_on_submit=True):
    new_name = st.text_input("服务名称", max_chars=MAX_NAME, key="catalogue_new_name")
    new_provider = st.text_input("提供单位", max_chars=MAX_PROVIDER, key="catalogue_new_provider")
    st.caption(BANK_RULE)
    new_description = st.text_area("服务说明", max_chars=MAX_DESCRIPTION, key="catalogue_new_description")
    new_stages = multiselect(
        "适用阶段（不选 = 不限阶段，只按指标或培育库推荐）",
        stages,
        key="catalogue_new_stages",
        placeholder="选择当前模型的阶段（可多选）",
    )
    if st.form_submit_button("新增"):
        added = call_service(
            add_service_item,
            actor=actor,
            name=new_name,
            provider=new_provider,
            description=new_description,
            stages=new_stages,
        )
        if added is not REFUSED:
            st.session_state[FLASH] = ("success", f"已新增“{plain(added.name)}”。")
            st.rerun()
