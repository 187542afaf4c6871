"""智能助手: questions answered from the asker's own portrait, the policy calculator, 免申即享, and the
officers' improvement loop (unanswered / down-voted questions → a synonym or an answer clause).

Authorisation lives here: an enterprise user only ever gets its own enterprise's data — a score answer
is built from ``get_portrait(enterprise_id=actor.enterprise_id)`` whatever the question says, and a
question naming another enterprise (by name or credit code) is refused before anything is read. Staff
may choose an enterprise. Every question is logged with the answer given (which holds no other
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

import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session

from core import assistant as brain_mod
from core import assistant_calc as calc
from core import settings
from core.assistant import Answer, Brain
from core.assistant_text import default_documents, load_data
from core.lru import LRU
from db.models import (
    AssistantConfirmation,
    AssistantQuestion,
    AssistantSynonym,
    AssistantText,
    Enterprise,
    ServiceItem,
    User,
)
from services.actor import Actor, require_enterprise_access, require_live, require_role, require_staff
from services.audit import record
from services.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed

MAX_QUESTION = 300
MAX_DOCUMENT_BYTES = 1_000_000
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
        docs: list[tuple[str, str, str | None]] = [(d, t, None) for d, t in default_documents()]
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
    if actor.role == "enterprise":
        if actor.enterprise_id is None:
            raise PermissionDenied("账户未关联企业。")
        if enterprise_id is not None and enterprise_id != actor.enterprise_id:
            raise PermissionDenied("您只能查看或修改本企业的数据。")
        return actor.enterprise_id
    require_staff(actor)
    if enterprise_id is not None and session.get(Enterprise, enterprise_id) is None:
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
        elif eid is None:
            answer = Answer(templates["need_enterprise"], c.intent, c.name, answered=False)
        else:
            answer, items = _score_answer(session, actor=actor, enterprise_id=eid, intent=c, brain=brain)
    answer = rephrase(answer)
    qid = _log(session, actor=actor, enterprise_id=eid, question=question, answer=answer) if log else None
    session.commit()
    return AskResult(answer, qid, items)


_PORTRAITS: LRU[tuple] = LRU(64)
_ITEMS: LRU[tuple] = LRU(64)  # (portrait, items): the portrait is kept so its id is not reused
PORTRAIT_SECONDS = 60.0


def _portrait(session: Session, *, actor: Actor, enterprise_id: int) -> Any:
    """The enterprise's portrait, reused for a minute (as 我的积分 does): a conversation asks several
    questions about the same numbers. A new published run makes a new key."""
    import time

    from db.models import ScoreRun
    from db.queries import PUBLISHED_STATES
    from services.portrait import get_portrait

    require_enterprise_access(actor, enterprise_id)
    run = session.execute(
        select(ScoreRun.id, ScoreRun.state)
        .where(ScoreRun.state.in_(PUBLISHED_STATES))  # type: ignore[attr-defined]
        .order_by(ScoreRun.year.desc(), ScoreRun.id.desc())
        .limit(1)  # type: ignore[union-attr]
    ).first()
    key = (_db_key(session), enterprise_id, run.id if run else None, run.state if run else None)
    found = _PORTRAITS.get(key)
    if found is not None and time.monotonic() - found[0] < PORTRAIT_SECONDS:
        return found[1]
    portrait = get_portrait(session, actor=actor, enterprise_id=enterprise_id)
    _PORTRAITS.put(key, (time.monotonic(), portrait))
    return portrait


def _score_answer(
    session: Session, *, actor: Actor, enterprise_id: int, intent: brain_mod.Classification, brain: Brain
) -> tuple[Answer, list]:
    templates = brain.templates
    try:
        p = _portrait(session, actor=actor, enterprise_id=enterprise_id)
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
    elif code == "notice_dates":
        text = brain_mod.answer_notice(p)
    elif code == "calculator":
        view = policy_calculator(session, actor=actor, enterprise_id=enterprise_id, portrait=p)
        items = view.items
        text = calculator_summary(view.items)
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


def calculator_summary(items: list) -> str:
    """One paragraph over the calculator's items: what fits, what can be confirmed, what is unknown."""
    yes = [i for i in items if i.outcome == calc.ELIGIBLE]
    unknown = [i for i in items if i.outcome == calc.UNKNOWN]
    instant = [i for i in yes if i.instant]
    parts = []
    if yes:
        parts.append("按已发布的积分和现有数据，本企业符合：" + "、".join(i.name for i in yes) + "。")
    else:
        parts.append("按已发布的积分和现有数据，本企业暂无符合条件的扶持或服务。")
    if instant:
        parts.append(
            "其中可免申即享、一键确认的有：" + "、".join(i.name for i in instant) + "（见下方政策计算器）。"
        )
    if unknown:
        parts.append("缺少数据、暂时无法判断的有：" + "；".join(f"{i.name}（{i.reason}）" for i in unknown))
    not_yet = [i for i in items if i.outcome == calc.NOT_ELIGIBLE and i.kind in ("pool", "subsidy")]
    if not_yet:
        parts.append("其余事项的不符合条件见政策计算器的逐项说明。")
    return "".join(parts)


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


# ------------------------------------------------------------------ 政策计算器 and 免申即享
@dataclass
class CalculatorView:
    items: list  # core.assistant_calc.PolicyItem
    run_id: int | None
    year: int | None
    run_state: str | None
    model_version: str | None
    confirmed: dict[str, Any]  # item key → confirmation time (this run)
    note: str = ""


def _offers(session: Session) -> list[calc.ServiceOffer]:
    rows = (
        session.execute(
            select(ServiceItem)
            .where(ServiceItem.active.is_(True))  # type: ignore[attr-defined]
            .order_by(ServiceItem.id)
        )
        .scalars()
        .all()
    )
    return [
        calc.ServiceOffer(
            r.code, r.name, tuple(r.stages) if r.stages else None, r.provider or "", r.description or ""
        )
        for r in rows
    ]


def policy_calculator(
    session: Session, *, actor: Actor, enterprise_id: int, portrait: Any = None
) -> CalculatorView:
    """Every declared subsidy, list, 亩均 flag, pool, service and bank product for the enterprise."""
    from core.matching import CatalogueItem, match_services
    from services.model_versions import current_model
    from services.portrait import pool_facts

    require_enterprise_access(actor, enterprise_id)
    offers = _offers(session)
    if portrait is None:
        try:
            portrait = _portrait(session, actor=actor, enterprise_id=enterprise_id)
        except NotFound as exc:
            model = current_model(session)
            return CalculatorView(
                calc.no_run_items(model, offers, f"暂无已发布的积分结果，无法判断（{exc}）"),
                None,
                None,
                None,
                model.version,
                {},
                note=str(exc),
            )
    p = portrait
    consent = bool(
        session.execute(select(Enterprise.bank_consent).where(Enterprise.id == enterprise_id)).scalar()
    )
    # The items depend on the portrait, the catalogue and the consent only: evaluated once per portrait.
    key = (id(p), tuple(offers), consent)
    items = _ITEMS.get(key)
    if items is None:
        facts = pool_facts(session, actor=actor, portrait=p)
        catalogue = [CatalogueItem(o.code, o.name, o.stages, o.description) for o in offers]
        recommendations = match_services(
            p.model, stage=p.stage, facts=facts, catalogue=catalogue, pools=p.pools
        )
        inp = calc.CalculatorInput(
            model=p.model,
            stage=p.stage,
            stage_name=p.stage_name,
            run_state=p.run_state,
            veto=p.veto,
            veto_reason=p.veto_reason,
            rank=p.rank,
            ranked_in_stage=p.ranked_in_stage,
            tier=p.tier,
            subsidy=p.subsidy,
            mujun=p.mujun,
            facts=facts,
            pools=p.pools,
            recommendations=recommendations,
            catalogue=offers,
            bank_consent=consent,
        )
        items = _ITEMS.put(key, (p, calc.evaluate(inp)))[1]
    else:
        items = items[1]
    confirmed = dict(
        session.execute(
            select(AssistantConfirmation.item_key, AssistantConfirmation.confirmed_at).where(
                AssistantConfirmation.enterprise_id == enterprise_id, AssistantConfirmation.run_id == p.run_id
            )
        ).all()
    )
    if p.run_state == "final":  # a subsidy line confirmed on 政策与服务 is confirmed here too
        from services.subsidies import confirmed_subsidy_runs

        if p.run_id in confirmed_subsidy_runs(session, enterprise_id=enterprise_id):
            for item in items:
                if item.kind == "subsidy" and item.instant:
                    confirmed.setdefault(item.key, True)
    return CalculatorView(items, p.run_id, p.year, p.run_state, p.model.version, confirmed)


def confirm_item(
    session: Session, *, actor: Actor, enterprise_id: int, item_key: str
) -> AssistantConfirmation:
    """The enterprise confirms a 免申即享 item (re-evaluated now: it must still be one); audited, once."""
    if actor.role != "enterprise":
        raise PermissionDenied("只有企业账户可以确认免申即享事项。")
    require_enterprise_access(actor, enterprise_id)
    view = policy_calculator(session, actor=actor, enterprise_id=enterprise_id)
    item = next((i for i in view.items if i.key == item_key), None)
    if item is None or not item.instant or view.run_id is None:
        raise ValidationFailed("该事项不在本企业的免申即享清单中。")
    existing = (
        session.execute(
            select(AssistantConfirmation).where(
                AssistantConfirmation.enterprise_id == enterprise_id,
                AssistantConfirmation.item_key == item_key,
                AssistantConfirmation.run_id == view.run_id,
            )
        )
        .scalars()
        .first()
    )
    if existing is not None:
        return existing
    row = AssistantConfirmation(
        enterprise_id=enterprise_id,
        run_id=view.run_id,
        item_key=item.key,
        item_name=item.name,
        kind=item.kind,
        reason=item.reason,
        confirmed_by=actor.username,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="assistant.confirm",
        entity="assistant_confirmation",
        entity_id=row.id,
        after={"enterprise_id": enterprise_id, "run_id": view.run_id, "item": item.key, "name": item.name},
    )
    if (
        item.kind == "subsidy"
    ):  # the subsidy line of the final run moves to 企业已确认 in the same transaction
        from services.subsidies import confirm_line

        confirm_line(session, actor=actor, run_id=view.run_id, enterprise_id=enterprise_id)
    session.commit()
    if item.kind == "service":  # the request also reaches 服务需求处理, as one made on 政策与服务 does
        from services.service_requests import request_service

        request_service(
            session,
            actor=actor,
            enterprise_id=enterprise_id,
            service_code=item.key.split(":", 1)[1],
            note="免申即享：企业在智能助手中一键确认",
        )
    return row


def list_confirmations(session: Session, *, actor: Actor, limit: int = 500) -> pd.DataFrame:
    """免申即享 confirmations, newest first (staff)."""
    require_staff(actor)
    result = session.execute(
        select(
            AssistantConfirmation.id,
            AssistantConfirmation.confirmed_at,
            Enterprise.name.label("enterprise_name"),
            Enterprise.credit_code,
            AssistantConfirmation.item_name,
            AssistantConfirmation.kind,
            AssistantConfirmation.run_id,
            AssistantConfirmation.confirmed_by,
            AssistantConfirmation.reason,
        )
        .join(Enterprise, Enterprise.id == AssistantConfirmation.enterprise_id)
        .order_by(AssistantConfirmation.id.desc())
        .limit(limit)  # type: ignore[attr-defined]
    )
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    if len(frame):
        frame["kind_label"] = frame["kind"].map(calc.KIND_LABELS).fillna(frame["kind"])
    return frame


# ------------------------------------------------------------------ officers improve it
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


def add_synonym(
    session: Session, *, actor: Actor, term: str, canonical: str, question_id: int | None = None
) -> AssistantSynonym:
    """An officer teaches the assistant that ``term`` means ``canonical`` (audited)."""
    require_staff(actor)
    term, canonical = (term or "").strip(), (canonical or "").strip()
    if not term or not canonical:
        raise ValidationFailed("请填写词语和它对应的政策用语。")
    if len(term) > 50 or len(canonical) > 100:
        raise ValidationFailed("词语不超过 50 字，政策用语不超过 100 字。")
    if term == canonical:
        raise ValidationFailed("词语与政策用语相同，无需添加。")
    row = session.execute(select(AssistantSynonym).where(AssistantSynonym.term == term)).scalars().first()
    before = {"canonical": row.canonical} if row else None
    if row is None:
        row = AssistantSynonym(term=term, canonical=canonical, created_by=actor.username)
    else:
        row.canonical = canonical
    session.add(row)
    session.flush()
    _resolve(session, question_id)
    record(
        session,
        actor=actor,
        action="assistant.synonym",
        entity="assistant_synonym",
        entity_id=row.id,
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
    title, body = (title or "").strip(), (body or "").strip()
    if not title or not body:
        raise ValidationFailed("请填写条目标题和答复内容。")
    if len(title) > 100 or len(body) > 3000:
        raise ValidationFailed("标题不超过 100 字，内容不超过 3000 字。")
    row = AssistantText(kind="clause", title=title, body=body, created_by=actor.username)
    session.add(row)
    session.flush()
    _resolve(session, question_id)
    record(
        session,
        actor=actor,
        action="assistant.clause",
        entity="assistant_text",
        entity_id=row.id,
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
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="assistant.document",
        entity="assistant_text",
        entity_id=row.id,
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


def question_log(session: Session, *, actor: Actor, limit: int = 200) -> pd.DataFrame:
    """The latest questions (staff): who, intent, answered, vote — the answers hold the asker's data only."""
    require_staff(actor)
    result = session.execute(
        select(
            AssistantQuestion.id,
            AssistantQuestion.created_at,
            AssistantQuestion.username,
            AssistantQuestion.question,
            AssistantQuestion.intent,
            AssistantQuestion.answered,
            AssistantQuestion.vote,
        )
        .order_by(AssistantQuestion.id.desc())
        .limit(limit)
    )  # type: ignore[attr-defined]
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def actor_for_username(session: Session, username: str) -> Actor:
    """The Actor of an account (manage.py ask --as USERNAME): the same authorisation as the page."""
    user = session.execute(select(User).where(User.username == username.strip().lower())).scalars().first()
    if user is None or not user.active:
        raise NotFound(f"账户 {username} 不存在或已停用。")
    return Actor(username=user.username, role=user.role, user_id=user.id, enterprise_id=user.enterprise_id)


__all__ = [
    "ServiceError",
    "ask",
    "policy_calculator",
    "confirm_item",
    "list_confirmations",
    "improvement_queue",
    "add_synonym",
    "add_answer_clause",
    "add_document",
    "vote",
    "rephrase",
    "get_brain",
]
