"""动态积分: the year's score recomputed from current data between yearly runs — never a run, no lists.

Stored apart from runs, in ``DynamicScore`` (one row per enterprise · year) and ``DynamicState`` (one
row per year), so no query that looks for "the latest run" can ever pick it up: lists, subsidies,
exports, public pages and the officers' run screens only read ``ScoreRun``/``Score``. Only the
enterprise's portrait reads it (:func:`dynamic_view`), beside the published 年度积分.

Debounce that works with several app replicas on one database:

* an approval or a committed import calls :func:`mark_changed` inside its own transaction: it bumps
  ``DynamicState.change_seq`` of the year. The bump commits atomically with the new values, so a
  committed sequence number always means "these values are visible".
* every replica runs one background thread (:class:`DynamicWorker`; or ``manage.py dynamic-worker`` as
  a separate process) that polls every few seconds. A year is due when ``change_seq > computed_seq``
  and its last recompute is at least ``min_interval`` seconds old (or four times the last recompute's
  duration, if longer: ~1 min at 100,000 enterprises keeps the database busy at most a fifth of the
  time). The worker claims it with one
  conditional UPDATE (a lease with an expiry: a crashed worker's lease runs out), so exactly one
  replica recomputes a year at a time, whatever the number of replicas.
* it reads the claimed ``change_seq`` first, then the data (every change up to that number is
  visible), scores the whole year (percentiles need the whole stage), replaces the year's rows and
  sets ``computed_seq`` to the number it read. Changes that arrived meanwhile leave the year due for
  the next round — nothing is lost, and a burst of approvals costs one recompute per interval.
* the input fingerprint of the last recompute is kept: a recompute that finds the same inputs writes
  nothing.

A year without any committed department import is not computed (a score from self-reports alone
would be a wrong number); its state says so.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core import breakdown as breakdown_codec
from core import explain, settings
from db.bulk import insert_columns
from db.models import DynamicScore, DynamicState, ImportBatch, utcnow
from services.actor import Actor, require_enterprise_access, require_staff
from services.audit import record

log = logging.getLogger(__name__)

LEASE_SECONDS = 1800.0  # longer than any recompute; an expired lease may be taken over
BUSY_FACTOR = 4.0  # a year rests at least 4× its last recompute's duration (database busy ≤ 20 %)


# ------------------------------------------------------------------------------------ marking
def mark_changed(session: Session, *, year: int) -> None:
    """Note that values of ``year`` changed, in the caller's transaction (the one that changed them)."""
    now = utcnow()
    bump = (
        update(DynamicState)
        .where(DynamicState.year == year)
        .values(
            change_seq=DynamicState.change_seq + 1, dirty_since=func.coalesce(DynamicState.dirty_since, now)
        )
        .execution_options(synchronize_session=False)
    )
    if session.execute(bump).rowcount:
        return
    try:
        with session.begin_nested():
            session.add(DynamicState(year=year, change_seq=1, computed_seq=0, dirty_since=now))
    except IntegrityError:  # another transaction created the row first: bump it
        session.execute(bump)


# ------------------------------------------------------------------------------------ worker side
def _waiting(now: datetime):  # noqa: ANN202 - SQL expression
    """Changed since the last recompute, and nobody holds a live lease."""
    lease_free = DynamicState.lease_until.is_(None) | (DynamicState.lease_until < now)  # type: ignore[union-attr]
    return (DynamicState.change_seq > DynamicState.computed_seq) & lease_free


def _rest(state_seconds: float | None, min_interval: float) -> timedelta:
    """How long a year rests after a recompute: the interval, or BUSY_FACTOR × its last duration if
    longer — at 100,000 enterprises a recompute takes a minute, and the database is not to be kept busy."""
    return timedelta(seconds=max(min_interval, BUSY_FACTOR * float(state_seconds or 0.0)))


def _min_interval(value: float | None) -> float:
    """Seconds a year rests between two recomputes: ``value``, else DYNAMIC_MIN_INTERVAL (read now)."""
    return settings.load().dynamic_min_interval if value is None else value


def due_years(session: Session, *, min_interval: float | None = None) -> list[int]:
    """Years with changes not yet computed, no live lease, and rested since their last recompute
    (``min_interval`` seconds at least; default DYNAMIC_MIN_INTERVAL)."""
    min_interval = _min_interval(min_interval)
    now = utcnow()
    rows = session.execute(
        select(DynamicState.year, DynamicState.computed_at, DynamicState.seconds)
        .where(_waiting(now))
        .order_by(DynamicState.year.desc())
    ).all()
    return [int(y) for y, at, seconds in rows if at is None or at <= now - _rest(seconds, min_interval)]


def claim_year(session: Session, *, year: int, owner: str, min_interval: float | None = None) -> int | None:
    """Take the year's lease if it is still due; returns the change number to compute up to, or None.

    One conditional UPDATE: of several replicas claiming at once, exactly one changes the row.
    """
    min_interval = _min_interval(min_interval)
    now = utcnow()
    seconds = session.execute(select(DynamicState.seconds).where(DynamicState.year == year)).scalar()
    rested = DynamicState.computed_at.is_(None) | (  # type: ignore[union-attr]
        DynamicState.computed_at <= now - _rest(seconds, min_interval)
    )
    won = session.execute(
        update(DynamicState)
        .where(DynamicState.year == year, _waiting(now), rested)
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=LEASE_SECONDS))
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    if not won:
        return None
    return int(session.execute(select(DynamicState.change_seq).where(DynamicState.year == year)).scalar_one())


def _has_department_data(session: Session, year: int) -> bool:
    return (
        session.execute(
            select(func.count())
            .select_from(ImportBatch)
            .where(ImportBatch.year == year, ImportBatch.status == "committed")
        ).scalar_one()
        > 0
    )


def recompute_year(
    session: Session, *, actor: Actor, year: int, through_seq: int | None = None, owner: str | None = None
) -> DynamicState:
    """Score ``year`` from its current values and replace its 动态积分 rows; commits.

    ``through_seq``: the change number read before the data (from :func:`claim_year`); default: the
    current one. The lease of ``owner`` is released.
    """
    from services.runs import score_year

    require_staff(actor)
    started = time.perf_counter()
    state = session.get(DynamicState, year)
    if state is None:
        state = DynamicState(year=year)
        session.add(state)
        session.flush()
    seq = through_seq if through_seq is not None else int(state.change_seq or 0)
    values: dict = {"computed_seq": seq, "computed_at": utcnow(), "lease_owner": None, "lease_until": None}
    if not _has_department_data(session, year):
        values.update(note=f"{year} 年度尚无部门导入数据，不计算动态积分。", enterprise_count=0)
        session.execute(delete(DynamicScore).where(DynamicScore.year == year))
    else:
        scored = score_year(session, year=year)
        if scored.fingerprint != state.input_fingerprint or scored.model_version_id != state.model_version_id:
            session.execute(delete(DynamicScore).where(DynamicScore.year == year))
            insert_columns(session, DynamicScore.__table__, _columns(year, scored, values["computed_at"]))
            values.update(
                input_fingerprint=scored.fingerprint,
                model_version_id=scored.model_version_id,
                enterprise_count=len(scored.scored),
            )
        values.update(note=None)
    values["seconds"] = round(time.perf_counter() - started, 3)
    # Changes that arrived after the number we read keep the year due (dirty_since: from now on).
    session.execute(
        update(DynamicState)
        .where(DynamicState.year == year)
        .values(**values, dirty_since=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(DynamicState)
        .where(DynamicState.year == year, DynamicState.change_seq > DynamicState.computed_seq)
        .values(dirty_since=values["computed_at"])
        .execution_options(synchronize_session=False)
    )
    record(
        session,
        actor=actor,
        action="dynamic.recompute",
        entity="DynamicState",
        entity_id=year,
        after={
            "year": year,
            "through_seq": seq,
            "enterprises": values.get("enterprise_count"),
            "seconds": values["seconds"],
            "owner": owner,
        },
    )
    session.commit()
    session.expire_all()
    return session.get(DynamicState, year)


def _columns(year: int, scored, computed_at: datetime) -> dict[str, list]:  # noqa: ANN001 - runs.ScoredYear
    frame = scored.scored
    n = len(frame)
    columns: dict[str, list] = {
        "year": [year] * n,
        "enterprise_id": scored.enterprise_ids.tolist(),
        "model_version_id": [scored.model_version_id] * n,
        "stage": frame["stage"].astype(str).tolist(),
    }
    for c in ("technology", "growth"):  # as Score: filled when the model has these classes
        columns[c] = frame[c].to_numpy(dtype=float).tolist() if c in frame.columns else [None] * n
    for c in ("core", "bonus", "deduction", "total"):
        columns[c] = frame[c].to_numpy(dtype=float).tolist()
    columns["veto"] = frame["veto"].to_numpy(dtype=bool).tolist()
    columns["missing_count"] = frame["missing_count"].to_numpy(dtype=np.int64).tolist()
    columns["breakdown"] = scored.breakdowns
    columns["computed_at"] = [computed_at] * n
    return columns


def refresh_due(engine: Engine, *, owner: str, min_interval: float | None = None) -> list[int]:
    """One worker round: recompute every due year this worker can claim. Returns the years done."""
    done = []
    with Session(engine, expire_on_commit=False) as session:
        years = due_years(session, min_interval=min_interval)
        session.rollback()
        for year in years:
            seq = claim_year(session, year=year, owner=owner, min_interval=min_interval)
            if seq is None:
                continue  # another replica has it
            try:
                recompute_year(session, actor=Actor.system(), year=year, through_seq=seq, owner=owner)
                done.append(year)
            except Exception:
                session.rollback()
                session.execute(
                    update(DynamicState)
                    .where(DynamicState.year == year, DynamicState.lease_owner == owner)
                    .values(lease_owner=None, lease_until=None)
                )
                session.commit()
                raise
    return done


class DynamicWorker:
    """A daemon thread that runs :func:`refresh_due` every ``poll`` seconds against the app's database."""

    def __init__(
        self, engine_factory, *, poll: float | None = None, min_interval: float | None = None
    ) -> None:  # noqa: ANN001
        self.engine_factory = engine_factory
        self.poll = settings.load().dynamic_poll_seconds if poll is None else poll
        self.min_interval = _min_interval(min_interval)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="dynamic-score", daemon=True)

    def start(self) -> DynamicWorker:
        self.thread.start()
        return self

    def _loop(self) -> None:
        while not self.stop.wait(self.poll):
            try:
                refresh_due(self.engine_factory(), owner=self.owner, min_interval=self.min_interval)
            except Exception:  # the next round tries again; the app keeps serving
                log.exception("dynamic score refresh failed")


# ------------------------------------------------------------------------------------ reading
@dataclass
class DynamicView:
    year: int
    computed_at: datetime
    stage: str
    stage_name: str
    total: float
    technology: float | None
    growth: float | None
    bonus: float
    deduction: float
    veto: bool
    pending_since: datetime | None  # newer data waits for the next recompute
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)  # 指标, 年度积分时, 现在, 分值变化


def dynamic_view(session: Session, *, actor: Actor, portrait) -> DynamicView | None:  # noqa: ANN001
    """The enterprise's 动态积分 of the portrait's year, and the changed values that moved it.

    None when nothing was recomputed for the year (the published 年度积分 is then also the current one).
    """
    from services.model_versions import get_model

    require_enterprise_access(actor, portrait.enterprise_id)
    row = (
        session.execute(
            select(DynamicScore).where(
                DynamicScore.enterprise_id == portrait.enterprise_id, DynamicScore.year == portrait.year
            )
        )
        .scalars()
        .first()
    )
    state = session.get(DynamicState, portrait.year)
    if row is None or state is None:
        return None
    model = get_model(session, row.model_version_id)
    pending = state.dirty_since if (state.change_seq or 0) > (state.computed_seq or 0) else None
    return DynamicView(
        year=row.year,
        computed_at=row.computed_at,
        stage=row.stage,
        stage_name=model.stage_name(row.stage),
        total=float(row.total),
        technology=row.technology,
        growth=row.growth,
        bonus=float(row.bonus),
        deduction=float(row.deduction),
        veto=bool(row.veto),
        pending_since=pending,
        changes=_changes(model, portrait, breakdown_codec.decode(model, row.breakdown)),
    )


def _blank(value: object) -> bool:
    """No value: absent, empty text, or an empty list of items (the form stores 'none' as [])."""
    return explain.is_missing(value) or value == [] or value == "[]"


def _changes(model, portrait, now: dict) -> pd.DataFrame:  # noqa: ANN001
    """Indicators whose value or points differ from the published run's, largest point change first."""
    before = {s.code: s for s in portrait.states}
    records = []
    for ind in model.indicators:
        entry = now.get(ind.code) or {}
        old = before.get(ind.code)
        old_value, old_pts = (old.value, old.pts) if old is not None else (None, 0.0)
        new_value, new_pts = entry.get("value"), float(entry.get("pts") or 0.0)
        old_text = explain.fmt_value(old_value, ind.unit)
        new_text = explain.fmt_value(new_value, ind.unit)
        delta = round(new_pts - float(old_pts or 0.0), 2)
        unchanged = old_text == new_text or (_blank(old_value) and _blank(new_value))
        if unchanged and abs(delta) < 0.005:
            continue
        records.append({"指标": ind.name, "年度积分时": old_text, "现在": new_text, "分值变化": delta})
    frame = pd.DataFrame(records, columns=["指标", "年度积分时", "现在", "分值变化"])
    order = frame["分值变化"].abs().sort_values(ascending=False, kind="stable").index
    return frame.loc[order].reset_index(drop=True)
