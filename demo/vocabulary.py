"""The demo's words and places: enterprise names, streets, carriers, credit codes, people.

Everything a seeded enterprise is called or where it sits comes from these tables (weighted choices,
drawn from the seed's one ``numpy.random.Generator``): region prefixes and brand characters make
unique company names, industry words carry a technology bias used by :mod:`demo.distributions`, and
credit codes are valid (:func:`core.credit_code.make_code`) with 龙湾's division code most often.
The years, the shared demo password and the partner bank are here too: every fixed fact of the demo.
"""

from __future__ import annotations

import numpy as np

from core.credit_code import make_code

YEARS = (2024, 2025)  # evaluation years with full data; YEARS[0] - 1 carries only growth bases
DEMO_PASSWORD = "Demo@2025"
DEMO_BANK = "温州银行龙湾支行"
SEED_ACTOR = "system"


REGION_PREFIXES = (("温州", 0.42), ("龙湾", 0.18), ("浙江", 0.16), ("温州高新", 0.14), ("瓯海", 0.10))
BRAND_FIRST = "瓯博瑞华东宏嘉创海天新鸿恒泰信德金永盛卓锐远昌汇中明正万和立安益富兴誉晶联星智"
BRAND_SECOND = "博达锐欣泰诚源川瑞鸿通峰辰宇航腾驰凯越晟力杰途展磊森盈翔隆"
# (name word, industry, technology bias of the latent "innovativeness")
INDUSTRY_WORDS = (
    ("光电科技", "电子信息", 0.5),
    ("智能科技", "智能装备", 0.4),
    ("电气", "电气机械", 0.0),
    ("生物科技", "生物医药", 0.6),
    ("新材料科技", "新材料", 0.4),
    ("阀门", "泵阀", -0.2),
    ("鞋业", "鞋服", -0.6),
    ("汽摩配件", "汽摩配", -0.2),
    ("软件", "软件和信息服务", 0.6),
    ("医疗器械", "生物医药", 0.4),
    ("电子", "电子信息", 0.2),
    ("信息技术", "软件和信息服务", 0.5),
    ("机械", "装备制造", -0.1),
    ("环保科技", "节能环保", 0.2),
    ("新能源科技", "新能源", 0.4),
    ("激光科技", "电子信息", 0.5),
    ("流体设备", "泵阀", 0.0),
    ("网络科技", "软件和信息服务", 0.3),
    ("精密制造", "装备制造", 0.1),
    ("眼镜", "轻工", -0.5),
    ("包装", "轻工", -0.5),
    ("服饰", "鞋服", -0.6),
)
STREETS = (
    ("永中街道", 0.16),
    ("蒲州街道", 0.14),
    ("海滨街道", 0.10),
    ("永兴街道", 0.10),
    ("状元街道", 0.13),
    ("瑶溪街道", 0.08),
    ("沙城街道", 0.08),
    ("天河街道", 0.07),
    ("星海街道", 0.08),
    ("海城街道", 0.06),
)
# (name, kind, level, street, stage indices it hosts)
CARRIERS = (
    ("温州高新区科技企业孵化器", "孵化器", "国家级", "蒲州街道", (0, 1)),
    ("龙湾区创新创业孵化中心", "孵化器", "省级", "永中街道", (0, 1)),
    ("瓯江口青年创客众创空间", "众创空间", "市级", "星海街道", (0,)),
    ("温州高新区智造众创空间", "众创空间", "省级", "状元街道", (0, 1)),
    ("龙湾数字经济众创空间", "众创空间", "区级", "状元街道", (0,)),
    ("温州高新区科技企业加速器", "加速器", "省级", "海城街道", (1, 2, 3)),
    ("龙湾区智能装备加速器", "加速器", "市级", "沙城街道", (2, 3)),
    ("温州高新技术产业园", "产业园", "省级", "永兴街道", (2, 3, 4)),
    ("龙湾区激光与光电产业园", "产业园", "市级", "海滨街道", (1, 2, 3, 4)),
    ("温州生命健康产业园", "产业园", "市级", "瑶溪街道", (1, 2, 3)),
    ("龙湾区永中小微企业园", "小微园", "区级", "永中街道", (1, 2)),
    ("龙湾区天河小微企业园", "小微园", "区级", "天河街道", (1, 2)),
)
# Region code inside the credit code (administrative division), weighted towards 龙湾 (330303).
CODE_PREFIXES = (("91330303", 0.7), ("91330300", 0.15), ("91330304", 0.1), ("91330301", 0.05))
# Share of enterprises per stage, in the model's stage order (more seed/startup than mature).
STAGE_SHARES = (0.32, 0.30, 0.20, 0.12, 0.06)
SURNAMES = "王李张陈林黄周吴徐郑胡朱潘金叶谢蔡杨应夏"
GIVEN = (
    "建国",
    "志强",
    "海涛",
    "晓东",
    "丽娜",
    "静",
    "磊",
    "俊杰",
    "雪梅",
    "伟",
    "博文",
    "思远",
    "佳怡",
    "文斌",
)


def enterprise_names(rng: np.random.Generator, stage_idx: np.ndarray, industry: np.ndarray) -> list[str]:
    """Unique names: region prefix, two brand characters, the industry word, a legal-form suffix."""
    prefixes = [p for p, _ in REGION_PREFIXES]
    pweights = np.array([w for _, w in REGION_PREFIXES])
    k = int(stage_idx.max()) if len(stage_idx) else 0
    seen: set[str] = set()
    names: list[str] = []
    for i in range(len(stage_idx)):
        big = stage_idx[i] >= max(k - 1, 1)
        while True:
            prefix = prefixes[rng.choice(len(prefixes), p=pweights / pweights.sum())]
            a = BRAND_FIRST[rng.integers(len(BRAND_FIRST))]
            b = BRAND_SECOND[rng.integers(len(BRAND_SECOND))]
            if a == b:
                continue
            word = INDUSTRY_WORDS[industry[i]][0]
            suffix = "股份有限公司" if rng.random() < (0.35 if big else 0.05) else "有限公司"
            name = f"{prefix}{a}{b}{word}{suffix}"
            if name not in seen:
                seen.add(name)
                names.append(name)
                break
    return names


def credit_codes(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct valid unified social credit codes, weighted by division prefix."""
    prefixes = [p for p, _ in CODE_PREFIXES]
    weights = np.array([w for _, w in CODE_PREFIXES])
    bodies = rng.choice(900_000_000, size=n, replace=False) + 100_000_000
    picks = rng.choice(len(prefixes), size=n, p=weights / weights.sum())
    return [make_code(str(int(b)), prefix=prefixes[p]) for b, p in zip(bodies, picks, strict=True)]
