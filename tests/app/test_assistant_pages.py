"""智能助手 pages in AppTest: an enterprise asks and gets its answer with the source, confirms a 免申即享
item; the staff page lists the confirmation and the questions to improve."""

from __future__ import annotations

from sqlalchemy import select

from db.models import AssistantConfirmation, AssistantQuestion
from db.session import session_scope
from tests.app.conftest import actor_of, page_as
from tests.app.readable import assert_readable


def test_enterprise_asks_confirms_and_the_officer_sees_it(fresh_db: str) -> None:
    at = page_as("pages/enterprise/assistant.py", actor_of("ent1")).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "智能助手"
    next(b for b in at.button if b.label == "我的积分是多少").click().run()
    assert not at.exception, at.exception
    texts = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "总积分" in texts and "积分批次 #" in texts and "识别为：总积分与排名" in texts
    at.chat_input[0].set_value("科小入库要什么条件").run()
    assert not at.exception, at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "《企业发现培育与应用场景》" in captions.replace("\\", "")
    confirm = [b for b in at.button if b.label == "一键确认"]
    assert confirm
    confirm[0].click().run()
    assert not at.exception, at.exception
    assert any("已确认" in s.value for s in at.success)
    with session_scope() as session:
        assert session.execute(select(AssistantConfirmation)).scalars().all()
        assert len(session.execute(select(AssistantQuestion)).scalars().all()) == 2
    staff = page_as("pages/officer/assistant.py", actor_of("officer1")).run()
    assert not staff.exception, staff.exception
    frames = [f.value for f in staff.dataframe]
    seen = next(f for f in frames if "事项" in f.columns)
    assert len(seen) == 1 and seen["确认账户"].iloc[0] == "ent1"
    assert_readable(staff)


def test_the_enterprise_page_refuses_staff_and_the_staff_page_refuses_enterprises(app_db: str) -> None:
    at = page_as("pages/enterprise/assistant.py", actor_of("officer1")).run()
    assert not at.chat_input
    at = page_as("pages/officer/assistant.py", actor_of("ent1")).run()
    assert not at.tabs


def test_officer_adds_a_synonym_and_an_answer_clause(fresh_db: str) -> None:
    from db.models import AssistantSynonym, AssistantText

    staff = page_as("pages/officer/assistant.py", actor_of("officer1")).run()
    assert not staff.exception, staff.exception
    staff.text_input(key="as_syn_term").set_value("青创贷")
    staff.text_input(key="as_syn_canon").set_value("创业担保贷款")
    staff.button(key="as_syn_add").click().run()
    assert any("已添加同义词" in s.value for s in staff.success), [s.value for s in staff.success]
    staff.text_input(key="as_cl_title").set_value("创业担保贷款（青创贷）")
    staff.text_area(key="as_cl_body").set_value("符合条件的青年创业者可申请创业担保贷款，由区人社局受理。")
    staff.button(key="as_cl_add").click().run()
    assert any("已添加答复条目" in s.value for s in staff.success), [s.value for s in staff.success]
    with session_scope() as session:
        assert [s.term for s in session.execute(select(AssistantSynonym)).scalars()] == ["青创贷"]
        assert any("青创贷" in (t.title or "") for t in session.execute(select(AssistantText)).scalars())
