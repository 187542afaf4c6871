"""Partner banks as users: the published whitelist a bank may see (its pages, the export and
the API in services.bank_api all read it through here); the loan outcomes it reports back are
services.loan_outcomes.

What a bank sees is narrow on purpose: only enterprises that consent to be recommended
(``Enterprise.bank_consent``, read at the moment of each request, so a withdrawal removes the firm
from the next page, export or API answer), only **final** runs (never a draft or a run in 公示), and
only published figures — stage, rank in stage, total, list and class subtotals; never a self-reported
value, an attachment or a breakdown. Officers and admins read every bank's outcomes (金融推荐).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core import clock
from core.scoring_model import ScoringModel
from core.spreadsheet import (
    write_xlsx,
)
from db.models import ScoreRun
from db.queries import fetch_rows, json_cells
from services.actor import Actor, require_bank
from services.audit import Recorder
from services.errors import NotFound
from services.model_versions import get_model

_record_run = Recorder("ScoreRun")

BANK_RUN_STATES = ("final",)
# What a bank may see of a run (parameters: run id, True, False): consenting, ranked, not vetoed.
VISIBLE = "s.run_id = ? AND e.bank_consent = ? AND s.veto = ? AND s.rank IS NOT NULL"
WHITELIST_SHEET = "推荐名单"


@dataclass
class BankWhitelist:
    """The whitelist as plain columns in notice order (model stage order, rank, credit code): the API
    answers 60,000 rows from them without a DataFrame; pages and the xlsx use :meth:`table`."""

    run_id: int
    year: int
    valid_until: date
    model: ScoringModel
    codes: list[str]
    names: list[str]
    stages: list[str]  # stage names
    ranks: list[int]
    totals: list[float]
    tiers: list[str]  # list names (未上榜 when none)
    subtotals: list[dict]  # {class code: subtotal}

    @property
    def label(self) -> str:
        return f"{self.year} 年度 · 批次 #{self.run_id}（已定稿）"

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def rows(self) -> pd.DataFrame:
        """credit_code, name, stage_name, rank, total, tier_name."""
        return pd.DataFrame(
            {
                "credit_code": self.codes,
                "name": self.names,
                "stage_name": self.stages,
                "rank": self.ranks,
                "total": self.totals,
                "tier_name": self.tiers,
            }
        )

    def table(self) -> pd.DataFrame:
        """The whitelist in Chinese columns (page and xlsx): the *whitelist out* contract."""
        out = pd.DataFrame(
            {
                "序号": np.arange(1, len(self) + 1, dtype=np.int64),
                "统一社会信用代码": self.codes,
                "企业名称": self.names,
                "所属阶段": self.stages,
                "阶段排名": np.asarray(self.ranks, dtype=np.int64),
                "积分": np.round(np.asarray(self.totals, dtype=float), 2),
                "榜单": self.tiers,
            }
        )
        for cls in self.model.scored_classes:
            out[cls.name] = np.round(
                np.array([d.get(cls.code, np.nan) for d in self.subtotals], dtype=float), 2
            )
        out["批次"] = f"#{self.run_id}"
        out["有效期至"] = self.valid_until.isoformat()
        return out

    def records(self) -> list[dict]:
        """The whitelist as JSON records (the API): the same contract with English keys."""
        classes = [(c.code, c.name) for c in self.model.scored_classes]
        valid, run = self.valid_until.isoformat(), self.run_id

        def subs(d: dict) -> dict:
            return {
                name: (None if d.get(code) is None else round(float(d[code]), 2)) for code, name in classes
            }

        return [
            {
                "credit_code": c,
                "name": n,
                "stage": st,
                "rank_in_stage": r,
                "score": round(t, 2),
                "list": ti,
                "class_subtotals": subs(d),
                "run": run,
                "valid_until": valid,
            }
            for c, n, st, r, t, ti, d in zip(
                self.codes,
                self.names,
                self.stages,
                self.ranks,
                self.totals,
                self.tiers,
                self.subtotals,
                strict=True,
            )
        ]


def valid_until(run: ScoreRun) -> date:
    """A final run's whitelist is valid for one year from the Beijing day it was finalised (the next
    year's run replaces it); the day before the anniversary."""
    start = clock.beijing_day(run.finalized_at) if run.finalized_at else date(run.year + 1, 1, 1)
    try:
        anniversary = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        anniversary = start.replace(year=start.year + 1, day=28) + timedelta(days=1)
    return anniversary - timedelta(days=1)


def final_run(session: Session, run_id: int | None) -> ScoreRun:
    if run_id is None:
        run = (
            session.execute(
                select(ScoreRun)
                .where(ScoreRun.state.in_(BANK_RUN_STATES))  # type: ignore[attr-defined]
                .order_by(ScoreRun.year.desc(), ScoreRun.id.desc())
                .limit(1)
            )
            .scalars()
            .first()
        )  # type: ignore[attr-defined]
        if run is None:
            raise NotFound("暂无已定稿的积分批次。")
        return run
    run = session.get(ScoreRun, int(run_id))
    # A draft or 公示 run is answered like a missing one: a bank learns nothing of unpublished work.
    if run is None or run.state not in BANK_RUN_STATES:
        raise NotFound(f"积分批次 #{run_id} 不存在或尚未定稿：合作银行只能查看已定稿的批次。")
    return run


def final_runs(session: Session, *, actor: Actor) -> list[tuple[int, str]]:
    """(id, label) of the final runs a bank may choose, newest first."""
    require_bank(actor)
    runs = (
        session.execute(
            select(ScoreRun)
            .where(ScoreRun.state.in_(BANK_RUN_STATES))  # type: ignore[attr-defined]
            .order_by(ScoreRun.year.desc(), ScoreRun.id.desc())
        )
        .scalars()
        .all()
    )  # type: ignore[attr-defined]
    return [(r.id, f"{r.year} 年度 · 批次 #{r.id}（已定稿）") for r in runs]


def bank_view(session: Session, *, actor: Actor, run_id: int | None = None) -> BankWhitelist:
    """The whitelist a bank sees: consenting, ranked, non-vetoed enterprises of a final run."""
    require_bank(actor)
    run = final_run(session, run_id)
    model = get_model(session, run.model_version_id)
    # Consent is read in the same statement as the scores: a withdrawal counts from the next request on.
    rows = fetch_rows(
        session,
        "SELECT e.credit_code, e.name, s.stage, s.rank, s.total, s.tier, s.subtotals "
        f"FROM score s JOIN enterprise e ON e.id = s.enterprise_id WHERE {VISIBLE}",
        (run.id, True, False),
    )
    codes, names, stages, ranks, totals, tiers, subtotals = (
        (list(c) for c in zip(*rows, strict=True)) if rows else ([], [], [], [], [], [], [])
    )
    position = {s.code: i for i, s in enumerate(model.stages)}
    order = np.lexsort(
        (
            np.array(codes, dtype=str),
            np.asarray(ranks, dtype=np.int64),
            np.array([position.get(c, len(position)) for c in stages], dtype=np.int64),
        )
    ).tolist()
    stage_names = {s.code: s.name for s in model.stages}
    tier_names = {t.code: t.name for t in model.tiers}
    decoded = json_cells(subtotals)
    return BankWhitelist(
        run_id=run.id,
        year=run.year,
        valid_until=valid_until(run),
        model=model,
        codes=[codes[i] for i in order],
        names=[names[i] for i in order],
        stages=[stage_names.get(stages[i], stages[i]) for i in order],
        ranks=[int(ranks[i]) for i in order],
        totals=[float(totals[i]) for i in order],
        tiers=[tier_names.get(tiers[i] or "", "未上榜") for i in order],
        subtotals=[decoded[i] if isinstance(decoded[i], dict) else {} for i in order],
    )


def whitelist_json(session: Session, *, actor: Actor, run_id: int | None = None) -> tuple[bytes, int, int]:
    """The API's whitelist answer as JSON bytes, rendered by the database itself — the same rows and
    order as :func:`bank_view` and :meth:`BankWhitelist.records` (60,000 rows in a fraction of a second:
    no Python object per row). Returns (body, run id, enterprise count)."""
    require_bank(actor)
    run = final_run(session, run_id)
    model = get_model(session, run.model_version_id)
    if {c.code for c in model.scored_classes} & {
        "credit_code",
        "name",
        "stage",
        "rank_in_stage",
        "score",
        "list",
        "class_subtotals",
        "run",
        "valid_until",
    }:
        view = bank_view(
            session, actor=actor, run_id=run.id
        )  # a class code that is also a key: the slow path
        return (
            json.dumps(
                {
                    "run": view.run_id,
                    "year": view.year,
                    "valid_until": view.valid_until.isoformat(),
                    "count": len(view),
                    "enterprises": view.records(),
                },
                ensure_ascii=False,
            ).encode("utf-8"),
            view.run_id,
            len(view),
        )
    postgres = session.connection().dialect.name == "postgresql"
    text_, int_ = (
        ("?::text", "?::int") if postgres else ("?", "?")
    )  # PostgreSQL types bare parameters in no JSON call
    params: list = []

    def case(column: str, mapping: dict[str, str], default: str) -> str:
        whens = []
        for code, name in mapping.items():
            whens.append(f"WHEN {text_} THEN {text_}")
            params.extend([code, name])
        params.append(default)
        return f"CASE {column} {' '.join(whens)} ELSE {text_} END" if whens else text_

    obj = "json_build_object" if postgres else "json_object"

    def number(expr: str) -> str:
        return f"round(({expr})::numeric, 2)" if postgres else f"round({expr}, 2)"

    # Class subtotals: the stored JSON (rounded to cents by the engine) passes through as it is; its class
    # codes become the model's class names in the finished text below (a JSON key is the only place a
    # '"code":' can occur: quotes inside string values are escaped).
    stage_sql = case("s.stage", {st.code: st.name for st in model.stages}, "")
    tier_sql = case("s.tier", {t.code: t.name for t in model.tiers}, "未上榜")
    params.extend([run.id, valid_until(run).isoformat()])
    subtotals = "s.subtotals" if postgres else "json(s.subtotals)"
    row = (
        f"{obj}('credit_code', e.credit_code, 'name', e.name, 'stage', {stage_sql}, 'rank_in_stage', s.rank, "
        f"'score', {number('s.total')}, 'list', {tier_sql}, 'class_subtotals', {subtotals}, "
        f"'run', {int_}, 'valid_until', {text_})"
    )
    order_params = []
    order = []
    for i, st in enumerate(model.stages):
        order.append(f"WHEN {text_} THEN {i}")
        order_params.append(st.code)
    order_sql = f"CASE s.stage {' '.join(order)} ELSE {len(model.stages)} END" if order else "0"
    sql = (
        f"SELECT {row}{'::text' if postgres else ''} FROM score s JOIN enterprise e ON e.id = s.enterprise_id "
        f"WHERE {VISIBLE} ORDER BY {order_sql}, s.rank, e.credit_code"
    )
    texts = [r[0] for r in fetch_rows(session, sql, (*params, run.id, True, False, *order_params))]
    head = json.dumps(
        {"run": run.id, "year": run.year, "valid_until": valid_until(run).isoformat(), "count": len(texts)},
        ensure_ascii=False,
    )[:-1]
    rows = ",".join(texts)
    for cls in model.scored_classes:
        rows = rows.replace(f'"{cls.code}":', json.dumps(cls.name, ensure_ascii=False) + ":")
    body = head + ', "enterprises": [' + rows + "]}"
    return body.encode("utf-8"), run.id, len(texts)


def export_bank_whitelist(
    session: Session, *, actor: Actor, run_id: int | None = None
) -> tuple[bytes, BankWhitelist]:
    """The bank's whitelist as xlsx (sanitised by core.spreadsheet's writer); audited."""
    view = bank_view(session, actor=actor, run_id=run_id)
    data = write_xlsx({WHITELIST_SHEET: view.table()})
    _record_run(
        session,
        actor,
        "bank_portal.export",
        view.run_id,
        after={"bank": actor.bank_name, "format": "xlsx", "count": len(view), "credit_codes": view.codes},
    )
    session.commit()
    return data, view
