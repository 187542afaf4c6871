"""The officers' side of the 智能助手: what went unanswered, and the texts that teach it.

`improvement_queue` lists the logged questions that found no answer or were voted down; an officer
answers one with a synonym (`add_synonym`: a word the classifier should read as another) or an answer
clause (`add_answer_clause`), or uploads a policy document (`add_document`, split into clauses). Each
change is audited and makes `services.assistant.get_brain` build a new brain on its next question;
`list_texts` shows what is there. Staff only.
"""

from __future__ import annotations

import re

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from db.models import (
    AssistantQuestion,
    AssistantSynonym,
    AssistantText,
)
from services.actor import Actor, require_role, require_staff
from services.audit import Recorder, record
from services.errors import ValidationFailed

_record_text = Recorder("assistant_text")

MAX_DOCUMENT_BYTES = 1_000_000


def improvement_queue(session: Session, *, actor: Actor, limit: int = 200) -> pd.DataFrame:
    """Unanswered or down-voted questions not yet resolved, grouped by text: question, count, intents,
    last asked, one id to resolve them by (staff)."""
    require_staff(actor)
    rows = session.execute(
        select(
            AssistantQuestion.id,
            AssistantQuestion.question,
            AssistantQuestion.intent,
            AssistantQuestion.answered,
            AssistantQuestion.vote,
            AssistantQuestion.created_at,
        )
        .where(AssistantQuestion.resolved.is_(False))  # type: ignore[attr-defined]
        .where((AssistantQuestion.answered.is_(False)) | (AssistantQuestion.vote < 0))  # type: ignore[attr-defined]
        .order_by(AssistantQuestion.id.desc())
        .limit(5000)  # type: ignore[attr-defined]
    ).all()
    frame = pd.DataFrame(rows, columns=["id", "question", "intent", "answered", "vote", "created_at"])
    if frame.empty:
        return pd.DataFrame(columns=["question", "count", "unanswered", "down_votes", "last_asked", "id"])
    frame["key"] = frame["question"].str.strip()
    grouped = (
        frame.groupby("key", sort=False)
        .agg(
            count=("id", "size"),
            unanswered=("answered", lambda s: int((~s.astype(bool)).sum())),
            down_votes=("vote", lambda s: int((s < 0).sum())),
            last_asked=("created_at", "max"),
            id=("id", "max"),
        )
        .reset_index()
        .rename(columns={"key": "question"})
    )
    return grouped.sort_values(["count", "last_asked"], ascending=False).head(limit).reset_index(drop=True)


def _resolve(session: Session, question_id: int | None) -> None:
    if question_id is None:
        return
    row = session.get(AssistantQuestion, question_id)
    if row is None:
        return
    same = session.execute(
        select(AssistantQuestion).where(AssistantQuestion.question == row.question)
    ).scalars()
    for q in same:
        q.resolved = True
        session.add(q)


def _two_texts(
    first: str | None, second: str | None, *, limits: tuple[int, int], missing: str, too_long: str
) -> tuple[str, str]:
    """Both texts stripped; ``missing`` when either is empty, ``too_long`` when either passes its limit."""
    first, second = (first or "").strip(), (second or "").strip()
    if not first or not second:
        raise ValidationFailed(missing)
    if len(first) > limits[0] or len(second) > limits[1]:
        raise ValidationFailed(too_long)
    return first, second


def _save_answer(
    session: Session,
    actor: Actor,
    row: AssistantSynonym | AssistantText,
    question_id: int | None,
    *,
    action: str,
    entity: str,
    after: dict,
    before: dict | None = None,
) -> None:
    """Store what an officer taught, resolve the question it answers, and audit it."""
    session.add(row)
    session.flush()
    _resolve(session, question_id)
    record(
        session,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=row.id,
        before=before,
        after=after,
    )


def add_synonym(
    session: Session, *, actor: Actor, term: str, canonical: str, question_id: int | None = None
) -> AssistantSynonym:
    """An officer teaches the assistant that ``term`` means ``canonical`` (audited)."""
    require_staff(actor)
    term, canonical = _two_texts(
        term,
        canonical,
        limits=(50, 100),
        missing="请填写词语和它对应的政策用语。",
        too_long="词语不超过 50 字，政策用语不超过 100 字。",
    )
    if term == canonical:
        raise ValidationFailed("词语与政策用语相同，无需添加。")
    row = session.execute(select(AssistantSynonym).where(AssistantSynonym.term == term)).scalars().first()
    before = {"canonical": row.canonical} if row else None
    if row is None:
        row = AssistantSynonym(term=term, canonical=canonical, created_by=actor.username)
    else:
        row.canonical = canonical
    _save_answer(
        session,
        actor,
        row,
        question_id,
        action="assistant.synonym",
        entity="assistant_synonym",
        before=before,
        after={"term": term, "canonical": canonical},
    )
    session.commit()
    return row


def add_answer_clause(
    session: Session, *, actor: Actor, title: str, body: str, question_id: int | None = None
) -> AssistantText:
    """An officer writes an answer clause; it is searched like the policy texts (audited)."""
    require_staff(actor)
    title, body = _two_texts(
        title,
        body,
        limits=(100, 3000),
        missing="请填写条目标题和答复内容。",
        too_long="标题不超过 100 字，内容不超过 3000 字。",
    )
    row = AssistantText(kind="clause", title=title, body=body, created_by=actor.username)
    _save_answer(
        session,
        actor,
        row,
        question_id,
        action="assistant.clause",
        entity="assistant_text",
        after={"title": title},
    )
    session.commit()
    return row


def add_document(session: Session, *, actor: Actor, filename: str, content: bytes) -> AssistantText:
    """An admin adds a policy text (.md or .txt, UTF-8 or GB18030) to the searched corpus (audited)."""
    require_role(actor, "admin")
    name = (filename or "").strip()
    if not name.lower().endswith((".md", ".txt", ".markdown")):
        raise ValidationFailed("只能添加 .md 或 .txt 文本文件。")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise ValidationFailed("文件不能超过 1 MB。")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed("无法识别文件编码，请另存为 UTF-8 文本。")
    if "\x00" in text or not text.strip():
        raise ValidationFailed("文件内容为空或不是文本。")
    heading = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), None)
    title = (heading or re.sub(r"\.(md|txt|markdown)$", "", name, flags=re.I))[:200]
    row = AssistantText(kind="document", title=title, body=text, created_by=actor.username)
    _record_text.add(
        session,
        actor,
        "assistant.document",
        row,
        after={"title": title, "filename": name, "bytes": len(content)},
    )
    session.commit()
    return row


def list_texts(session: Session, *, actor: Actor) -> pd.DataFrame:
    """Added documents and answer clauses (staff)."""
    require_staff(actor)
    result = session.execute(
        select(
            AssistantText.id,
            AssistantText.kind,
            AssistantText.title,
            AssistantText.created_by,
            AssistantText.created_at,
            AssistantText.active,
        ).order_by(AssistantText.id.desc())
    )  # type: ignore[attr-defined]
    return pd.DataFrame(result.all(), columns=list(result.keys()))
