"""Demo distributions: correlated enterprise traits and one generator per indicator.

:class:`Traits` draws latent, correlated traits per enterprise (stage, industry, innovativeness, revenue
over the years, staff, R&D) from the seed's one ``numpy.random.Generator``; every indicator value is
drawn from them, so the demo looks like a district (small firms volatile, innovative ones patenting).
:data:`GENERATORS` maps the default model's codes to their generator and share of missing cells —
demo data, not scoring logic; :func:`generator` also finds them by indicator name for other models,
and :func:`generic` gives a code nobody knows a value by its rule type, so a changed model still seeds.
Generators are called in the model's order: the same seed gives the same values.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from core.scoring_model import FlagRule, Indicator, ItemsRule, ScoringModel, TierRule
from demo.vocabulary import GIVEN, INDUSTRY_WORDS, STAGE_SHARES, SURNAMES, YEARS


class Traits:
    """Latent, correlated enterprise traits from which every indicator is drawn."""

    def __init__(self, rng: np.random.Generator, n: int, model: ScoringModel) -> None:
        self.rng = rng
        self.n = n
        self.model = model
        self.years = (YEARS[0] - 1, *YEARS)
        last = YEARS[-1]
        stages = model.stages
        k = len(stages)
        shares = np.array(STAGE_SHARES[:k] if k <= len(STAGE_SHARES) else [1.0] * k, dtype=float)
        shares = shares / shares.sum()
        # Exact counts per stage (largest remainder, at least one each): every stage is populated.
        raw = shares * n
        counts = np.maximum(np.floor(raw).astype(int), 1)
        while counts.sum() < n:
            counts[np.argmax(raw - counts)] += 1
        while counts.sum() > n:
            counts[np.argmax(counts)] -= 1
        stage_idx = rng.permutation(np.repeat(np.arange(k), counts))
        self.stage_idx = stage_idx  # stage of the last year by design

        industry = rng.integers(0, len(INDUSTRY_WORDS), n)
        self.industry = industry
        bias = np.array([w[2] for w in INDUSTRY_WORDS])[industry]
        self.z = rng.normal(0.0, 1.0, n) + bias  # innovativeness

        rev = np.zeros(n)
        for s, st in enumerate(stages):
            m = stage_idx == s
            cnt = int(m.sum())
            lo = max(float(st.min_revenue), 5.0)
            if st.max_revenue is None:
                logv = math.log10(lo) + np.minimum(rng.exponential(0.4, cnt), 1.7)
            else:
                hi = float(st.max_revenue)
                logv = math.log10(lo) + rng.beta(1.0, 1.5, cnt) * (math.log10(hi) - math.log10(lo))
            v = np.round(10.0**logv, 1)
            if st.max_revenue is not None:
                v = np.minimum(v, float(st.max_revenue) - 0.1)
            if s == 0:
                v[rng.random(cnt) < 0.06] = 0.0  # pre-revenue start-ups
            rev[m] = v
        self.size = np.log10(rev + 10.0)  # 1 … ~6

        # Revenue growth, more volatile for small firms; earlier years derived backwards.
        self.rev = {last: rev}
        vol = np.where(rev < 500, 0.35, 0.18)
        for y in range(last, self.years[0], -1):
            g = np.clip(rng.normal(0.12 + 0.04 * self.z, vol), -0.55, 1.8)
            prev = self.rev[y] / (1.0 + g)
            prev = np.where(rev == 0, 0.0, np.round(prev, 1))
            self.rev[y - 1] = prev
        self.growth = {
            y: np.where(self.rev[y - 1] > 0, self.rev[y] / np.maximum(self.rev[y - 1], 1e-9) - 1, 0)
            for y in self.years[1:]
        }

        # Staff from revenue per head; seed firms are a handful of people.
        rpc = np.exp(rng.normal(math.log(45.0), 0.5, n))
        staff_last = np.maximum(np.round(rev / rpc), rng.integers(3, 12, n)).astype(float)
        self.staff = {last: staff_last}
        for y in range(last, self.years[0], -1):
            gs = np.clip(0.5 * self.growth[y] + rng.normal(0.0, 0.08, n), -0.4, 0.8)
            self.staff[y - 1] = np.maximum(np.round(self.staff[y] / (1.0 + gs)), 2.0)
        ins_share = rng.uniform(0.72, 1.0, n)
        self.insured = {y: np.maximum(np.round(self.staff[y] * ins_share), 1.0) for y in self.years}

        # R&D intensity: higher for small and innovative firms, some with none at all.
        base_int = np.exp(rng.normal(math.log(0.035), 0.45, n) + 0.35 * self.z - 0.08 * (self.size - 3))
        no_rd = rng.random(n) < np.clip(0.18 - 0.08 * self.z, 0.02, 0.4)
        self.rd = {}
        for y in self.years:
            intensity = base_int * np.exp(rng.normal(0.0, 0.12, n))
            absolute = np.exp(rng.normal(math.log(20.0), 0.7, n) + 0.3 * self.z)  # tiny revenue: 万元
            rd = np.where(self.rev[y] < 50, absolute, self.rev[y] * intensity)
            self.rd[y] = np.where(no_rd, 0.0, np.round(rd, 2))
        self.rd_staff_share = np.clip(
            np.exp(rng.normal(math.log(0.14), 0.45, n) + 0.3 * self.z - 0.05 * (self.size - 3)), 0.0, 0.9
        )
        # Qualification scores: a deterministic threshold on (trait + noise) gives exact proportions.
        self.hte_score = self.z + 0.8 * (self.size - 2.5) + rng.normal(0, 0.6, n)
        self.a01 = {YEARS[0]: _top_share(self.hte_score, 0.135), YEARS[-1]: _top_share(self.hte_score, 0.15)}
        eligible_kx = (self.staff[last] <= 500) & (self.rev[last] <= 20000)
        kx_score = np.where(eligible_kx, self.z + rng.normal(0, 1.0, n), -np.inf)
        self.a02 = {YEARS[0]: _top_share(kx_score, 0.27), YEARS[-1]: _top_share(kx_score, 0.30)}
        self.self_report_present = {y: rng.random(n) >= 0.08 for y in YEARS}

    def latent_tier(self, levels: list[str], shares: list[float], score: np.ndarray) -> np.ndarray:
        """Top ``shares[0]`` get levels[0], the next ``shares[1]`` levels[1] … (cumulative, by score)."""
        out = np.full(self.n, None, dtype=object)
        order = np.argsort(-score, kind="stable")
        start = 0
        for level, share in zip(levels, shares, strict=False):
            cnt = int(round(share * self.n))
            out[order[start : start + cnt]] = level
            start += cnt
        return out


def _top_share(score: np.ndarray, share: float) -> np.ndarray:
    n = len(score)
    cnt = int(round(share * n))
    out = np.zeros(n, dtype=bool)
    order = np.argsort(-score, kind="stable")
    out[order[:cnt]] = True
    out &= np.isfinite(score)
    return out


def _choice(rng: np.random.Generator, options: list[Any], probs: list[float], size: int) -> list[Any]:
    p = np.asarray(probs, dtype=float)
    idx = rng.choice(len(options), size=size, p=p / p.sum())
    return [options[i] for i in idx]


def _labels(ind: Indicator) -> list[str]:
    """The level labels of a tier/items indicator, in the model's order (best first)."""
    r = ind.rule
    if isinstance(r, TierRule):
        return [c.label for c in r.categories]
    if isinstance(r, ItemsRule):
        return list(r.weights)
    return []


def _items(
    ctx: Traits, ind: Indicator, lam: np.ndarray, level_probs: list[float], make: Callable[[str, int], dict]
) -> np.ndarray:
    """A list-valued cell per enterprise: Poisson(lam) items of levels drawn with ``level_probs``."""
    rng = ctx.rng
    levels = _labels(ind)
    probs = (level_probs + [0.1] * len(levels))[: len(levels)]
    counts = rng.poisson(np.clip(lam, 0, 6))
    out = np.empty(ctx.n, dtype=object)
    total = int(counts.sum())
    drawn = _choice(rng, levels, probs, total) if total else []
    pos = 0
    for i, c in enumerate(counts):
        out[i] = [make(drawn[pos + j], j) for j in range(c)]
        pos += c
    return out


def _gen_rev(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    return ctx.rev[y]


def _gen_rd(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    return ctx.rd[y]


def _gen_rd_staff(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    v = np.round(ctx.insured[y] * ctx.rd_staff_share * np.exp(ctx.rng.normal(0, 0.1, ctx.n)))
    return np.minimum(v, ctx.insured[y])  # never more than insured staff (definition of T04)


def _ip_lambda(ctx: Traits) -> np.ndarray:
    return np.exp(-1.0 + 0.8 * (ctx.size - 2) + 0.6 * ctx.z)


def _gen_ip1(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    lam = _ip_lambda(ctx)
    if not hasattr(ctx, "_ip1"):
        ctx._ip1 = ctx.rng.poisson(np.clip(lam, 0, 40)).astype(float)
        ctx._ip1_gain = ctx.rng.binomial(ctx._ip1.astype(int), 0.2).astype(float)
    return ctx._ip1 if y == YEARS[-1] else ctx._ip1 - ctx._ip1_gain  # IP accumulates over the years


def _gen_ip2(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    lam = 0.6 + 2.5 * _ip_lambda(ctx)
    if not hasattr(ctx, "_ip2"):
        ctx._ip2 = ctx.rng.poisson(np.clip(lam, 0, 80)).astype(float)
        ctx._ip2_gain = ctx.rng.binomial(ctx._ip2.astype(int), 0.25).astype(float)
    return ctx._ip2 if y == YEARS[-1] else ctx._ip2 - ctx._ip2_gain


def _gen_contracts(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    rng = ctx.rng
    has = rng.random(ctx.n) < np.clip(0.15 + 0.1 * ctx.z, 0.02, 0.6)
    amount = np.exp(rng.normal(math.log(25.0), 0.9, ctx.n)) * np.sqrt(1 + ctx.rev[y] / 2000)
    return np.where(has, np.round(amount, 1), 0.0)


def _gen_institution(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    levels = _labels(ind)
    score = ctx.z + 0.9 * (ctx.size - 2.5) + (0.0 if y == YEARS[-1] else -0.15)
    shares = [0.004, 0.03, 0.08, 0.10][: len(levels)]
    return ctx.latent_tier(levels, shares, score)


def _gen_projects(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    lam = 0.08 + 0.25 * np.maximum(ctx.z, 0) * (ctx.size - 1.5)
    roles = ("牵头", "参与")

    def make(level: str, j: int) -> dict:
        return {
            "level": level,
            "role": roles[int(ctx.rng.random() < 0.6)],
            "name": f"{level}级科技计划项目{j + 1}",
            "year": int(y - ctx.rng.integers(0, 3)),
        }

    return _items(ctx, ind, lam, [0.04, 0.2, 0.4, 0.36], make)


def _gen_hitech_share(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    rng = ctx.rng
    base = np.where(ctx.a01[y], rng.uniform(60, 95, ctx.n), rng.beta(2, 3, ctx.n) * 100 * (1 + 0.2 * ctx.z))
    return np.round(np.clip(base, 0, 100), 1)


def _gen_standards(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    lam = 0.02 + 0.12 * np.maximum(ctx.z, 0) * (ctx.size - 1.5)
    prefixes = {"国际": "ISO", "国家": "GB/T", "行业": "JB/T", "地方": "DB33/T", "团体": "T/ZZB"}

    def make(level: str, j: int) -> dict:
        number = f"{prefixes.get(level, 'T/WZ')} {int(ctx.rng.integers(1000, 40000))}-{y - int(ctx.rng.integers(0, 3))}"
        return {
            "name": f"产品技术规范（第{j + 1}项）",
            "number": number,
            "level": level,
            "role": ("主导", "参与")[int(ctx.rng.random() < 0.65)],
            "year": int(number[-4:]),
        }

    return _items(ctx, ind, lam, [0.01, 0.1, 0.2, 0.2, 0.49], make)


def _gen_profit(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    rng = ctx.rng
    margin = np.where(ctx.rev[y] < 100, rng.normal(-0.15, 0.35, ctx.n), rng.normal(0.07, 0.09, ctx.n))
    loss_floor = -np.exp(rng.normal(math.log(15.0), 0.6, ctx.n))  # pre-revenue firms lose money
    return np.round(np.where(ctx.rev[y] > 0, ctx.rev[y] * margin, loss_floor), 2)


def _gen_taxes(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    return np.round(np.maximum(ctx.rev[y] * ctx.rng.uniform(0.015, 0.065, ctx.n), 0.0), 2)


def _gen_equity(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    rng = ctx.rng
    has = rng.random(ctx.n) < np.clip(0.08 + 0.06 * ctx.z, 0.01, 0.4)
    amount = np.exp(rng.normal(math.log(300.0), 0.9, ctx.n) + 0.35 * (ctx.size - 2.5))
    return np.where(has, np.round(amount, 0), 0.0)


def _gen_debt_ratio(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    return np.round(np.clip(ctx.rng.normal(48, 17, ctx.n), 4, 98), 1)


def _gen_a01(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    return ctx.a01[y]


def _gen_a02(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    return ctx.a02[y]


def _gen_sme_tier(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    levels = _labels(ind)  # 小巨人 / 省级专精特新 / 创新型中小企业
    score = ctx.z + 1.2 * (ctx.size - 2.5) + (0.0 if y == YEARS[-1] else -0.1)
    return ctx.latent_tier(levels, [0.004, 0.025, 0.08][: len(levels)], score)


def _gen_talent(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    has = ctx.rng.random(ctx.n) < np.clip(0.08 + 0.05 * ctx.z, 0.01, 0.4)
    names = [SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)] for i in range(97)]

    def make(level: str, j: int) -> dict:
        return {
            "name": names[int(ctx.rng.integers(0, len(names)))],
            "level": level,
            "role": "创始人" if j == 0 else "核心成员",
        }

    lam = np.where(has, 1.3, 0.0)
    out = _items(ctx, ind, lam, [0.04, 0.12, 0.34, 0.5], make)
    return out


def _gen_awards(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    has = ctx.rng.random(ctx.n) < np.clip(0.02 + 0.03 * ctx.z * (ctx.size > 2.5), 0.0, 0.3)

    def make(level: str, j: int) -> dict:
        return {"name": f"{level}科学技术进步奖", "level": level, "top3": bool(ctx.rng.random() < 0.7)}

    return _items(ctx, ind, np.where(has, 1.1, 0.0), [0.04, 0.3, 0.66], make)


def _gen_contests(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    has = ctx.rng.random(ctx.n) < np.clip(0.05 + 0.03 * ctx.z, 0.0, 0.3)

    def make(level: str, j: int) -> dict:
        return {"name": f"中国创新创业大赛（{level}赛）", "level": level}

    return _items(ctx, ind, np.where(has, 1.0, 0.0), [0.08, 0.3, 0.62], make)


def _gen_graduates(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    has = ctx.rng.random(ctx.n) < 0.3
    return np.where(has, 1.0 + ctx.rng.poisson(np.minimum(ctx.staff[y] / 40.0, 15)), 0.0)


def _gen_tax_a(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    score = np.where(ctx.rev[y] > 100, ctx.size + ctx.rng.normal(0, 0.8, ctx.n), -np.inf)
    return _top_share(score, 0.22)


def _gen_rare_flag(share: float) -> Callable[[Traits, Indicator, int], np.ndarray]:
    def gen(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
        return ctx.rng.random(ctx.n) < share

    return gen


def _gen_penalties(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    rng = ctx.rng
    has = rng.random(ctx.n) < 0.02
    out = np.full(ctx.n, None, dtype=object)
    keys = [c.key for c in ind.rule.components] if isinstance(ind.rule, FlagRule) else []
    for i in np.flatnonzero(has):
        abnormal = bool(rng.random() < 0.3)
        value = {"abnormal": abnormal, "penalties": int(rng.integers(0 if abnormal else 1, 4))}
        out[i] = {k: value.get(k, 1) for k in keys} if keys else value
    return out


def _gen_total_cost(ctx: Traits, ind: Indicator | None, y: int) -> np.ndarray:
    wages = ctx.staff[y] * ctx.rng.uniform(6, 11, ctx.n)
    cost = np.maximum(ctx.rev[y] * ctx.rng.uniform(0.78, 1.02, ctx.n), ctx.rd[y] + wages)
    return np.round(cost, 1)


def _gen_staff(ctx: Traits, ind: Indicator | None, y: int) -> np.ndarray:
    return ctx.staff[y]


def _gen_insured(ctx: Traits, ind: Indicator | None, y: int) -> np.ndarray:
    return ctx.insured[y]


# THE demo generator table: code -> (generator, share of missing cells). Demo data, not scoring logic.
# Order matters only for reproducibility (generators draw from one Generator in model order).
GENERATORS: dict[str, tuple[Callable[[Traits, Any, int], np.ndarray], float]] = {
    "G01": (_gen_rev, 0.005),  # also sets the stage: rarely missing
    "T01": (_gen_rd, 0.03),
    "T04": (_gen_rd_staff, 0.0),  # self-reported: missing through absent self-reports
    "T06": (_gen_ip1, 0.03),
    "T07": (_gen_ip2, 0.03),
    "T08": (_gen_contracts, 0.03),
    "T09": (_gen_institution, 0.0),
    "T10": (_gen_projects, 0.03),
    "T11": (_gen_hitech_share, 0.0),
    "T12": (_gen_standards, 0.0),
    "G03": (_gen_profit, 0.03),
    "G04": (_gen_taxes, 0.03),
    "G07": (_gen_equity, 0.03),
    "G08": (_gen_debt_ratio, 0.03),
    "A01": (_gen_a01, 0.0),
    "A02": (_gen_a02, 0.0),
    "A03": (_gen_sme_tier, 0.0),
    "A04": (_gen_talent, 0.0),
    "A05": (_gen_awards, 0.0),
    "A06": (_gen_contests, 0.0),
    "A07": (_gen_graduates, 0.0),
    "A08": (_gen_tax_a, 0.0),
    "N01": (_gen_rare_flag(0.003), 0.0),
    "N02": (_gen_rare_flag(0.002), 0.0),
    "N03": (_gen_penalties, 0.0),
    "N04": (_gen_rare_flag(0.01), 0.0),
    "total_cost": (_gen_total_cost, 0.03),
    "staff": (_gen_staff, 0.02),
    "insured_staff": (_gen_insured, 0.02),
}


# Generators of the default model's indicators found by name, for models with other codes.
GENERATOR_BY_NAME = {
    "研发费用总额": "T01",
    "研发人员数": "T04",
    "有效发明专利": "T06",
    "有效Ⅰ类知识产权": "T06",
    "其他有效知识产权": "T07",
    "有效Ⅱ类知识产权": "T07",
    "技术合同成交额": "T08",
    "研发机构等级": "T09",
    "高新技术产品收入占比": "T11",
    "营业收入": "G01",
    "利润总额": "G03",
    "实缴税收": "G04",
    "股权融资额": "G07",
    "资产负债率": "G08",
    "国家高新技术企业": "A01",
    "科技型中小企业": "A02",
    "科技型中小企业入库": "A02",
    "专精特新梯度": "A03",
    "优质中小企业梯度": "A03",
    "创新创业大赛获奖": "A06",
    "严重失信": "N01",
}


def generator(
    model: ScoringModel, code: str
) -> tuple[Callable[[Traits, Any, int], np.ndarray] | None, float]:
    """The generator of a code: the stage indicator is the revenue; then by code, then by indicator name."""
    if code == model.stage_indicator:
        return GENERATORS["G01"]
    if code in GENERATORS and (code in model.codes or code in {b.code for b in model.base_fields}):
        return GENERATORS[code]
    name = next((i.name for i in model.indicators if i.code == code), None)
    if name in GENERATOR_BY_NAME:
        return GENERATORS[GENERATOR_BY_NAME[name]]
    return None, 0.03


def generic(ctx: Traits, ind: Indicator, y: int) -> np.ndarray:
    """A value for a code GENERATORS does not know, by its rule type (keeps a changed model seedable)."""
    r = ind.rule
    if isinstance(r, TierRule):
        return ctx.latent_tier(_labels(ind), [0.03] * len(r.categories), ctx.z)
    if isinstance(r, ItemsRule):
        level = _labels(ind)[-1]
        return _items(ctx, ind, np.full(ctx.n, 0.2), [1.0], lambda lv, j: {"level": level})
    if isinstance(r, FlagRule):
        if r.components:
            return np.array([None] * ctx.n, dtype=object)
        return ctx.rng.random(ctx.n) < 0.05
    return np.round(np.exp(ctx.rng.normal(math.log(10.0), 1.0, ctx.n)) * (ctx.size - 0.5), 2)
