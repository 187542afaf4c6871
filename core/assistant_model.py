"""The assistant's policy corpus in the active model's terms (pure).

The shipped articles (core/assistant_corpus) are the default model's policy text: its five stages, its
100 + 50 points, its three lists of 5/10/20 %, its subsidies, 亩均 shares, pools, stage services and
departments. Quoted under another model — another zone's, or a version with one number changed — they
answer with names and numbers the run never used. :func:`model_documents` keeps the shipped text for the
shipped model and, for any other, writes those articles from the model (stages, classes, every
indicator's rule, bonus cap, deductions, veto, departments, ranking, lists, subsidies, 亩均, pools);
articles about things the model does not describe (stage services of the default catalogue, the default
triggers) are left out, so such a question gets the office's contact instead of a wrong answer. The
model-independent articles (procedures, objections, bank consent …) stay as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from core.importing.departments import departments
from core.model_text import describe_rule, field_name
from core.scoring_model import ScoringModel

Article = tuple[str, str]  # (title without its number, body)
Rewrite = Callable[[ScoringModel], list[Article]]

DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 21 → 二十一 (article numbers up to 99)."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else DIGITS[tens] + "十")
    return head + (DIGITS[ones] if ones or not head else "")


def _g(x: float) -> str:
    return f"{x:g}"


def _pct(share: float) -> str:
    return f"{share * 100:g}%"


def _revenue(x: float) -> str:
    return f"{x / 10000:g} 亿元" if x >= 10000 and x % 10000 == 0 else f"{x:g} 万元"


# ------------------------------------------------------------------ 01-evaluation
def _object(model: ScoringModel) -> list[Article]:
    where = model.zone or "本区"
    return [
        (
            "评价对象",
            f"评价对象为{where}内纳入评价范围的企业。企业以统一社会信用代码为唯一标识，按评价年度逐年评价。",
        )
    ]


def _stages(model: ScoringModel) -> list[Article]:
    stage_field = field_name(model, model.stage_indicator)
    parts = []
    for k, s in enumerate(model.stages):
        if s.max_revenue is None:
            span = f"{_revenue(s.min_revenue)}及以上"
        elif k == 0:
            span = f"不足 {_revenue(s.max_revenue)}，或没有{stage_field}记录"
        else:
            span = f"{_revenue(s.min_revenue)}至 {_revenue(s.max_revenue)}"
        parts.append(f"{s.name}（{span}）")
    body = (
        f"按评价年度的{stage_field}将企业划分为 {len(model.stages)} 个发展阶段：{'、'.join(parts)}。"
        "排名、榜单和扶持均在同一阶段内进行。"
    )
    return [("发展阶段", body)]


def _catalogue(model: ScoringModel) -> list[Article]:
    parts = [
        f"{c.name}（{'、'.join(i.name for i in model.by_class(c.code))}，共 {len(model.by_class(c.code))} 项）"
        for c in model.ordered_classes
        if model.by_class(c.code)
    ]
    return [("指标体系", f"创新积分指标分为 {len(parts)} 类：{'；'.join(parts)}。")]


def _total(model: ScoringModel) -> list[Article]:
    core = "、".join(c.name for c in model.classes_of_kind("core"))
    text = f"核心积分为{core}积分之和，每个阶段满分 {_g(model.core_total)} 分"
    formula = "核心积分"
    bonus = model.classes_of_kind("bonus")
    if bonus:
        text += f"；{'、'.join(c.name for c in bonus)}加分最多 {_g(model.bonus_cap)} 分"
        formula += " + 加分"
    if model.classes_of_kind("deduction"):
        formula += " − 扣分"
    top = model.core_total + (model.bonus_cap if bonus else 0)
    text += f"；总积分 = {formula}，最低为 0 分，最高 {_g(top)} 分，保留两位小数。"
    return [("总积分的计算", text)]


def _split(model: ScoringModel) -> list[Article]:
    core = model.classes_of_kind("core")
    per_stage = [
        f"{s.name} {'/'.join(_g(model.class_max(c.code, s.code)) for c in core)}" for s in model.stages
    ]
    body = f"核心 {_g(model.core_total)} 分在{'、'.join(c.name for c in core)}之间按阶段分配：{'，'.join(per_stage)}。"
    return [("各类指标的分值比例", body)]


def _indicators(model: ScoringModel) -> list[Article]:
    """One article per core indicator: its definition and its rule in words."""
    out = []
    for ind in model.by_kind("core"):
        definition = f"{ind.definition}。" if ind.definition else ""
        out.append((ind.name, f"{definition}{describe_rule(ind, model)}"))
    return out


def _kind_items(model: ScoringModel, kind: str) -> str:
    return "；".join(f"{i.name}：{describe_rule(i, model)}" for i in model.by_kind(kind))


def _bonus(model: ScoringModel) -> list[Article]:
    if not model.by_kind("bonus"):
        return []
    return [("加分项目", f"{_kind_items(model, 'bonus')}。加分合计最多 {_g(model.bonus_cap)} 分。")]


def _deduction(model: ScoringModel) -> list[Article]:
    if not model.by_kind("deduction"):
        return [("扣分项", "本评价模型不设扣分项。")]
    return [("扣分项", f"{_kind_items(model, 'deduction')}。扣分从总积分中扣除。")]


def _veto(model: ScoringModel) -> list[Article]:
    vetoes = model.by_kind("veto")
    if not vetoes:
        return [("一票否决", "本评价模型不设一票否决项。")]
    names = "、".join(f"{i.name}{f'（{i.definition}）' if i.definition else ''}" for i in vetoes)
    return [
        (
            "一票否决",
            f"存在{names}的企业实行一票否决：积分照常计算并向企业本人展示，但不参与排名，"
            "不进入榜单、扶持、培育库和银行推荐名单。",
        )
    ]


def _sources(model: ScoringModel) -> list[Article]:
    depts = "、".join(departments(model))
    own = "、".join(i.name for i in model.indicators if i.self_reported)
    text = f"指标数据主要来自{depts}等部门和公开数据，由区科技局统一导入"
    if own:
        text += f"；{own}等只有企业掌握的数据由企业自行填报，经审核通过后计入积分"
    return [("数据来源", text + "。企业无需重复填写部门已提供的数据。")]


def _tie_name(model: ScoringModel, key: str) -> str:
    if key == "total":
        return "总积分"
    if key == "credit_code":
        return "统一社会信用代码"
    if any(c.code == key for c in model.classes):
        return f"{model.class_name(key)}积分"
    return field_name(model, key)


def _ranking(model: ScoringModel) -> list[Article]:
    keys = [t.key for t in model.tie_break if t.key not in ("total", "credit_code")]
    then = f"依次比较{'、'.join(_tie_name(model, k) for k in keys)}，" if keys else ""
    body = (
        "在每个阶段内，对未被一票否决的企业按总积分从高到低排名；总积分相同的，"
        f"{then}仍相同的按统一社会信用代码排序。相同的数据总得到相同的排名。"
    )
    return [("排名规则", body)]


# ------------------------------------------------------------------ 02-lists
def _lists(model: ScoringModel) -> list[Article]:
    if not model.tiers:
        return [("创新榜单", "本评价模型不发布榜单。")]
    parts, previous = [], None
    for t in model.tiers:
        span = (
            f"本阶段排名前 {_pct(t.share)} 的企业" if previous is None else f"其后至前 {_pct(t.share)} 的企业"
        )
        parts.append(f"{t.name}为{span}")
        previous = t
    kinds = f"{'两' if len(model.tiers) == 2 else chinese_number(len(model.tiers))}类榜单"
    body = f"每个阶段内按排名发布{kinds}：{'；'.join(parts)}。名额按本阶段参与排名企业数乘以比例向上取整。"
    return [(kinds, body)]


def _subsidies(model: ScoringModel) -> list[Article]:
    if not model.subsidies:
        return [("扶持对象与金额", "本评价模型不设按排名的资金扶持。")]
    parts = [
        f"{model.stage_name(s.stage)}排名前 {_pct(s.share)} 的企业（最多 {s.max_count} 家）每家 {_g(s.amount)} 万元"
        for s in model.subsidies
    ]
    return [("扶持对象与金额", f"对各阶段排名靠前的企业给予政策精准扶持：{'；'.join(parts)}。")]


def _mujun(model: ScoringModel) -> list[Article]:
    if not model.mujun:
        return []
    parts = "，".join(f"前 {_pct(m.share)} 的企业标记“{m.code}”" for m in model.mujun)
    return [("亩均论英雄", f"各阶段排名{parts}，以标记方式在榜单中显示。")]


def _loan(model: ScoringModel) -> list[Article]:
    """科创指数贷: recommended by the model's pools trigger (a percentile threshold), if it has one."""
    from core.pools import pools_config

    for trigger in pools_config(model).get("triggers", []):
        when = trigger.get("when", {})
        if trigger.get("service") == "innovation_loan" and when.get("field") == "percentile":
            top = _g(100 - float(when.get("value", 0)))
            body = f"积分位于同阶段前 {top}% 的企业，可申请合作银行的科创指数贷（信用贷款），由合作银行按其信贷政策审批。"
            return [("科创指数贷", body)]
    return []


# ------------------------------------------------------------------ 03-cultivation
OPS = {">=": "不低于", "<=": "不超过", ">": "高于", "<": "低于"}


def _condition(model: ScoringModel, cond: dict) -> str:
    label = str(cond.get("label", ""))
    op, value = cond.get("op"), cond.get("value")
    if op in OPS and isinstance(value, int | float) and not re.search(r"\d", label):
        field = cond.get("field", "")
        found = model.field(field) if field else None
        unit = getattr(found, "unit", "") if found is not None else ""
        return f"{label}{OPS[str(op)]} {_g(value)}{unit}"
    steps = (cond.get("value_by") or {}).get("steps")
    if isinstance(op, str) and op in OPS and steps and not re.search(r"\d", label):
        found = model.field(cond.get("field", ""))
        unit = getattr(found, "unit", "") if found is not None else ""
        by = field_name(model, cond["value_by"].get("field", ""))
        parts = [
            f"{by}{_revenue(s['below']) + '以下' if 'below' in s else '更高'}的{OPS[op]} {_g(s['value'])}{unit}"
            for s in steps
            if "value" in s
        ]
        return f"{label}：{'，'.join(parts)}"
    return label


def _pools(model: ScoringModel) -> list[Article]:
    from core.pools import pools_config, pools_of

    out = []
    for pool in pools_of(pools_config(model)) or []:
        conditions = "；".join(c for c in (_condition(model, c) for c in pool.get("conditions", [])) if c)
        out.append((f"{pool['name']}培育条件", f"进入{pool['name']}培育库的参考条件：{conditions}。"))
    return out


# ------------------------------------------------------------------ 05-procedures
def _filling(model: ScoringModel) -> list[Article]:
    own = "、".join(i.name for i in model.indicators if i.self_reported)
    depts = "、".join(departments(model))
    text = f"企业只需填报只有企业掌握的数据：{own}。" if own else "本评价模型没有企业自行填报的指标。"
    return [
        (
            "填报内容",
            text
            + f"{depts}等部门已提供的数据由系统预填，企业不能修改，只能补充；预填数据有误的，在公示期内提出异议并附证明材料（见第七条）。",
        )
    ]


# the shipped articles that describe the default model: title (without its number) → its rewrite
REWRITES: dict[str, dict[str, Rewrite]] = {
    "01-evaluation": {
        "评价对象": _object,
        "发展阶段": _stages,
        "指标体系": _catalogue,
        "总积分的计算": _total,
        "技术创新与成长经营的分值比例": _split,
        "研发投入强度": _indicators,
        "研发人员占比": lambda m: [],
        "知识产权": lambda m: [],
        "研发机构与科技计划项目": lambda m: [],
        "高新技术产品收入与标准": lambda m: [],
        "成长经营指标": lambda m: [],
        "加分项目": _bonus,
        "扣分项": _deduction,
        "一票否决": _veto,
        "数据来源": _sources,
        "排名规则": _ranking,
    },
    "02-lists": {"三类榜单": _lists, "扶持对象与金额": _subsidies, "亩均论英雄": _mujun, "科创指数贷": _loan},
    "03-cultivation": {
        "国家高新技术企业认定培育条件": _pools,
        "科技型中小企业入库条件": lambda m: [],
        "创新型中小企业条件": lambda m: [],
        "专精特新中小企业条件": lambda m: [],
        "按阶段的培育方向": lambda m: [],
    },
    "04-services": {
        "种子期和初创期企业服务": lambda m: [],
        "成长期和扩张期企业服务": lambda m: [],
        "成熟期企业服务": lambda m: [],
        "研发费用加计扣除政策辅导": lambda m: [],
        "研发机构建设辅导": lambda m: [],
        "认定申报辅导": lambda m: [],
    },
    "05-procedures": {"填报内容": _filling},
}
ARTICLE = re.compile(r"^###\s+第[零一二三四五六七八九十百]+条\s+(.*)$")


def _rewrite(doc_id: str, text: str, model: ScoringModel) -> str:
    """The document with its default-model articles written from ``model``, articles renumbered."""
    rewrites = REWRITES.get(doc_id, {})
    lines: list[str] = []
    number = 0
    skipping = False
    for line in text.replace("\r\n", "\n").split("\n"):
        found = ARTICLE.match(line)
        if found is None and line.startswith("#"):
            skipping = False
        if line.startswith("# ") and doc_id == "01-evaluation":
            line = f"# {model.name}"
        elif line.startswith(">") and doc_id == "01-evaluation":
            line = f"> {model.note or model.source or '指标与分值以主管部门发布的评价模型为准。'}"
        if found is None:
            if not skipping:
                lines.append(line)
            continue
        title = found.group(1).strip()
        articles: list[Article] = rewrites[title](model) if title in rewrites else [(title, "")]
        skipping = title in rewrites
        for k, (heading, body) in enumerate(articles):
            number += 1
            lines.append(f"### 第{chinese_number(number)}条 {heading}")
            if skipping:
                lines += ["", body] + ([""] if k < len(articles) - 1 else [])
    return "\n".join(lines)


@lru_cache(maxsize=1)
def _shipped_fingerprint() -> str:
    from core.model_loading import load_model

    return load_model().fingerprint()


def model_documents(model: ScoringModel, documents: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The shipped ``documents`` (id, Markdown) as they apply to ``model``: unchanged for the shipped
    default model, else with the default model's articles written from ``model`` (module docstring)."""
    if model.fingerprint() == _shipped_fingerprint():
        return documents
    return [(doc_id, _rewrite(doc_id, text, model)) for doc_id, text in documents]
