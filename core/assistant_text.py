"""智能助手 (pure): policy texts split into clauses, searched with a Chinese tokenizer and BM25.

The corpus is Markdown (``# 文件名`` / ``## 章`` / ``### 条``): every ``###`` section is one clause that an
answer quotes with its source (document, chapter, article). Plain text files are split at blank lines.
The default corpus is ``core/assistant_corpus/*.md``; officers add documents and answer clauses (the
database keeps them; services/assistant.py passes them in).

Tokens: jieba words plus the character bigrams of every run of Chinese characters — the bigrams keep a
typo or an unusual segmentation from losing the whole word (专精特薪 still shares 专精 and 精特 with 专精特新).
Before tokenizing, the synonym table (data) rewrites short forms to the policy's own words
(科小 → 科技型中小企业, 申诉 → 异议), so a question and a clause meet on the same terms.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

CORPUS_DIR = Path(__file__).parent / "assistant_corpus"
DATA_PATH = CORPUS_DIR / "assistant.toml"
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"[\u4e00-\u9fff]+|[A-Za-z]+\d*|\d+(?:\.\d+)?")
_NUMBERS = re.compile(r"[\s\d.%]+")
FULLWIDTH = str.maketrans({chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)} | {"\u3000": " "})


@dataclass(frozen=True)
class Clause:
    key: str  # stable id: "<document id>#<article title's first word>", e.g. "02-lists#第四条"
    document: str  # the document's title
    chapter: str
    title: str  # e.g. "第四条 扶持对象与金额"
    text: str

    @property
    def source(self) -> str:
        """《document》chapter · article — how an answer names where it quotes from."""
        parts = [f"《{self.document}》"]
        if self.chapter:
            parts.append(self.chapter)
        if self.title:
            parts.append(self.title)
        return " ".join(parts)


@dataclass(frozen=True)
class Hit:
    clause: Clause
    score: float  # BM25
    coverage: float  # share of the question's weight (idf) the clause contains, 0–1


@lru_cache(maxsize=4)
def load_data(path: str | None = None) -> dict[str, Any]:
    """The assistant's data table: intents, synonyms, stop words, thresholds, templates, contact."""
    with open(path or DATA_PATH, "rb") as fh:
        return tomllib.load(fh)


# ------------------------------------------------------------------ corpus
def parse_document(doc_id: str, text: str, *, title: str | None = None) -> list[Clause]:
    """Clauses of one document: Markdown ``###`` sections, or (no ``###``) paragraphs split at blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    document = title or doc_id
    chapter = ""
    clauses: list[Clause] = []
    has_articles = bool(re.search(r"^###\s", text, flags=re.M))
    current_title: str | None = None
    body: list[str] = []
    counter = 0

    def flush() -> None:
        nonlocal counter
        content = "\n".join(line for line in body if line.strip()).strip()
        body.clear()
        if not content:
            return
        counter += 1
        name = current_title or f"第{counter}段"
        first = name.split()[0] if name.split() else name
        key = f"{doc_id}#{first}"
        if any(c.key == key for c in clauses):
            key = f"{key}-{counter}"
        clauses.append(Clause(key, document, chapter, current_title or "", content))

    for raw in text.split("\n"):
        line = raw.rstrip()
        if line.startswith("# ") and not line.startswith("## "):
            if title is None:
                document = line[2:].strip()
            continue
        if line.startswith("## ") and not line.startswith("### "):
            flush()
            chapter = line[3:].strip()
            current_title = None
            continue
        if line.startswith("### "):
            flush()
            current_title = line[4:].strip()
            continue
        if line.startswith(">"):
            continue  # a note on the document, not a clause
        if not has_articles and not line.strip():
            flush()
            current_title = None
            continue
        body.append(line)
    flush()
    return clauses


def default_documents() -> list[tuple[str, str]]:
    """(document id, Markdown text) of the shipped corpus, in file order."""
    return [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(CORPUS_DIR.glob("*.md"))]


# ------------------------------------------------------------------ normalising and tokenizing
def _synonym_pattern(synonyms: Mapping[str, str]) -> re.Pattern | None:
    variants = sorted((v for v in synonyms if v), key=len, reverse=True)
    return re.compile("|".join(re.escape(v) for v in variants)) if variants else None


class Normalizer:
    """Full-width to half-width, lower case, and the synonym table's rewrites (longest variant first)."""

    def __init__(self, synonyms: Mapping[str, str]) -> None:
        self.synonyms = {k.lower(): v for k, v in synonyms.items() if k and v}  # k == v protects a word
        # A target matches as itself first, so a variant inside it (进取 in 创新进取榜) is never rewritten.
        table = {v.lower(): v for v in self.synonyms.values()} | self.synonyms
        self._table = table
        self._pattern = _synonym_pattern(table)

    def __call__(self, text: str) -> str:
        text = (text or "").translate(FULLWIDTH).lower()
        if self._pattern is not None:
            text = self._pattern.sub(lambda m: self._table[m.group(0)], text)
        return text


_JIEBA_LOCK = threading.Lock()
_JIEBA_WORDS: set[str] = set()


def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(60)  # its "Building prefix dict" chatter goes to stderr otherwise
    return jieba


def add_words(words: Iterable[str]) -> None:
    """Teach jieba the domain's words (indicator names, synonyms' targets) once each."""
    jieba = _jieba()
    with _JIEBA_LOCK:
        for word in words:
            word = word.strip().lower()
            if len(word) >= 2 and word not in _JIEBA_WORDS:
                jieba.add_word(word, freq=20000)
                _JIEBA_WORDS.add(word)


def tokenize(text: str, stopwords: frozenset[str] = frozenset()) -> list[str]:
    """jieba words (stop words and punctuation dropped) plus character bigrams of the Chinese runs."""
    jieba = _jieba()
    words = [w for w in jieba.lcut(text) if _WORD.fullmatch(w) and w not in stopwords]
    bigrams: list[str] = []
    # numbers and spaces do not break a bigram: "加 10 分" still reads 加分
    for run in _CJK_RUN.findall(_NUMBERS.sub("", text)):
        bigrams.extend("_" + run[i : i + 2] for i in range(len(run) - 1))
    return words + bigrams


# ------------------------------------------------------------------ retrieval
class Retriever:
    """BM25 (bm25s) over the clauses; built once per corpus and synonym table, then read-only."""

    def __init__(
        self,
        clauses: list[Clause],
        *,
        synonyms: Mapping[str, str],
        stopwords: Iterable[str] = (),
        extra_words: Iterable[str] = (),
    ) -> None:
        import bm25s

        self.clauses = clauses
        self.normalize = Normalizer(synonyms)
        self.stopwords = frozenset(stopwords)
        add_words([*synonyms.values(), *extra_words])
        docs = [self.tokens(f"{c.title} {c.title} {c.text}") for c in clauses]  # the title counts twice
        self.bm25 = bm25s.BM25()
        self.bm25.index(docs or [[""]], show_progress=False)
        self.document_frequency: dict[str, int] = {}
        for tokens in docs:
            for t in set(tokens):
                self.document_frequency[t] = self.document_frequency.get(t, 0) + 1
        self._doc_sets = [set(t) for t in docs]
        self.n = max(len(docs), 1)

    def tokens(self, text: str) -> list[str]:
        return tokenize(self.normalize(text), self.stopwords)

    def idf(self, token: str) -> float:
        df = self.document_frequency.get(token, 0)
        return float(np.log(1 + (self.n - df + 0.5) / (df + 0.5))) if df else 0.0

    def search(self, question: str, k: int = 3) -> list[Hit]:
        """The ``k`` best clauses with their BM25 score and the question-weight coverage."""
        if not self.clauses:
            return []
        query = list(dict.fromkeys(self.tokens(question)))
        known = [t for t in query if t in self.document_frequency]
        if not known:
            return []
        scores = np.asarray(self.bm25.get_scores(known), dtype=float)
        order = np.argsort(-scores, kind="stable")[:k]
        weights = {t: self.idf(t) for t in known}
        # the weight of the whole question: unknown words count as much as an average known word, so a
        # question about something the texts never mention has low coverage even if one word matches
        mean = float(np.mean(list(weights.values()))) if weights else 1.0
        unknown_words = sum(1 for t in query if t not in self.document_frequency and not t.startswith("_"))
        unknown_pairs = len(query) - len(known) - unknown_words
        total = sum(weights.values()) + mean * (unknown_words + 0.5 * unknown_pairs)
        hits = []
        for i in order.tolist():
            if scores[i] <= 0:
                break
            have = sum(w for t, w in weights.items() if t in self._doc_sets[i])
            hits.append(Hit(self.clauses[i], float(scores[i]), have / total if total > 0 else 0.0))
        return hits
