"""The assistant understands the question set (tests/assistant/questions.toml): intent accuracy and
clause recall@3 of at least 90 %, questions it cannot ground fall back to the office contact."""

from __future__ import annotations

from functools import lru_cache

import pytest

from core.assistant import Brain
from core.assistant_text import default_documents, load_data, parse_document
from core.model_loading import load_model
from tests.assistant.quality import load_questions, measure


@lru_cache(maxsize=1)
def _brain() -> Brain:
    return Brain(load_model(), data=load_data(), documents=[(d, t, None) for d, t in default_documents()])


def test_the_question_set_is_large_and_covers_every_topic() -> None:
    questions = load_questions()
    assert len(questions) >= 120
    topics = {q["cat"] for q in questions}
    assert {
        "score",
        "indicator",
        "list",
        "subsidy",
        "pool",
        "service",
        "objection",
        "deadline",
        "how-to-fill",
    } <= topics
    clauses = {c.key for d, t in default_documents() for c in parse_document(d, t)}
    for q in questions:  # every expected clause exists: a renamed article must fail here, not silently
        assert set(q.get("clauses", [])) <= clauses, q["q"]


def test_intent_accuracy_and_clause_recall_reach_90_percent() -> None:
    quality = measure(_brain())
    assert quality.intent.share >= 0.90, quality.misses
    assert quality.clause.share >= 0.90, quality.misses
    assert quality.refusal.total >= 3 and quality.refusal.share >= 0.75, quality.misses


def test_every_deadline_and_statistics_question_is_recognised() -> None:
    """No slack for these two topics: behind the overall 90 % an owner's "异议截止到几号" got a quote of the
    rules instead of the run's dates, and an officer's "成长期有多少家企业" an unrelated clause."""
    asked = [q for q in load_questions() if q["cat"] in ("deadline", "statistics")]
    assert sum(q["cat"] == "statistics" for q in asked) >= 8
    quality = measure(_brain(), asked)
    assert quality.intent.right == quality.intent.total, quality.misses


def test_a_policy_answer_quotes_the_clause_with_its_source() -> None:
    answer = _brain().policy_answer("科小入库要什么条件")
    assert answer.answered
    assert answer.clause_keys[0] == "03-cultivation#第三条"
    assert "《企业发现培育与应用场景》" in answer.sources[0] and "第三条" in answer.sources[0]
    assert "职工总数不超过 500 人" in answer.text


def test_below_the_threshold_the_answer_gives_the_contact_not_a_guess() -> None:
    answer = _brain().policy_answer("明天去杭州的高铁几点")
    assert not answer.answered
    assert "科技局" in answer.text and not answer.quotes


@pytest.mark.parametrize(
    ("question", "code"),
    [
        ("为什么我的研发投入强度只得1分", "T02"),
        ("我的研发投如强度怎么算的", "T02"),  # a typo
        ("为啥我的发明专利才得这么点分", "T06"),  # a synonym
        ("我的资产负债率得分偏低是什么原因", "G08"),
    ],
)
def test_the_indicator_named_in_a_question_is_recognised(question: str, code: str) -> None:
    c = _brain().classify(question)
    assert (c.intent, c.indicator) == ("indicator_why", code)


def test_synonyms_are_data_and_a_new_one_changes_the_search() -> None:
    docs = [(d, t, None) for d, t in default_documents()]
    docs.append(
        ("x", "# 补充\n\n### 第一条 创业担保贷款\n\n创业担保贷款由区人社局受理，贴息按年度计算。\n", None)
    )
    data = load_data()
    plain = Brain(load_model(), data=data, documents=docs)
    assert not plain.policy_answer("青创贷找谁").answered
    taught = Brain(load_model(), data=data, documents=docs, synonyms={"青创贷": "创业担保贷款"})
    answer = taught.policy_answer("青创贷找谁")
    assert answer.answered and answer.clause_keys[0] == "x#第一条"
