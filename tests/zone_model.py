"""Another zone's model that shares nothing with the default but the rule types: four stages with other
names, codes and revenue bounds, other class codes and names, indicator codes K/Y/P/Z, a 200-point core,
a bonus cap of 24, two lists of 3% and 15% with other names, its own 亩均 flag (2.5%), a 1.5% subsidy,
other cultivation pools and other delivering departments. Built from the national-guide model so every rule type stays covered.

Any default-model word on a screen under this model (种子期…成熟期, 领跑/竞跑/进取, T01, 税务 …) is a leak.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from core.model_loading import load_model, parse_model
from core.scoring_model import ScoringModel

ROOT = Path(__file__).resolve().parents[1]
GUIDE = load_model(ROOT / "core" / "models" / "national-guide.toml")

# (code, name, min revenue, max revenue, the guide's stage whose points and caps it takes)
STAGES = [
    ("bud", "萌芽期", 0, 300, "startup"),
    ("rise", "起步期", 300, 3000, "startup"),
    ("speed", "加速期", 3000, 30000, "growth"),
    ("lead", "领航期", 30000, None, "stable"),
]
CLASSES = {"technology": ("kc", "科创能力"), "growth": ("jy", "经营质量"), "auxiliary": ("fj", "附加")}
CLASSES["veto"] = ("fou", "否决事项")
CODES = {"J": "K", "C": "Y", "F": "P", "V": "Z"}  # J01 → K01 …
DEPARTMENTS = {
    "统计": "发改",
    "税务": "财政",
    "市监": "知产",
    "金融": "投促",
    "人社": "社保",
    "科技": "创新办",
    "经信": "工信",
}
TIERS = [
    {"code": "星火", "name": "星火企业榜", "share": 0.03},
    {"code": "燎原", "name": "燎原企业榜", "share": 0.15},
]
CORE_TOTAL = 200
BONUS_CAP = 24

# default-model words that must never show under the zone model (stage, list, class, department names and
# its indicator codes); checked on every screen, export and message
LEAKS = [
    "种子期",
    "初创期",
    "成长期",
    "扩张期",
    "成熟期",
    "稳定期",
    "领跑",
    "竞跑",
    "进取",
    "创新领军",
    "创新潜力",
    "提升一档",
    "适当加分",
    "技术创新",
    "成长经营",
    "税务",
    "经信",
    "市监",
    "人社",
]
CODE_LEAK = re.compile(r"(?<![A-Za-z0-9])(?:[TGAN](?:0[1-9]|1[0-2])|[JCFV]0[1-9])(?![0-9])")


def _code(text: str) -> str:
    return re.sub(r"(?<![A-Za-z])([JCFV])(0[1-9])", lambda m: CODES[m.group(1)] + m.group(2), text)


def _source(text: str) -> str:
    return re.sub("|".join(DEPARTMENTS), lambda m: DEPARTMENTS[m.group(0)], text)


def zone_departments(text: str) -> str:
    """``text`` with the default model's department names replaced by the zone's (区税务局 → 区财政局)."""
    return _source(text)


def zone_model_dict() -> dict[str, Any]:
    """The zone's model as a definition dict (what an officer registers in 评价模型)."""
    guide = GUIDE.to_dict()
    d = json.loads(_code(json.dumps(guide, ensure_ascii=False)))
    scale = CORE_TOTAL / guide["meta"]["core_total"]
    d["meta"].update(
        name="星城高新区企业创新积分模型",
        version="xc-2026.1",
        note="星城高新区四阶段模型",
        source="星城高新区管委会",
        bonus_cap=BONUS_CAP,
        core_total=CORE_TOTAL,
    )
    for cls in d["classes"]:
        cls["code"], cls["name"] = CLASSES[cls["code"]]
    d["stages"] = [
        {"code": c, "name": n, "min_revenue": lo, **({"max_revenue": hi} if hi is not None else {})}
        for c, n, lo, hi, _ in STAGES
    ]
    for ind in d["indicators"]:
        ind["class"] = CLASSES[ind["class"]][0]
        ind["source"] = _source(ind.get("source", ""))
        if ind.get("points"):
            ind["points"] = {c: ind["points"][old] * scale for c, _, _, _, old in STAGES}
        if ind["rule"].get("caps"):
            ind["rule"]["caps"] = {c: ind["rule"]["caps"][old] for c, _, _, _, old in STAGES}
    for base in d["base_fields"]:
        base["source"] = _source(base.get("source", ""))
    d["tiers"] = [dict(t) for t in TIERS]
    d["subsidies"] = [
        {"stage": "lead", "share": 0.04, "max_count": 2, "amount": 40},
        {"stage": "speed", "share": 0.015, "max_count": 3, "amount": 15},
        {"stage": "bud", "share": 0.06, "max_count": 4, "amount": 3},
    ]
    d["mujun"] = [{"code": "星城升档", "share": 0.025}]
    for tie in d["tie_break"]:
        if tie["key"] in CLASSES:
            tie["key"] = CLASSES[tie["key"]][0]
    for pool in d["cultivation"]["pools"]:
        if pool["code"] == "hte":
            pool.update(code="gazelle", name="星城瞪羚后备")
        else:
            pool.update(code="seedling", name="星城雏鹰后备")
    return d


def zone_model() -> ScoringModel:
    return parse_model(zone_model_dict())


def leaks(text: str) -> list[str]:
    """The default-model words and codes in ``text``."""
    return [w for w in LEAKS if w in text] + CODE_LEAK.findall(text)
