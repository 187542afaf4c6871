"""智能助手's policy answers under another zone's model (tests/zone_model.py) and under an edited copy of the
default: every stage, list, share, point, 亩均 flag, pool and department quoted is the active model's —
the shipped corpus describes the default model and its numbers must not be quoted for another."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from core.assistant_model import REWRITES, model_documents
from core.assistant_text import default_documents, parse_document
from core.model_loading import load_model
from services import assistant
from services.actor import Actor
from services.model_versions import ensure_default_model, publish_model_version, register_model
from tests.zone_model import leaks, zone_model_dict

OFFICER = Actor(username="officer1", role="officer", user_id=2)


@pytest.fixture(autouse=True)
def _fresh_brains() -> None:
    # PostgreSQL test databases reuse their address and ids: a brain built for the previous test's model
    # version #2 must not answer for this one's
    assistant._BRAINS.clear()


def _activate(session: Session, definition: dict) -> None:
    ensure_default_model(session)
    draft = register_model(session, actor=OFFICER, definition=definition)
    publish_model_version(session, actor=OFFICER, version_id=draft.id)


def _answer(session: Session, question: str) -> str:
    result = assistant.ask(session, actor=OFFICER, question=question, log=False)
    assert result.answer.answered, (question, result.answer.text)
    return result.answer.text


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("有哪几类榜单", ["星火企业榜", "前 3%", "燎原企业榜", "前 15%"]),
        ("加分最多多少分", ["最多 24 分"]),
        ("总积分满分多少，怎么计算", ["满分 200 分", "最高 224 分"]),
        ("企业发展阶段怎么划分", ["萌芽期", "起步期", "加速期", "领航期", "300 万元"]),
        ("扶持对象与金额", ["领航期排名前 4%", "每家 40 万元"]),
        ("亩均论英雄", ["前 2.5%", "星城升档"]),
        ("指标数据来源于哪些部门", ["财政", "发改"]),
        ("星城瞪羚后备培育库的条件", ["星城瞪羚后备", "研发人员占比不低于 10%"]),
    ],
)
def test_policy_answers_under_another_zones_model_quote_its_own_terms(
    session: Session, question: str, expected: list[str]
) -> None:
    _activate(session, zone_model_dict())
    text = _answer(session, question)
    for word in expected:
        assert word in text, (question, word, text)
    assert not leaks(text), (question, leaks(text), text)


def test_an_edited_copy_of_the_default_model_is_quoted_with_its_new_numbers(session: Session) -> None:
    edited = load_model().to_dict()
    edited["meta"].update(version="2022.9", bonus_cap=40)
    for tier, share in zip(edited["tiers"], (0.04, 0.12, 0.25), strict=True):
        tier["share"] = share
    _activate(session, edited)
    assert "加分合计最多 40 分" in _answer(session, "加分最多多少分")
    lists = _answer(session, "有哪几类榜单")
    assert "前 4%" in lists and "前 12%" in lists and "前 25%" in lists and "前 5%" not in lists


def test_the_shipped_model_keeps_the_shipped_corpus_and_every_rewritten_article_exists() -> None:
    shipped = default_documents()
    assert model_documents(load_model(), shipped) is shipped
    titles = {
        doc_id: {c.title.split(maxsplit=1)[1] for c in parse_document(doc_id, text) if c.title}
        for doc_id, text in shipped
    }
    for doc_id, rewrites in REWRITES.items():  # a renamed shipped article must fail here, not leak
        assert set(rewrites) <= titles[doc_id], set(rewrites) - titles[doc_id]


def test_the_loan_threshold_is_quoted_only_where_the_model_recommends_the_loan(session: Session) -> None:
    """科创指数贷 "前 20%" is the default pools' trigger: a zone whose pools have no such trigger is not
    told that threshold."""
    _activate(session, zone_model_dict())
    result = assistant.ask(session, actor=OFFICER, question="科创指数贷要积分前百分之多少", log=False)
    assert "前 20%" not in result.answer.text, result.answer.text
