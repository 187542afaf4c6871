"""智能助手: questions answered from the asker's own portrait, the policy calculator, 免申即享, and the
officers' improvement loop (unanswered / down-voted questions → a synonym or an answer clause).

Authorisation lives here: an enterprise user only ever gets its own enterprise's data — a score answer
is built from ``get_portrait(enterprise_id=actor.enterprise_id)`` whatever the question says, and a
question naming another enterprise (by name or credit code) is refused before anything is read. Staff
may choose an enterprise. The 公示 dates and the run's counts and averages are published facts (what
首页 shows anyone): they are answered from the published run for every asker, no enterprise chosen.
Every question is logged with the answer given (which holds no other
enterprise's data); officers see the log's unanswered and down-voted questions.

The optional language model (``ASSISTANT_LLM_URL``, an OpenAI-compatible endpoint on the government's
own network) may only rephrase an answer built here; it is off by default, and when it is unreachable,
slow, or changes a number, the answer is the one built here.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from core import assistant as brain_mod
from core import settings
from core.assistant import Answer, Brain
from core.assistant_model import model_documents
from core.assistant_text import default_documents, load_data
from core.lru import LRU
from db.models import (
    AssistantQuestion,
    AssistantSynonym,
    AssistantText,
    Enterprise,
    User,
)
from services.actor import Actor, enterprise_scope, require_live
from services.errors import NotFound, ValidationFailed
from services.policy_calculator import calculator_summary, policy_calculator, portrait_for

MAX_QUESTION = 300
LLM_TIMEOUT = 4.0
_BRAINS: LRU[Brain] = LRU(4)
_NAMES: LRU[dict] = LRU(4)
_BUILD_LOCK = threading.Lock()
_SUFFIX = re.compile(r"(股份有限公司|有限责任公司|有限公司|集团公司|集团|公司)$")
_REGION = re.compile(r"^(浙江省?|温州市?|温州高新区?|龙湾区?|瓯海区?|鹿城区?|洞头区?|乐清市?|瑞安市?)+")


@dataclass
class AskResult:
    answer: Answer
    question_id: int | None = None
    items: list = field(default_factory=list)  # calculator items, when the question asked for them


# ------------------------------------------------------------------ the brain (cached per corpus)
def _db_key(session: Session) -> str:
    return str(session.get_bind().url)


def _text_version(session: Session) -> tuple:
    texts = session.execute(
        select(func.count(), func.max(AssistantText.id)).where(AssistantText.active.is_(True))
    ).one()  # type: ignore[attr-defined]
    syns = session.execute(select(func.count(), func.max(AssistantSynonym.id))).one()
    return tuple(texts) + tuple(syns)


def _active_version_id(session: Session) -> int | None:
    """The active published model version's id (a narrow query: not the definition JSON)."""
    from db.models import ModelVersion

    return session.execute(
        select(ModelVersion.id)
        .where(ModelVersion.state == "published")
        .order_by(ModelVersion.published_at.desc(), ModelVersion.id.desc())
        .limit(1)  # type: ignore[union-attr]
    ).scalar()


def get_brain(session: Session) -> Brain:
    """The classifier and clause index for this database's model, texts and synonyms (built once, ~1 s)."""
    key = (_db_key(session), _active_version_id(session), _text_version(session))
    found = _BRAINS.get(key)
    if found is not None:
        return found
    with _BUILD_LOCK:
        found = _BRAINS.get(key)
        if found is not None:
            return found
        from services.model_versions import current_model

        model = current_model(session)
        docs: list[tuple[str, str, str | None]] = [
            (d, t, None) for d, t in model_documents(model, default_documents())
        ]
        rows = (
            session.execute(
                select(AssistantText)
                .where(AssistantText.active.is_(True))  # type: ignore[attr-defined]
                .order_by(AssistantText.id)
            )
            .scalars()
            .all()
        )
        for row in rows:
            title = row.title if row.kind == "document" else "工作人员补充答复"
            text = row.body if row.kind == "document" else f"## 补充答复\n\n### {row.title}\n\n{row.body}"
            docs.append((f"text{row.id}", text, title))
        synonyms = dict(session.execute(select(AssistantSynonym.term, AssistantSynonym.canonical)).all())
        return _BRAINS.put(key, Brain(model, data=load_data(), documents=docs, synonyms=synonyms))


_WARMING = threading.Event()


def warm_up(session_factory: Any) -> None:
    """Build the brain in a background thread (jieba's dictionary and the BM25 index take a second or
    more): a page calls this when it opens, so the first question does not wait. Once per process."""
    if _WARMING.is_set():
        return
    _WARMING.set()

    def build() -> None:
        try:
            with session_factory() as session:
                get_brain(session)
        except Exception:  # noqa: BLE001 - the first question builds it then, and reports any error
            _WARMING.clear()

    threading.Thread(target=build, name="assistant-warm", daemon=True).start()


# ------------------------------------------------------------------ other enterprises in a question
def _name_keys(name: str) -> list[str]:
    plain = _SUFFIX.sub("", name.strip())
    core = _REGION.sub("", plain)
    return [k for k in dict.fromkeys((name.strip(), plain, core)) if len(k) >= 4]


def _enterprise_names(session: Session) -> dict[str, list[tuple[str, int]]]:
    """Every enterprise's name keys, indexed by their first two characters (a question is then checked
    at each of its positions against the few keys starting there, not against every name)."""
    count, top = session.execute(select(func.count(), func.max(Enterprise.id))).one()
    key = (_db_key(session), count, top)
    found = _NAMES.get(key)
    if found is None:
        index: dict[str, list[tuple[str, int]]] = {}
        for eid, name in session.execute(select(Enterprise.id, Enterprise.name)).all():
            for k in _name_keys(name or ""):
                index.setdefault(k[:2], []).append((k, eid))
        found = _NAMES.put(key, index)
    return found


def names_other_enterprise(session: Session, question: str, own_id: int | None) -> bool:
    """Whether the question names an enterprise other than the asker's own (credit code or name)."""
    upper = question.upper()
    codes = {m.group(0).upper() for m in brain_mod.CREDIT_CODE.finditer(upper)}
    own_code = None
    if own_id is not None:
        own = session.get(Enterprise, own_id)
        own_code = own.credit_code if own else None
    if codes - {own_code}:
        return True
    index = _enterprise_names(session)
    for i in range(len(question) - 1):
        for k, eid in index.get(question[i : i + 2], ()):
            if eid != own_id and question.startswith(k, i):
                return True
    return False


def _own_name_as_self(session: Session, question: str, enterprise_id: int | None) -> str:
    """The asker's own enterprise named in full reads as 本企业 (a question about oneself)."""
    if enterprise_id is None:
        return question
    own = session.get(Enterprise, enterprise_id)
    for key in _name_keys(own.name if own else ""):
        question = question.replace(key, "本企业")
    if own is not None:
        question = re.sub(re.escape(own.credit_code), "本企业", question, flags=re.I)
    return question


# ------------------------------------------------------------------ asking
def _scope(session: Session, actor: Actor, enterprise_id: int | None) -> int | None:
    """The enterprise whose data an answer may use: an enterprise user's own, or the staff's choice."""
    enterprise_id = enterprise_scope(actor, enterprise_id)
    if actor.is_staff and enterprise_id is not None and session.get(Enterprise, enterprise_id) is None:
        raise NotFound("企业不存在。")
    return enterprise_id


def ask(
    session: Session, *, actor: Actor, question: str, enterprise_id: int | None = None, log: bool = True
) -> AskResult:
    """Answer one question for the actor (see the module docstring); logged unless ``log`` is False."""
    question = (question or "").strip()
    if not question:
        raise ValidationFailed("请输入问题。")
    if len(question) > MAX_QUESTION:
        raise ValidationFailed(f"问题不能超过 {MAX_QUESTION} 字。")
    eid = _scope(session, actor, enterprise_id)
    brain = get_brain(session)
    templates = brain.templates
    items: list = []
    if actor.role == "enterprise" and names_other_enterprise(session, question, eid):
        answer = Answer(templates["other_enterprise"], brain_mod.OTHER_ENTERPRISE, "其他企业（拒绝）")
    else:
        c = brain.classify(
            _own_name_as_self(session, question, eid), about_chosen=actor.is_staff and eid is not None
        )
        if c.intent == brain_mod.GREETING:
            answer = Answer(templates["greeting"], c.intent, c.name)
        elif c.intent == brain_mod.POLICY:
            answer = brain.policy_answer(question)
        elif c.intent in (brain_mod.NOTICE_DATES, brain_mod.RUN_STATS):
            answer = _run_answer(session, intent=c, brain=brain, question=question)
        elif eid is None:
            answer = Answer(templates["need_enterprise"], c.intent, c.name, answered=False)
        else:
            answer, items = _score_answer(
                session, actor=actor, enterprise_id=eid, intent=c, brain=brain, question=question
            )
    answer = rephrase(answer)
    qid = _log(session, actor=actor, enterprise_id=eid, question=question, answer=answer) if log else None
    session.commit()
    return AskResult(answer, qid, items)


def _score_answer(
    session: Session,
    *,
    actor: Actor,
    enterprise_id: int,
    intent: brain_mod.Classification,
    brain: Brain,
    question: str = "",
) -> tuple[Answer, list]:
    templates = brain.templates
    try:
        p = portrait_for(session, actor=actor, enterprise_id=enterprise_id)
    except NotFound as exc:
        return Answer(templates["no_run"] + f"（{exc}）", intent.intent, intent.name, answered=False), []
    items: list = []
    code = intent.intent
    if code == "total_rank":
        text = brain_mod.answer_total(p)
    elif code == "indicator_why":
        if intent.indicator and intent.indicator in p.model.codes:
            text = brain_mod.answer_indicator(p, intent.indicator)
        else:
            text = "没有认出您问的是哪项指标，请写出指标名称，例如“研发投入强度”。"
    elif code == "next_list":
        text = brain_mod.answer_next_list(p)
    elif code == "year_change":
        text = brain_mod.answer_year_change(p)
    elif code == "dynamic_vs_annual":
        from services.dynamic import dynamic_view

        text = brain_mod.answer_dynamic(p, dynamic_view(session, actor=actor, portrait=p))
    elif code == "veto_deduction":
        text = brain_mod.answer_veto_deduction(p)
    elif code == "missing_data":
        text = brain_mod.answer_missing(p, brain_mod.suppliers_for(p.model))
    elif code == "calculator":
        view = policy_calculator(session, actor=actor, enterprise_id=enterprise_id, portrait=p)
        items = view.items
        # 补贴, 补助, 钱 … all normalise to 扶持: a question about money gets the money answered first
        asked = brain.classifier.normalize(question.lower())
        money = p.stage if "扶持" in asked else None
        text = calculator_summary(view.items, money_for_stage=money, question=asked)
    else:
        text = templates["fallback"].format(contact=brain.contact)
    facts = {"total": p.total, "rank": p.rank, "ranked_in_stage": p.ranked_in_stage, "stage": p.stage}
    answer = Answer(
        text,
        code,
        intent.name,
        sources=[brain_mod.trace(p, templates)],
        run_id=p.run_id,
        model_version=p.model.version,
        facts=facts,
    )
    return answer, items


def _run_answer(session: Session, *, intent: brain_mod.Classification, brain: Brain, question: str) -> Answer:
    """公示 dates and run statistics: facts of a published run, the same for every asker (the dates the
    notice states, the aggregates 首页 shows to anyone), so no enterprise needs choosing. The dates are
    those of the run in 公示, else of the latest published run; "today" is the Beijing day (core.clock)."""
    from core import clock
    from core.workflows import SCORE_RUN
    from db.queries import latest_run
    from services.public import latest_published_run, public_overview, published_run_model

    templates = brain.templates
    notice = intent.intent == brain_mod.NOTICE_DATES
    run = latest_run(session, states=("notice",)) if notice else None
    run = run or latest_published_run(session)
    if run is None:
        return Answer(templates["no_notice" if notice else "no_stats"], intent.intent, intent.name)
    model = published_run_model(session, run_id=int(run.id))  # type: ignore[arg-type]
    facts: dict[str, Any] = {"year": run.year, "state": run.state}
    if notice:
        today = clock.today()
        text = brain_mod.answer_notice(
            year=run.year, state=run.state, start=run.notice_start, end=run.notice_end, today=today
        )
        facts |= {"notice_start": run.notice_start, "notice_end": run.notice_end, "today": today}
    else:
        overview = public_overview(session, year=run.year)
        if overview is None or overview.run_id != run.id:  # published meanwhile: ask again
            return Answer(templates["no_stats"], intent.intent, intent.name, answered=False)
        text = brain_mod.answer_stats(overview, [t.name for t in model.tiers], question)
        facts |= {"evaluated": overview.evaluated, "ranked": overview.ranked, "on_lists": overview.on_lists}
    source = templates["trace"].format(
        year=run.year,
        run_id=run.id,
        run_state=SCORE_RUN.labels.get(run.state, run.state),
        model_name=model.name,
        model_version=model.version,
    )
    return Answer(
        text,
        intent.intent,
        intent.name,
        sources=[source],
        run_id=run.id,
        model_version=model.version,
        facts=facts,
    )


def _log(session: Session, *, actor: Actor, enterprise_id: int | None, question: str, answer: Answer) -> int:
    row = AssistantQuestion(
        username=actor.username,
        role=actor.role,
        enterprise_id=enterprise_id if actor.role == "enterprise" else None,
        question=question,
        intent=answer.intent,
        answered=answer.answered,
        confidence=answer.confidence,
        answer=answer.text,
        sources=list(answer.sources),
        run_id=answer.run_id,
        model_version=answer.model_version,
    )
    session.add(row)
    session.flush()
    return int(row.id)  # type: ignore[arg-type]


def vote(session: Session, *, actor: Actor, question_id: int, helpful: bool) -> None:
    """The asker marks an answer helpful or not (only their own questions)."""
    require_live(session, actor)  # an unaudited write: the revocation check audit.record makes elsewhere
    row = session.get(AssistantQuestion, question_id)
    if row is None or row.username != actor.username:
        raise NotFound("问题记录不存在。")
    row.vote = 1 if helpful else -1
    session.add(row)
    session.commit()


# ------------------------------------------------------------------ the optional language model
def rephrase(answer: Answer, *, url: str | None = None, timeout: float = LLM_TIMEOUT) -> Answer:
    """Let the on-premises model at ``ASSISTANT_LLM_URL`` reword ``answer`` — only if it keeps every
    number and the call succeeds in time; otherwise the answer stays as built."""
    config = settings.load()
    url = url if url is not None else config.assistant_llm_url
    if not url or not answer.answered or answer.intent in (brain_mod.OTHER_ENTERPRISE,):
        return answer
    body = json.dumps(
        {
            "model": config.assistant_llm_model,
            "temperature": 0,
            "messages": [
                {
                    "role": "system",
                    "content": "你是政务服务助手。只把下面的答复改写得更通顺易懂，不得增加、删除或改动任何事实、数字、"
                    "名称和出处；不得回答答复以外的内容。直接输出改写后的中文答复。",
                },
                {"role": "user", "content": answer.text},
            ],
        }
    ).encode("utf-8")
    request = urllib.request.Request(
        url.rstrip("/") + "/chat/completions",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the operator's URL
            reply = json.loads(response.read(200_000).decode("utf-8"))
        text = str(reply["choices"][0]["message"]["content"]).strip()
    except (OSError, urllib.error.URLError, ValueError, KeyError, IndexError, TypeError):
        return answer
    if not text or sorted(brain_mod.number_tokens(text)) != sorted(brain_mod.number_tokens(answer.text)):
        return answer  # a reworded answer must state exactly the same numbers
    answer.text = text
    answer.rephrased = True
    return answer


def actor_for_username(session: Session, username: str) -> Actor:
    """The Actor of an account (manage.py ask --as USERNAME): the same authorisation as the page."""
    user = session.execute(select(User).where(User.username == username.strip().lower())).scalars().first()
    if user is None or not user.active:
        raise NotFound(f"账户 {username} 不存在或已停用。")
    return Actor(username=user.username, role=user.role, user_id=user.id, enterprise_id=user.enterprise_id)
