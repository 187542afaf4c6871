"""智能助手 (pure): which question is it (intents as data), and the answers computed from the portrait.

Score questions are answered by computation, never generation: every sentence below is a template
filled with the numbers of one enterprise's portrait (services.portrait.Portrait — the numbers 我的积分
shows, formatted the same way), and every answer names the run and model version it comes from.
Policy questions go to core.assistant_text (quotes of clauses). The intent table, keywords, synonyms
and templates are in ``core/assistant_corpus/assistant.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core import explain
from core.assistant_text import FULLWIDTH, Normalizer
from core.workflows import SCORE_RUN

POLICY = "policy"
GREETING = "greeting"
OTHER_ENTERPRISE = "other_enterprise"
NOTICE_DATES = "notice_dates"
RUN_STATS = "run_stats"
CREDIT_CODE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}", re.I)
_PUNCT = re.compile(r"[\s，。？！、；：,.?!;:“”\"'（）()《》…~～]+")


@dataclass(frozen=True)
class Intent:
    """One kind of question, as ``[intents]`` of assistant.toml declares it (its comments say how
    ``Classifier.classify`` scores a question): the keywords and their weights; ``personal``, it answers
    from the asker's own data, so it needs a word pointing at the asker unless a keyword weighs ``alone``;
    ``needs_indicator``, it needs an indicator named in the question (worth ``indicator_weight``);
    ``policy_words`` mark a question about the rules instead (they cost ``policy_penalty``); ``exact_only``: only a short question counts
    (a greeting), by its strongest keyword."""

    code: str
    name: str
    personal: bool
    keywords: Mapping[str, float]
    alone: float = 99.0
    needs_indicator: bool = False
    indicator_weight: float = 0.0
    policy_words: tuple[str, ...] = ()
    policy_penalty: float = 2.0
    exact_only: bool = False


@dataclass(frozen=True)
class Classification:
    intent: str
    name: str
    score: float
    indicator: str | None = None  # the indicator code the question names


@dataclass
class Answer:
    """What the assistant says, and what it rests on."""

    text: str
    intent: str
    intent_name: str
    sources: list[str] = field(default_factory=list)  # run and model version, or document and article
    quotes: list[tuple[str, str]] = field(default_factory=list)  # (source, clause text)
    clause_keys: list[str] = field(default_factory=list)
    answered: bool = True  # False: below the confidence threshold (the contact was given)
    confidence: float | None = None
    run_id: int | None = None
    model_version: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # the numbers a score answer used
    rephrased: bool = False


def intents_from(data: Mapping[str, Any]) -> list[Intent]:
    out = []
    for code, spec in data.get("intents", {}).items():
        out.append(
            Intent(
                code=code,
                name=spec.get("name", code),
                personal=bool(spec.get("personal", False)),
                keywords={k.lower(): float(v) for k, v in spec.get("keywords", {}).items()},
                alone=float(spec.get("alone", 99)),
                needs_indicator=bool(spec.get("needs_indicator", False)),
                indicator_weight=float(spec.get("indicator_weight", 0)),
                policy_words=tuple(spec.get("policy_words", ())),
                policy_penalty=float(spec.get("policy_penalty", 2)),
                exact_only=bool(spec.get("exact_only", False)),
            )
        )
    return out


def intent_names(data: Mapping[str, Any]) -> dict[str, str]:
    names = {i.code: i.name for i in intents_from(data)}
    names.update({POLICY: "政策问答", OTHER_ENTERPRISE: "其他企业（拒绝）"})
    return names


class Classifier:
    """Keyword scores per intent (data), the indicator the question names, personal/policy markers."""

    def __init__(
        self,
        data: Mapping[str, Any],
        *,
        indicators: Sequence[tuple[str, Iterable[str]]],
        synonyms: Mapping[str, str],
    ) -> None:
        self.intents = intents_from(data)
        self.normalize = Normalizer(synonyms)
        self.personal = tuple(data.get("personal", {}).get("markers", ()))
        policy = data.get("policy", {})
        self.policy_markers = tuple(policy.get("markers", ()))
        self.policy_weight = float(policy.get("weight", 2))
        names: dict[str, str] = {}
        for code, words in indicators:
            for word in words:
                word = self.normalize(word.strip())
                if len(word) >= 2:
                    names.setdefault(word, code)
        self._names = sorted(names.items(), key=lambda kv: len(kv[0]), reverse=True)

    def indicator_in(self, text: str) -> str | None:
        """The indicator whose name or alias the (normalised) text contains — the longest match wins;
        failing that, a name within one typo (rapidfuzz partial ratio on names of ≥4 characters)."""
        for name, code in self._names:
            if name in text:
                return code
        from rapidfuzz import fuzz

        best, best_code = 0.0, None
        for name, code in self._names:
            if len(name) >= 4:
                r = fuzz.partial_ratio(name, text)
                if r > best:
                    best, best_code = r, code
        return best_code if best >= 80 else None

    def classify(self, question: str, *, about_chosen: bool = False) -> Classification:
        """The intent of ``question``; ``about_chosen``: staff asking about an enterprise they picked (every
        question is then about that enterprise, as if it said 我)."""
        raw = (question or "").translate(FULLWIDTH).lower().strip()
        norm = self.normalize(raw)
        bare = _PUNCT.sub("", raw)
        personal = about_chosen or any(m in raw for m in self.personal)
        policy = self.policy_weight * sum(1 for m in self.policy_markers if m in raw or m in norm)
        indicator = self.indicator_in(norm)
        best: tuple[float, Intent | None] = (0.0, None)
        for intent in self.intents:
            found = [w for k, w in intent.keywords.items() if k in raw or k in norm]
            # a greeting is the whole question, not a word inside a longer one
            short = bool(found) and len(bare) <= 8
            score = (max(found) if short else 0.0) if intent.exact_only else sum(found)
            if intent.needs_indicator:
                score = score + intent.indicator_weight if indicator and found else 0.0
            strongest = max(found, default=0.0)
            if intent.personal and not personal and strongest < intent.alone:
                score = 0.0
            if intent.policy_words and any(w in raw for w in intent.policy_words):
                score -= intent.policy_penalty
            if score > best[0]:
                best = (score, intent)
        best_score, best_intent = best
        if best_intent is not None and best_score >= 2 and best_score > policy:
            return Classification(best_intent.code, best_intent.name, best_score, indicator)
        return Classification(POLICY, "政策问答", policy, indicator)


# ------------------------------------------------------------------ numbers as 我的积分 shows them
def pts(x: float | None) -> str:
    """Points as the portrait shows them (ui.formats.points: two decimals)."""
    return "—" if x is None else f"{float(x):,.2f}"


def signed(x: float) -> str:
    return f"{float(x):+,.2f}"


def trace(p: Any, templates: Mapping[str, str]) -> str:
    """The run and model version an answer comes from."""
    state = SCORE_RUN.labels.get(p.run_state, p.run_state)
    return templates["trace"].format(
        year=p.year, run_id=p.run_id, run_state=state, model_name=p.model.name, model_version=p.model.version
    )


def _rank_sentence(p: Any) -> str:
    if p.veto:
        return f"因一票否决（{p.veto_reason}）不参与排名、榜单和扶持"
    if p.rank is None:
        return "未参与排名"
    return (
        f"在{p.stage_name}排第 {p.rank} 名（共 {p.ranked_in_stage} 家参与排名，百分位 {p.percentile:.1f}）"
        if p.percentile is not None
        else f"在{p.stage_name}排第 {p.rank} 名（共 {p.ranked_in_stage} 家参与排名）"
    )


def _tier_sentence(p: Any) -> str:
    if p.veto:
        return ""
    parts = [f"榜单：{p.tier_name if p.tier else '未上榜'}"]
    if p.subsidy:
        parts.append(f"精准扶持 {p.subsidy:g} 万元")
    if p.mujun:
        parts.append(f"亩均评价：{p.mujun}")
    return "，".join(parts) + "。"


def answer_total(p: Any) -> str:
    classes = "，".join(f"{c.name} {pts(p.subtotals.get(c.code))} 分" for c in p.model.scored_classes)
    return (
        f"{p.year} 年度本企业总积分 {pts(p.total)} 分（{classes}），处于{p.stage_name}，{_rank_sentence(p)}。"
        + _tier_sentence(p)
    )


def answer_indicator(p: Any, code: str) -> str:
    model = p.model
    ind = model.indicator(code)
    row = p.indicators[p.indicators["code"] == code]
    line = next((e for e in p.explanations if e.startswith(ind.name)), None)
    if row.empty:
        return f"本次评价模型中没有“{ind.name}”这一项。"
    r = row.iloc[0]
    head = (
        f"“{ind.name}”本企业得 {pts(r['points'])} 分（本阶段满分 {r['max']:g} 分），"
        f"数值：{r['value_text']}，数据来源：{r['source'] or '—'}。"
    )
    if ind.kind == "veto":
        return head + (line or "")
    rule = _rule_text(ind, p.stage)
    return head + (f"计分规则：{rule}。" if rule else "") + (f"说明：{line}" if line else "")


def _rule_text(ind: Any, stage: str) -> str:
    rule = ind.rule
    kind = rule.type
    if kind == "bands":
        unit = ind.unit if ind.unit not in ("%",) else "%"
        sign = "≤" if getattr(rule, "direction", "higher") == "lower" else "≥"
        steps = "、".join(f"{sign}{b.at:g}{unit} 得 {b.f * 100:g}%" for b in rule.bands)
        return f"分档计分（{steps}）"
    if kind == "linear_cap":
        cap = rule.cap_for(stage)
        return f"按数值与封顶值之比计分，达到 {cap:g} {ind.unit}得满分" if cap else "按数值与封顶值之比计分"
    if kind == "percentile":
        return "按同阶段企业中的百分位排位计分，数值不大于 0 的不参与排序"
    if kind == "tier":
        return "按最高等级计分（" + "、".join(f"{c.label} {c.f * 100:g}%" for c in rule.categories) + "）"
    if kind == "items":
        return "按项目级别和角色累加计分，最高为满分"
    return ""


def answer_next_list(p: Any) -> str:
    if p.veto:
        return f"本企业因一票否决（{p.veto_reason}）不参与排名和榜单，提高积分也不能上榜。"
    parts = []
    if p.gap is not None:
        # "为什么我没上榜" lands here too: where the enterprise stands first, then the distance
        standing = f"本企业已位列{p.tier_name}" if p.tier else f"本企业{_rank_sentence(p)}，未上榜"
        parts.append(
            f"{standing}；进入{p.gap.tier_name}（本阶段前 {p.gap.rank_needed} 名，末位 {p.gap.cutoff_total:.2f} 分）"
            f"还需约 {p.gap.points_needed:.2f} 分。"
        )
    elif p.tier:
        parts.append(f"本企业已位列{p.tier_name}，是本阶段最好的榜单。")
    if p.moves:
        total_gain = 0.0
        steps = []
        for i, move in enumerate(p.moves, start=1):
            total_gain += move.gain
            steps.append(f"{i}. {move.action}：约 +{move.gain:.2f} 分")
        parts.append("最省力的提分途径（按模型测算）：" + "；".join(steps) + "。")
        if p.gap is not None:
            enough = "足以" if total_gain >= p.gap.points_needed else "尚不足以"
            parts.append(f"三项合计约 +{total_gain:.2f} 分，{enough}进入{p.gap.tier_name}。")
    if not parts:
        parts.append("暂时没有可测算的提分途径。")
    return "".join(parts)


def answer_year_change(p: Any) -> str:
    if p.previous is None:
        return f"没有本企业 {p.year - 1} 年度已发布的积分，无法比较。本年度总积分 {pts(p.total)} 分。"
    prev = p.previous
    prev_rank = f"，当年排第 {prev['rank']} 名" if prev.get("rank") else ""
    change = p.total_change
    word = "上升" if change > 0 else ("下降" if change < 0 else "持平")
    stage_note = ""
    if prev.get("stage") and prev["stage"] != p.stage:
        stage_note = "（两年所处阶段不同，排名不可直接比较）"
    return (
        f"{prev['year']} 年度总积分 {pts(prev['total'])} 分{prev_rank}；{p.year} 年度 {pts(p.total)} 分，"
        f"{word} {signed(change)} 分{stage_note}。各项得分见“我的积分”的指标明细。"
    )


def answer_dynamic(p: Any, dynamic: Any | None) -> str:
    if dynamic is None:
        return (
            f"本企业 {p.year} 年度暂无动态积分更新：年度积分 {pts(p.total)} 分就是目前的积分。"
            "年度积分是公示或定稿的结果，榜单和扶持以它为准；之后新审核通过的填报或新导入的部门数据会计入动态积分。"
        )
    diff = dynamic.total - p.total
    text = (
        f"年度积分 {pts(p.total)} 分是公示或定稿的结果，榜单和扶持以它为准；动态积分 {pts(dynamic.total)} 分"
        f"（{signed(diff)} 分）是之后根据新数据重新计算的，仅供参考。"
    )
    changes = getattr(dynamic, "changes", None)
    if changes is not None and len(changes):
        cols = list(changes.columns)
        lines = []
        for row in changes.head(3).itertuples(index=False):
            cells = dict(zip(cols, row, strict=True))
            lines.append("，".join(f"{k} {v}" for k, v in cells.items()))
        text += "变化的指标：" + "；".join(lines) + "。"
    return text


def answer_veto_deduction(p: Any) -> str:
    parts = []
    if p.veto:
        parts.append(f"本企业被一票否决：{p.veto_reason}。积分照常计算，但不参与排名、榜单、扶持和培育库。")
    else:
        parts.append("本企业没有一票否决事项。")
    deductions = p.indicators[(p.indicators["kind"] == "deduction") & (p.indicators["points"] > 0)]
    if len(deductions):
        items = "；".join(
            f"{r['name']} 扣 {pts(r['points'])} 分（{r['value_text']}）" for _, r in deductions.iterrows()
        )
        parts.append(f"扣分合计 {pts(p.deduction)} 分：{items}。")
    else:
        parts.append("本年度没有扣分。")
    return "".join(parts)


def answer_missing(p: Any, suppliers: Mapping[str, str]) -> str:
    missing = p.indicators[p.indicators["missing"]]
    if missing.empty:
        return "本企业的核心指标数据齐全，没有缺失项。"
    items = []
    for _, r in missing.iterrows():
        items.append(f"{r['name']}（{suppliers.get(r['code'], r['source'])}，本阶段满分 {r['max']:g} 分）")
    return (
        f"本企业有 {p.missing_count} 项数据缺失，缺失项按 0 分计："
        + "；".join(items)
        + "。企业自报的项目可在“数据填报”中补充；部门数据请联系区科技局核实。"
    )


def answer_notice(*, year: int, state: str, start: date | None, end: date | None, today: date) -> str:
    """The 公示 window of the run in 公示 (else the latest published run) as of ``today`` (a Beijing day,
    core.clock.today): open with the days left (today counted), not yet open, passed, or finalised.
    An objection is accepted until 24:00 Beijing time of the end day (services.objections.window_open)."""
    window = f"公示期 {_day(start)} 至 {_day(end)}"
    if state != "notice":
        return f"目前没有正在公示的积分，不受理异议：{year} 年度积分已定稿（{window}，已结束）。"
    if start is None or end is None:
        return f"{year} 年度积分正在公示，但没有登记公示期，请联系区科技局确认异议截止日期。"
    if today < start:
        return f"{year} 年度积分将于 {_day(start)} 开始公示（{window}）；公示开始后才能提出异议。"
    if today > end:
        return f"{year} 年度积分的{window}已结束，不再受理新的异议，结果待定稿。"
    left = (end - today).days + 1
    return (
        f"{year} 年度积分正在公示，{window}。异议截至 {_day(end)} 24:00（北京时间），"
        f"还剩 {left} 天（含今天）。对积分有异议的，请在截止前在“异议”页面提出。"
    )


def answer_stats(overview: Any, tier_names: Sequence[str], question: str) -> str:
    """Counts and averages of a published run as 首页 shows them (services.public.public_overview: its
    ``by_stage`` table with 阶段, 参评企业, 参与排名, 平均积分 and one count column per list of the run's
    model); a stage or a list named in ``question`` narrows the answer to it. States no other number."""
    table = overview.by_stage
    state = SCORE_RUN.labels.get(overview.state, overview.state)
    head = (
        f"{overview.year} 年度积分（{state}）：参评企业 {overview.evaluated} 家，"
        f"参与排名 {overview.ranked} 家，上榜企业 {overview.on_lists} 家。"
    )
    stages = [row for _, row in table.iterrows() if str(row["阶段"]) in question] or [
        row for _, row in table.iterrows()
    ]
    tiers = [t for t in tier_names if t in question or t.removeprefix("创新") in question] or list(tier_names)
    average = "平均" in question

    def line(row: Any) -> str:
        mean = row["平均积分"]
        parts = [f"参评 {int(row['参评企业'])} 家", f"参与排名 {int(row['参与排名'])} 家"]
        parts += [f"{t} {int(row[t])} 家" for t in tiers]
        parts.append(f"平均积分 {pts(mean)} 分" if mean == mean else "无参与排名的企业，没有平均积分")
        if average:  # the average first: it is what was asked
            parts.insert(0, parts.pop())
        return f"{row['阶段']}：" + "，".join(parts)

    body = "；".join(line(row) for row in stages) + "。"
    note = "平均积分按参与排名的企业计（一票否决的企业不参与排名），各阶段分开计算。" if average else ""
    return head + body + note + "与“首页”的分阶段概况一致，上榜名单见“积分榜单”。"


def _day(d: Any) -> str:
    return d.isoformat() if d is not None else "—"


def number_tokens(text: str) -> list[str]:
    """The numbers a text states (for the test that compares them with the portrait)."""
    return re.findall(r"(?<![A-Za-z\d.])[+-]?\d[\d,]*(?:\.\d+)?", text)


def suppliers_for(model: Any) -> dict[str, str]:
    """Who supplies each indicator's data, in words (for missing-data answers)."""
    out = {}
    for ind in model.indicators:
        out[ind.code] = supplier_text(ind.source, self_reported=ind.self_reported)
    for base in model.base_fields:
        out[base.code] = supplier_text(base.source)
    return out


def supplier_text(source: str, *, self_reported: bool = False) -> str:
    source = (source or "").strip()
    if self_reported or source.startswith("自报"):
        return "由本企业在“数据填报”中填写"
    if source in ("派生", "derived", ""):
        return "由其他数据计算，需先补齐其计算依据"
    return f"由{source.replace('/', '、')}部门提供、区科技局导入"


def is_missing(value: Any) -> bool:
    return explain.is_missing(value)


# ------------------------------------------------------------------ the assembled assistant
class Brain:
    """The classifier and the clause search for one model, corpus and synonym table (built once)."""

    def __init__(
        self,
        model: Any,
        *,
        data: Mapping[str, Any],
        documents: Sequence[tuple[str, str, str | None]],
        synonyms: Mapping[str, str] | None = None,
    ) -> None:
        from core.assistant_text import Retriever, parse_document

        self.data = data
        self.synonyms = dict(data.get("synonyms", {})) | dict(synonyms or {})
        self.templates = dict(data.get("templates", {}))
        self.search_params = dict(data.get("search", {}))
        self.contact = data.get("contact", {}).get("text", "区科技局")
        clauses = []
        for doc_id, text, title in documents:
            clauses.extend(parse_document(doc_id, text, title=title))
        indicators = [(i.code, [i.name, *i.aliases]) for i in model.indicators]
        words = [w for _, names in indicators for w in names]
        self.retriever = Retriever(
            clauses,
            synonyms=self.synonyms,
            stopwords=data.get("stopwords", {}).get("words", ()),
            extra_words=words,
        )
        self.classifier = Classifier(data, indicators=indicators, synonyms=self.synonyms)
        self.intent_names = intent_names(data)

    def classify(self, question: str, *, about_chosen: bool = False) -> Classification:
        return self.classifier.classify(question, about_chosen=about_chosen)

    def policy_answer(self, question: str) -> Answer:
        """Quote the best clauses, or — below the confidence threshold — say so and give the contact."""
        k = int(self.search_params.get("top_k", 3))
        hits = self.retriever.search(question, k=k)
        min_score = float(self.search_params.get("min_score", 2.0))
        min_cov = float(self.search_params.get("min_coverage", 0.3))
        confident = bool(hits) and hits[0].score >= min_score and hits[0].coverage >= min_cov
        confidence = round(min(1.0, hits[0].coverage), 2) if hits else 0.0
        if not confident:
            return Answer(
                self.templates["fallback"].format(contact=self.contact),
                POLICY,
                "政策问答",
                answered=False,
                confidence=confidence,
                clause_keys=[h.clause.key for h in hits],
            )
        best = hits[0]
        # the best clause, plus the next ones that are nearly as good (they often complete it)
        shown = [h for h in hits if h.score >= 0.6 * best.score][:2]
        text = "根据" + best.clause.source + "：" + best.clause.text
        if len(shown) > 1:
            text += "\n\n另见" + shown[1].clause.source + "：" + shown[1].clause.text
        return Answer(
            text,
            POLICY,
            "政策问答",
            sources=[h.clause.source for h in shown],
            quotes=[(h.clause.source, h.clause.text) for h in shown],
            clause_keys=[h.clause.key for h in hits],
            confidence=confidence,
        )
