"""The existing officer screens read as Chinese too: 填报审核's queue and report items,
积分计算与公示's run list, run comparison and objections show "—" for missing, names beside indicator codes,
是/否, text for lists — never None, a bare "T01,T02" or JSON."""

from __future__ import annotations

import re

from db.session import session_scope
from services import run_diff
from tests.app.conftest import actor_of, page_as
from tests.app.readable import assert_readable
from tests.seeded import file_own_objection


def test_review_queue_and_items_are_readable(app_db: str) -> None:
    at = page_as("pages/officer/review.py", actor_of("officer1")).run()
    assert not at.exception, at.exception
    queue = next(d.value for d in at.dataframe if "审核人" in d.value.columns)
    assert "—" in set(queue["审核人"]) and "—" in set(queue["载体"])  # not reviewed yet; in no carrier
    assert "" not in set(queue["载体"])
    assert_readable(at)

    at.session_state["review_queue"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    items = next(d.value for d in at.dataframe if "本次填报" in d.value.columns)
    assert set(items["有变化"]) <= {"是", "否", "—"}
    assert_readable(at)


def test_run_comparison_names_the_indicators(app_db: str) -> None:
    officer = actor_of("officer1")
    with session_scope() as session:
        runs = run_diff.list_runs(session, actor=officer)
        assert len(runs) >= 2
        raw = run_diff.diff_runs(
            session, actor=officer, run_a=int(runs["id"].iloc[1]), run_b=int(runs["id"].iloc[0])
        )
    coded = raw.moves["changed_inputs"][raw.moves["changed_inputs"].str.contains(",")]
    assert not coded.empty  # the service's own column is a code list: the screen must not show it as such

    at = page_as("pages/officer/runs.py", officer).run()
    next(b for b in at.button if b.label == "对比").click().run()
    assert not at.exception, at.exception
    moves = next(d.value for d in at.dataframe if "变化的输入" in d.value.columns)
    changed = [v for v in moves["变化的输入"].tolist() if v not in ("", "—")]
    assert changed and all(re.search(r"[A-Z]\d{2} [\u4e00-\u9fff]", v) for v in changed), changed[:3]
    inputs = next(d.value for d in at.dataframe if "原值" in d.value.columns)
    bare = [v for v in inputs["指标"] if re.fullmatch(r"[A-Za-z_0-9]+", v)]  # a code or field name alone
    assert not bare, bare[:5]
    assert_readable(at)


def test_objections_name_the_indicator(fresh_db: str) -> None:
    from sqlalchemy import select

    from db.models import ScoreRun

    ent = actor_of("ent1")
    with session_scope() as session:
        notice = session.execute(select(ScoreRun).where(ScoreRun.state == "notice")).scalars().one()
        for code, reason in (("T05", "研发人员数有误"), (None, "总分有误")):
            file_own_objection(session, ent, notice.id, indicator_code=code, reason=reason)
    at = page_as("pages/officer/runs.py", actor_of("officer1")).run()
    assert not at.exception, at.exception
    shown = next(d.value for d in at.dataframe if "异议理由" in d.value.columns)
    assert set(shown["指标"]) == {"T05 研发人员占比", "整体积分"}
    assert_readable(at)


def test_one_table_component() -> None:
    """ui.tables.show_table: a Chinese sentence for no rows, chosen columns renamed and ordered, readable
    cells, and a number format dropped for a column that became text (it had gaps)."""
    from streamlit.testing.v1 import AppTest

    def script() -> None:
        import pandas as pd
        import streamlit as st

        from ui.tables import show_table

        show_table(pd.DataFrame(), empty="本榜单暂无企业。")
        show_table(
            pd.DataFrame(
                {
                    "a": [1.5, None],
                    "b": ["甲", None],
                    "c": [True, False],
                    "skip": [1, 2],
                    "d": ["乙", ' [{"level": "国家", "role": "牵头"}]'],
                }
            ),
            columns={"b": "名称", "a": "分数", "c": "是否", "d": "项目"},
            column_config={"分数": st.column_config.NumberColumn("分数", format="%.2f")},
        )

    at = AppTest.from_function(script).run()
    assert not at.exception, at.exception
    assert at.caption[0].value == "本榜单暂无企业。"
    shown = at.dataframe[0].value
    assert list(shown.columns) == ["名称", "分数", "是否", "项目"]
    assert shown.to_dict("list") == {
        "名称": ["甲", "—"],
        "分数": ["1.5", "—"],
        "是否": ["是", "否"],
        "项目": ["乙", "国家级·牵头 1 项"],  # a column of plain text still reads JSON text cells
    }


def test_pages_share_the_one_table_component() -> None:
    """Every screen's table goes through ui.tables.show_table (the import reports included)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    direct = [
        str(p.relative_to(root))
        for p in [*root.glob("pages/**/*.py"), *root.glob("ui/*.py")]
        if "st.dataframe(" in p.read_text(encoding="utf-8")
    ]
    assert sorted(direct) == ["ui/tables.py"]
