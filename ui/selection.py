"""Session keys that carry a choice from one officer page to another (企业检索 → 企业画像 / 同阶段对比)."""

PORTRAIT_KEY = "officer_portrait_enterprise"  # enterprise id to open in 企业画像
COMPARE_KEY = "officer_compare_enterprises"  # enterprise ids to compare in 同阶段对比
RUN_KEY = "officer_selected_run"  # the run those were chosen in


def run_picker(actor, *, key: str) -> int | None:  # noqa: ANN001 - services.actor.Actor
    """积分批次 selectbox (default: the run chosen on the previous page, else the latest 公示/final one)."""
    import streamlit as st

    from db.session import session_scope
    from services import search, search_data
    from ui import formats

    with session_scope() as session:
        runs = search.searchable_runs(session, actor=actor)
        default = search_data.default_run(session)
    if runs.empty or default is None:
        st.info("暂无积分批次：请先在“积分计算与公示”中计算积分。", icon=":material/info:")
        return None
    labels = {
        int(r.id): f"{r.year} 年度 · {formats.run_state(r.state)} · 批次 #{r.id}" for r in runs.itertuples()
    }
    ids = list(labels)
    wanted = st.session_state.get(RUN_KEY, default.id)
    index = ids.index(wanted) if wanted in ids else ids.index(default.id)
    return st.selectbox("积分批次", ids, index=index, format_func=labels.get, key=key)


def enterprise_picker(actor, *, key: str, run_id: int, preset: list[int], max_selections: int) -> list[int]:  # noqa: ANN001
    """Find enterprises by name, pinyin or credit code and pick up to ``max_selections`` of them."""
    import streamlit as st

    from db.session import session_scope
    from services import search
    from ui.widgets import multiselect

    chosen_key = f"{key}_chosen"
    if chosen_key not in st.session_state:
        st.session_state[chosen_key] = list(preset)
    names: dict[int, str] = st.session_state.setdefault(f"{key}_names", {})
    query = st.text_input(
        "查找企业",
        key=f"{key}_query",
        max_chars=60,
        placeholder="名称片段、拼音首字母、全拼或统一社会信用代码前缀",
    )
    with session_scope() as session:
        if query.strip():
            found = search.find_enterprises(session, actor=actor, query=query, limit=20, run_id=run_id)
            names.update(
                {
                    int(i): f"{n}（{c}）"
                    for i, n, c in zip(
                        found["enterprise_id"], found["name"], found["credit_code"], strict=True
                    )
                }
            )
        missing = [i for i in st.session_state[chosen_key] if i not in names]
        if missing:
            names.update(search.enterprise_labels(session, actor=actor, enterprise_ids=missing))
    return multiselect(
        "已选企业",
        list(names),
        format_func=names.get,
        key=chosen_key,
        max_selections=max_selections,
        placeholder="在上方查找后选择",
    )
