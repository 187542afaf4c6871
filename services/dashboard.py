"""展示大屏: aggregates of the latest published run, for a public big screen.

Published data only: the run is the newest run in 公示 or final (services.public), and every figure is
an aggregate of that run's ``Score`` rows, or of other years' published runs for the trend. What leaves
this module about a named enterprise is what the public lists already show (name, stage, list, total):
the movers are enterprises on this year's lists. No input value (revenue, R&D …) of any enterprise is
returned; carrier and street groups smaller than :data:`MIN_GROUP` are left out so that an average never
stands for one enterprise's score.

A run's scores never change once written, so the aggregates are cached per published run (database,
run id, state, fingerprint, creation time, plus the published runs the trend reads, and the count of
renames: the movers are named). One build at a time; the cache holds a few entries and is replaced,
never grown, so a screen left open for days keeps memory flat.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session

from core.breakdown import decode
from core.lru import LRU
from core.scoring_model import ScoringModel, TierRule
from core.workflows import SCORE_RUN
from db.models import NAMES_TOPIC, Carrier, Enterprise, ModelVersion, Score, ScoreRun, utcnow
from db.queries import PUBLISHED_STATES, run_totals
from services.memo import change_generation
from services.model_versions import get_model
from services.public import RunHeadline, latest_published_run, stage_table

MIN_GROUP = 3  # a carrier or street with fewer scored enterprises is not shown on its own
TOP_MOVERS = 10
BANDS = 15  # about this many score bands on the big screen: 10-point bands over the default's 0–150
CACHE_SIZE = 4


@dataclass(frozen=True)
class DashboardData(RunHeadline):
    state_label: str
    model_name: str
    stages: pd.DataFrame  # services.public.stage_table: 阶段, 参评企业, 参与排名, 平均积分, tier names …
    tier_names: list[str]
    distribution: pd.DataFrame  # 分数段, 阶段, 企业数 (bin_start for ordering)
    movers: pd.DataFrame  # 企业名称, 阶段, 榜单, 积分, 上年积分, 变化
    carriers: pd.DataFrame  # 载体, 类型, 企业数, 平均积分, 上榜企业
    trend: pd.DataFrame  # 年度, 参评企业, 平均积分, 上榜企业
    qualifications: pd.DataFrame  # 资质, 年度, 企业数: every published year, each read with its own model
    streets: pd.DataFrame  # 街道, 企业数, 平均积分, 上榜企业
    built_at: datetime = field(default_factory=utcnow)
    build_seconds: float = 0.0


_CACHE: LRU[DashboardData] = LRU(CACHE_SIZE)
_BUILDING = threading.Lock()
_OUTCOME_SCORES: LRU[pd.DataFrame] = LRU(2)


def _published_runs(session: Session) -> list[tuple[int, int, str, str, datetime]]:
    """(id, year, state, fingerprint, created_at) of every published run, newest first."""
    rows = session.execute(
        select(ScoreRun.id, ScoreRun.year, ScoreRun.state, ScoreRun.input_fingerprint, ScoreRun.created_at)
        .where(ScoreRun.state.in_(PUBLISHED_STATES))  # type: ignore[attr-defined]
        .order_by(ScoreRun.year.desc(), ScoreRun.id.desc())  # type: ignore[attr-defined]
    ).all()
    return [tuple(r) for r in rows]


def _latest_per_year(runs: list[tuple]) -> dict[int, int]:
    """year → id of that year's newest published run (``runs`` is newest first)."""
    latest: dict[int, int] = {}
    for run_id, year, *_ in runs:
        latest.setdefault(int(year), int(run_id))
    return latest


def dashboard_data(session: Session) -> DashboardData | None:
    """The big screen's figures for the latest published run (cached per run); None when none is published."""
    runs = _published_runs(session)
    if not runs:
        return None
    # The movers table names enterprises: a rename on any server makes the figures stale (NAMES_TOPIC).
    key = (str(session.get_bind().url), tuple(runs), change_generation(session, NAMES_TOPIC))
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    with _BUILDING:  # one build at a time: screens opened together after a start wait and share it
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        return _CACHE.put(key, _build(session, runs))


@dataclass(frozen=True)
class OutcomeFigures:
    """The money side of the latest final run, for the big screen: aggregates only (no enterprise named)."""

    run_id: int
    year: int
    credit_count: int  # enterprises granted credit (授信)
    credit_total: float  # 万元
    loan_count: int  # enterprises with a loan made (放款)
    loan_total: float
    paid_count: int  # subsidy lines paid (已拨付)
    paid_total: float
    by_stage: pd.DataFrame  # core.monitoring.outcome_table by stage


def outcome_figures(session: Session) -> OutcomeFigures | None:
    """Credit granted, loans made and subsidies paid for the latest final run (published data only; bank
    outcomes and payments change daily, so this is read on each refresh: a few aggregate rows)."""
    from core.monitoring import outcome_table
    from services.monitoring import run_outcomes
    from services.subsidies import latest_final_run

    run = latest_final_run(session)
    if run is None:
        return None
    outcomes = run_outcomes(session, run=run, previous=None)
    assert outcomes is not None
    model = get_model(session, run.model_version_id)
    key = ("outcome_scores", str(session.get_bind().url), run.id, str(run.created_at))
    scores = _OUTCOME_SCORES.get(key)
    if scores is None:  # a final run's scores never change: read once per run, not on every refresh
        scores = pd.DataFrame(
            session.execute(
                select(Score.enterprise_id, Score.stage, Score.total, Score.veto, Score.tier).where(
                    Score.run_id == run.id
                )
            ).all(),
            columns=["enterprise_id", "stage", "total", "veto", "tier"],
        )
        _OUTCOME_SCORES.put(key, scores)
    table = outcome_table(model, scores, outcomes, by="stage")
    total = table.iloc[-1]
    return OutcomeFigures(
        run_id=run.id,
        year=run.year,
        credit_count=int(total["授信企业"]),
        credit_total=float(total["授信金额（万元）"]),
        loan_count=int(total["放款企业"]),
        loan_total=float(total["放款金额（万元）"]),
        paid_count=int(total["已拨付扶持企业"]),
        paid_total=float(total["已拨付扶持金额（万元）"]),
        by_stage=table.iloc[:-1],
    )


def clear_cache() -> None:
    _CACHE.clear()
    _OUTCOME_SCORES.clear()


# ------------------------------------------------------------------------------------------ building
def _scores(session: Session, run_id: int, model: ScoringModel) -> tuple[pd.DataFrame, np.ndarray]:
    """The run's totals per enterprise and the points matrix (keyed breakdowns decoded here)."""
    frame, points = run_totals(session, run_id=run_id, width=len(model.codes))
    missing = np.flatnonzero(np.isnan(points).all(axis=1)) if len(model.codes) else np.empty(0, int)
    if len(missing):  # older keyed breakdowns have no ``p`` array
        ids = frame["id"].to_numpy()[missing].tolist()
        raws = dict(session.execute(select(Score.id, Score.breakdown).where(Score.id.in_(ids))).all())
        for row, score_id in zip(missing.tolist(), ids, strict=True):
            entries = decode(model, raws[score_id])
            points[row] = [float((entries.get(c) or {}).get("pts") or 0.0) for c in model.codes]
    return frame, np.nan_to_num(points, nan=0.0)


def _build(session: Session, runs: list[tuple]) -> DashboardData:
    started = time.perf_counter()
    run = latest_published_run(session)
    assert run is not None  # runs is not empty
    model = get_model(session, run.model_version_id)
    version = session.get(ModelVersion, run.model_version_id)
    latest = _latest_per_year(runs)
    previous_id = latest.get(run.year - 1)

    scores, points = _scores(session, run.id, model)
    ranked = scores[~scores["veto"] & scores["rank"].notna()]
    listed = ranked[ranked["tier"] != ""]
    previous_model = (
        get_model(session, session.get(ScoreRun, previous_id).model_version_id) if previous_id else None
    )
    previous, previous_points = _scores(session, previous_id, previous_model) if previous_id else (None, None)
    counts = {run.year: _qualification_counts(model, points)}
    if previous_id:
        counts[run.year - 1] = _qualification_counts(previous_model, previous_points)
    for year, run_id in latest.items():  # the other published years, each with its own run's model
        if year not in counts and year < run.year:
            year_model = get_model(session, session.get(ScoreRun, run_id).model_version_id)
            counts[year] = _qualification_counts(year_model, _scores(session, run_id, year_model)[1])

    enterprises = pd.DataFrame(
        [
            tuple(r)
            for r in session.execute(
                select(Enterprise.id, Enterprise.name, Enterprise.street, Enterprise.carrier_id)
            ).all()
        ],
        columns=["enterprise_id", "name", "street", "carrier_id"],
    )
    carriers = pd.DataFrame(
        [tuple(r) for r in session.execute(select(Carrier.id, Carrier.name, Carrier.kind)).all()],
        columns=["carrier_id", "carrier", "kind"],
    )
    joined = scores.merge(enterprises, on="enterprise_id", how="left")

    return DashboardData(
        run_id=run.id,
        year=run.year,
        state=run.state,
        state_label=SCORE_RUN.labels.get(run.state, run.state),
        notice_start=run.notice_start,
        notice_end=run.notice_end,
        model_name=model.name,
        model_version=version.version if version else model.version,
        evaluated=len(scores),
        ranked=len(ranked),
        on_lists=len(listed),
        subsidy_total=float(scores["subsidy"].sum()),
        subsidy_count=int((scores["subsidy"] > 0).sum()),
        stages=stage_table(model, scores),
        tier_names=[t.name for t in model.tiers],
        distribution=_distribution(model, scores),
        movers=_movers(model, joined, previous),
        carriers=_group_table(joined, carriers, "carrier"),
        trend=_trend(session, latest),
        qualifications=_qualifications(counts),
        streets=_group_table(joined, None, "street"),
        build_seconds=time.perf_counter() - started,
    )


def band_width(model: ScoringModel) -> float:
    """A round band width (1, 2, 2.5 or 5 × 10ⁿ) giving at most about :data:`BANDS` bands over the model's
    0 … core total + bonus cap: 10 for 0–150, 20 for 0–224, 100 for a 1000-point core."""
    step = (model.core_total + model.bonus_cap) / BANDS
    scale = 10.0 ** np.floor(np.log10(step))
    return float(next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= step - 1e-9))


def _distribution(model: ScoringModel, scores: pd.DataFrame) -> pd.DataFrame:
    """Enterprises per score band (:func:`band_width` points) and stage, every band and stage present."""
    top = model.core_total + model.bonus_cap
    width = band_width(model)
    edges = np.arange(0.0, top + width, width)
    starts = edges[:-1]
    index = np.clip(np.floor(scores["total"].to_numpy(dtype=float) / width), 0, len(starts) - 1).astype(int)
    stage_pos = pd.Categorical(scores["stage"], categories=model.stage_codes).codes
    counts = np.zeros((len(model.stages), len(starts)), dtype=np.int64)
    valid = stage_pos >= 0
    np.add.at(counts, (stage_pos[valid], index[valid]), 1)
    labels = [f"{s:g}–{s + width:g}" for s in starts]
    return pd.DataFrame(
        {
            "分数段": np.tile(labels, len(model.stages)),
            "bin_start": np.tile(starts, len(model.stages)),
            "阶段": np.repeat([s.name for s in model.stages], len(starts)),
            "企业数": counts.ravel(),
        }
    )


def _movers(model: ScoringModel, joined: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """The largest gains on last year's published total, among enterprises on this year's lists."""
    columns = ["企业名称", "阶段", "榜单", "积分", "上年积分", "变化"]
    if previous is None or joined.empty:
        return pd.DataFrame(columns=columns)
    listed = joined[~joined["veto"] & (joined["tier"] != "")]
    before = previous.set_index("enterprise_id")["total"]
    both = listed[listed["enterprise_id"].isin(before.index)].copy()
    both["上年积分"] = before.reindex(both["enterprise_id"]).to_numpy()
    both["变化"] = (both["total"] - both["上年积分"]).round(2)
    both = (
        both[both["变化"] > 0].sort_values(["变化", "total"], ascending=False, kind="stable").head(TOP_MOVERS)
    )
    tiers = {t.code: t.name for t in model.tiers}
    stages = dict(zip(model.stage_codes, [s.name for s in model.stages], strict=True))
    return pd.DataFrame(
        {
            "企业名称": both["name"].to_numpy(),
            "阶段": both["stage"].map(stages).to_numpy(),
            "榜单": both["tier"].map(tiers).to_numpy(),
            "积分": both["total"].round(2).to_numpy(),
            "上年积分": both["上年积分"].round(2).to_numpy(),
            "变化": both["变化"].to_numpy(),
        },
        columns=columns,
    )


def _group_table(joined: pd.DataFrame, carriers: pd.DataFrame | None, by: str) -> pd.DataFrame:
    """Per carrier (or street): scored enterprises, mean total of the ranked, listed enterprises.

    Groups under MIN_GROUP enterprises are dropped; ordered by mean total, best first.
    """
    if carriers is not None:
        frame = joined.merge(carriers, on="carrier_id", how="inner")
        keys = ["carrier", "kind"]
        names = {"carrier": "载体", "kind": "类型"}
    else:
        frame = joined[joined["street"].notna() & (joined["street"] != "")]
        keys = ["street"]
        names = {"street": "街道"}
    out_columns = [*names.values(), "企业数", "平均积分", "上榜企业"]
    if frame.empty:
        return pd.DataFrame(columns=out_columns)
    frame = frame.assign(
        ranked_total=frame["total"].where(~frame["veto"]), listed=(~frame["veto"]) & (frame["tier"] != "")
    )
    grouped = (
        frame.groupby(keys, sort=False)
        .agg(企业数=("enterprise_id", "size"), 平均积分=("ranked_total", "mean"), 上榜企业=("listed", "sum"))
        .reset_index()
    )
    grouped = grouped[grouped["企业数"] >= MIN_GROUP]
    grouped["平均积分"] = grouped["平均积分"].round(2)
    grouped["上榜企业"] = grouped["上榜企业"].astype(int)
    grouped = grouped.sort_values(["平均积分", "企业数"], ascending=False, kind="stable")
    return grouped.rename(columns=names)[out_columns].reset_index(drop=True)


def _trend(session: Session, latest: dict[int, int]) -> pd.DataFrame:
    """Per published year (its newest published run): enterprises, mean total of the ranked, listed."""
    if not latest:
        return pd.DataFrame(columns=["年度", "参评企业", "平均积分", "上榜企业"])
    ids = list(latest.values())
    ranked = Score.veto.is_(False) & Score.rank.is_not(None)  # type: ignore[attr-defined]
    listed = ranked & Score.tier.is_not(None) & (Score.tier != "")  # type: ignore[attr-defined]
    from sqlalchemy import case

    rows = session.execute(
        select(
            Score.run_id,
            func.count(),
            func.avg(case((ranked, Score.total))),
            func.sum(case((listed, 1), else_=0)),
        )
        .where(Score.run_id.in_(ids))  # type: ignore[attr-defined]
        .group_by(Score.run_id)
    ).all()
    by_run = {int(r[0]): r for r in rows}
    years = sorted(latest)
    return pd.DataFrame(
        {
            "年度": years,
            "参评企业": [int(by_run[latest[y]][1]) if latest[y] in by_run else 0 for y in years],
            "平均积分": [
                round(float(by_run[latest[y]][2] or 0.0), 2) if latest[y] in by_run else 0.0 for y in years
            ],
            "上榜企业": [int(by_run[latest[y]][3] or 0) if latest[y] in by_run else 0 for y in years],
        }
    )


def _qualification_counts(model: ScoringModel, points: np.ndarray) -> dict[str, int]:
    """Enterprises holding each qualification: a flag earns points; a tier counts by its category's
    fraction (the points it earned ÷ its maximum)."""
    indicators = model.qualification_indicators
    if not indicators:
        return {}
    matrix = points[:, [model.codes.index(i.code) for i in indicators]]
    counts: dict[str, int] = {}
    for j, ind in enumerate(indicators):
        points = matrix[:, j]
        if isinstance(ind.rule, TierRule):
            top = ind.max_points or 0.0
            fractions = np.round(points / top, 6) if top else np.zeros_like(points)
            for category in ind.rule.categories:
                counts[category.label] = int(np.isclose(fractions, category.f).sum()) if category.f > 0 else 0
        else:
            counts[ind.name] = int((points > 0).sum())
    return counts


def _qualifications(counts: dict[int, dict[str, int]]) -> pd.DataFrame:
    """Long table 资质 · 年度 · 企业数 over every published year up to the shown one, in the shown
    year's order of qualifications (a qualification a year's model lacks is left out of that year)."""
    if not counts:
        return pd.DataFrame(columns=["资质", "年度", "企业数"])
    latest = max(counts)
    rows = [
        (name, year, counts[year][name])
        for name in counts[latest]
        for year in sorted(counts)
        if name in counts[year]
    ]
    return pd.DataFrame(rows, columns=["资质", "年度", "企业数"])
