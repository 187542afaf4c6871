"""Delivering departments: who supplies which column — the one home of the department names.

An indicator's or base field's ``source`` names its suppliers (``"科技/经信"``, ``"自报+人社"``);
``departments(model)`` lists the model's delivering departments, the usual six first. Source words
such as 自报 or 派生 name no department (``NOT_DEPARTMENTS``). ``ALL_DEPARTMENTS`` is the consolidated
file (every department's columns in one sheet); ``ANY_SOURCE`` a public-data profile that may supply
any column. ``DEPARTMENTS`` is the default model's list, for callers without a model (the demo seed).
"""

from __future__ import annotations

import re

from core.scoring_model import ScoringModel

# The default model's departments in their familiar order; a model's own: departments(model).
DEPARTMENTS: tuple[str, ...] = ("税务", "经信", "科技", "金融", "市监", "人社")
# A consolidated file (the 科技局 collects every department's columns in one sheet).
ALL_DEPARTMENTS = "综合"
# Source words that name no delivering department (self-reports, derivations, public data).
NOT_DEPARTMENTS = frozenset({"自报", "派生", "公开", "上年"})
# Public-data sources (core.source_profiles) may supply any indicator that is not derived.
ANY_SOURCE = "*"


def source_parts(source: str) -> list[str]:
    """The words of a ``source``: ``"科技/经信"`` → ``["科技", "经信"]``."""
    return [s.strip() for s in re.split(r"[/+、，,]", source or "") if s.strip()]


def supplier(source: str, department: str) -> str | None:
    """The department that supplies a column of this ``source`` in ``department``'s file, or ``None``."""
    if department == ANY_SOURCE:
        return department
    parts = source_parts(source)
    if department == ALL_DEPARTMENTS:
        return next((p for p in parts if p not in NOT_DEPARTMENTS), None)
    return department if department in parts else None


def departments(model: ScoringModel) -> tuple[str, ...]:
    """The model's delivering departments: the first department named by each indicator's or base field's
    source ("市监/公开" → 市监, "自报+人社" → 人社), in model order — a model sourcing 统计 has 统计."""
    found: dict[str, None] = {}
    for source in [i.source for i in model.indicators] + [b.source for b in model.base_fields]:
        first = next((p for p in source_parts(source) if p not in NOT_DEPARTMENTS), None)
        if first is not None:
            found.setdefault(first, None)
    # the familiar order of the six usual departments first, then the model's others as they appear
    rank = {d: k for k, d in enumerate(DEPARTMENTS)}
    return tuple(sorted(found, key=lambda d: (rank.get(d, len(rank)), list(found).index(d))))
