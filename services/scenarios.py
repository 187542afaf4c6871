"""Application scenarios over a published run (officers only): 榜单与扶持, 培育库, 载体评价.

Every number comes from the run's own Score rows and the model version it was computed with; lists,
subsidies and exports only ever come from published runs (公示 or final). The pure computations live
in core/ (core.lists, core.pools, core.carriers); this module loads a run once into a frame and checks
the actor.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core import breakdown, carriers, lists, pools
from core.lru import LRU
from core.reports import notice_list_frame, stage_label
from core.scoring_model import ScoringModel
from core.spreadsheet import write_csv, write_xlsx
from core.workflows import SCORE_RUN
from db.models import AuditEvent, Carrier, Enterprise, ScoreRun
from db.queries import PUBLISHED_STATES, breakdown_parts, latest_run, scores_frame
from db.run_inputs import current_values
from db.values import newest_value_id
from services.actor import Actor, require_staff
from services.errors import NotFound, ValidationFailed
from services.memo import join_warm_ups, warm_up
from services.model_versions import get_model


@dataclass
class RunFrame:
    """One published run, loaded once: the run, its model, and one row per scored enterprise.

    ``frame``: scores_frame columns plus ``carrier_id, carrier, kind, industry, street, registered_on,
    bank_consent, bank_consent_at``; ``values``/``points``: the stored input value and the points of
    every breakdown column / indicator, row-aligned with ``frame`` (loaded on demand).
    """

    run: ScoreRun
    model: ScoringModel
    frame: pd.DataFrame
    values: pd.DataFrame | None = None
    points: pd.DataFrame | None = None

    @property
    def label(self) -> str:
        return run_label(self.run)


def run_label(run: ScoreRun) -> str:
    return f"{run.year} 年度 · 批次 #{run.id}（{SCORE_RUN.labels.get(run.state, run.state)}）"


def published_runs(session: Session, *, actor: Actor) -> list[ScoreRun]:
    """Runs in 公示 or final, newest year first (the runs scenarios may use)."""
    require_staff(actor)
    return list(
        session.execute(
            select(ScoreRun)
            .where(ScoreRun.state.in_(PUBLISHED_STATES))  # type: ignore[attr-defined]
            .order_by(ScoreRun.year.desc(), ScoreRun.id.desc())  # type: ignore[attr-defined]
        ).scalars()
    )


def default_run_id(session: Session, *, actor: Actor) -> int | None:
    """The latest 公示 or final run."""
    require_staff(actor)
    run = latest_run(session, states=PUBLISHED_STATES)
    return run.id if run else None


def run_model(session: Session, *, actor: Actor, run_id: int) -> ScoringModel:
    """The model a run was computed with (its stages, lists, subsidy rules)."""
    require_staff(actor)
    run = session.get(ScoreRun, run_id)
    if run is None:
        raise NotFound(f"积分批次 #{run_id} 不存在。")
    return get_model(session, run.model_version_id)


def load_run(session: Session, *, actor: Actor, run_id: int, with_breakdown: bool = False) -> RunFrame:
    """A published run with its enterprises' attributes; NotFound / ValidationFailed otherwise."""
    require_staff(actor)
    run = session.get(ScoreRun, run_id)
    if run is None:
        raise NotFound(f"积分批次 #{run_id} 不存在。")
    if run.state not in PUBLISHED_STATES:
        raise ValidationFailed(
            f"积分批次 #{run_id} 尚未公示（状态：{run.state}）：榜单、扶持和推荐只来自公示中或已定稿的批次。"
        )
    key = (*_parts_key(session, run), _data_signature(session))
    cached = _FRAMES.get(key)
    if cached is None:
        cached = _FRAMES.put(key, _run_frame(session, run))
    model, shared = cached
    frame = shared.copy(deep=False)  # copy-on-write: a caller adding a column leaves the cached one alone
    result = RunFrame(run=run, model=model, frame=frame)
    if with_breakdown:
        parts = _cached_parts(session, run)
        if parts is None:
            ids, rows = breakdown_parts(session, run_id=run.id, model=model, parts=("v", "p"))
            values = pd.DataFrame(
                dict(
                    zip(
                        breakdown.breakdown_columns(model),
                        map(list, zip(*rows["v"], strict=True)),
                        strict=True,
                    )
                )
                if len(ids)
                else {c: [] for c in breakdown.breakdown_columns(model)}
            )
            points = pd.DataFrame(rows["p"], columns=model.codes, dtype=float)
            parts = _remember_parts(session, run, ids, values, points)
        ids, values, points = parts
        at = pd.Index(ids).get_indexer(frame["enterprise_id"].to_numpy(dtype=np.int64))
        result.values = values.iloc[at].set_axis(frame.index)
        result.points = points.iloc[at].set_axis(frame.index)
    return result


def _run_frame(session: Session, run: ScoreRun) -> tuple[ScoringModel, pd.DataFrame]:
    """The run's model and its Score rows with the enterprises' attributes (one read of each table)."""
    model = get_model(session, run.model_version_id)
    frame = scores_frame(session, run_id=run.id)
    rows = session.execute(
        select(
            Enterprise.id,
            Enterprise.carrier_id,
            Carrier.name,
            Carrier.kind,
            Enterprise.industry,
            Enterprise.street,
            Enterprise.registered_on,
            Enterprise.bank_consent,
            Enterprise.bank_consent_at,
        ).outerjoin(Carrier, Carrier.id == Enterprise.carrier_id)
    ).all()
    attrs = pd.DataFrame(
        rows,
        columns=[
            "enterprise_id",
            "carrier_id",
            "carrier",
            "kind",
            "industry",
            "street",
            "registered_on",
            "bank_consent",
            "bank_consent_at",
        ],
    )
    frame = frame.merge(attrs, on="enterprise_id", how="left")
    frame["bank_consent"] = frame["bank_consent"].fillna(False).astype(bool)
    return model, frame


# A published run's stored inputs and points never change: decoded once per run (at 100k enterprises
# the breakdown JSON is ~10 s to read and decode), keyed so a refilled database at the same URL misses.
PARTS_CACHED_RUNS = 2
_PARTS: LRU[tuple[np.ndarray, pd.DataFrame, pd.DataFrame]] = LRU(PARTS_CACHED_RUNS)
# A published run's frame (its Score rows and the enterprises' attributes: seconds to read at 100k
# enterprises) and the 榜单与扶持 view of it are kept while no data changed: 榜单与扶持, 培育库, 载体评价 and
# 金融推荐 ask for them on every page run. The key carries the data signature, so any audited change (a
# rename, a consent, a payment, a run's state) or new value, made through any server, misses.
_FRAMES: LRU[tuple[ScoringModel, pd.DataFrame]] = LRU(PARTS_CACHED_RUNS)
_BUILDING = threading.RLock()  # one view built at a time: a second reader waits and reuses it


def _parts_key(session: Session, run: ScoreRun) -> tuple:
    return (str(session.get_bind().url), run.id, run.input_fingerprint, str(run.created_at))


def _cached_parts(session: Session, run: ScoreRun) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame] | None:
    return _PARTS.get(_parts_key(session, run))


def _remember_parts(
    session: Session, run: ScoreRun, ids: np.ndarray, values: pd.DataFrame, points: pd.DataFrame
) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    return _PARTS.put(_parts_key(session, run), (ids, values, points))


def resolve_run_id(session: Session, actor: Actor, run_id: int | None) -> int:
    if run_id is not None:
        return run_id
    found = default_run_id(session, actor=actor)
    if found is None:
        raise NotFound("暂无公示中或已定稿的积分批次。")
    return found


# ------------------------------------------------------------------------------------ 榜单与扶持
@dataclass
class ListsView:
    run_label: str
    model: ScoringModel
    sizes: pd.DataFrame  # core.lists.list_sizes
    plan: pd.DataFrame  # core.lists.subsidy_plan
    subsidies: pd.DataFrame  # core.lists.subsidy_table
    mujun: pd.DataFrame  # core.lists.mujun_table
    members: pd.DataFrame  # core.lists.list_members
    notice: pd.DataFrame  # core.reports.notice_list_frame (public-notice format)


_LISTS: LRU[ListsView] = LRU(PARTS_CACHED_RUNS)


def lists_view(session: Session, *, actor: Actor, run_id: int | None = None) -> ListsView:
    """The run's lists, subsidies and 亩均 flags. Cached per run while no data changed (as its frame,
    :func:`load_run`); the view is shared: treat it as read-only."""
    require_staff(actor)
    return _cached_view(session, actor=actor, run_id=run_id, cache=_LISTS, build=_lists_view)


def _cached_view(session: Session, *, actor: Actor, run_id: int | None, cache: LRU, build: Callable) -> Any:
    """``build(session, actor=, run_id=)`` of the run, cached in ``cache`` per run while no data changed.
    One view is built at a time: a page arriving while the warm-up (or another page) builds it waits,
    then reuses it."""
    resolved = resolve_run_id(session, actor, run_id)
    run = session.get(ScoreRun, resolved)
    key = (*_parts_key(session, run), _data_signature(session)) if run is not None else None
    cached = cache.get(key) if key else None
    if cached is not None:
        return cached
    with _BUILDING:
        cached = cache.get(key) if key else None
        if cached is not None:
            return cached
        view = build(session, actor=actor, run_id=resolved)
        return cache.put(key, view) if key else view


def _lists_view(session: Session, *, actor: Actor, run_id: int) -> ListsView:
    data = load_run(session, actor=actor, run_id=run_id)
    model, frame = data.model, data.frame
    return ListsView(
        run_label=data.label,
        model=model,
        sizes=lists.list_sizes(model, frame),
        plan=lists.subsidy_plan(model, frame),
        subsidies=lists.subsidy_table(model, frame),
        mujun=lists.mujun_table(model, frame),
        members=lists.list_members(model, frame),
        notice=notice_list_frame(model, frame),
    )


def export_lists(
    session: Session, *, actor: Actor, run_id: int | None = None, fmt: str = "xlsx", part: str = "all"
) -> bytes:
    """Public-notice exports of a run. ``part``: ``all`` (xlsx: 公示名单, 扶持名单, 名额与预算, and 亩均论英雄
    when the model has 亩均 flags), ``subsidies`` (扶持名单; xlsx adds 名额与预算), ``lists`` (公示名单).
    csv holds the first table only.
    The xlsx of a final run's subsidies (``all`` or ``subsidies``) adds 扶持资金拨付: each line's state."""
    run_id = resolve_run_id(session, actor, run_id)
    view = lists_view(session, actor=actor, run_id=run_id)
    plan = view.plan.drop(columns=["stage"])
    every = {"公示名单": view.notice, "扶持名单": view.subsidies, "名额与预算": plan}
    if view.model.mujun:  # a model without 亩均 flags gets no empty 亩均论英雄 sheet
        every["亩均论英雄"] = view.mujun
    sheets = {
        "all": every,
        "subsidies": {"扶持名单": view.subsidies, "名额与预算": plan},
        "lists": {"公示名单": view.notice},
    }
    if part not in sheets or fmt not in ("xlsx", "csv"):
        raise ValidationFailed("导出内容或格式无效。")
    chosen = sheets[part]
    if fmt == "csv":
        return write_csv(next(iter(chosen.values())))
    run = session.get(ScoreRun, run_id)
    if part in ("all", "subsidies") and run is not None and run.state == "final":
        from services.subsidies import subsidy_lines

        chosen = {**chosen, "扶持资金拨付": subsidy_lines(session, actor=actor, run_id=run_id).table}
    return write_xlsx(chosen)


# ------------------------------------------------------------------------------------ 培育库
def _registered_years(registered_on: pd.Series, year: int) -> np.ndarray:
    """Years from registration to the end of the evaluation year (NaN when unknown)."""
    end = pd.Timestamp(date(year, 12, 31))
    days = (end - pd.to_datetime(registered_on, errors="coerce")).dt.days
    return (days / 365.25).to_numpy(dtype=float)


def pool_facts(session: Session, data: RunFrame) -> pd.DataFrame:
    """The facts every pool reads, one row per enterprise of the run (row-aligned with ``data.frame``):
    the run's stored inputs, the year's base fields (职工总数 …), registration age, veto, percentile."""
    assert data.values is not None, "load_run(with_breakdown=True)"
    model, frame = data.model, data.frame
    facts = data.values.copy()
    base = [b.code for b in model.base_fields if b.code not in facts.columns]
    if base:
        current = current_values(session, year=data.run.year, codes=base).values
        current = current.set_index("enterprise_id").reindex(frame["enterprise_id"].to_numpy())
        for code in base:
            facts[code] = current[code].to_numpy()
    facts["registered_years"] = _registered_years(frame["registered_on"], data.run.year)
    facts["veto"] = frame["veto"].to_numpy(dtype=bool)
    facts["percentile"] = pd.to_numeric(frame["percentile"]).to_numpy(dtype=float)
    return pools.facts_frame(model, facts, pools.config_for(model))


POOL_COLUMNS = [
    "序号",
    "企业名称",
    "统一社会信用代码",
    "所属阶段",
    "积分",
    "状态",
    "接近程度（%）",
    "未满足条件数",
    "未满足条件",
]


@dataclass
class PoolsView:
    """Every pool of a run. ``candidates`` hold every number (closeness, unmet count …) for every
    candidate; the 未满足条件 sentences are written by :meth:`with_gaps` for the rows asked for — the
    page asks for the rows it shows, an export for all of them."""

    run_label: str
    counts: pd.DataFrame  # 培育库, 候选企业, 条件已满足, 差 1 项, 差 2 项, 差 3 项及以上, 已具备资格
    candidates: dict[
        str, pd.DataFrame
    ]  # pool name → POOL_COLUMNS but 未满足条件 (+ enterprise_id), nearest first
    model: ScoringModel | None = None
    config: dict = field(default_factory=dict)
    facts: pd.DataFrame | None = None  # the facts of the enterprises that are never vetoed
    fact_ids: pd.Index | None = None  # their enterprise ids, row-aligned with ``facts``
    codes: dict[str, str] = field(default_factory=dict)  # pool name → code

    def with_gaps(self, pool: str, table: pd.DataFrame) -> pd.DataFrame:
        """``table`` (any rows of ``candidates[pool]``) with 未满足条件: every unmet condition with its
        numeric gap ("研发人员占比 8.2%，需 ≥10%"), "—" when none — the same evaluation that ranked them."""
        out = table.copy()
        if self.facts is None or self.fact_ids is None or out.empty:
            out["未满足条件"] = pd.Series("—", index=out.index, dtype=object)
            return out
        rows = self.fact_ids.get_indexer(out["enterprise_id"].to_numpy(dtype=np.int64))
        evaluated = pools.evaluate_pools_frame(
            self.model, self.facts.iloc[rows], self.config, only=self.codes[pool]
        )
        out["未满足条件"] = pd.Series(
            ["；".join(g) or "—" for g in evaluated["gaps"].tolist()], index=out.index, dtype=object
        )
        return out


_POOLS: LRU[PoolsView] = LRU(PARTS_CACHED_RUNS)
ACCOUNT_ENTITY = "user"  # the audit entity of services.auth and services.accounts


def _data_signature(session: Session) -> tuple:
    """Changes whenever data a pool reads may have changed: every value written moves the newest value
    id, and every change to an enterprise is audited (the primary key read backwards: no table scan).
    Account events (logins, passwords, roles: entity ``user``) change nothing a view shows: were they
    counted, every officer's login would make every server rebuild every view."""
    return (
        newest_value_id(session),
        session.execute(
            select(AuditEvent.id)
            .where(AuditEvent.entity != ACCOUNT_ENTITY)
            .order_by(AuditEvent.id.desc())  # type: ignore[union-attr]
            .limit(1)
        ).scalar(),
    )


def pools_view(session: Session, *, actor: Actor, run_id: int | None = None) -> PoolsView:
    """Every pool of the run's model: candidates (not holding it, never vetoed), nearest first; the gap
    sentences on demand (:meth:`PoolsView.with_gaps`). Cached per run while no data changed (a page
    rerun for another pool or filter is then immediate); the view is shared: treat it as read-only."""
    require_staff(actor)
    return _cached_view(session, actor=actor, run_id=run_id, cache=_POOLS, build=_pools_view)


WARM_DELAY = 3.0  # seconds: let the page that asked (and 企业检索's warm-up) go first


def warm_published(session: Session, *, actor: Actor, delay: float = WARM_DELAY) -> bool:
    """Build what 榜单与扶持, 培育库 and 展示大屏 show of the latest published run in a background thread
    ``delay`` seconds from now (``services.memo.warm_up``), so the first officer opening them after a
    server start (or after a change of data) does not wait for the reads (~5, ~10 and ~5 s CPU at 100k
    enterprises); a page arriving during a build waits for it. True when a warm-up was started."""
    require_staff(actor)

    def work(own: Session) -> None:
        from services.dashboard import dashboard_data, outcome_figures

        run_id = default_run_id(own, actor=actor)
        if run_id is not None:
            lists_view(own, actor=actor, run_id=run_id)
            dashboard_data(own)
            outcome_figures(own)  # the big screen's money side: the final run's scores read once
            pools_view(own, actor=actor, run_id=run_id)

    return warm_up(session, name="scenarios", work=work, delay=delay)


def warm_after_start(session: Session) -> None:
    """What the officer pages share, read now and waited for: 企业检索's data (services.search_data.
    warm_search) and 榜单与扶持, 培育库 and 展示大屏's (:func:`warm_published`), for the cluster
    supervisor's own run after a server start (deploy.cluster.warm_up): the first officer then finds them
    read (and each stage's figures of 企业画像, and 积分榜单's lists of the newest year). Warmed only on an officer's login, the reads (~12 s CPU at 100,000 enterprises) ran while that
    officer opened the first pages, which waited for the CPU (展示大屏 ~25 s instead of ~1 s right after a
    start). The login still asks for them: after a change of data they are read again there."""
    from services import public, search_data
    from services.portrait import stage_stats

    system = Actor.system()
    search_data.warm_search(session, actor=system, delay=0)
    warm_published(session, actor=system, delay=0)
    with contextlib.suppress(Exception):  # 积分榜单's newest year (~2 s at 520,000 enterprises)
        years = public.published_years(session)
        if years:
            public.published_board(session, year=years[0])
    with contextlib.suppress(Exception):  # 企业画像's stage figures, each stage's (~0.4 s CPU each at 100k)
        run = search_data.default_run(session)
        if run is not None:
            model = get_model(session, run.model_version_id)
            for stage in model.stage_codes:
                stage_stats(session, run=run, stage=stage, model=model)
    join_warm_ups()


def _pools_view(session: Session, *, actor: Actor, run_id: int | None = None) -> PoolsView:
    data = load_run(session, actor=actor, run_id=resolve_run_id(session, actor, run_id), with_breakdown=True)
    model, frame = data.model, data.frame
    config = pools.config_for(model)
    facts = pool_facts(session, data)
    veto = frame["veto"].to_numpy(dtype=bool)
    keep = np.flatnonzero(~veto)  # vetoed enterprises are never in a pool
    kept = facts.iloc[keep].reset_index(drop=True)
    table = pools.evaluate_pools_frame(model, kept, config, gaps_for=np.zeros(0, dtype=np.int64))
    counts, candidates = [], {}
    for pool in pools.pools_of(config):
        part = table[table["pool"] == pool["code"]]
        cand = part[~part["holds"]]
        counts.append(
            {
                "培育库": pool["name"],
                "候选企业": len(cand),
                "条件已满足": int(cand["met"].sum()),
                "差 1 项": int((cand["gap_count"] == 1).sum()),
                "差 2 项": int((cand["gap_count"] == 2).sum()),
                "差 3 项及以上": int((cand["gap_count"] >= 3).sum()),
                "已具备资格": int(part["holds"].sum()),
            }
        )
        # order first (four key columns), then build the shown columns once, in that order
        at = keep[cand["row"].to_numpy()]
        closeness = (cand["closeness"].to_numpy() * 100).round(1)
        totals = pd.to_numeric(frame["total"]).to_numpy(dtype=float)[at].round(2)
        keys = pd.DataFrame(
            {
                "c": closeness,
                "g": cand["gap_count"].to_numpy(),
                "t": totals,
                "k": frame["credit_code"].to_numpy(dtype=object)[at],
            }
        )
        order = keys.sort_values(
            ["c", "g", "t", "k"], ascending=[False, True, False, True], kind="stable"
        ).index.to_numpy()
        cand, at = cand.iloc[order], at[order]
        rows = frame[["enterprise_id", "name", "credit_code", "stage"]].iloc[at]
        out = pd.DataFrame(
            {
                "enterprise_id": rows["enterprise_id"].to_numpy(),
                "企业名称": rows["name"].astype(str).to_numpy(),
                "统一社会信用代码": rows["credit_code"].astype(str).to_numpy(),
                "所属阶段": stage_label(model, rows["stage"]).to_numpy(),
                "积分": totals[order],
                "状态": np.where(
                    cand["met"].to_numpy(),
                    "条件已满足，可申报",
                    pd.Series(cand["gap_count"].to_numpy()).map("差 {} 项".format).to_numpy(),
                ),
                "接近程度（%）": closeness[order],
                "未满足条件数": cand["gap_count"].to_numpy(),
            }
        )
        out.insert(0, "序号", np.arange(1, len(out) + 1, dtype=np.int64))
        candidates[pool["name"]] = out
    return PoolsView(
        run_label=data.label,
        counts=pd.DataFrame(counts),
        candidates=candidates,
        model=model,
        config=config,
        facts=kept,
        fact_ids=pd.Index(frame["enterprise_id"].to_numpy(dtype=np.int64)[keep]),
        codes={p["name"]: p["code"] for p in pools.pools_of(config)},
    )


def export_pool(
    session: Session, *, actor: Actor, run_id: int | None = None, pool: str | None = None, fmt: str = "xlsx"
) -> bytes:
    """One pool (by code or name) or every pool (xlsx: 汇总 + one sheet per pool; csv: one pool only),
    every candidate with its gap sentences."""
    run_id = resolve_run_id(session, actor, run_id)
    view = pools_view(session, actor=actor, run_id=run_id)
    names = {code: name for name, code in view.codes.items()}
    if pool is not None:
        name = names.get(pool, pool)
        if name not in view.candidates:
            raise ValidationFailed(
                f"培育库“{pool}”不存在：可选 {'、'.join(f'{c}（{n}）' for c, n in names.items())}"
            )
        chosen = [name]
    else:
        if fmt == "csv":
            raise ValidationFailed("csv 只能导出一个培育库：请指定培育库，或导出 xlsx。")
        chosen = list(view.candidates)
    sheets = {n: view.with_gaps(n, view.candidates[n]).drop(columns=["enterprise_id"]) for n in chosen}
    if fmt == "csv":
        return write_csv(next(iter(sheets.values())))
    return write_xlsx(sheets if pool is not None else {"汇总": view.counts, **sheets})


# ------------------------------------------------------------------------------------ 载体评价
def _metric_frame(data: RunFrame) -> pd.DataFrame:
    """``frame`` plus ``revenue, prev_revenue`` and (when the model's pools name it) ``rd`` read from the
    run's stored inputs (see core.carriers)."""
    assert data.values is not None
    model, values = data.model, data.values
    metrics = pools.config_for(model).get("metrics", {})
    n = len(data.frame)

    def column(code: str | None) -> np.ndarray:
        if code and code in values.columns:
            return pd.to_numeric(values[code], errors="coerce").to_numpy(dtype=float)
        return np.full(n, np.nan)

    revenue = column(model.stage_indicator)
    previous = column(model.previous_prefix + model.stage_indicator)
    if np.isnan(previous).all():
        growth = next(
            (d.target for d in model.derivations if d.kind == "growth" and d.of == model.stage_indicator),
            None,
        )
        g = column(growth)
        with np.errstate(divide="ignore", invalid="ignore"):
            previous = revenue / (1 + g / 100)
    out = data.frame.assign(revenue=revenue, prev_revenue=previous)
    rd_code = metrics.get("rd_expense")
    # a model whose pools name no R&D expense indicator has no R&D column (not one empty for every carrier)
    return out.assign(rd=column(rd_code)) if rd_code and model.field(rd_code) is not None else out


@dataclass
class CarriersView:
    run_label: str
    ranking: pd.DataFrame  # core.carriers.carrier_table


def carriers_view(session: Session, *, actor: Actor, run_id: int | None = None) -> CarriersView:
    data = load_run(session, actor=actor, run_id=resolve_run_id(session, actor, run_id), with_breakdown=True)
    return CarriersView(run_label=data.label, ranking=carriers.carrier_table(data.model, _metric_frame(data)))


def carrier_enterprises(
    session: Session, *, actor: Actor, carrier_id: int, run_id: int | None = None
) -> pd.DataFrame:
    """The drill-down: a carrier's scored enterprises by stage and rank (vetoed ones marked)."""
    data = load_run(session, actor=actor, run_id=resolve_run_id(session, actor, run_id), with_breakdown=True)
    frame = _metric_frame(data)
    mine = frame[frame["carrier_id"] == carrier_id]
    if session.get(Carrier, carrier_id) is None:
        raise NotFound(f"载体 #{carrier_id} 不存在。")
    model = data.model
    position = {s.code: i for i, s in enumerate(model.stages)}
    mine = mine.assign(_s=mine["stage"].map(position), _r=pd.to_numeric(mine["rank"])).sort_values(
        ["_s", "_r", "credit_code"], na_position="last", kind="stable"
    )
    tier_names = {t.code: t.name for t in model.tiers}
    return pd.DataFrame(
        {
            "企业名称": mine["name"].astype(str).to_numpy(),
            "统一社会信用代码": mine["credit_code"].astype(str).to_numpy(),
            "所属阶段": stage_label(model, mine["stage"]).to_numpy(),
            "阶段排名": [
                ("一票否决" if v else "—") if pd.isna(r) else str(int(r))
                for r, v in zip(mine["rank"], mine["veto"], strict=True)
            ],
            "积分": pd.to_numeric(mine["total"]).round(2).to_numpy(),
            "榜单": mine["tier"].fillna("").map(lambda t: tier_names.get(t, "未上榜")).to_numpy(),
            **(
                {"研发费用（万元）": np.round(mine["rd"].to_numpy(dtype=float), 2)}
                if "rd" in mine.columns
                else {}
            ),
            "营业收入（万元）": np.round(mine["revenue"].to_numpy(dtype=float), 2),
            "扶持金额（万元）": pd.to_numeric(mine["subsidy"]).fillna(0.0).to_numpy(dtype=float),
        }
    )
