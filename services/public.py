"""What anyone may see without logging in: the active model and aggregates of published runs.

"Published" means a run in 公示 (notice) or final. Nothing here returns a draft run or any enterprise's
data beyond what the public lists show (name, credit code, stage, list, total).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlmodel import Session, select

from core.lru import LRU
from core.reports import stage_average
from core.scoring_model import ScoringModel
from db.models import Enterprise, ModelVersion, Score, ScoreRun
from db.queries import PUBLISHED_STATES, latest_run
from services.errors import NotFound
from services.model_versions import current_model, get_model


@dataclass(frozen=True)
class RunHeadline:
    """The headline figures of a published run (public overview and dashboard; built by keyword)."""

    run_id: int
    year: int
    state: str  # notice / final
    notice_start: date | None
    notice_end: date | None
    model_version: str
    evaluated: int
    ranked: int
    on_lists: int
    subsidy_total: float
    subsidy_count: int


@dataclass(frozen=True)
class PublicOverview(RunHeadline):
    by_stage: pd.DataFrame  # stage, stage_name, evaluated, ranked, mean_total, max_total, 领跑…, subsidy


@dataclass(frozen=True)
class PublicModel:
    """The model a public page states, with the published run whose numbers it explains."""

    model: ScoringModel
    run_id: int | None  # the published run computed with ``model`` (None: nothing published yet)
    run_year: int | None
    active_version: str  # the version new runs use (differs when an admin published a newer one since)

    @property
    def newer_active(self) -> bool:
        """A newer model version is active than the one of the published run shown."""
        return self.run_id is not None and self.active_version != self.model.version


def public_model(session: Session, *, year: int | None = None) -> PublicModel:
    """The one model-version rule of every public page: the model of the published run it shows — the
    latest published run (of ``year`` when given) — so a reader checking a published score against the
    rules gets the same numbers; before anything is published, the active model."""
    active = current_model(session)
    run = latest_published_run(session, year=year)
    if run is None:
        return PublicModel(model=active, run_id=None, run_year=None, active_version=active.version)
    return PublicModel(
        model=get_model(session, run.model_version_id),
        run_id=run.id,
        run_year=run.year,
        active_version=active.version,
    )


def published_run_model(session: Session, *, run_id: int) -> ScoringModel:
    """The model a published run was computed with (its stages, classes and lists name the results)."""
    run = session.get(ScoreRun, run_id)
    if run is None or run.state not in PUBLISHED_STATES:
        raise NotFound(f"积分计算批次 {run_id} 未发布。")
    return get_model(session, run.model_version_id)


def latest_published_run(session: Session, *, year: int | None = None) -> ScoreRun | None:
    """The newest run in 公示 or final (of ``year`` when given)."""
    return latest_run(session, states=PUBLISHED_STATES, year=year)


def published_years(session: Session) -> list[int]:
    rows = session.exec(select(ScoreRun.year).where(ScoreRun.state.in_(PUBLISHED_STATES)).distinct()).all()
    return sorted(rows, reverse=True)


@dataclass(frozen=True)
class PublishedBoard:
    """积分榜单 of one year: the run's model (as a dict), the run (id, year, state, notice window) and its
    lists (:func:`public_lists`); run and lists are None when nothing of that year is published."""

    model: dict
    run: dict | None
    lists: pd.DataFrame | None


# The lists join every listed enterprise's Score row to its name: ~2 s at 520,000 enterprises, so kept
# per published version (services.memo.published_version: a publish, 定稿 or rename on any server) and
# read once after a server start (services.scenarios.warm_after_start). Shared: callers only read it.
_BOARDS: LRU[PublishedBoard] = LRU(4)


def published_board(session: Session, *, year: int) -> PublishedBoard:
    """The published lists of ``year`` with their run and model (cached; see ``_BOARDS``)."""
    from services.memo import published_version

    key = (published_version(session), year)
    cached = _BOARDS.get(key)
    if cached is not None:
        return cached
    run = latest_published_run(session, year=year)
    model = public_model(session, year=year).model  # the one model-version rule: the run's own model
    return _BOARDS.put(
        key,
        PublishedBoard(
            model=model.to_dict(),
            run=None
            if run is None
            else {
                "id": run.id,
                "year": run.year,
                "state": run.state,
                "start": run.notice_start,
                "end": run.notice_end,
            },
            lists=public_lists(session, run_id=run.id) if run else None,
        ),
    )


def public_overview(session: Session, *, year: int | None = None) -> PublicOverview | None:
    """Headline figures of the latest published run (of ``year`` when given)."""
    run = latest_published_run(session, year=year)
    if run is None:
        return None
    model_row = session.get(ModelVersion, run.model_version_id)
    model = get_model(session, run.model_version_id)  # the stages and lists the run was computed with
    rows = session.exec(
        select(Score.stage, Score.tier, Score.veto, Score.rank, Score.total, Score.subsidy).where(
            Score.run_id == run.id
        )
    ).all()
    scores = pd.DataFrame(rows, columns=["stage", "tier", "veto", "rank", "total", "subsidy"])
    by_stage = stage_table(model, scores)
    return PublicOverview(
        run_id=run.id,
        year=run.year,
        state=run.state,
        notice_start=run.notice_start,
        notice_end=run.notice_end,
        model_version=model_row.version if model_row else "",
        evaluated=len(scores),
        ranked=int(scores["rank"].notna().sum()),
        on_lists=int((scores["tier"].fillna("") != "").sum()),
        subsidy_total=float(scores["subsidy"].fillna(0).sum()),
        subsidy_count=int((scores["subsidy"].fillna(0) > 0).sum()),
        by_stage=by_stage,
    )


def stage_table(model: ScoringModel, scores: pd.DataFrame) -> pd.DataFrame:
    """Per-stage aggregates (every stage of the model, in model order, zeros where empty)."""
    ranked = scores[scores["rank"].notna()]
    table = pd.DataFrame({"stage": model.stage_codes, "阶段": [s.name for s in model.stages]})
    table["参评企业"] = table["stage"].map(scores.groupby("stage").size()).fillna(0).astype(int)
    table["参与排名"] = table["stage"].map(ranked.groupby("stage").size()).fillna(0).astype(int)
    table["平均积分"] = stage_average(model, scores).to_numpy()
    table["最高积分"] = table["stage"].map(ranked.groupby("stage")["total"].max()).round(2)
    for tier in model.tiers:
        counts = ranked[ranked["tier"] == tier.code].groupby("stage").size()
        table[tier.name] = table["stage"].map(counts).fillna(0).astype(int)
    table["扶持金额（万元）"] = table["stage"].map(scores.groupby("stage")["subsidy"].sum()).fillna(0.0)
    return table


def public_lists(session: Session, *, run_id: int) -> pd.DataFrame:
    """The published lists of a run: enterprises on a list, by stage then rank."""
    run = session.get(ScoreRun, run_id)
    if run is None or run.state not in PUBLISHED_STATES:
        return pd.DataFrame(columns=["stage", "rank", "tier", "total", "name", "credit_code", "mujun"])
    rows = session.exec(
        select(
            Score.stage,
            Score.rank,
            Score.tier,
            Score.total,
            Enterprise.name,
            Enterprise.credit_code,
            Score.mujun,
        )
        .join(Enterprise, Enterprise.id == Score.enterprise_id)
        .where(Score.run_id == run_id, Score.tier.is_not(None), Score.tier != "", Score.veto.is_(False))
        .order_by(Score.stage, Score.rank)
    ).all()
    return pd.DataFrame(rows, columns=["stage", "rank", "tier", "total", "name", "credit_code", "mujun"])
