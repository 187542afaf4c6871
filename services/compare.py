"""企业画像 (officers) and 同阶段对比: where each value of a portrait came from, and up to five
enterprises side by side with their stage's average, median and top-10% line.

Officers and admins only (an enterprise sees its own portrait through services.portrait, never these).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core import explain
from db.models import (
    AuditEvent,
    Enterprise,
    ImportBatch,
    ScoreRun,
    Submission,
)
from db.values import values_as_of
from services.actor import Actor, accessible_enterprise, require_staff
from services.errors import NotFound, ValidationFailed
from services.model_versions import RunView, get_model
from services.portrait import class_fractions, radar_axes
from services.search_data import SUBTOTAL_PREFIX as SUBTOTAL
from services.search_data import default_run, run_indicator_column, run_scores

MAX_COMPARED = 5
TOP_SHARE = 0.10  # the "top-10% line": the value 10% of the stage reach or exceed
BENCHMARKS = {"stage_mean": "阶段平均", "stage_median": "阶段中位数", "stage_top10": "前10%线"}


# ------------------------------------------------------------------ provenance
def value_provenance(session: Session, *, actor: Actor, enterprise_id: int, run_id: int) -> pd.DataFrame:
    """Per indicator of the run's model: the value the run used and where it came from.

    Columns: code, name, value_text, source (department or 自报), origin ("导入批次 #12 税务.xlsx" /
    "自报 #5"), entered_by, entered_at, audit_entity, audit_entity_id, audit_text (the import commit or
    the approval that wrote it). The value is the one current when the run was computed.
    """
    require_staff(actor)
    run = session.get(ScoreRun, run_id)
    if run is None:
        raise NotFound(f"积分批次 #{run_id} 不存在。")
    enterprise = accessible_enterprise(session, actor, enterprise_id)
    model = get_model(session, run.model_version_id)
    # the newest value written before the run: the one it read
    used = values_as_of(session, enterprise_id=enterprise_id, year=run.year, at=run.created_at)
    batch_ids = {r.batch_id for r in used.values() if r.batch_id}
    submission_ids = {r.submission_id for r in used.values() if r.submission_id}
    batches = (
        {b.id: b for b in session.execute(select(ImportBatch).where(ImportBatch.id.in_(batch_ids))).scalars()}
        if batch_ids
        else {}
    )  # type: ignore[attr-defined]
    submissions = (
        {
            s.id: s
            for s in session.execute(select(Submission).where(Submission.id.in_(submission_ids))).scalars()
        }
        if submission_ids
        else {}
    )  # type: ignore[attr-defined]
    events = _audit_events(session, batch_ids, submission_ids)

    out = []
    for ind in model.indicators:
        row = used.get(ind.code)
        value = None if row is None else (row.value_text if row.value_text is not None else row.value_num)
        entry = {
            "code": ind.code,
            "name": ind.name,
            "value_text": explain.fmt_value(value, ind.unit, ind),
            "source": "" if row is None else row.source,
            "origin": "",
            "entered_by": "",
            "entered_at": None,
            "audit_entity": "",
            "audit_entity_id": "",
            "audit_text": "",
        }
        if row is None:
            entry["origin"] = "无数据"
        elif row.batch_id:
            batch = batches.get(row.batch_id)
            entry["origin"] = f"导入批次 #{row.batch_id}" + (f" {batch.file_name}" if batch else "")
            # a source profile's file: the key that identified the enterprise and how
            matches = ((batch.details or {}).get("matches") or []) if batch is not None else []
            match = next((m for m in matches if m.get("credit_code") == enterprise.credit_code), None)
            if match is not None:
                entry["origin"] += f"（第 {match['row']} 行，按{match['method']}“{match['key']}”识别）"
            entry.update(audit_entity="ImportBatch", audit_entity_id=str(row.batch_id))
        elif row.submission_id:
            sub = submissions.get(row.submission_id)
            entry["origin"] = f"企业自报 #{row.submission_id}" + (
                f"（审核人 {sub.reviewer}）" if sub and sub.reviewer else ""
            )
            entry.update(audit_entity="Submission", audit_entity_id=str(row.submission_id))
        else:
            entry["origin"] = "手工录入"
        if row is not None:
            entry["entered_by"] = row.created_by or ""
            entry["entered_at"] = row.created_at
        event = events.get((entry["audit_entity"], entry["audit_entity_id"]))
        if event is not None:
            entry["audit_text"] = f"{event.action} · {event.actor}"
        out.append(entry)
    return pd.DataFrame(out)


def _audit_events(session: Session, batch_ids: set[int], submission_ids: set[int]) -> dict[tuple, AuditEvent]:
    """The latest import commit per batch and approval per submission."""
    wanted = [
        ("ImportBatch", "import.commit", batch_ids),
        ("Submission", "submission.approve", submission_ids),
    ]
    found: dict[tuple, AuditEvent] = {}
    for entity, action, ids in wanted:
        if not ids:
            continue
        for event in session.execute(
            select(AuditEvent)
            .where(
                AuditEvent.entity == entity,
                AuditEvent.action == action,
                AuditEvent.entity_id.in_([str(i) for i in ids]),
            )  # type: ignore[attr-defined]
            .order_by(AuditEvent.at)
        ).scalars():
            found[(entity, event.entity_id)] = event
    return found


# ------------------------------------------------------------------ comparison
@dataclass
class Comparison(RunView):
    stage: str
    stage_name: str
    stage_count: int
    enterprises: (
        pd.DataFrame
    )  # enterprise_id, name, credit_code, stage_name, total, rank, tier_name, key, label
    radar: pd.DataFrame  # axis, one column per enterprise key, then stage_mean / stage_median / stage_top10
    table: pd.DataFrame  # item, max, one column per enterprise label, 阶段平均, 阶段中位数, 前10%线
    other_stage: list[str]  # names of compared enterprises scored in another stage


def _labels(names: list[str]) -> list[str]:
    """Column labels for the compared enterprises: their names, made unique if two coincide."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}（{seen[name]}）")
    return out


def compare_enterprises(
    session: Session,
    *,
    actor: Actor,
    enterprise_ids: list[int],
    run_id: int | None = None,
    stage: str | None = None,
) -> Comparison:
    """Up to five enterprises of a run against each other and the stage's average, median and top-10%
    line. ``stage`` (default: the stage most of them are in) is the stage the benchmarks describe."""
    require_staff(actor)
    ids = list(dict.fromkeys(int(i) for i in enterprise_ids))
    if not ids:
        raise ValidationFailed("请选择要对比的企业（1–5 家）。")
    if len(ids) > MAX_COMPARED:
        raise ValidationFailed(f"最多对比 {MAX_COMPARED} 家企业（已选 {len(ids)} 家）。")
    run = session.get(ScoreRun, run_id) if run_id is not None else default_run(session)
    if run is None:
        raise NotFound("暂无积分批次。" if run_id is None else f"积分批次 #{run_id} 不存在。")
    model = get_model(session, run.model_version_id)

    # the run's rows with their class subtotals parsed, read once per run and shared with 企业检索
    # (services.search_data.run_scores): read and parsed here on every rerun, a stage's 20,000 peers
    # cost ~1 s CPU per page load at 100,000 enterprises
    scores = run_scores(session, run, model)
    classes = model.scored_classes
    columns = [
        "enterprise_id",
        "stage",
        "total",
        "rank",
        "tier",
        "veto",
        "name",
        "credit_code",
        *(SUBTOTAL + c.code for c in classes),
    ]
    chosen = scores.loc[scores["enterprise_id"].isin(ids), columns]
    missing = [i for i in ids if i not in set(chosen["enterprise_id"])]
    if missing:
        names = dict(
            session.execute(select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(missing))).all()
        )  # type: ignore[attr-defined]
        shown = "、".join(names.get(i, f"#{i}") for i in missing)
        raise ValidationFailed(f"{run.year} 年度积分批次 #{run.id} 中没有以下企业的积分：{shown}。")
    chosen = chosen.set_index("enterprise_id").loc[ids].reset_index()  # in the order chosen
    stage = stage or chosen["stage"].mode().iloc[0]
    if stage not in model.stage_codes:
        raise ValidationFailed(f"该批次的评价模型没有阶段“{stage}”。")
    peers = scores.loc[scores["stage"] == stage, columns]
    chosen["key"] = [f"e{i}" for i in chosen["enterprise_id"]]
    chosen["label"] = _labels(chosen["name"].tolist())
    chosen["stage_name"] = chosen["stage"].map(model.stage_name)
    chosen["tier_name"] = chosen["tier"].fillna("").map(lambda t: explain.list_name(model, t))

    # radar: class fractions of each enterprise (against its own stage's maxima) and the stage's lines
    axes = radar_axes(model)
    radar = pd.DataFrame({"axis": list(axes.values())})
    for _, row in chosen.iterrows():  # at most five rows
        fr = class_fractions(model, row["stage"], {c.code: row[SUBTOTAL + c.code] for c in classes})
        radar[row["key"]] = [float(fr[a]) for a in axes]
    stage_fr = class_fractions(
        model, stage, {c.code: peers[SUBTOTAL + c.code].to_numpy(float) for c in classes}
    )
    for key, reduce in _REDUCERS.items():
        radar[key] = [reduce(np.asarray(stage_fr[a], dtype=float)) for a in axes]

    # table: total, class subtotals, then every indicator's points
    peer_ids = peers["enterprise_id"].to_numpy(dtype=np.int64)
    chosen_ids = chosen["enterprise_id"].to_numpy(dtype=np.int64)
    items: list[tuple[str, float | None, np.ndarray, np.ndarray]] = [
        ("总积分", None, chosen["total"].to_numpy(float), peers["total"].to_numpy(float))
    ]
    for c in classes:
        items.append(
            (
                c.name,
                None,
                chosen[SUBTOTAL + c.code].to_numpy(float),
                peers[SUBTOTAL + c.code].to_numpy(float),
            )
        )
    for ind in model.indicators:
        if ind.kind == "veto":
            continue
        points = run_indicator_column(session, run=run, model=model, code=ind.code, basis="points")
        items.append(
            (
                ind.name,
                explain.max_points(ind, stage),
                points.reindex(chosen_ids).to_numpy(float),
                points.reindex(peer_ids).to_numpy(float),
            )
        )
    rows = []
    for name, top, mine, stage_values in items:
        entry: dict = {"item": name, "max": top}
        for label, value in zip(chosen["label"], mine, strict=True):
            entry[label] = value
        for key, reduce in _REDUCERS.items():
            entry[BENCHMARKS[key]] = reduce(stage_values)
        rows.append(entry)
    table = pd.DataFrame(rows)
    other = chosen[chosen["stage"] != stage]["label"].tolist()
    return Comparison(
        **RunView.of(run, model),
        stage=stage,
        stage_name=model.stage_name(stage),
        stage_count=len(peers),
        enterprises=chosen[
            [
                "enterprise_id",
                "name",
                "credit_code",
                "stage",
                "stage_name",
                "total",
                "rank",
                "tier_name",
                "key",
                "label",
            ]
        ],
        radar=radar,
        table=table,
        other_stage=other,
    )


def _nan_reduce(fn):  # noqa: ANN001, ANN202
    def reduce(values: np.ndarray) -> float:
        values = np.asarray(values, dtype=float)
        values = values[~np.isnan(values)]
        return float(fn(values)) if len(values) else float("nan")

    return reduce


_REDUCERS = {
    "stage_mean": _nan_reduce(np.mean),
    "stage_median": _nan_reduce(np.median),
    "stage_top10": _nan_reduce(lambda v: np.quantile(v, 1 - TOP_SHARE)),
}
