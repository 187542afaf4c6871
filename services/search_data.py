"""What 企业检索 and 同阶段对比 read, cached per process: a run's scores, indicator columns, the name index.

* a run's score rows never change once written: read once per run (a second reader waits for the
  first) with display text, class subtotals under ``SUBTOTAL_PREFIX``;
* indicator values, fractions and points come from the stored breakdowns one column at a time in SQL,
  cached per run and column;
* the search index (core.search, from the stored pinyin keys) is rebuilt when enterprises are added or
  renamed by any process (the database's change counter), and at the latest every INDEX_MAX_AGE seconds;
* the enterprises' attributes (industry, street, carrier, bank consent) and the filters' choices are
  kept per data version (services.memo.KeptPerDataVersion);
* ``warm_search`` reads them all in a background thread after a staff page draws, so neither opening
  企业检索 nor the first search after a server start pays for them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session

from core.lru import LRU
from core.scoring_model import ScoringModel
from core.search import SearchIndex, name_keys
from db import queries
from db.models import NAMES_TOPIC, Carrier, Enterprise, ScoreRun, search_keys_generation
from services.actor import Actor, require_staff
from services.memo import KeptPerDataVersion, change_generation, warm_up
from services.model_versions import get_model

INDEX_MAX_AGE = 300.0  # seconds: a safety net; renames by any process are seen at once (changecounter)
SUBTOTAL_PREFIX = "sub_"


# ------------------------------------------------------------------ class subtotals (one accessor)
def class_subtotals(model: ScoringModel, scores: pd.DataFrame) -> list[tuple[str, str, pd.Series]]:
    """(class code, Chinese name, subtotal per row) for every scored class of the run's model.

    The one place that knows where a scores frame keeps class subtotals (db.queries.subtotal_column).
    """
    return [
        (c.code, c.name, queries.subtotal_column(scores, c.code).astype(float)) for c in model.scored_classes
    ]


# ------------------------------------------------------------------ the run to read
def default_run(session: Session) -> ScoreRun | None:
    """The latest 公示 or final run, else the newest run of any state."""
    return queries.latest_run(session) or queries.latest_run(
        session, states=("draft", "notice", "final", "superseded")
    )


# ------------------------------------------------------------------ enterprise attributes (per data version)
def _read_choices(session: Session) -> tuple[list[str], list[str], dict[int, str]]:
    industries, streets = (
        sorted(v for v in session.execute(select(column).distinct()).scalars() if v)
        for column in (Enterprise.industry, Enterprise.street)
    )
    carriers = dict(session.execute(select(Carrier.id, Carrier.name).order_by(Carrier.name)).all())
    return industries, streets, carriers


# The industries, streets and carriers the filters offer. Two scans of every enterprise (0.1–0.3 s at
# 100,000) on each page load, so kept per database version: an enterprise's industry or street changes
# only in an audited write, on whichever server (services.memo.data_version).
filter_choices = KeptPerDataVersion(_read_choices)


def _read_attributes(session: Session) -> dict[str, np.ndarray]:
    rows = queries.fetch_rows(
        session, "SELECT id, industry, street, carrier_id, bank_consent FROM enterprise ORDER BY id"
    )
    ids, industry, street, carrier_id, consent = np.array(rows, dtype=object).reshape(-1, 5).T
    carrier_id = np.where(pd.isna(carrier_id), 0, carrier_id).astype(np.int64)
    names = dict(session.execute(select(Carrier.id, Carrier.name)).all())
    carrier = pd.Series(carrier_id).map(names).fillna("").to_numpy(dtype=object)
    return {
        "enterprise_id": ids.astype(np.int64),
        "industry": industry,
        "street": street,
        "carrier_id": carrier_id,
        "carrier": carrier,
        "bank_consent": np.where(pd.isna(consent), False, consent).astype(bool),
    }


# Every enterprise's changeable attributes as columns in enterprise-id order (numpy arrays straight from
# the rows, no DataFrame). Kept per database version, as the filters' choices are: every change of an
# industry, street, carrier or bank consent is audited, on whichever server; reading 100,000 rows on
# each search cost 0.15–0.3 s. Callers index the arrays, never write into them.
enterprise_attributes = KeptPerDataVersion(_read_attributes)


# ------------------------------------------------------------------ caches
_LOCK = threading.Lock()
_RUN_CACHE: LRU[pd.DataFrame] = LRU(8)
_COLUMN_CACHE: LRU[pd.Series] = LRU(96)
_INDEX_CACHE: dict[str, tuple[tuple, float, SearchIndex]] = {}


def _run_key(session: Session, run: ScoreRun) -> tuple:
    # ids repeat across databases at one URL (a test database refilled, a restored backup): the
    # fingerprint and creation time make the key name this run's scores.
    return (str(session.get_bind().url), run.id, run.input_fingerprint, str(run.created_at))


def search_index(session: Session, *, actor: Actor) -> SearchIndex:
    """The search index over every enterprise (rebuilt when enterprises were added or renamed)."""
    require_staff(actor)
    url = str(session.get_bind().url)
    count, max_id = session.execute(select(func.count(), func.max(Enterprise.id))).one()
    # renames by any server process (the database's counter), not only by this one
    signature = (count, max_id, search_keys_generation(), change_generation(session, NAMES_TOPIC))
    cached = _INDEX_CACHE.get(url)
    if cached and cached[0] == signature and time.monotonic() - cached[1] < INDEX_MAX_AGE:
        return cached[2]
    with _building(url):  # one build per database: a second caller waits for it, then reads the cache
        cached = _INDEX_CACHE.get(url)
        if cached and cached[0] == signature and time.monotonic() - cached[1] < INDEX_MAX_AGE:
            return cached[2]
        index = _build_index(session)
        with _LOCK:
            _INDEX_CACHE[url] = (signature, time.monotonic(), index)
    return index


def _build_index(session: Session) -> SearchIndex:
    rows = queries.fetch_rows(
        session, "SELECT id, credit_code, name, name_initials, name_pinyin FROM enterprise ORDER BY id"
    )
    ids, codes, names, initials, pinyins = (list(c) for c in zip(*rows, strict=True)) if rows else ([],) * 5
    for i, (name, pinyin) in enumerate(zip(names, pinyins, strict=True)):
        if pinyin is None:  # a row written around the ORM (raw SQL): key it here rather than never
            keys = name_keys(name or "")
            initials[i], pinyins[i] = keys.initials, keys.pinyin
    return SearchIndex(ids, codes, names, initials, pinyins)


_BUILD_LOCKS: dict[Hashable, threading.Lock] = {}


def _building(key: Hashable) -> threading.Lock:
    """The lock of one build (an index per database, a run's scores): a second caller waits for the
    first and then reads its cached result instead of building it twice."""
    with _LOCK:
        return _BUILD_LOCKS.setdefault(key, threading.Lock())


WARM_DELAY = 2.0  # seconds: let the page that asked finish drawing before the warm-up takes the CPU


def warm_search(session: Session, *, actor: Actor, delay: float = WARM_DELAY) -> bool:
    """Read what 企业检索 needs — the enterprises' attributes and the filters' choices (~0.7 s at 520k),
    the default run's scores, the name index, the qualification columns, every indicator's points
    (同阶段对比's table; ~1 s, ~2.5 s, ~1 s and ~0.5 s CPU at 100k) — in a background thread ``delay``
    seconds from now (``services.memo.warm_up``), so neither opening the page nor the officer's first
    search pays for them after a server start; a search arriving during it waits for it. True when a
    warm-up was started."""
    require_staff(actor)

    def work(own: Session) -> None:
        enterprise_attributes(own)  # every search's columns (~1 s at 520,000 enterprises)
        filter_choices(own)  # the page's filter choices
        run = default_run(own)
        if run is not None:
            model = get_model(own, run.model_version_id)
            run_scores(own, run, model)
            search_index(own, actor=actor)
            run_indicator_columns(
                own,
                run=run,
                model=model,
                codes=[i.code for i in model.qualification_indicators],
                basis="fraction",
            )  # the 具备资质 filters' columns
            run_indicator_columns(
                own,
                run=run,
                model=model,
                codes=[i.code for i in model.indicators if i.kind != "veto"],
                basis="points",
            )  # 同阶段对比's table: every indicator's points

    return warm_up(session, name="search", work=work, delay=delay)


def run_scores(session: Session, run: ScoreRun, model: ScoringModel) -> pd.DataFrame:
    """The run's score rows (no breakdowns), in enterprise-id order, with display text; cached (one read
    per run: a search arriving while another thread reads it waits for that read)."""
    key = _run_key(session, run)
    cached = _RUN_CACHE.get(key)
    if cached is not None:
        return cached
    with _building(("scores", key)):
        cached = _RUN_CACHE.get(key)
        if cached is not None:
            return cached
        return _RUN_CACHE.put(key, _read_run_scores(session, run, model))


def _read_run_scores(session: Session, run: ScoreRun, model: ScoringModel) -> pd.DataFrame:
    frame = queries.scores_frame(session, run_id=run.id)
    frame = frame.sort_values("enterprise_id", kind="stable").reset_index(drop=True)
    stage_names = {s.code: s.name for s in model.stages}
    frame["stage_name"] = frame["stage"].map(stage_names).fillna(frame["stage"])
    frame["stage_order"] = frame["stage"].map({s.code: i for i, s in enumerate(model.stages)}).fillna(99)
    tier_names = {t.code: t.name for t in model.tiers}
    frame["tier_name"] = frame["tier"].map(tier_names).fillna("未上榜")
    frame["veto_text"] = np.where(frame["veto"], "一票否决", "")
    # A search without a query lists by stage, rank, credit code: that order, worked out once per run,
    # is one integer per row, so a search sorts its matches by it (the three keys took 0.1–0.3 s at 100k).
    order = frame.sort_values(["stage_order", "rank", "credit_code"], kind="stable", na_position="last").index
    frame["default_order"] = np.empty(len(frame), dtype=np.int64)
    frame.loc[order, "default_order"] = np.arange(len(frame), dtype=np.int64)
    for code, _label, values in class_subtotals(model, frame):
        frame[SUBTOTAL_PREFIX + code] = values.to_numpy()
    return frame


def run_indicator_column(
    session: Session, *, run: ScoreRun, model: ScoringModel, code: str, basis: str = "value"
) -> pd.Series:
    """One indicator of every enterprise in a run, indexed by enterprise id: its stored value (numeric;
    NaN where absent or not a number), fraction or points (``basis``); cached per run."""
    return run_indicator_columns(session, run=run, model=model, codes=[code], basis=basis)[code]


def run_indicator_columns(
    session: Session, *, run: ScoreRun, model: ScoringModel, codes: list[str], basis: str = "value"
) -> dict[str, pd.Series]:
    """:func:`run_indicator_column` of several indicators; the ones not cached yet are read in one
    statement (about the cost of one)."""
    key = _run_key(session, run)
    found = {code: _COLUMN_CACHE.get((*key, code, basis)) for code in dict.fromkeys(codes)}
    missing = [code for code, series in found.items() if series is None]
    if missing:
        part = {"value": "v", "fraction": "f", "points": "p"}[basis]
        frame = queries.breakdown_columns_frame(
            session, run_id=run.id, model=model, columns=missing, part=part
        )
        for code in missing:
            series = pd.to_numeric(frame[code], errors="coerce").astype(float)
            found[code] = _COLUMN_CACHE.put((*key, code, basis), series)
    return found


def breakdown_column(
    session: Session, run: ScoreRun, model: ScoringModel, code: str, basis: str, enterprise_ids: np.ndarray
) -> np.ndarray:
    series = run_indicator_column(session, run=run, model=model, code=code, basis=basis)
    return series.reindex(enterprise_ids).to_numpy(dtype=float)
