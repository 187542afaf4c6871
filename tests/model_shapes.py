"""Model dicts of other zones' shapes, built in code so tests can vary one field at a time.

`five_class_model()` is a Changzhou-like model: 4 stages, 5 declared core classes (基础、投入、管理、产出、
环境能力), a bonus and a deduction class, a veto class, and a core total of 1000 points.
"""

from __future__ import annotations

import copy
from typing import Any

STAGES = [
    ("s1", "初创期", 0, 500),
    ("s2", "成长期", 500, 2000),
    ("s3", "壮大期", 2000, 10000),
    ("s4", "领军期", 10000, None),
]
CORE_CLASSES = [
    ("basic", "基础能力"),
    ("invest", "投入能力"),
    ("manage", "管理能力"),
    ("output", "产出能力"),
    ("env", "环境能力"),
]


def five_class_model(*, per_class: int = 4, core_total: float = 1000) -> dict[str, Any]:
    """A valid model: every core class has `per_class` banded indicators sharing the core total equally."""
    stages = [
        {"code": c, "name": n, "min_revenue": lo, **({"max_revenue": hi} if hi is not None else {})}
        for c, n, lo, hi in STAGES
    ]
    n_core = per_class * len(CORE_CLASSES)
    points = core_total / n_core
    indicators: list[dict[str, Any]] = [
        {
            "code": "R01",
            "name": "营业收入",
            "class": "basic",
            "unit": "万元",
            "source": "统计",
            "rule": {"type": "percentile"},
            "points": {s[0]: points for s in STAGES},
        }
    ]
    for k, (cls, cname) in enumerate(CORE_CLASSES):
        for j in range(per_class):
            if k == 0 and j == 0:
                continue
            indicators.append(
                {
                    "code": f"{cls[:1].upper()}{k}{j:02d}",
                    "name": f"{cname}指标{j + 1}",
                    "class": cls,
                    "unit": "%",
                    "percent": "rate",
                    "source": "统计" if j % 2 else "科技",
                    "rule": {"type": "bands", "bands": [{"at": 50, "f": 1.0}, {"at": 10, "f": 0.5}]},
                    "points": {s[0]: points for s in STAGES},
                }
            )
    indicators += [
        {
            "code": "B01",
            "name": "高新技术企业",
            "class": "plus",
            "source": "科技",
            "rule": {"type": "flag"},
            "max_points": 40,
        },
        {
            "code": "B02",
            "name": "专精特新",
            "class": "plus",
            "source": "经信",
            "rule": {"type": "flag"},
            "max_points": 40,
        },
        {
            "code": "D01",
            "name": "行政处罚",
            "class": "minus",
            "source": "市监",
            "rule": {"type": "flag"},
            "max_points": 30,
        },
        {"code": "V01", "name": "严重失信", "class": "stop", "source": "市监", "rule": {"type": "flag"}},
    ]
    return {
        "meta": {
            "name": "常州式五类模型",
            "version": "cz-test",
            "stage_indicator": "R01",
            "bonus_cap": 60,
            "core_total": core_total,
        },
        "classes": [
            *({"code": c, "name": n, "kind": "core", "order": k} for k, (c, n) in enumerate(CORE_CLASSES)),
            {"code": "plus", "name": "加分项", "kind": "bonus", "order": 10, "cap": 50},
            {"code": "minus", "name": "扣分项", "kind": "deduction", "order": 11},
            {"code": "stop", "name": "否决项", "kind": "veto", "order": 12},
        ],
        "stages": stages,
        "indicators": indicators,
        "tiers": [
            {"code": "领跑", "name": "创新领跑榜", "share": 0.1},
            {"code": "竞跑", "name": "创新竞跑榜", "share": 0.3},
        ],
        "subsidies": [{"stage": "s4", "share": 0.5, "max_count": 1, "amount": 20}],
        "tie_break": [{"key": "total"}, {"key": "invest"}, {"key": "credit_code", "order": "asc"}],
    }


def edited(model: dict[str, Any], path: list, value: Any) -> dict[str, Any]:
    """A deep copy of `model` with the item at `path` replaced (value ``...`` deletes it)."""
    out = copy.deepcopy(model)
    node = out
    for key in path[:-1]:
        node = node[key]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out
