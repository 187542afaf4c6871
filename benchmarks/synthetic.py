"""Synthetic enterprises in the value-contract shape (scoring-model.md §9), for benchmarks and tests.

`make_inputs(n, seed)` returns one row per enterprise with valid 18-character credit codes, numbers as
float64 (NaN = missing), yes/no flags as bool, tier text, and the list/object indicators as already
parsed Python objects (None when empty). List columns are sparse, as in real data: most enterprises
have no S&T project, standard, award or talent record. `json_text=True` serialises them as JSON text
(what a spreadsheet carries). Distributions are rough but put enterprises in every stage and band.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from core.credit_code import CHARSET, WEIGHTS

_CHARSET = np.array(list(CHARSET))
_WEIGHTS = np.array(WEIGHTS)

# Wenzhou-like words for synthetic enterprises (the search and pages benchmarks filter on them).
INDUSTRIES = [
    "电气机械",
    "通用设备",
    "专用设备",
    "软件和信息技术服务",
    "医药制造",
    "汽车零部件",
    "鞋服",
    "新材料",
]
STREETS = ["永中街道", "蒲州街道", "海滨街道", "永兴街道", "海城街道", "状元街道", "瑶溪街道", "沙城街道"]


def make_credit_codes(n: int, rng: np.random.Generator) -> np.ndarray:
    """n distinct valid unified social credit codes (prefix 91330303 = 龙湾区 enterprises)."""
    prefix = np.array([9, 1, 3, 3, 0, 3, 0, 3])
    # distinct 9-character organisation parts: a random permutation of integers in base 31
    ids = rng.choice(31**9 // 7, size=n, replace=False) * 7 + rng.integers(0, 7, size=n)
    body = np.empty((n, 9), dtype=np.int64)
    for k in range(8, -1, -1):
        body[:, k] = ids % 31
        ids = ids // 31
    vals = np.concatenate([np.broadcast_to(prefix, (n, 8)), body], axis=1)
    check = (31 - (vals @ _WEIGHTS) % 31) % 31
    chars = np.ascontiguousarray(_CHARSET[np.concatenate([vals, check[:, None]], axis=1)])
    return chars.view("<U18").reshape(n).astype(object)


def _sparse_lists(rng: np.random.Generator, n: int, rate: float, make_item, max_len: int = 3) -> np.ndarray:
    out = np.full(n, None, dtype=object)
    rows = np.flatnonzero(rng.random(n) < rate)
    lens = rng.integers(1, max_len + 1, size=len(rows))
    for r, k in zip(rows, lens, strict=True):
        out[r] = [make_item() for _ in range(k)]
    return out


def make_inputs(n: int, seed: int = 0, json_text: bool = False) -> pd.DataFrame:
    """N synthetic enterprises (value contract, parsed cells); deterministic for a given seed."""
    rng = np.random.default_rng(seed)

    def nan_out(a: np.ndarray, rate: float) -> np.ndarray:
        a = a.astype(np.float64)
        a[rng.random(n) < rate] = np.nan
        return a

    def pick(options: list, p: list[float]):
        return lambda: options[rng.choice(len(options), p=p)]

    g01 = np.round(rng.lognormal(5.6, 1.9, n), 2)
    tiny = rng.random(n) < 0.08  # very small firms: the T02 cost-band case
    g01[tiny] = np.round(rng.uniform(0, 50, tiny.sum()), 2)
    g01 = nan_out(g01, 0.02)
    intensity = rng.beta(1.2, 20, n) * 100  # R&D as % of revenue
    t01 = np.round(np.nan_to_num(g01) * intensity / 100, 2)
    t01[rng.random(n) < 0.25] = 0.0
    t01 = nan_out(t01, 0.03)
    with np.errstate(divide="ignore", invalid="ignore"):
        t02 = np.where(g01 > 0, t01 / g01 * 100, np.nan)
    staff = np.maximum(1, np.round(rng.lognormal(3.0, 1.1, n)))
    t04 = np.minimum(staff, rng.poisson(staff * rng.beta(2, 8, n))).astype(np.float64)
    t04 = nan_out(t04, 0.05)
    levels_proj = pick(["国家", "省", "市", "区"], [0.05, 0.2, 0.45, 0.3])
    roles_proj = pick(["牵头", "参与"], [0.4, 0.6])
    levels_std = pick(["国际", "国家", "行业", "地方", "团体"], [0.02, 0.18, 0.3, 0.2, 0.3])
    roles_std = pick(["主导", "参与"], [0.3, 0.7])
    levels_award = pick(["国家", "省", "市"], [0.05, 0.35, 0.6])
    levels_talent = pick(["国家", "省", "市", "博士"], [0.05, 0.15, 0.3, 0.5])
    cols: dict[str, object] = {
        "credit_code": make_credit_codes(n, rng),
        "name": np.array([f"温州测试企业{i:07d}有限公司" for i in range(n)], dtype=object),
        "T01": t01,
        "T02": t02,
        "T03": nan_out(np.round(rng.normal(12, 30, n), 2), 0.12),
        "T04": t04,
        "T05": np.round(t04 / staff * 100, 2),
        "T06": nan_out(np.where(rng.random(n) < 0.3, rng.poisson(3, n), 0), 0.02),
        "T07": nan_out(np.where(rng.random(n) < 0.5, rng.poisson(6, n), 0), 0.02),
        "T08": nan_out(np.where(rng.random(n) < 0.1, np.round(rng.lognormal(3, 1.5, n), 2), 0), 0.05),
        "T09": np.where(
            rng.random(n) < 0.12, rng.choice(["国家", "省", "市", "区"], n, p=[0.03, 0.17, 0.4, 0.4]), ""
        ).astype(object),
        "T10": _sparse_lists(rng, n, 0.06, lambda: {"level": levels_proj(), "role": roles_proj()}),
        "T11": nan_out(np.round(rng.uniform(0, 100, n), 2), 0.35),
        "T12": _sparse_lists(rng, n, 0.03, lambda: {"level": levels_std(), "role": roles_std()}),
        "G01": g01,
        "G02": nan_out(np.round(rng.normal(10, 25, n), 2), 0.08),
        "G03": nan_out(np.round(np.nan_to_num(g01) * rng.normal(0.04, 0.1, n), 2), 0.04),
        "G04": nan_out(np.round(np.nan_to_num(g01) * rng.beta(2, 40, n), 2), 0.04),
        "G05": np.round(g01 / staff, 2),
        "G06": nan_out(np.round(rng.normal(5, 20, n), 2), 0.1),
        "G07": nan_out(np.where(rng.random(n) < 0.05, np.round(rng.lognormal(6.5, 1.2, n), 1), 0), 0.02),
        "G08": nan_out(np.round(rng.uniform(5, 100, n), 2), 0.05),
        "A01": rng.random(n) < 0.10,
        "A02": rng.random(n) < 0.20,
        "A03": np.where(
            rng.random(n) < 0.08,
            rng.choice(["小巨人", "省级专精特新", "创新型中小企业"], n, p=[0.1, 0.3, 0.6]),
            "",
        ).astype(object),
        "A04": _sparse_lists(rng, n, 0.04, lambda: {"level": levels_talent(), "role": "核心成员"}),
        "A05": _sparse_lists(
            rng, n, 0.01, lambda: {"level": levels_award(), "top3": bool(rng.random() < 0.6)}, 2
        ),
        "A06": _sparse_lists(rng, n, 0.02, lambda: {"level": levels_award()}, 2),
        "A07": np.where(rng.random(n) < 0.3, rng.poisson(3, n), 0).astype(np.float64),
        "A08": rng.random(n) < 0.15,
        "N01": rng.random(n) < 0.005,
        "N02": rng.random(n) < 0.002,
        "N03": np.full(n, None, dtype=object),
        "N04": rng.random(n) < 0.01,
        "total_cost": np.where(
            g01 < 50, np.round(np.nan_to_num(g01) * rng.uniform(0.8, 3, n) + 5, 2), np.nan
        ),
        "prev_T01": np.where(rng.random(n) < 0.05, 0.0, np.round(np.nan_to_num(t01) / 1.1, 2)),
        "prev_G01": np.round(np.nan_to_num(g01) / rng.uniform(0.7, 1.5, n), 2),
    }
    n03 = cols["N03"]
    for r in np.flatnonzero(rng.random(n) < 0.03):
        n03[r] = {"abnormal": bool(rng.random() < 0.3), "penalties": int(rng.integers(0, 7))}
    df = pd.DataFrame(cols)
    if json_text:
        for c in ("T10", "T12", "A04", "A05", "A06", "N03"):
            df[c] = df[c].map(lambda v: None if v is None else json.dumps(v, ensure_ascii=False))
    return df


# Name parts for realistic enterprise names: region, a two-character brand, an industry word, a form.
NAME_REGIONS = (
    "温州",
    "龙湾",
    "浙江",
    "温州高新",
    "瓯海",
    "乐清",
    "瑞安",
    "长兴",
    "重庆",
    "厦门",
    "永嘉",
    "平阳",
)
NAME_BRAND = (
    "瓯博瑞华东宏嘉创海天新鸿恒泰信德金永盛卓锐远昌汇中明正万和立安益富兴誉晶联星智长行乐朝"
    "达锐欣诚源川通峰辰宇航腾驰凯越晟力杰途展磊森盈翔隆光美康佳豪奥鼎丰澳华亿"
)
NAME_WORDS = (
    "光电科技",
    "智能科技",
    "电气",
    "生物科技",
    "新材料科技",
    "阀门",
    "鞋业",
    "汽摩配件",
    "软件",
    "医疗器械",
    "电子",
    "信息技术",
    "机械",
    "环保科技",
    "新能源科技",
    "激光科技",
    "流体设备",
    "网络科技",
    "精密制造",
    "眼镜",
    "包装",
    "服饰",
    "重工",
    "传动",
    "调控设备",
    "数据科技",
    "检测技术",
    "化工",
)
NAME_FORMS = ("有限公司", "股份有限公司", "科技有限公司", "实业有限公司")


def make_names(n: int, rng: np.random.Generator) -> list[str]:
    """n distinct realistic enterprise names (region + brand + industry word + form, a digit-free mix)."""
    regions = np.array(NAME_REGIONS, dtype=object)
    brand = np.array(list(NAME_BRAND), dtype=object)
    words = np.array(NAME_WORDS, dtype=object)
    forms = np.array(NAME_FORMS, dtype=object)
    seen: set[str] = set()
    names: list[str] = []
    while len(names) < n:
        k = (n - len(names)) * 2
        third = rng.random(k) < 0.25  # some brands have three characters
        parts = (
            regions[rng.integers(len(regions), size=k)],
            brand[rng.integers(len(brand), size=k)],
            brand[rng.integers(len(brand), size=k)],
            np.where(third, brand[rng.integers(len(brand), size=k)], ""),
            words[rng.integers(len(words), size=k)],
            forms[rng.choice(len(forms), size=k, p=[0.7, 0.15, 0.1, 0.05])],
        )
        for name in map("".join, zip(*parts, strict=True)):
            if name not in seen:
                seen.add(name)
                names.append(name)
                if len(names) == n:
                    break
    return names
