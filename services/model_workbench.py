"""评价模型 workbench: diff two versions, and the impact of a draft against the published model.

The preview scores the latest year's data (read and derived exactly as a run does, services.runs) under
both models without storing anything: Spearman rank correlation of the totals per stage, who enters or
leaves each list, the subsidy budget before and after, and the largest movers with the indicators that
moved them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlmodel import Session

from core import model_diff
from core.engine import score
from core.scoring_model import ScoringModel
from db.models import ModelVersion
from db.queries import PUBLISHED_STATES, latest_run
from db.values import enterprises_per_year, newest_current_year
from services.actor import Actor, require_staff
from services.errors import NotFound, ValidationFailed
from services.model_versions import active_model_version, get_model
from services.runs import model_inputs


def diff_versions(session: Session, *, actor: Actor, version_a: int, version_b: int) -> pd.DataFrame:
    """Every field that differs between two versions, in words (core.model_diff): 字段, 原值, 新值."""
    require_staff(actor)
    before, after = (get_model(session, vid).to_dict() for vid in (version_a, version_b))
    return pd.DataFrame(model_diff.changes(before, after), columns=["字段", "原值", "新值"])


@dataclass
class ImpactPreview:
    year: int
    published_version: str
    draft_version: str
    spearman: pd.DataFrame  # stage, stage_name, enterprises, spearman
    list_changes: pd.DataFrame  # credit_code, name, stage_name, list, change (进入/退出)
    subsidy_before: float
    subsidy_after: float
    movers: (
        pd.DataFrame
    )  # credit_code, name, stage_name, total_before, total_after, delta, rank_before, rank_after, why
    notes: list[str] = field(default_factory=list)


def latest_data_year(session: Session) -> int:
    year = newest_current_year(session)
    if year is None:
        raise ValidationFailed("还没有任何企业数据，无法预览影响。")
    return int(year)


def preview_years(session: Session, *, actor: Actor) -> pd.DataFrame:
    """Years with current data and how many enterprises each has (newest first), plus ``default``: the
    year an impact preview starts on — the year of the newest published run when it has data (the
    results the programme stands behind), else the year with the most enterprises. Never silently the
    newest year: one early report of a new year must not make a preview of one enterprise."""
    require_staff(actor)
    frame = enterprises_per_year(session).sort_values("year", ascending=False, ignore_index=True)
    frame["default"] = False
    if frame.empty:
        return frame
    published = latest_run(session, states=PUBLISHED_STATES)
    if published is not None and published.year in set(frame["year"]):
        chosen = published.year
    else:
        chosen = frame.loc[frame["enterprises"].idxmax(), "year"]  # first max: the newest of equals
    frame["default"] = frame["year"] == chosen
    return frame


def _spearman(a: pd.Series, b: pd.Series) -> float:
    if len(a) < 2:
        return float("nan")
    ra, rb = a.rank(method="average"), b.rank(method="average")
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def _why(before: ScoringModel, after: ScoringModel, row_a: pd.Series, row_b: pd.Series) -> str:
    """The indicators whose points moved this enterprise most (名称 +x.xx)."""
    changes = []
    for ind in after.indicators:
        key = "pts_" + ind.code
        old = float(row_a.get(key, 0.0)) if ind.code in before.codes else 0.0
        new = float(row_b.get(key, 0.0))
        if abs(new - old) > 0.005:
            changes.append((abs(new - old), f"{ind.name} {new - old:+.2f}"))
    changes.sort(reverse=True)
    return "；".join(text for _, text in changes[:3]) or "排名随其他企业变化"


def preview_impact(session: Session, *, actor: Actor, draft_id: int, year: int) -> ImpactPreview:
    """Score ``year``'s data with the published model and with the draft; compare (the caller chooses the
    year, see :func:`preview_years`)."""
    require_staff(actor)
    draft_row = session.get(ModelVersion, draft_id)
    if draft_row is None:
        raise NotFound(f"评价模型版本 {draft_id} 不存在。")
    published_row = active_model_version(session)
    before_model = get_model(session, published_row.id)
    after_model = get_model(session, draft_id)
    _, inputs_before, _ = model_inputs(session, model=before_model, year=year)
    _, inputs_after, _ = model_inputs(session, model=after_model, year=year)
    a = score(before_model, inputs_before).set_index("credit_code")
    b = score(after_model, inputs_after).set_index("credit_code")
    common = a.index.intersection(b.index)
    a, b = a.loc[common], b.loc[common]
    notes = []
    same_stages = before_model.stage_codes == after_model.stage_codes
    if not same_stages:
        notes.append("两个模型的阶段划分不同：按草稿的阶段统计。")
    stage_names = {s.code: s.name for s in after_model.stages}
    rows = []
    for stage in after_model.stage_codes:
        members = b.index[(b["stage"] == stage) & ~b["veto"].astype(bool)]
        rows.append(
            {
                "stage": stage,
                "stage_name": stage_names[stage],
                "enterprises": len(members),
                "spearman": round(_spearman(a.loc[members, "total"], b.loc[members, "total"]), 4),
            }
        )
    spearman = pd.DataFrame(rows)

    tiers_a = {t.code: t.name for t in before_model.tiers}
    tiers_b = {t.code: t.name for t in after_model.tiers}
    list_a = a["tier"].map(lambda t: tiers_a.get(t, ""))
    list_b = b["tier"].map(lambda t: tiers_b.get(t, ""))
    parts = []
    for name in dict.fromkeys([*tiers_b.values(), *tiers_a.values()]):
        entered = common[(list_b == name) & (list_a != name)]
        left = common[(list_a == name) & (list_b != name)]
        for codes, change in ((entered, "进入"), (left, "退出")):
            if len(codes):
                parts.append(
                    pd.DataFrame(
                        {
                            "credit_code": codes,
                            "name": b.loc[codes, "name"].to_numpy(),
                            "stage_name": b.loc[codes, "stage"].map(stage_names).to_numpy(),
                            "list": name,
                            "change": change,
                        }
                    )
                )
    columns = ["credit_code", "name", "stage_name", "list", "change"]
    list_changes = pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)

    delta = (b["total"] - a["total"]).round(2)
    top = delta.abs().sort_values(ascending=False, kind="stable").index[:20]
    movers = pd.DataFrame(
        {
            "credit_code": top,
            "name": b.loc[top, "name"].to_numpy(),
            "stage_name": b.loc[top, "stage"].map(stage_names).to_numpy(),
            "total_before": a.loc[top, "total"].to_numpy(),
            "total_after": b.loc[top, "total"].to_numpy(),
            "delta": delta.loc[top].to_numpy(),
            "rank_before": a.loc[top, "rank"].to_numpy(),
            "rank_after": b.loc[top, "rank"].to_numpy(),
            "why": [_why(before_model, after_model, a.loc[c], b.loc[c]) for c in top],
        }
    )
    return ImpactPreview(
        year=year,
        published_version=published_row.version,
        draft_version=draft_row.version,
        spearman=spearman,
        list_changes=list_changes.reset_index(drop=True),
        subsidy_before=float(a["subsidy"].sum()),
        subsidy_after=float(b["subsidy"].sum()),
        movers=movers,
        notes=notes,
    )
