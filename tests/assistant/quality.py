"""The question set's figures (intent accuracy, clause recall@3, refusals), shared by the unit test and
benchmarks/bench_assistant.py."""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

QUESTIONS = Path(__file__).parent / "questions.toml"


def load_questions() -> list[dict]:
    with open(QUESTIONS, "rb") as fh:
        return tomllib.load(fh)["q"]


@dataclass
class Quality:
    total: int = 0
    intent_ok: int = 0
    clause_total: int = 0
    clause_ok: int = 0
    refusal_total: int = 0
    refusal_ok: int = 0
    misses: list[str] = field(default_factory=list)
    by_topic: Counter = field(default_factory=Counter)

    @property
    def intent_accuracy(self) -> float:
        return self.intent_ok / self.total if self.total else 0.0

    @property
    def clause_recall(self) -> float:
        return self.clause_ok / self.clause_total if self.clause_total else 0.0


def measure(brain, questions: list[dict] | None = None) -> Quality:  # noqa: ANN001 - core.assistant.Brain
    """Classify every question; search the policy ones. A clause counts when one of the expected clauses
    is among the top 3 and the answer was given (not the below-threshold contact)."""
    q = Quality()
    for item in questions or load_questions():
        q.total += 1
        q.by_topic[item["cat"]] += 1
        got = brain.classify(item["q"]).intent
        if got == item["intent"]:
            q.intent_ok += 1
        else:
            q.misses.append(f"意图 {item['q']}: 应为 {item['intent']}，得到 {got}")
        if item.get("clauses"):
            q.clause_total += 1
            answer = brain.policy_answer(item["q"])
            if answer.answered and set(answer.clause_keys[:3]) & set(item["clauses"]):
                q.clause_ok += 1
            else:
                q.misses.append(f"条款 {item['q']}: 应含 {item['clauses']}，得到 {answer.clause_keys[:3]}")
        if item.get("unanswered"):
            q.refusal_total += 1
            if not brain.policy_answer(item["q"]).answered:
                q.refusal_ok += 1
            else:
                q.misses.append(f"应转人工 {item['q']}")
    return q
