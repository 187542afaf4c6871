"""ui.widgets.open_tab_only keeps what was typed in a tab while another tab is open — and only that: a
value the page clears stays cleared, widgets whose value cannot be set (buttons, uploads, table
selections) are left to Streamlit, and a page opened afresh starts empty."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _page() -> None:
    import pandas as pd
    import streamlit as st

    from ui.widgets import open_tab_only

    def _clear() -> None:
        st.session_state["note"] = ""

    def _notes() -> None:
        st.text_input("备注", key="note")
        st.multiselect("标签", ["甲", "乙", "丙"], key="tags")
        st.number_input("金额", value=5.0, key="amount")
        st.button("清空备注", key="clear", on_click=_clear)
        st.file_uploader("附件", key="file")
        st.dataframe(pd.DataFrame({"企业": ["甲", "乙"]}), key="table", on_select="rerun")

    open_tab_only({"填写": _notes, "查看": lambda: st.caption("另一个标签页")}, key="tabs")


def _open(at: AppTest, tab: str) -> AppTest:
    at.session_state["tabs"] = tab
    at.run()
    assert not at.exception, at.exception
    return at


def test_typed_values_outlive_their_closed_tab() -> None:
    at = AppTest.from_function(_page).run()
    at.text_input(key="note").input("草稿")
    at.multiselect(key="tags").select("乙")
    at.number_input(key="amount").set_value(7.5).run()
    _open(at, "查看")
    assert not at.text_input  # the tab is closed: its widgets are not drawn
    _open(at, "填写")
    assert at.text_input(key="note").value == "草稿"
    assert at.multiselect(key="tags").value == ["乙"]
    assert at.number_input(key="amount").value == 7.5
    assert not at.button(key="clear").value


def test_a_cleared_value_is_not_given_back() -> None:
    at = AppTest.from_function(_page).run()
    at.text_input(key="note").input("草稿").run()
    _open(_open(at, "查看"), "填写")
    at.button(key="clear").click().run()
    assert at.text_input(key="note").value == ""
    _open(_open(at, "查看"), "填写")
    assert at.text_input(key="note").value == ""


def test_a_page_opened_afresh_starts_empty() -> None:
    at = AppTest.from_function(_page).run()
    at.text_input(key="note").input("草稿").run()
    _open(at, "查看")
    del at.session_state["tabs"]  # what leaving the page does: the tab bar is not drawn, its value gone
    at.run()
    assert at.text_input(key="note").value == ""
