"""Department imports: template, dry run with a per-row report, all-or-nothing commit, history.

The pure checks live in ``core.importing``; this module adds what needs the database: the set of known
credit codes, the stage of each enterprise (for outlier groups), the duplicate-file check by sha256,
and the write itself — retire the current rows that the file replaces, then bulk-insert the new rows,
inside one SAVEPOINT so that a failure half-way leaves nothing behind.

Services flush but do not commit: the caller's ``session_scope`` (page or CLI) commits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select, update
from sqlmodel import Session

from core import importing
from core.scoring_model import ScoringModel
from core.spreadsheet import (
    DEFAULT_MAX_BYTES,
    SpreadsheetError,
    apply_header,
    find_header_row,
    read_table,
    write_csv,
    write_xlsx,
)
from core.timefmt import display_time
from db.models import Enterprise, ImportBatch, IndicatorValue, utcnow
from services import audit
from services.actor import Actor, require_staff
from services.errors import Conflict, NotFound, ValidationFailed
from services.model_versions import current_model

MAX_BYTES = DEFAULT_MAX_BYTES
INSERT_CHUNK = 50_000
IN_CHUNK = 20_000
SQLITE_CACHE_KIB = 256 * 1024


@dataclass
class ImportReport:
    """What a dry run (or commit) found; ``errors``/``flags`` are ``[{row, column, value, problem, fix}]``."""

    batch_id: int | None
    department: str
    year: int
    file_name: str
    sha256: str
    status: str
    row_count: int
    accepted_count: int
    error_count: int
    flagged_count: int
    value_count: int
    errors: list[dict] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)
    mapped_columns: dict[str, str] = field(default_factory=dict)  # file header → code
    ignored_columns: list[str] = field(default_factory=list)
    duplicate_of: dict | None = None  # {batch_id, committed_at, created_by} of the same file
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def errors_frame(self) -> pd.DataFrame:
        return importing.report_frame(self.errors)

    def flags_frame(self) -> pd.DataFrame:
        return importing.report_frame(self.flags)


def _model(session: Session) -> ScoringModel:
    """The model whose columns the templates carry: the active published version, else the shipped one."""
    return current_model(session)


def _check_department(department: str) -> None:
    if department not in importing.DEPARTMENTS and department != importing.ALL_DEPARTMENTS:
        raise ValidationFailed(f"未知的部门“{department}”，可选：{'、'.join(importing.DEPARTMENTS)}")


def template_xlsx(session: Session, *, actor: Actor, department: str, year: int | None = None) -> bytes:
    """The department's import template: a data sheet with Chinese headers and an instructions sheet."""
    require_staff(actor)
    _check_department(department)
    model = _model(session)
    headers = importing.template_headers(model, department)
    data = pd.DataFrame({h: pd.Series(dtype="str") for h in headers})
    return write_xlsx({"数据": data, "填写说明": importing.instructions(model, department, year)},
                      constant_memory=False)


# --------------------------------------------------------------------------- reading and validating
def _read(model: ScoringModel, department: str, file_name: str, data: bytes) -> pd.DataFrame:
    if len(data) > MAX_BYTES:
        raise ValidationFailed(f"文件“{file_name}”过大（{len(data) / 1024 / 1024:.1f} MB），上限为 50 MB；请拆分后分批导入")
    try:
        raw = read_table(data, file_name, max_bytes=MAX_BYTES)
        cols = importing.department_columns(model, department)
        header_row = find_header_row(raw, importing.expected_headers(cols))
        table = apply_header(raw, header_row)
    except SpreadsheetError as exc:
        raise ValidationFailed(str(exc)) from None
    if table.empty:
        raise ValidationFailed(f"文件“{file_name}”只有表头，没有数据行")
    return table


def _known_enterprises(session: Session) -> pd.Series:
    """enterprise id by credit code."""
    rows = session.execute(select(Enterprise.credit_code, Enterprise.id)).all()
    if not rows:
        return pd.Series(dtype="int64")
    codes, ids = zip(*rows, strict=True)
    return pd.Series(np.asarray(ids, dtype=np.int64), index=pd.Index(codes, dtype=object))


def _stages(session: Session, model: ScoringModel, year: int) -> pd.Series:
    """Stage code by credit code, from the current stage-indicator values of the year."""
    rows = session.execute(
        select(Enterprise.credit_code, IndicatorValue.value_num)
        .join(Enterprise, Enterprise.id == IndicatorValue.enterprise_id)
        .where(IndicatorValue.year == year, IndicatorValue.code == model.stage_indicator,
               IndicatorValue.is_current.is_(True))
    ).all()
    if not rows:
        return pd.Series(dtype=object)
    codes, revenue = zip(*rows, strict=True)
    return importing.stage_series(model, pd.Series(revenue, index=pd.Index(codes), dtype=float))


def _validate(session: Session, department: str, year: int, file_name: str, data: bytes,
              timings: dict[str, float]) -> tuple[importing.Validation, pd.Series]:
    import time

    model = _model(session)
    t0 = time.perf_counter()
    table = _read(model, department, file_name, data)
    t1 = time.perf_counter()
    known = _known_enterprises(session)
    try:
        result = importing.validate(model, department, table, known_codes=known.index,
                                    stages=_stages(session, model, year))
    except importing.ImportFileError as exc:
        raise ValidationFailed(str(exc)) from None
    timings["read"] = t1 - t0
    timings["validate"] = time.perf_counter() - t1
    return result, known


def _duplicate_of(session: Session, sha256: str) -> dict | None:
    batch = session.execute(
        select(ImportBatch).where(ImportBatch.sha256 == sha256, ImportBatch.status == "committed")
        .order_by(ImportBatch.id.desc()).limit(1)
    ).scalar_one_or_none()
    if batch is None:
        return None
    return {"batch_id": batch.id, "committed_at": batch.committed_at, "created_by": batch.created_by,
            "file_name": batch.file_name}


def _records(frame: pd.DataFrame) -> list[dict]:
    head = frame.head(importing.MAX_REPORTED)
    out = []
    for r in head.itertuples(index=False):
        out.append({"row": int(r.row), "column": str(r.column), "value": "" if r.value is None else str(r.value),
                    "problem": str(r.problem), "fix": str(r.fix)})
    return out


def _report(batch: ImportBatch | None, department: str, year: int, file_name: str, sha: str, status: str,
            v: importing.Validation, dup: dict | None, timings: dict[str, float]) -> ImportReport:
    return ImportReport(
        batch_id=batch.id if batch else None, department=department, year=year, file_name=file_name, sha256=sha,
        status=status, row_count=v.row_count, accepted_count=v.accepted_rows, error_count=v.error_count,
        flagged_count=len(v.flags), value_count=len(v.values), errors=_records(v.errors),
        flags=_records(v.flags), mapped_columns={h: c.code for h, c in v.mapping.columns.items()},
        ignored_columns=v.mapping.ignored, duplicate_of=dup, timings=timings,
    )


def dry_run_import(session: Session, *, actor: Actor, department: str, year: int, file_name: str,
                   data: bytes) -> ImportReport:
    """Check a file without changing any value; store the batch (status dry_run) with its report.

    File-level problems (wrong type, empty, header only, too large, no credit-code column) raise
    ``ValidationFailed`` and store nothing.
    """
    require_staff(actor)
    _check_department(department)
    timings: dict[str, float] = {}
    v, _known = _validate(session, department, year, file_name, data, timings)
    sha = hashlib.sha256(data).hexdigest()
    dup = _duplicate_of(session, sha)
    batch = ImportBatch(
        department=department, year=year, file_name=file_name[:255], sha256=sha, row_count=v.row_count,
        accepted_count=v.accepted_rows, error_count=v.error_count, flagged_count=len(v.flags),
        errors=_records(v.errors), flags=_records(v.flags), status="dry_run", created_by=actor.username,
    )
    session.add(batch)
    session.flush()
    audit.record(session, actor=actor, action="import.dry_run", entity="ImportBatch", entity_id=batch.id,
                 after={"department": department, "year": year, "file": file_name, "sha256": sha,
                        "rows": v.row_count, "errors": v.error_count, "flags": len(v.flags)})
    session.flush()
    return _report(batch, department, year, file_name, sha, "dry_run", v, dup, timings)


# --------------------------------------------------------------------------- writing
def _bind(dialect: Any, column: str, value: Any) -> Any:
    """A constant passed through the column type's bind processing (raw executemany skips it)."""
    proc = IndicatorValue.__table__.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return proc(value) if proc else value


def _retire_current(session: Session, year: int, values: pd.DataFrame) -> int:
    """Mark the current rows that the new values replace as not current (bulk, per code)."""
    retired = 0
    for code, ids in values.groupby("code", sort=False)["enterprise_id"]:
        id_list = ids.astype("int64").tolist()
        for start in range(0, len(id_list), IN_CHUNK):
            chunk = id_list[start:start + IN_CHUNK]
            result = session.execute(
                update(IndicatorValue)
                .where(IndicatorValue.year == year, IndicatorValue.code == code,
                       IndicatorValue.is_current.is_(True), IndicatorValue.enterprise_id.in_(chunk))
                .values(is_current=False)
                .execution_options(synchronize_session=False)
            )
            retired += result.rowcount or 0
    return retired


def _insert_values(session: Session, rows: pd.DataFrame, *, year: int, batch_id: int | None,
                   submission_id: int | None, created_by: str) -> int:
    """Bulk insert through the driver's executemany with tuples (10× faster than dicts through Core)."""
    if rows.empty:
        return 0
    connection = session.connection()
    dialect = connection.dialect
    ph = "?" if dialect.paramstyle == "qmark" else "%s"
    cols = ["enterprise_id", "year", "code", "value_num", "value_text", "source", "is_current", "flagged",
            "batch_id", "submission_id", "created_by", "created_at"]
    sql = f"INSERT INTO indicatorvalue ({', '.join(cols)}) VALUES ({', '.join([ph] * len(cols))})"
    n = len(rows)
    true_ = _bind(dialect, "is_current", True)
    now = _bind(dialect, "created_at", utcnow())
    nums = rows["value_num"].to_numpy(dtype=float)
    num_list = np.where(np.isnan(nums), None, nums).tolist()
    text = rows["value_text"].astype(object)
    text_list = text.where(text.notna(), None).tolist()
    flagged = [_bind(dialect, "flagged", bool(x)) for x in rows["flagged"].to_numpy(dtype=bool)] \
        if rows["flagged"].any() else [_bind(dialect, "flagged", False)] * n
    tuples = list(zip(
        rows["enterprise_id"].astype("int64").tolist(), [year] * n, rows["code"].astype(object).tolist(),
        num_list, text_list, rows["source"].astype(object).tolist(), [true_] * n, flagged,
        [batch_id] * n, [submission_id] * n, [created_by] * n, [now] * n, strict=True,
    ))
    dbapi = connection.connection.cursor()
    if dialect.name == "sqlite":
        # The default 2 MB page cache spills the four index B-trees to the WAL mid-transaction; a
        # larger cache for this connection halves a 2M-row import (memory is returned on close).
        dbapi.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        for start in range(0, n, INSERT_CHUNK):
            dbapi.executemany(sql, tuples[start:start + INSERT_CHUNK])
    finally:
        dbapi.close()
    return n


def replace_values(session: Session, *, year: int, rows: pd.DataFrame, batch_id: int | None = None,
                   submission_id: int | None = None, created_by: str) -> int:
    """Retire the current rows of (enterprise, code) in ``rows`` and insert ``rows`` as current.

    ``rows``: enterprise_id, code, value_num, value_text, source, flagged. Shared with the review
    service (approval writes self-reported values the same way).
    """
    _retire_current(session, year, rows)
    return _insert_values(session, rows, year=year, batch_id=batch_id, submission_id=submission_id,
                          created_by=created_by)


def commit_import(session: Session, *, actor: Actor, data: bytes, batch_id: int | None = None,
                  department: str | None = None, year: int | None = None, file_name: str | None = None,
                  confirm_duplicate: bool = False) -> ImportReport:
    """Validate again and write every value, all or nothing.

    With ``batch_id`` the dry-run batch of the same file becomes the committed batch; otherwise a new
    batch is created from ``department``/``year``/``file_name``. A file with any error is rejected whole
    (``ValidationFailed``); the same file committed before raises ``Conflict`` unless
    ``confirm_duplicate``.
    """
    import time

    require_staff(actor)
    sha = hashlib.sha256(data).hexdigest()
    batch: ImportBatch | None = None
    if batch_id is not None:
        batch = session.get(ImportBatch, batch_id)
        if batch is None:
            raise NotFound(f"导入批次 #{batch_id} 不存在")
        if batch.status != "dry_run":
            raise Conflict(f"导入批次 #{batch_id} 已经导入，不能再次确认")
        if batch.sha256 != sha:
            raise ValidationFailed("上传的文件与试导入时的文件不一致，请重新试导入")
        department, year, file_name = batch.department, batch.year, batch.file_name
    if department is None or year is None:
        raise ValidationFailed("请指定部门和年度")
    _check_department(department)
    file_name = file_name or "import"
    timings: dict[str, float] = {}
    v, known = _validate(session, department, year, file_name, data, timings)
    dup = _duplicate_of(session, sha)
    if v.error_count:
        raise ValidationFailed(
            f"文件有 {v.error_count} 处问题，整批未导入：{importing.summary_message(v.errors)}",
            problems=_records(v.errors),
        )
    if dup is not None and not confirm_duplicate:
        raise Conflict(f"同一文件已于 {display_time(dup['committed_at'])} 导入过（批次 #{dup['batch_id']}，{dup['file_name']}）；"
                       "如确需重复导入，请确认后再提交")
    t0 = time.perf_counter()
    rows = v.values.copy()
    rows["enterprise_id"] = known.reindex(rows["credit_code"].to_numpy()).to_numpy()
    rows = rows.rename(columns={"department": "source"})
    # One SAVEPOINT: the retire and the insert stand or fall together whatever the caller does next.
    with session.begin_nested():
        if batch is None:
            batch = ImportBatch(department=department, year=year, file_name=file_name[:255], sha256=sha,
                                created_by=actor.username)
            session.add(batch)
            session.flush()
        retired = _retire_current(session, year, rows)
        inserted = _insert_values(session, rows, year=year, batch_id=batch.id, submission_id=None,
                                  created_by=actor.username)
        now = utcnow()
        session.execute(
            update(ImportBatch).where(ImportBatch.id == batch.id).values(
                status="committed", committed_at=now, row_count=v.row_count, accepted_count=v.accepted_rows,
                error_count=0, flagged_count=len(v.flags), errors=[], flags=_records(v.flags))
            .execution_options(synchronize_session=False)
        )
        audit.record(session, actor=actor, action="import.commit", entity="ImportBatch", entity_id=batch.id,
                     before={"status": "dry_run", "replaced_values": retired},
                     after={"status": "committed", "department": department, "year": year, "file": file_name,
                            "sha256": sha, "rows": v.row_count, "values": inserted, "flags": len(v.flags)},
                     reason="确认重复导入" if dup is not None else None)
        session.flush()
    session.expire(batch)
    timings["write"] = time.perf_counter() - t0
    return _report(batch, department, year, file_name, sha, "committed", v, dup, timings)


# --------------------------------------------------------------------------- history
BATCH_COLUMNS = {"id": "批次", "department": "部门", "year": "年度", "file_name": "文件名", "status": "状态",
                 "row_count": "行数", "accepted_count": "通过行数", "error_count": "问题数",
                 "flagged_count": "待核实数", "created_by": "操作人", "created_at": "试导入时间",
                 "committed_at": "导入时间", "sha256": "文件指纹"}
STATUS_LABELS = {"dry_run": "试导入", "committed": "已导入"}


def list_batches(session: Session, *, actor: Actor, department: str | None = None, year: int | None = None,
                 status: str | None = None, limit: int = 500) -> pd.DataFrame:
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


def report_csv(batch: ImportBatch) -> bytes:
    """The batch's report (errors, then flags) as a sanitised csv."""
    errors = importing.report_frame(batch.errors or [])
    errors.insert(0, "类型", "错误")
    flags = importing.report_frame(batch.flags or [])
    flags.insert(0, "类型", "待核实")
    frame = pd.concat([errors, flags], ignore_index=True) if len(flags) else errors
    return write_csv(frame)


def committed_count(session: Session) -> int:
    """Committed batches (tests and the workbench use it)."""
    return session.execute(
        select(func.count()).select_from(ImportBatch).where(ImportBatch.status == "committed")).scalar_one()


def batch_time(value: datetime | None) -> str:
    return display_time(value)
