"""展示大屏's tables fit their panels at 24 px: names without their legal form in the narrow movers
panel, the newest two years of 资质企业数 in the grid (every year in the carousel's wide panel)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from ui.bigscreen import short_name


def test_a_name_loses_only_its_legal_form() -> None:
    assert short_name("温州卓通机械有限公司") == "温州卓通机械"
    assert short_name("浙江瓯海晶峰网络科技股份有限公司") == "浙江瓯海晶峰网络科技"
    assert short_name("温州市鹿城区某某有限责任公司") == "温州市鹿城区某某"
    assert short_name("温州高新技术产业园") == "温州高新技术产业园"  # no legal form: as it is
    assert short_name("有限公司") == "有限公司"  # nothing would be left
    assert short_name("甲有限公司") == "甲有限公司"  # one character is no name to show


def _qualification_app(years: int | None) -> AppTest:
    def app() -> None:
        from types import SimpleNamespace

        import pandas as pd
        import streamlit as st

        from ui.bigscreen import qualification_table

        counts = pd.DataFrame(
            {
                "资质": ["国家高新技术企业", "小巨人"] * 3,
                "年度": [2024, 2024, 2025, 2025, 2026, 2026],
                "企业数": [405, 12, 450, 12, 471, 15],
            }
        )
        qualification_table(SimpleNamespace(qualifications=counts), years=st.session_state["years"])

    at = AppTest.from_function(app)
    at.session_state["years"] = years
    return at.run()


def test_the_grid_shows_the_newest_two_years_and_the_carousel_every_year() -> None:
    grid = _qualification_app(2).table[0].value
    assert list(grid.columns) == ["2025", "2026"]
    assert grid.loc["国家高新技术企业"].tolist() == ["450", "471"]
    every = _qualification_app(None).table[0].value
    assert list(every.columns) == ["2024", "2025", "2026"]
    assert every.loc["小巨人"].tolist() == ["12", "12", "15"]
