"""One database with a run under model A (the shipped Longwan model, 2024, final) and one under model B
(the shipped national-guide model, 2025, in 公示): every screen must show each run in its own model's terms."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlmodel import Session

from core.credit_code import make_code
from core.model_loading import load_model
from core.scoring_model import ItemsRule, ScoringModel, TierRule
from db.models import Enterprise
from services.actor import Actor
from services.model_versions import ensure_default_model, publish_model_version, register_model
from services.runs import compute_run, finalize_run, publish_run
from tests.values import add_values

NATIONAL = load_model(
    __import__("pathlib").Path(__file__).resolve().parents[1] / "core" / "models" / "national-guide.toml"
)
YEAR_A, YEAR_B = 2024, 2025
SYSTEM = Actor.system()


@dataclass
class TwoRuns:
    run_a: int
    run_b: int
    model_a: ScoringModel
    model_b: ScoringModel
    enterprise_ids: list[int]


def _value(model: ScoringModel, code: str, rng: np.random.Generator, k: int):
    """A plausible raw value of one indicator or base field for enterprise k (None = no data)."""
    try:
        ind = model.indicator(code)
    except KeyError:
        return float(rng.integers(5, 300))
    if code == model.stage_indicator:
        return float(np.round(10 ** rng.uniform(1, 4.7), 1))
    rule = ind.rule
    if isinstance(rule, TierRule):
        return rule.categories[k % len(rule.categories)].label if k % 3 else None
    if isinstance(rule, ItemsRule):
        level = next(iter(rule.weights))
        return json.dumps([{"level": level, "name": "项目"}], ensure_ascii=False) if k % 4 == 0 else None
    if rule.type == "flag":
        if ind.kind == "veto":
            return 1.0 if k == 7 else None
        return 1.0 if rng.random() < 0.3 and not getattr(rule, "components", None) else None
    return float(np.round(rng.uniform(0, 80), 2))


def seed_two_models(session: Session, n: int = 40) -> TwoRuns:
    model_a = load_model()
    version_a = ensure_default_model(session)
    draft = register_model(session, actor=SYSTEM, definition=NATIONAL.to_dict())
    version_b = publish_model_version(session, actor=SYSTEM, version_id=draft.id)
    rng = np.random.default_rng(7)
    ids = []
    rows = []
    for k in range(n):
        enterprise = Enterprise(
            credit_code=make_code(str(7000 + k)), name=f"双模型企业{k:02d}", registered_on=date(2018, 1, 1)
        )
        session.add(enterprise)
        session.flush()
        ids.append(enterprise.id)
        written: set[str] = set()
        for model in (model_a, NATIONAL):
            derived = {d.target for d in model.derivations}
            codes = [
                c
                for c in model.codes + [b.code for b in model.base_fields]
                if c not in derived and c not in written
            ]
            written |= set(codes)
            for year in (YEAR_A - 1, YEAR_A, YEAR_B):
                for code in codes:
                    value = _value(model, code, rng, k)
                    if value is None:
                        continue
                    text = isinstance(value, str)
                    rows.append(
                        {
                            "enterprise_id": enterprise.id,
                            "year": year,
                            "code": code,
                            "source": "统计",
                            "value_num": None if text else value,
                            "value_text": value if text else None,
                        }
                    )
    add_values(session, *rows)
    session.commit()
    run_a = compute_run(session, actor=SYSTEM, year=YEAR_A, model_version_id=version_a.id)
    publish_run(
        session, actor=SYSTEM, run_id=run_a.id, notice_start=date(2025, 5, 1), notice_end=date(2025, 5, 8)
    )
    finalize_run(session, actor=SYSTEM, run_id=run_a.id)
    run_b = compute_run(session, actor=SYSTEM, year=YEAR_B, model_version_id=version_b.id)
    publish_run(
        session, actor=SYSTEM, run_id=run_b.id, notice_start=date(2026, 5, 1), notice_end=date(2026, 5, 8)
    )
    return TwoRuns(run_a.id, run_b.id, model_a, NATIONAL, ids)
