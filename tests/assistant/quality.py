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
class Tally:
    """How many of ``total`` questions came out right."""

    right: int = 0
    total: int = 0

    def count(self, ok: bool) -> bool:
        self.total += 1
        self.right += ok
        return ok

    @property
    def share(self) -> float:
        return self.right / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{self.right}/{self.total}"


@dataclass
class Quality:
    intent: Tally = field(default_factory=Tally)  # every question: its intent
    clause: Tally = field(default_factory=Tally)  # policy questions: an expected clause among the top 3
    refusal: Tally = field(default_factory=Tally)  # out-of-scope questions: handed to the office's contact
    misses: list[str] = field(default_factory=list)
    by_topic: Counter = field(default_factory=Counter)


def measure(brain, questions: list[dict] | None = None) -> Quality:  # noqa: ANN001 - core.assistant.Brain
    """Classify every question; search the policy ones. A clause counts when one of the expected clauses
    is among the top 3 and the answer was given (not the below-threshold contact)."""
    q = Quality()
    for item in questions or load_questions():
        q.by_topic[item["cat"]] += 1
        got = brain.classify(item["q"]).intent
        if not q.intent.count(got == item["intent"]):
            q.misses.append(f"意图 {item['q']}: 应为 {item['intent']}，得到 {got}")
        if item.get("clauses"):
            answer = brain.policy_answer(item["q"])
            found = answer.answered and bool(set(answer.clause_keys[:3]) & set(item["clauses"]))
            if not q.clause.count(found):
                q.misses.append(f"条款 {item['q']}: 应含 {item['clauses']}，得到 {answer.clause_keys[:3]}")
        if item.get("unanswered") and not q.refusal.count(not brain.policy_answer(item["q"]).answered):
            q.misses.append(f"应转人工 {item['q']}")
    return q
