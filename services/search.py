"""企业检索: every enterprise of a run, filtered over any combination of dimensions, plus the search box.

Officers (and admins) only. The run's scores, indicator columns and the name index are read through
services.search_data (cached per process); enterprise attributes (industry, street, carrier, bank
consent) and pending self-reports change any time, so they are read on every search (two narrow
queries). Filters, result columns and exports live here.

Every number shown comes from the run: the model it was computed with names stages, lists, classes and
indicators.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core.scoring_model import ScoringModel
from core.search import MATCH_LABELS
from db.models import Enterprise, Score, ScoreRun, Submission
from services import audit
from services.actor import Actor, require_staff
from services.errors import NotFound, ValidationFailed
from services.model_versions import RunView, get_model
from services.search_data import (
    SUBTOTAL_PREFIX,
    breakdown_column,
    class_subtotals,
    default_run,
    enterprise_attributes,
    filter_choices,
    run_indicator_column,
    run_indicator_columns,
    run_scores,
    search_index,
)

_record_run = audit.Recorder("ScoreRun")

NUMERIC_RULES = ("bands", "linear_cap", "percentile")
DISPLAY_LIMIT = 1000  # rows a page shows; exports carry every row
EXPORT_FORMATS = ("xlsx", "csv")

# Result columns (internal key → Chinese header). Class subtotals and indicators are added per model.
BASE_COLUMNS: dict[str, str] = {
    "name": "企业名称",
    "credit_code": "统一社会信用代码",
    "stage_name": "发展阶段",
    "total": "总积分",
    "rank": "阶段排名",
    "percentile": "阶段百分位",
    "tier_name": "榜单",
    "veto_text": "一票否决",
    "missing_count": "缺失项数",
    "industry": "行业",
    "street": "街道",
    "carrier": "载体",
    "consent_text": "银行推荐授权",
    "pending_text": "自报待审",
    "match": "匹配方式",
}
DEFAULT_COLUMNS = ["name", "credit_code", "stage_name", "total", "rank", "tier_name", "industry", "street"]
VALUE_PREFIX = "v_"
POINTS_PREFIX = "p_"


# ------------------------------------------------------------------ filters and results
Range = tuple[float | None, float | None]


@dataclass
class IndicatorCondition:
    code: str
    low: float | None = None
    high: float | None = None
    basis: str = "value"  # "value" (the input, numeric indicators) or "points"


@dataclass
class SearchFilters:
    """Every condition is optional; given ones are combined with AND. Lists mean "any of"."""

    query: str = ""
    stages: list[str] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)  # list codes; "" = not on a list
    total: Range = (None, None)
    subtotals: dict[str, Range] = field(default_factory=dict)  # class code → range
    indicators: list[IndicatorCondition] = field(default_factory=list)
    industries: list[str] = field(default_factory=list)
    streets: list[str] = field(default_factory=list)
    carriers: list[int] = field(default_factory=list)  # carrier ids; 0 = in no carrier
    qualifications: dict[str, bool] = field(default_factory=dict)  # indicator code → held (True) / not held
    veto: bool | None = None
    missing: bool | None = None  # True: some data missing
    pending_self_report: bool | None = None
    bank_consent: bool | None = None


@dataclass
class SearchOptions:
    """What the filters can choose from, in the run's own terms."""

    run_id: int
    stages: dict[str, str]  # code → name
    tiers: dict[str, str]  # code → name ("" → 未上榜)
    classes: dict[str, str]  # class code → name
    indicators: dict[str, str]  # code → "name（unit）"
    numeric_indicators: list[str]
    qualifications: dict[str, str]  # code → name
    industries: list[str]
    streets: list[str]
    carriers: dict[int, str]  # id → name (0 → 不在载体)


Values = Callable[[np.ndarray], np.ndarray]  # rows of the run's scores frame → one column's values


@dataclass
class SearchResult(RunView):
    """The matching rows of a search, built only for the rows asked for.

    The rows are positions in the run's cached scores frame (shared, never written) in result order;
    columns the frame lacks (attributes, pending self-reports, indicators) are read per asked row. Opened
    with no filter, 企业检索 lists every enterprise of the run: building all 520,000 rows to show the
    first 1,000 took ~2 s. :attr:`frame` builds every row (exports and tests); the page shows :meth:`head`.
    """

    run_size: int  # enterprises in the run
    labels: dict[str, str]  # every available column key → Chinese header
    scores: pd.DataFrame = field(repr=False)  # the run's scores (services.search_data.run_scores)
    positions: np.ndarray = field(repr=False)  # rows of ``scores`` that match, best first
    values: dict[str, Values] = field(repr=False)  # columns beyond ``scores``, in column order
    match: np.ndarray = field(repr=False)  # how each matching row was found ("" without a query)

    @property
    def count(self) -> int:
        return len(self.positions)

    @property
    def keys(self) -> list[str]:
        """Every column key of the rows, in column order."""
        return [*self.scores.columns, *self.values, "consent_text", "pending_text", "match"]

    def rows(self, limit: int | None = None, *, keys: list[str] | None = None) -> pd.DataFrame:
        """The first ``limit`` matching rows (every one by default), columns ``keys`` (every one by
        default; unknown ones are skipped) under their internal keys."""
        at = self.positions if limit is None else self.positions[:limit]
        wanted = self.keys if keys is None else [k for k in keys if k in self.keys]
        own = [k for k in wanted if k in self.scores.columns]
        out = self.scores.iloc[at, [self.scores.columns.get_loc(k) for k in own]].reset_index(drop=True)
        for key in wanted:
            if key in self.values:
                out[key] = self.values[key](at)
            elif key == "consent_text":
                out[key] = np.where(self.values["bank_consent"](at).astype(bool), "已授权", "未授权")
            elif key == "pending_text":
                out[key] = np.where(self.values["pending"](at).astype(bool), "待审核", "")
            elif key == "match":
                out[key] = self.match[: len(at)]
        return out[wanted] if list(out.columns) != wanted else out

    def head(self, limit: int) -> pd.DataFrame:
        """The best ``limit`` rows, every column (what the page shows and picks from)."""
        return self.rows(limit)

    @cached_property
    def frame(self) -> pd.DataFrame:
        """Every matching row, every column (internal keys), best first."""
        return self.rows()

    def table(self, columns: list[str] | None = None, *, limit: int | None = None) -> pd.DataFrame:
        """The chosen columns under their Chinese headers (what the page shows and exports write)."""
        keys = [c for c in (columns or DEFAULT_COLUMNS) if c in self.keys and c in self.labels]
        out = self.rows(limit, keys=keys)
        out.columns = [self.labels[k] for k in keys]
        return out


# ------------------------------------------------------------------ runs and options
def searchable_runs(session: Session, *, actor: Actor) -> pd.DataFrame:
    """Runs an officer may search (newest first): id, year, state, enterprise_count."""
    require_staff(actor)
    rows = session.execute(
        select(ScoreRun.id, ScoreRun.year, ScoreRun.state, ScoreRun.enterprise_count).order_by(
            ScoreRun.year.desc(), ScoreRun.id.desc()
        )  # type: ignore[attr-defined]
    ).all()
    return pd.DataFrame(rows, columns=["id", "year", "state", "enterprise_count"])


def _resolve_run(session: Session, run_id: int | None) -> tuple[ScoreRun, ScoringModel]:
    run = session.get(ScoreRun, run_id) if run_id is not None else default_run(session)
    if run is None:
        raise NotFound(
            "暂无积分批次：请先在“积分计算与公示”中计算积分。"
            if run_id is None
            else f"积分批次 #{run_id} 不存在。"
        )
    return run, get_model(session, run.model_version_id)


def _indicator_label(model: ScoringModel, code: str) -> str:
    ind = model.indicator(code)
    return f"{ind.name}（{ind.unit}）" if ind.unit else ind.name


def search_options(session: Session, *, actor: Actor, run_id: int | None = None) -> SearchOptions:
    require_staff(actor)
    run, model = _resolve_run(session, run_id)
    scores = run_scores(session, run, model)
    industries, streets, carriers = filter_choices(session)
    return SearchOptions(
        run_id=run.id,
        stages={s.code: s.name for s in model.stages},
        tiers={**{t.code: t.name for t in model.tiers}, "": "未上榜"},
        classes={code: label for code, label, _ in class_subtotals(model, scores)},
        indicators={i.code: _indicator_label(model, i.code) for i in model.indicators},
        numeric_indicators=[i.code for i in model.indicators if i.rule.type in NUMERIC_RULES],
        qualifications={i.code: i.name for i in model.qualification_indicators},
        industries=industries,
        streets=streets,
        carriers={0: "不在载体", **carriers},
    )


# ------------------------------------------------------------------ the search
def _pending(session: Session, year: int) -> np.ndarray:
    rows = (
        session.execute(
            select(Submission.enterprise_id).where(Submission.year == year, Submission.state == "submitted")
        )
        .scalars()
        .all()
    )
    return np.asarray(sorted(rows), dtype=np.int64)


def _check_range(label: str, bounds: Range) -> None:
    low, high = bounds
    for v in bounds:
        if v is not None and not math.isfinite(float(v)):
            raise ValidationFailed(f"{label}的范围应为有限数值。")
    if low is not None and high is not None and float(low) > float(high):
        raise ValidationFailed(f"{label}的下限 {low:g} 大于上限 {high:g}：请调换或修改。")


def _in_range(values: np.ndarray, bounds: Range) -> np.ndarray:
    low, high = bounds
    mask = np.ones(len(values), dtype=bool)
    if low is not None:
        mask &= values >= float(low)
    if high is not None:
        mask &= values <= float(high)
    return mask  # NaN compares False: an enterprise without the value is outside any given range


def search_enterprises(
    session: Session,
    *,
    actor: Actor,
    filters: SearchFilters | None = None,
    run_id: int | None = None,
    extra_columns: list[str] | None = None,
) -> SearchResult:
    """Enterprises of a run matching every given filter, best search match first (else stage, rank).

    ``extra_columns``: indicator codes whose values (points for non-numeric indicators) become columns
    ``v_<code>`` / ``p_<code>``; indicators named in conditions always get theirs.
    """
    require_staff(actor)
    filters = filters or SearchFilters()
    run, model = _resolve_run(session, run_id)
    scores = run_scores(session, run, model)
    ids = scores["enterprise_id"].to_numpy(dtype=np.int64)
    everyone = np.arange(len(ids))
    # Filters run on whole-run arrays; columns are read for the rows a caller asks for
    # (SearchResult.rows): assigning text columns to every matching row is what made a search slow.
    values: dict[str, Values] = _attribute_values(enterprise_attributes(session), ids)
    pending = _pending(session, run.year)
    values["pending"] = lambda rows: np.isin(ids[rows], pending)

    labels = dict(BASE_COLUMNS)
    for code, label, _ in class_subtotals(model, scores):
        labels[SUBTOTAL_PREFIX + code] = label
    known = set(model.codes)

    mask = np.ones(len(scores), dtype=bool)
    if filters.stages:
        mask &= scores["stage"].isin(filters.stages).to_numpy()
    if filters.tiers:
        mask &= scores["tier"].isin(filters.tiers).to_numpy()
    _check_range("总积分", filters.total)
    mask &= _in_range(scores["total"].to_numpy(dtype=float), filters.total)
    for code, bounds in filters.subtotals.items():
        column = SUBTOTAL_PREFIX + code
        if column not in scores.columns:
            raise ValidationFailed(f"该批次的评价模型没有类别“{code}”。")
        _check_range(labels[column], bounds)
        mask &= _in_range(scores[column].to_numpy(dtype=float), bounds)
    for chosen, column in (
        (filters.industries, "industry"),
        (filters.streets, "street"),
        (filters.carriers, "carrier_id"),
    ):
        if chosen:
            mask &= pd.Series(values[column](everyone)).isin(chosen).to_numpy()
    for flag, column in (
        (filters.veto, "veto"),
        (filters.pending_self_report, "pending"),
        (filters.bank_consent, "bank_consent"),
    ):
        if flag is not None:
            held = (
                scores["veto"].to_numpy(dtype=bool)
                if column == "veto"
                else values[column](everyone).astype(bool)
            )
            mask &= held == flag
    if filters.missing is not None:
        mask &= (scores["missing_count"].to_numpy() > 0) == filters.missing

    qualifications = {i.code for i in model.qualification_indicators}
    for code in filters.qualifications:
        if code not in qualifications:
            raise ValidationFailed(f"“{code}”不是该批次评价模型中的资质类指标。")
    run_indicator_columns(session, run=run, model=model, codes=list(filters.qualifications), basis="fraction")
    for code, held in filters.qualifications.items():
        fraction = breakdown_column(session, run, model, code, "fraction", ids)
        mask &= (np.nan_to_num(fraction) > 0) == held

    wanted = list(dict.fromkeys([*(c.code for c in filters.indicators), *(extra_columns or [])]))
    for code in wanted:
        if code not in known:
            raise ValidationFailed(f"该批次的评价模型没有指标“{code}”。")
    for cond in filters.indicators:
        ind = model.indicator(cond.code)
        basis = cond.basis if ind.rule.type in NUMERIC_RULES else "points"
        label = f"{ind.name}的{'数值' if basis == 'value' else '得分'}"
        _check_range(label, (cond.low, cond.high))
        mask &= _in_range(breakdown_column(session, run, model, cond.code, basis, ids), (cond.low, cond.high))
    for code in wanted:
        ind = model.indicator(code)
        if ind.rule.type in NUMERIC_RULES:
            values[VALUE_PREFIX + code] = _indicator_values(session, run, model, code, "value", ids)
            labels[VALUE_PREFIX + code] = _indicator_label(model, code)
        values[POINTS_PREFIX + code] = _indicator_values(session, run, model, code, "points", ids)
        labels[POINTS_PREFIX + code] = f"{ind.name}得分"

    if filters.query.strip():
        index = search_index(session, actor=actor)
        rows, kinds = index.search_rows(filters.query, within=index.mask_of(ids[mask]))
        positions = np.searchsorted(ids, index.ids[rows])  # ids are sorted (enterprise-id order)
        match = np.asarray([MATCH_LABELS[k] for k in kinds.tolist()], dtype=object)
    else:
        # the matching rows in the run's default order (stage, rank, credit code): ``default_order`` is
        # a permutation of the rows, so walking its inverse keeps them sorted without a sort
        by_order = np.empty(len(ids), dtype=np.int64)
        by_order[scores["default_order"].to_numpy(dtype=np.int64)] = everyone
        positions = by_order[mask[by_order]]
        match = np.full(len(positions), "", dtype=object)
    return SearchResult(
        **RunView.of(run, model),
        run_size=len(scores),
        labels=labels,
        scores=scores,
        positions=positions,
        values=values,
        match=match,
    )


def _attribute_values(attrs: dict[str, np.ndarray], ids: np.ndarray) -> dict[str, Values]:
    """The enterprise attributes (:func:`_attributes`) of rows of a run's scores, per column."""
    size = len(attrs["enterprise_id"])

    def column(name: str) -> Values:
        def read(rows: np.ndarray) -> np.ndarray:
            if not size:
                return np.full(len(rows), None)
            return attrs[name][np.minimum(np.searchsorted(attrs["enterprise_id"], ids[rows]), size - 1)]

        return read

    return {name: column(name) for name in ("industry", "street", "carrier_id", "carrier", "bank_consent")}


def _indicator_values(
    session: Session, run: ScoreRun, model: ScoringModel, code: str, basis: str, ids: np.ndarray
) -> Values:
    """An indicator's column (services.search_data.run_indicator_column, read now) for rows of the run."""
    series = run_indicator_column(session, run=run, model=model, code=code, basis=basis)
    return lambda rows: series.reindex(ids[rows]).to_numpy(dtype=float)


def available_columns(result: SearchResult) -> dict[str, str]:
    """Column key → header for the column picker (what the result holds)."""
    keys = set(result.keys)
    return {k: v for k, v in result.labels.items() if k in keys}


def export_table(
    session: Session, *, actor: Actor, result: SearchResult, columns: list[str], fmt: str
) -> pd.DataFrame:
    """The table an export writes — the chosen columns under Chinese headers, every row — and an audit
    record of who exported what. The caller writes it with core.spreadsheet (the one sanitiser), in the
    background when it is large."""
    require_staff(actor)
    if fmt not in EXPORT_FORMATS:
        raise ValidationFailed("导出格式应为 xlsx 或 csv。")
    table = result.table(columns)
    _record_run(
        session,
        actor,
        "search.export",
        result.run_id,
        after={"rows": len(table), "format": fmt, "columns": list(table.columns)},
    )
    session.commit()
    return table


def export_bytes(table: pd.DataFrame, fmt: str, *, sheet: str = "企业检索", progress: Any = None) -> bytes:
    """xlsx (bold frozen header, widths, strings as text) or csv (BOM, formula prefix)."""
    from core.spreadsheet import write_csv, write_xlsx

    if fmt == "csv":
        data = write_csv(table)
        if progress is not None:
            progress(len(table), len(table))
        return data
    return write_xlsx({sheet: table}, progress=progress)


def find_enterprises(
    session: Session, *, actor: Actor, query: str, limit: int = 20, run_id: int | None = None
) -> pd.DataFrame:
    """Best matches for ``query`` over every enterprise: rank, credit_code, name, stage (its stage in the
    run — by default the latest 公示 or final one; "未参评" when the run did not score it), match."""
    require_staff(actor)
    if not query or not query.strip():
        raise ValidationFailed("请输入要查找的企业名称、拼音或统一社会信用代码。")
    index = search_index(session, actor=actor)
    hits = index.search(query, limit=limit)
    run = session.get(ScoreRun, run_id) if run_id is not None else default_run(session)
    if run_id is not None and run is None:
        raise NotFound(f"积分批次 #{run_id} 不存在。")
    stages: dict[int, str] = {}
    if run is not None and hits:
        model = get_model(session, run.model_version_id)
        rows = session.execute(
            select(Score.enterprise_id, Score.stage).where(
                Score.run_id == run.id, Score.enterprise_id.in_([h.enterprise_id for h in hits])
            )
        ).all()  # type: ignore[attr-defined]
        stages = {e: model.stage_name(s) for e, s in rows}
    return pd.DataFrame(
        {
            "rank": range(1, len(hits) + 1),
            "enterprise_id": [h.enterprise_id for h in hits],
            "credit_code": [index.codes[h.row] for h in hits],
            "name": [index.display_names[h.row] for h in hits],
            "stage": [stages.get(h.enterprise_id, "未参评") for h in hits],
            "match": [h.label for h in hits],
        }
    )


def enterprises_by_code(
    session: Session, *, actor: Actor, credit_codes: list[str]
) -> dict[str, tuple[int, str]]:
    """(id, name) of each registered enterprise among ``credit_codes`` (normalised codes); unknown ones
    are absent (the caller names them)."""
    require_staff(actor)
    rows = session.execute(
        select(Enterprise.credit_code, Enterprise.id, Enterprise.name).where(
            Enterprise.credit_code.in_(list(credit_codes))  # type: ignore[attr-defined]
        )
    ).all()
    return {code: (int(i), name) for code, i, name in rows}


def enterprise_labels(session: Session, *, actor: Actor, enterprise_ids: list[int]) -> dict[int, str]:
    """ "name（credit code）" of each enterprise id (for pickers that start from a preset choice)."""
    require_staff(actor)
    rows = session.execute(
        select(Enterprise.id, Enterprise.name, Enterprise.credit_code).where(
            Enterprise.id.in_(list(enterprise_ids))
        )
    ).all()  # type: ignore[attr-defined]
    return {int(i): f"{n}（{c}）" for i, n, c in rows}
