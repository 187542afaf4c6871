"""Compare two score runs: who entered or left each list, the largest moves, which inputs changed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import Session

from core import breakdown, listtext
from core.scoring_model import ScoringModel
from db.models import ModelVersion, ScoreRun
from db.queries import scores_frame
from services.actor import Actor, require_staff
from services.model_versions import get_model
from services.runs import get_run


@dataclass
class RunDiff:
    run_a: int
    run_b: int
    # credit_code, name, stage, total_a, total_b, delta_total, rank_a, rank_b, delta_rank, tier_a, tier_b,
    # changed_inputs (comma-joined codes); sorted by |delta_total| descending
    moves: pd.DataFrame
    list_changes: pd.DataFrame  # credit_code, name, stage, list, change (进入/退出), tier_a, tier_b
    input_changes: pd.DataFrame  # credit_code, name, code, before, after
    added: pd.DataFrame  # in b only: credit_code, name, stage, total
    removed: pd.DataFrame  # in a only
    summary: dict[str, Any] = field(default_factory=dict)
    model: ScoringModel | None = None  # the newer run's model: it names the indicator codes shown

    def largest_moves(self, n: int = 20) -> pd.DataFrame:
        return self.moves.head(n)


def _bd(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    if not value:
        return {}
    return json.loads(value)


def _canon(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return round(float(v), 9)
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return str(v)


def _inputs(frame: pd.DataFrame, codes: list[str], model: ScoringModel) -> pd.DataFrame:
    """Input value per enterprise (index credit_code) and code, from the stored breakdowns."""
    raws = [_bd(b) for b in frame["breakdown"].tolist()]
    data = {code: [_canon(v) for v in breakdown.column_values(model, raws, code)] for code in codes}
    return pd.DataFrame(
        data, index=pd.Index(frame["credit_code"].to_numpy(dtype=object), name="credit_code"), dtype=object
    )


def _names(model: ScoringModel, frame: pd.DataFrame, suffix: str) -> None:
    """Readable stage and list names of one run's side, from that run's own model."""
    stages = {st.code: st.name for st in model.stages}
    tiers = {t.code: t.name for t in model.tiers}
    frame["stage_name" + suffix] = frame["stage" + suffix].map(stages).fillna(frame["stage" + suffix])
    frame["list" + suffix] = frame["tier" + suffix].map(lambda t: tiers.get(t, "未上榜") if t else "未上榜")


def diff_runs(session: Session, *, actor: Actor, run_a: int, run_b: int) -> RunDiff:
    """What changed from run ``run_a`` (older) to run ``run_b`` (newer), each read with its own model.

    When the runs were computed under different models, inputs are not compared (their indicators are
    not the same): totals, ranks and lists are, and ``summary["models_differ"]`` says so.
    """
    require_staff(actor)
    runs = {rid: get_run(session, rid) for rid in (run_a, run_b)}
    model_a = get_model(session, runs[run_a].model_version_id)
    model_b = get_model(session, runs[run_b].model_version_id)
    models_differ = runs[run_a].model_version_id != runs[run_b].model_version_id and (
        model_a.fingerprint() != model_b.fingerprint()
    )
    a = scores_frame(session, run_id=run_a, include_breakdown=True)
    b = scores_frame(session, run_id=run_b, include_breakdown=True)
    keep = ["credit_code", "name", "stage", "total", "rank", "tier"]
    merged = a[keep].merge(b[keep], on="credit_code", how="outer", suffixes=("_a", "_b"), indicator=True)
    for col in ("tier_a", "tier_b"):
        merged[col] = merged[col].fillna("")
    _names(model_a, merged, "_a")
    _names(model_b, merged, "_b")
    merged["name"] = merged["name_b"].fillna(merged["name_a"])
    merged["stage"] = merged["stage_b"].fillna(merged["stage_a"])
    merged["stage_name"] = merged["stage_name_b"].fillna(merged["stage_name_a"])
    both = merged[merged["_merge"] == "both"].copy()
    both["delta_total"] = (both["total_b"] - both["total_a"]).round(4)
    rank_a = both["rank_a"].astype("Float64")
    rank_b = both["rank_b"].astype("Float64")
    both["delta_rank"] = (rank_a - rank_b).astype("Float64")  # positive: moved up

    # ---- inputs that changed, per enterprise (same model only: each side decoded with its own model)
    codes = model_b.codes + [c for c in model_b.extra_columns() if c not in model_b.codes]
    if models_differ:
        codes = []
    ia = _inputs(a, codes, model_a)
    ib = _inputs(b, codes, model_b)
    common = both["credit_code"].to_numpy(dtype=object)
    va = ia.reindex(common)
    vb = ib.reindex(common)
    same = (va.isna() & vb.isna()) | (va == vb)
    changed = ~same.to_numpy(dtype=bool)
    rows, cols = np.nonzero(changed)
    input_changes = pd.DataFrame(
        {
            "credit_code": common[rows],
            "name": both["name"].to_numpy(dtype=object)[rows],
            "code": np.asarray(codes, dtype=object)[cols],
            "before": va.to_numpy(dtype=object)[rows, cols],
            "after": vb.to_numpy(dtype=object)[rows, cols],
        }
    )
    # Lists and structured flags read as text (省级·牵头 1 项 …), never JSON — each side with its own model.
    for column, side_model in (("before", model_a), ("after", model_b)):
        indicators = {i.code: i for i in side_model.indicators}
        input_changes[column] = [
            (listtext.value_text(v, indicators.get(c)) or v) if isinstance(v, (str, list, dict)) else v
            for v, c in zip(input_changes[column].tolist(), input_changes["code"].tolist(), strict=True)
        ]
    per_ent = input_changes.groupby("credit_code", sort=False)["code"].agg(",".join)
    both["changed_inputs"] = both["credit_code"].map(per_ent).astype(object).fillna("")

    order = both["delta_total"].abs().sort_values(ascending=False, kind="stable").index
    moves = both.loc[
        order,
        [
            "credit_code",
            "name",
            "stage",
            "stage_name",
            "total_a",
            "total_b",
            "delta_total",
            "rank_a",
            "rank_b",
            "delta_rank",
            "tier_a",
            "tier_b",
            "list_a",
            "list_b",
            "changed_inputs",
        ],
    ].reset_index(drop=True)

    # ---- lists: entered / left each list (a list of run B entered, a list of run A left)
    parts = []
    for model, side, other, change in ((model_b, "b", "a", "进入"), (model_a, "a", "b", "退出")):
        for tier in model.tiers:
            moved = both[
                (both["tier_" + side] == tier.code)
                & ((both["tier_" + other] != tier.code) | (both["list_" + other] != tier.name))
            ]
            if len(moved):
                part = moved[
                    ["credit_code", "name", "stage", "stage_name", "tier_a", "tier_b", "list_a", "list_b"]
                ].copy()
                part["list"] = tier.name
                part["change"] = change
                parts.append(part)
    columns = [
        "credit_code",
        "name",
        "stage",
        "stage_name",
        "list",
        "change",
        "tier_a",
        "tier_b",
        "list_a",
        "list_b",
    ]
    list_changes = pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)

    added = merged[merged["_merge"] == "right_only"][
        ["credit_code", "name", "stage", "stage_name", "total_b"]
    ]
    added = added.rename(columns={"total_b": "total"}).reset_index(drop=True)
    removed = merged[merged["_merge"] == "left_only"][
        ["credit_code", "name", "stage", "stage_name", "total_a"]
    ]
    removed = removed.rename(columns={"total_a": "total"}).reset_index(drop=True)
    version_a = session.get(ModelVersion, runs[run_a].model_version_id)
    version_b = session.get(ModelVersion, runs[run_b].model_version_id)
    summary = {
        "enterprises_a": len(a),
        "enterprises_b": len(b),
        "common": len(both),
        "added": len(added),
        "removed": len(removed),
        "total_changed": int((both["delta_total"].abs() > 1e-9).sum()),
        "rank_changed": int((both["delta_rank"].fillna(0) != 0).sum()),
        "list_entered": int((list_changes["change"] == "进入").sum()),
        "list_left": int((list_changes["change"] == "退出").sum()),
        "inputs_changed_enterprises": int(per_ent.size),
        "models_differ": models_differ,
        "model_a": f"{model_a.name}（{version_a.version}）" if version_a else model_a.name,
        "model_b": f"{model_b.name}（{version_b.version}）" if version_b else model_b.name,
    }
    return RunDiff(
        run_a=run_a,
        run_b=run_b,
        moves=moves,
        list_changes=list_changes.reset_index(drop=True),
        input_changes=input_changes,
        added=added,
        removed=removed,
        summary=summary,
        model=model_b,
    )


RUN_COLUMNS = [
    "id",
    "year",
    "model_version_id",
    "state",
    "enterprise_count",
    "notice_start",
    "notice_end",
    "supersedes_id",
    "created_by",
    "created_at",
    "published_at",
    "finalized_at",
]


def list_runs(session: Session, *, actor: Actor, year: int | None = None) -> pd.DataFrame:
    """All score runs, newest first (the officer pages' run lists)."""
    from sqlalchemy import select

    require_staff(actor)
    stmt = select(*(getattr(ScoreRun, c) for c in RUN_COLUMNS)).order_by(
        ScoreRun.year.desc(), ScoreRun.id.desc()
    )
    if year is not None:
        stmt = stmt.where(ScoreRun.year == year)
    return pd.DataFrame([tuple(r) for r in session.execute(stmt).all()], columns=RUN_COLUMNS)


def model_version_choices(session: Session, *, actor: Actor) -> dict[int, str]:
    """Published model versions (id → label), newest first, for the compute form."""
    from sqlalchemy import select

    from db.models import ModelVersion

    require_staff(actor)
    rows = session.execute(
        select(ModelVersion.id, ModelVersion.version, ModelVersion.name)
        .where(ModelVersion.state == "published")
        .order_by(ModelVersion.published_at.desc(), ModelVersion.id.desc())
    ).all()
    return {vid: f"{version} · {name}" for vid, version, name in rows}
