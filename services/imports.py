"""Department imports, the use cases: template, dry run, all-or-nothing commit, undo, history.

A file is read and checked against the database (``services.import_check``), compared with the current
values (``services.import_diff``: a commit reuses its dry run's check and diff), and shown as an
``ImportReport`` (``services.import_report``). The commit writes through ``db.values`` — retire the
current rows the file replaces, then one bulk insert of the new rows — inside one SAVEPOINT, so a
failure half-way leaves nothing behind; undo flips ``is_current`` back for the batch's keys.

Each writing use case commits at its end (docs/architecture.md, "services/ conventions");
``write_import`` is the commit's part that works in the caller's transaction (a correction builds on it).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
from sqlalchemy import func, select, update
from sqlmodel import Session

from adapters.reader_worker import read_upload
from core import importing, source_profiles
from core.clock import display_time
from core.spreadsheet import (
    SheetChoiceNeeded,
    SpreadsheetError,
    header_table,
    write_xlsx,
)
from db.models import ImportBatch, utcnow
from db.values import batch_rows, insert_values, key_history, retire_current, retire_ids, set_current
from services import audit
from services.actor import Actor, require_staff
from services.dynamic import mark_changed
from services.errors import Conflict, NotFound, ValidationFailed
from services.import_check import (
    LIST_MODES,
    MAX_BYTES,
    READ_LIMITS,
    Phase,
    SheetChoiceRequired,
    Upload,
    is_profile,
    known_enterprises,
)
from services.import_diff import validate_file
from services.import_report import (
    BATCH_COLUMNS,
    STATUS_LABELS,
    ImportReport,
    UndoReport,
    batch_counts,
    batch_details,
    batch_time,
    build_report,
    left_alone,
    records,
    report_csv,
)
from services.model_versions import current_model

_record_batch = audit.Recorder("ImportBatch")

__all__ = [
    "BATCH_COLUMNS",
    "LIST_MODES",
    "MAX_BYTES",
    "STATUS_LABELS",
    "ImportReport",
    "SheetChoiceRequired",
    "UndoReport",
    "batch_time",
    "commit_import",
    "committed_count",
    "department_choices",
    "dry_run_import",
    "get_batch",
    "is_profile",
    "list_batches",
    "profile_choices",
    "recognise_profile",
    "report_csv",
    "template_xlsx",
    "undo_batch",
]


def department_choices(session: Session) -> list[str]:
    """The departments of the active model (its sources), then 综合 (every department's columns)."""
    return [*importing.departments(current_model(session)), importing.ALL_DEPARTMENTS]


def profile_choices() -> list[str]:
    """The source profiles (企查查, 天眼查, patent lists …) offered beside the departments."""
    return source_profiles.profile_names()


def recognise_profile(data: bytes, file_name: str) -> str | None:
    """The profile a file's header row belongs to (None: a department template or unknown)."""
    expected = list(
        dict.fromkeys(h for p in source_profiles.load_profiles() for h in source_profiles.all_headers(p))
    )
    try:
        read = read_upload(data, file_name, expected=expected, limits=READ_LIMITS)
        table = header_table(read.frame, expected)
    except (SpreadsheetError, SheetChoiceNeeded):
        return None
    found = source_profiles.recognise([str(c) for c in table.columns])
    return found.name if found else None


def _check_department(department: str, session: Session) -> None:
    if is_profile(department):
        return
    known = importing.departments(current_model(session))
    if department not in known and department != importing.ALL_DEPARTMENTS:
        raise ValidationFailed(f"未知的部门“{department}”，可选：{'、'.join(known)}")


def template_xlsx(session: Session, *, actor: Actor, department: str, year: int | None = None) -> bytes:
    """The department's import template: the data sheet, one long-form sheet per list indicator (one
    item per row), then the instructions sheet."""
    require_staff(actor)
    _check_department(department, session)
    model = current_model(session)
    cols = importing.department_columns(model, department)
    headers = importing.template_headers(model, department)
    sheets: dict[str, Any] = {"数据": pd.DataFrame({h: pd.Series(dtype="str") for h in headers})}
    for col in importing.list_columns(cols):
        sheets[col.name] = pd.DataFrame({h: pd.Series(dtype="str") for h in importing.item_headers(col)})
    sheets["填写说明"] = importing.instructions(model, department, year)
    return write_xlsx(sheets, constant_memory=False)


def _duplicate_of(session: Session, sha256: str) -> dict | None:
    batch = session.execute(
        select(ImportBatch)
        .where(ImportBatch.sha256 == sha256, ImportBatch.status == "committed")
        .order_by(ImportBatch.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if batch is None:
        return None
    return {
        "batch_id": batch.id,
        "committed_at": batch.committed_at,
        "created_by": batch.created_by,
        "file_name": batch.file_name,
    }


def _check_list_mode(list_mode: str | None) -> None:
    if list_mode is not None and list_mode not in LIST_MODES:
        raise ValidationFailed(f"列表导入方式应为 {'、'.join(f'{k}（{v}）' for k, v in LIST_MODES.items())}")


def dry_run_import(
    session: Session,
    *,
    actor: Actor,
    department: str,
    year: int,
    file_name: str,
    data: bytes,
    column_map: dict[str, str] | None = None,
    ignore: list[str] | None = None,
    list_mode: str | None = None,
    sheet: str | None = None,
    accepted_matches: dict[int, str] | None = None,
) -> ImportReport:
    """Check a file without changing any value; store the batch (status dry_run) with its report.

    ``department`` may name a source profile (``profile_choices()``: 企查查, 专利清单 …); then
    ``accepted_matches`` (row → credit code) are the officer's confirmations of fuzzy name matches.

    ``column_map`` (header → indicator code) and ``ignore`` (headers marked 不导入) are the officer's
    mapping of columns the model does not know; ``list_mode`` says whether list sheets replace or add
    to each enterprise's list. File-level problems (wrong type, empty, header only, too large, no
    credit-code column, wrong unit in a header) raise ``ValidationFailed`` and store nothing.
    """
    require_staff(actor)
    _check_department(department, session)
    _check_list_mode(list_mode)
    upload = Upload(department, year, file_name, data, column_map, ignore, list_mode, sheet, accepted_matches)
    timings: dict[str, float] = {}
    c = validate_file(session, upload, timings)
    v = c.v
    sha = hashlib.sha256(data).hexdigest()
    dup = _duplicate_of(session, sha)
    batch = ImportBatch(
        department=department,
        year=year,
        file_name=file_name[:255],
        sha256=sha,
        status="dry_run",
        created_by=actor.username,
        **batch_counts(v),
        details={
            **batch_details(c, upload),
            "sheet_option": sheet,
            "accepted_matches": {str(k): v for k, v in (accepted_matches or {}).items()},
        },
    )
    _record_batch.add(
        session,
        actor,
        "import.dry_run",
        batch,
        after={
            "department": department,
            "year": year,
            "file": file_name,
            "sha256": sha,
            "rows": v.row_count,
            "errors": v.error_count,
            "flags": len(v.flags),
            "skipped": len(c.skipped),
            "unmapped": [u["header"] for u in v.mapping.unmapped],
            "mismatches": len(c.mismatches),
            "changes": c.counts,
            "sheet": c.sheet,
        },
    )
    session.commit()
    return build_report(batch, upload, sha, "dry_run", c, dup, timings)


def commit_import(session: Session, *, actor: Actor, data: bytes, **options: Any) -> ImportReport:
    """Validate again and write every value, all or nothing, and commit: :func:`write_import` (same
    options) as one use case."""
    report = write_import(session, actor=actor, data=data, **options)
    session.commit()
    return report


def write_import(
    session: Session,
    *,
    actor: Actor,
    data: bytes,
    batch_id: int | None = None,
    department: str | None = None,
    year: int | None = None,
    file_name: str | None = None,
    confirm_duplicate: bool = False,
    column_map: dict[str, str] | None = None,
    ignore: list[str] | None = None,
    list_mode: str | None = None,
    accept_name_mismatch: bool = False,
    sheet: str | None = None,
    accepted_matches: dict[int, str] | None = None,
) -> ImportReport:
    """Validate again and write every value, all or nothing, in the caller's transaction.

    With ``batch_id`` the dry-run batch of the same file becomes the committed batch (its mapping and
    list mode apply unless given again); otherwise a new batch is created from
    ``department``/``year``/``file_name``. Refused whole (``ValidationFailed``): any row error, a column
    that looks like data and is neither mapped nor ignored, list sheets without a chosen ``list_mode``,
    name/code mismatches without ``accept_name_mismatch``. The same file committed before raises
    ``Conflict`` unless ``confirm_duplicate``.
    """
    require_staff(actor)
    _check_list_mode(list_mode)
    sha = hashlib.sha256(data).hexdigest()
    batch: ImportBatch | None = None
    if batch_id is not None:
        batch = get_batch(session, actor=actor, batch_id=batch_id)
        if batch.status != "dry_run":
            raise Conflict(f"导入批次 #{batch_id} 已经导入，不能再次确认")
        if batch.sha256 != sha:
            raise ValidationFailed("上传的文件与试导入时的文件不一致，请重新试导入")
        department, year, file_name = batch.department, batch.year, batch.file_name
        stored = batch.details or {}
        if column_map is None and ignore is None and stored.get("options"):
            column_map, ignore = stored["options"].get("column_map"), stored["options"].get("ignore")
        list_mode = list_mode or stored.get("list_mode")
        sheet = sheet or stored.get("sheet_option")  # the sheet the officer chose for the dry run
        if accepted_matches is None and stored.get("accepted_matches"):
            accepted_matches = {int(k): v for k, v in stored["accepted_matches"].items()}
    if department is None or year is None:
        raise ValidationFailed("请指定部门和年度")
    _check_department(department, session)
    file_name = file_name or "import"
    upload = Upload(department, year, file_name, data, column_map, ignore, list_mode, sheet, accepted_matches)
    timings: dict[str, float] = {}
    c = validate_file(session, upload, timings, reuse=batch is not None)
    v = c.v
    dup = _duplicate_of(session, sha)
    if v.error_count:
        raise ValidationFailed(
            f"文件有 {v.error_count} 处问题，整批未导入：{importing.summary_message(v.errors)}",
            problems=records(v.errors),
        )
    if v.mapping.unmapped:
        heads = "、".join(f"“{u['header']}”" for u in v.mapping.unmapped)
        raise ValidationFailed(
            f"有 {len(v.mapping.unmapped)} 列看似数据但没有对应到指标：{heads}，整批未导入；"
            "请把每列对应到一个指标，或标记为“不导入”"
        )
    if c.list_codes and list_mode not in LIST_MODES:
        raise ValidationFailed("文件含列表类指标的工作表：请选择“替换原有列表”或“追加到原有列表”后再导入")
    if len(c.mismatches) and not accept_name_mismatch:
        first = c.mismatches.iloc[0]
        raise ValidationFailed(
            f"{len(c.mismatches)} 行的企业名称与统一社会信用代码不是同一家企业（如第 {first['row']} 行："
            f"文件写“{first['file_name']}”，代码登记的是“{first['registered_name']}”），整批未导入；"
            "请核对，确认无误后勾选“确认名称不一致的行按信用代码导入”"
        )
    if dup is not None and not confirm_duplicate:
        raise Conflict(
            f"同一文件已于 {display_time(dup['committed_at'])} 导入过（批次 #{dup['batch_id']}，{dup['file_name']}）；"
            "如确需重复导入，请确认后再提交"
        )
    with Phase(timings, "write"):
        rows = c.write_values.rename(columns={"department": "source"})
        details = batch_details(c, upload)
        details["accepted_name_mismatch"] = bool(len(c.mismatches))
        details["accepted_matches"] = {str(k): v for k, v in (accepted_matches or {}).items()}
        # One SAVEPOINT: the retire and the insert stand or fall together whatever the caller does next.
        with session.begin_nested():
            if batch is None:
                batch = ImportBatch(
                    department=department,
                    year=year,
                    file_name=file_name[:255],
                    sha256=sha,
                    created_by=actor.username,
                )
                session.add(batch)
                session.flush()
            with Phase(timings, "retire"):  # parts of "write", timed apart for the benchmark
                retired = (
                    retire_ids(session, c.replaced_ids)
                    if c.replaced_ids is not None
                    else retire_current(session, year, rows)
                )
            with Phase(timings, "insert"):
                inserted = insert_values(
                    session, rows, year=year, batch_id=batch.id, submission_id=None, created_by=actor.username
                )
            now = utcnow()
            session.execute(
                update(ImportBatch)
                .where(ImportBatch.id == batch.id)
                .values(status="committed", committed_at=now, details=details, **batch_counts(v))
                .execution_options(synchronize_session=False)
            )
            _record_batch(
                session,
                actor,
                "import.commit",
                batch.id,
                before={"status": "dry_run", "replaced_values": retired},
                after={
                    "status": "committed",
                    "department": department,
                    "year": year,
                    "file": file_name,
                    "sha256": sha,
                    "rows": v.row_count,
                    "values": inserted,
                    "flags": len(v.flags),
                    "changes": c.counts,
                    "list_mode": list_mode,
                    "sheet": c.sheet,
                    "name_mismatches_accepted": len(c.mismatches),
                },
                reason="; ".join(
                    r
                    for r in (
                        "确认重复导入" if dup is not None else "",
                        "确认名称不一致" if len(c.mismatches) else "",
                    )
                    if r
                )
                or None,
            )
            mark_changed(session, year=year)  # 动态积分 of the year is recomputed in the background
            session.flush()
        session.expire(batch)
    return build_report(batch, upload, sha, "committed", c, dup, timings)


def undo_batch(session: Session, *, actor: Actor, batch_id: int, reason: str | None = None) -> UndoReport:
    """Revert a committed batch: the values it replaced become current again.

    A value of the batch that a later batch or an approved self-report has replaced since is left alone
    and listed. Rows of batches reverted before are never brought back. Score runs keep their stored
    inputs and are not touched. Audited; the batch's status becomes ``reverted``.
    """
    batch = get_batch(session, actor=actor, batch_id=batch_id)
    if batch.status != "committed":
        label = STATUS_LABELS.get(batch.status, batch.status)
        raise Conflict(f"导入批次 #{batch_id} 的状态是“{label}”，只有已导入的批次可以撤销")
    year = batch.year
    own = batch_rows(session, batch_id)
    reverted_batches = set(
        session.execute(select(ImportBatch.id).where(ImportBatch.status == "reverted")).scalars().all()
    )
    hist = key_history(session, year, own)
    # Predecessor of each current row of the batch: the latest earlier row of the same key that is
    # neither this batch's nor a reverted batch's.
    current_own = own[own["is_current"].astype(bool)]
    eligible = hist[~hist["batch_id"].isin(reverted_batches | {batch_id})]
    cand = eligible.merge(
        current_own[["id", "enterprise_id", "code"]].rename(columns={"id": "own_id"}),
        on=["enterprise_id", "code"],
    )
    cand = cand[cand["id"] < cand["own_id"]]
    restore_ids = cand.groupby("own_id")["id"].max().astype("int64").tolist()
    # Replaced since: the next row after each non-current row of the batch.
    stale = own[~own["is_current"].astype(bool)]
    later = hist.merge(
        stale[["id", "enterprise_id", "code"]].rename(columns={"id": "own_id"}), on=["enterprise_id", "code"]
    )
    later = later[later["id"] > later["own_id"]].sort_values("id").groupby("own_id").head(1)
    left = left_alone(later, known_enterprises(session), current_model(session))
    own_current_ids = current_own["id"].astype("int64").tolist()
    with session.begin_nested():
        set_current(session, own_current_ids, False)
        set_current(session, restore_ids, True)
        details = dict(batch.details or {})
        details["undo"] = {
            "at": utcnow().isoformat(),
            "by": actor.username,
            "reason": reason,
            "reverted": len(own_current_ids),
            "restored": len(restore_ids),
            "left_alone": len(left),
        }
        session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id)
            .values(status="reverted", details=details)
            .execution_options(synchronize_session=False)
        )
        _record_batch(
            session,
            actor,
            "import.undo",
            batch_id,
            before={"status": "committed", "current_values": len(own_current_ids)},
            after={
                "status": "reverted",
                "reverted": len(own_current_ids),
                "restored": len(restore_ids),
                "left_alone": left.head(100)[["credit_code", "code", "replaced_by"]].to_dict("records"),
            },
            reason=reason,
        )
        mark_changed(session, year=year)  # the restored values count in 动态积分 too
        session.flush()
    session.commit()
    session.expire(batch)
    return UndoReport(
        batch_id=batch_id,
        reverted=len(own_current_ids),
        restored=len(restore_ids),
        left_alone=left.reset_index(drop=True),
    )


def list_batches(
    session: Session,
    *,
    actor: Actor,
    department: str | None = None,
    year: int | None = None,
    status: str | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """Import history, newest first (English column names; ``BATCH_COLUMNS`` gives the Chinese ones)."""
    require_staff(actor)
    cols = [getattr(ImportBatch, c) for c in BATCH_COLUMNS]
    stmt = select(*cols).order_by(ImportBatch.id.desc()).limit(limit)
    if department:
        stmt = stmt.where(ImportBatch.department == department)
    if year:
        stmt = stmt.where(ImportBatch.year == year)
    if status:
        stmt = stmt.where(ImportBatch.status == status)
    rows = session.execute(stmt).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=list(BATCH_COLUMNS))


def get_batch(session: Session, *, actor: Actor, batch_id: int) -> ImportBatch:
    require_staff(actor)
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound(f"导入批次 #{batch_id} 不存在")
    return batch


def committed_count(session: Session) -> int:
    """Committed batches (tests and the workbench use it)."""
    return session.execute(
        select(func.count()).select_from(ImportBatch).where(ImportBatch.status == "committed")
    ).scalar_one()
