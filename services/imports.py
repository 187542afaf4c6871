"""Department imports: template, dry run with a per-row report, all-or-nothing commit, history.

The pure checks live in ``core.importing``; this module adds what needs the database: the set of known
credit codes, the stage of each enterprise (for outlier groups), the duplicate-file check by sha256,
and the write itself — retire the current rows that the file replaces, then bulk-insert the new rows,
inside one SAVEPOINT so that a failure half-way leaves nothing behind.

Services flush but do not commit: the caller's ``session_scope`` (page or CLI) commits.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select, update
from sqlmodel import Session

from adapters.reader_worker import read_table, read_upload
from core import importing, listtext, source_profiles
from core.clock import display_time
from core.scoring_model import FlagRule, ItemsRule, ScoringModel
from core.spreadsheet import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_BYTES,
    ReadResult,
    SheetChoiceNeeded,
    SpreadsheetError,
    apply_header,
    detect_format,
    find_header_row,
    sheet_visibility,
    write_csv,
    write_xlsx,
)
from db.bulk import insert_columns
from db.models import SELF_REPORT_SOURCE, Enterprise, ImportBatch, IndicatorValue, utcnow
from services import audit
from services.actor import Actor, require_staff
from services.dynamic import mark_changed
from services.errors import Conflict, NotFound, ValidationFailed
from services.model_versions import current_model

MAX_BYTES = DEFAULT_MAX_BYTES
LIST_MODES = {"replace": "替换原有列表", "add": "追加到原有列表"}
DIFF_LABELS = {
    "credit_code": "统一社会信用代码",
    "name": "企业名称",
    "code": "指标代码",
    "indicator": "指标",
    "old": "当前值",
    "new": "导入后",
    "status": "变化",
}
MISMATCH_LABELS = {
    "row": "行号",
    "credit_code": "统一社会信用代码",
    "file_name": "文件中的企业名称",
    "registered_name": "该代码登记的企业名称",
    "other_code": "该名称所属企业的代码",
}
IN_CHUNK = 20_000
SQLITE_CACHE_KIB = 256 * 1024
READ_LIMITS = replace(DEFAULT_LIMITS, max_bytes=MAX_BYTES)


class _Phase:
    """Wall and CPU time of one phase of an import, added to ``timings[name]`` and ``timings[name + "_cpu"]``
    (CPU time of this process, all threads: under load it is the figure that still compares)."""

    def __init__(self, timings: dict[str, float], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> _Phase:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        t = self.timings
        t[self.name] = t.get(self.name, 0.0) + time.perf_counter() - self.wall
        t[f"{self.name}_cpu"] = t.get(f"{self.name}_cpu", 0.0) + time.process_time() - self.cpu


class SheetChoiceRequired(ValidationFailed):
    """Several visible sheets hold data: the officer picks one (UI selectbox, CLI ``--sheet``)."""

    def __init__(self, message: str, sheets: list[str]) -> None:
        super().__init__(message)
        self.sheets = sheets


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
    skipped: list[dict] = field(default_factory=list)  # [{row, reason}] (sheet-qualified for list sheets)
    unmapped: list[dict] = field(default_factory=list)  # [{header, suggestions}] — blocks the commit
    notes: list[str] = field(default_factory=list)  # unit conversions, sheets read, list mode
    mismatches: list[dict] = field(
        default_factory=list
    )  # [{row, credit_code, file_name, registered_name, other_code}]
    list_codes: list[str] = field(default_factory=list)  # list indicators the file carries (long-form sheets)
    list_mode: str | None = None  # "replace" / "add"
    sheets: list[str] = field(default_factory=list)
    diff: pd.DataFrame | None = None  # raw: enterprise_id, credit_code, code, old/new num/text, status
    diff_counts: dict[str, int] = field(default_factory=dict)
    model: ScoringModel | None = field(default=None, repr=False)
    names: pd.Series | None = field(default=None, repr=False)  # registered name by credit code
    sheet: str | None = None  # the data sheet read (None for csv or a file of list sheets only)
    sheet_note: str = ""  # which sheet was read and which were skipped (also the first of ``notes``)
    other_sheets: list[str] = field(default_factory=list)  # other visible sheets with a header, not read
    # Source profiles (issue 18): how each row was matched, and the rows waiting for the officer
    matches: list[dict] = field(default_factory=list)  # [{row, credit_code, method, key}]
    pending: list[dict] = field(
        default_factory=list
    )  # [{row, name, candidates: [{credit_code, name, score}]}]

    @property
    def ok(self) -> bool:
        """Nothing blocks the commit but the officer's confirmations (name mismatches, list mode)."""
        return self.error_count == 0 and not self.unmapped

    @property
    def needs_list_mode(self) -> bool:
        return bool(self.list_codes) and self.list_mode not in LIST_MODES

    def summary(self) -> str:
        """One Chinese line; a file that cannot be imported never says how many values it would write."""
        head = f"{self.row_count} 行"
        if self.skipped:
            head += f"（另跳过 {len(self.skipped)} 行非数据行）"
        if not self.ok:
            parts = [f"问题 {self.error_count} 处"] if self.error_count else []
            if self.unmapped:
                parts.append(f"{len(self.unmapped)} 列未对应指标")
            return f"{head}；{'，'.join(parts)}：不能导入，请改正后重新试导入"
        counts = self.diff_counts or {}
        tail = "；".join(f"{k} {counts.get(k, 0)} 个" for k in importing.DIFF_STATES) if counts else ""
        text = f"{head}；可写入 {self.value_count} 个数值" + (f"（{tail}）" if tail else "")
        if self.flagged_count:
            text += f"；待核实 {self.flagged_count} 处"
        if self.mismatches:
            text += f"；{len(self.mismatches)} 行企业名称与信用代码不一致，须确认"
        return text

    def diff_codes(self) -> dict[str, str]:
        """Code → what a filter shows for the codes in the diff: "研发费用总额（T01）" for an indicator,
        the bare name for a base field ("成本费用总额", never ``total_cost``)."""
        if self.diff is None or self.model is None:
            return {}
        labels = _labels(self.model)
        indicators = set(self.model.codes)
        return {
            c: f"{labels.get(c, c)}（{c}）" if c in indicators else labels.get(c, "其他数据项")
            for c in sorted(pd.unique(self.diff["code"].to_numpy(dtype=object)))
        }

    def diff_frame(
        self,
        status: str | None = None,
        code: str | None = None,
        query: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """What will change, with Chinese column names (changed first, then new, then unchanged),
        optionally filtered by state, indicator and enterprise; formatted only for the rows returned."""
        if self.diff is None or self.model is None or self.names is None:
            return pd.DataFrame(columns=list(DIFF_LABELS.values()))
        df = self.diff
        mask = np.ones(len(df), dtype=bool)
        if status:
            mask &= (df["status"] == status).to_numpy()
        if code:
            mask &= (df["code"] == code).to_numpy()
        if query and query.strip():
            q = query.strip()
            credit = df["credit_code"].astype("str")
            where = self.names.index.get_indexer(
                pd.Index(df["credit_code"].to_numpy(dtype=object), dtype=object)
            )
            names = pd.Series(np.where(where >= 0, self.names.to_numpy(dtype=object)[where], ""), dtype="str")
            mask &= credit.str.contains(q, regex=False).to_numpy(dtype=bool) | names.str.contains(
                q, regex=False
            ).to_numpy(dtype=bool)
        shown = _diff_display(self.model, df[mask], self.names, limit=limit)
        return shown.reindex(columns=list(DIFF_LABELS)).rename(columns=DIFF_LABELS)

    def skipped_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.skipped, columns=["row", "reason"]).rename(
            columns={"row": "行号", "reason": "跳过原因"}
        )

    def mismatch_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.mismatches, columns=list(MISMATCH_LABELS)).rename(columns=MISMATCH_LABELS)

    def errors_frame(self) -> pd.DataFrame:
        return importing.report_frame(self.errors)

    def flags_frame(self) -> pd.DataFrame:
        return importing.report_frame(self.flags)


def _model(session: Session) -> ScoringModel:
    """The model whose columns the templates carry: the active published version, else the shipped one."""
    return current_model(session)


def department_choices(session: Session) -> list[str]:
    """The departments of the active model (its sources), then 综合 (every department's columns)."""
    return [*importing.departments(_model(session)), importing.ALL_DEPARTMENTS]


def profile_choices() -> list[str]:
    """The source profiles (企查查, 天眼查, patent lists …) offered beside the departments."""
    return source_profiles.profile_names()


def is_profile(department: str | None) -> bool:
    return department in source_profiles.profile_names()


def recognise_profile(data: bytes, file_name: str) -> str | None:
    """The profile a file's header row belongs to (None: a department template or unknown)."""
    expected = list(
        dict.fromkeys(h for p in source_profiles.load_profiles() for h in source_profiles.all_headers(p))
    )
    try:
        read = read_upload(data, file_name, expected=expected, limits=READ_LIMITS)
        table = apply_header(read.frame, find_header_row(read.frame, expected))
    except (SpreadsheetError, SheetChoiceNeeded):
        return None
    found = source_profiles.recognise([str(c) for c in table.columns])
    return found.name if found else None


def _check_department(department: str, session: Session) -> None:
    if is_profile(department):
        return
    known = importing.departments(_model(session))
    if department not in known and department != importing.ALL_DEPARTMENTS:
        raise ValidationFailed(f"未知的部门“{department}”，可选：{'、'.join(known)}")


def template_xlsx(session: Session, *, actor: Actor, department: str, year: int | None = None) -> bytes:
    """The department's import template: the data sheet, one long-form sheet per list indicator (one
    item per row), then the instructions sheet."""
    require_staff(actor)
    _check_department(department, session)
    model = _model(session)
    cols = importing.department_columns(model, department)
    headers = importing.template_headers(model, department)
    sheets: dict[str, Any] = {"数据": pd.DataFrame({h: pd.Series(dtype="str") for h in headers})}
    for col in importing.list_columns(cols):
        sheets[col.name] = pd.DataFrame({h: pd.Series(dtype="str") for h in importing.item_headers(col)})
    sheets["填写说明"] = importing.instructions(model, department, year)
    return write_xlsx(sheets, constant_memory=False)


# --------------------------------------------------------------------------- reading and validating
@dataclass
class _Tables:
    main: pd.DataFrame | None  # the data sheet (apply_header output); None when the file has only list sheets
    lists: dict[str, tuple[importing.TemplateColumn, pd.DataFrame]]  # sheet name → (list column, table)
    main_sheet: str = ""
    read: ReadResult | None = None  # how the data sheet was chosen
    hidden: list[str] = field(default_factory=list)  # hidden sheets, never read


INSTRUCTION_SHEETS = ("填写说明", "说明")


def _read(
    model: ScoringModel, department: str, file_name: str, data: bytes, sheet: str | None = None
) -> _Tables:
    if len(data) > MAX_BYTES:
        raise ValidationFailed(
            f"文件“{file_name}”过大（{len(data) / 1024 / 1024:.1f} MB），上限为 50 MB；请拆分后分批导入"
        )
    cols = importing.department_columns(model, department)
    try:
        visibility = sheet_visibility(data) if detect_format(data, file_name) != "csv" else {}
        sheets = list(visibility)
        hidden = [s for s, shown in visibility.items() if not shown]
        list_sheet = {s: importing.sheet_column(s, cols) for s in sheets if s not in hidden}
        list_sheet = {s: c for s, c in list_sheet.items() if c is not None}
        every = importing.department_columns(model, importing.ALL_DEPARTMENTS)
        foreign = [
            s
            for s in sheets
            if s not in hidden and s not in list_sheet and importing.sheet_column(s, every) is not None
        ]
        if foreign:
            owner = importing.sheet_column(foreign[0], every)
            raise ValidationFailed(
                f"工作表“{foreign[0]}”是{owner.department}部门报送的内容，不能在{department}导入中导入；"
                f"请选择部门“{owner.department}”或“{importing.ALL_DEPARTMENTS}”，或删除该工作表"
            )
        others = [s for s in sheets if s not in list_sheet and s not in INSTRUCTION_SHEETS]
        lists: dict[str, tuple[importing.TemplateColumn, pd.DataFrame]] = {}
        for name, col in list_sheet.items():
            raw = read_table(data, file_name, max_bytes=MAX_BYTES, sheet=name)
            table = apply_header(raw, find_header_row(raw, importing.item_headers(col)))
            if not table.empty:
                lists[name] = (col, table)
        main: pd.DataFrame | None = None
        read: ReadResult | None = None
        if not sheets or others or sheet:
            expected = importing.expected_headers(importing.main_columns(cols))
            try:
                # Never a hidden sheet; the data sheet is the visible one with the template's header.
                read = read_upload(
                    data,
                    file_name,
                    expected=expected,
                    sheet=sheet,
                    limits=READ_LIMITS,
                    exclude=[*list_sheet, *INSTRUCTION_SHEETS],
                )
            except SheetChoiceNeeded as exc:
                raise SheetChoiceRequired(str(exc), exc.candidates) from None
            except SpreadsheetError:
                if not lists:
                    raise
            if read is not None:
                try:
                    main = apply_header(read.frame, find_header_row(read.frame, expected))
                except SpreadsheetError as exc:
                    raise SpreadsheetError(
                        (f"工作表“{read.sheet}”：" if read.sheet else "") + str(exc)
                    ) from None
    except SpreadsheetError as exc:
        raise ValidationFailed(str(exc)) from None
    if (main is None or main.empty) and not lists:
        raise ValidationFailed(f"文件“{file_name}”只有表头，没有数据行")
    return _Tables(
        main=main, lists=lists, main_sheet=(read.sheet or "") if read else "", read=read, hidden=hidden
    )


def _known_enterprises(session: Session) -> pd.DataFrame:
    """Registered enterprises: id and name by credit code (through the driver: 100,000 rows)."""
    rows = session.connection().exec_driver_sql("SELECT credit_code, id, name FROM enterprise").fetchall()
    if not rows:
        return pd.DataFrame(
            {"id": pd.Series(dtype="int64"), "name": pd.Series(dtype=object)},
            index=pd.Index([], dtype=object, name="credit_code"),
        )
    codes, ids, names = zip(*rows, strict=True)
    # Object dtype: the 2M values of a file are looked up here by code, and a str index would first
    # copy every one of them into Arrow.
    return pd.DataFrame(
        {"id": np.asarray(ids, dtype=np.int64), "name": np.asarray(names, dtype=object)},
        index=pd.Index(np.asarray(codes, dtype=object), name="credit_code", dtype=object),
    )


def _stages(session: Session, model: ScoringModel, year: int) -> pd.Series:
    """Stage code by credit code, from the current stage-indicator values of the year."""
    rows = session.execute(
        select(Enterprise.credit_code, IndicatorValue.value_num)
        .join(Enterprise, Enterprise.id == IndicatorValue.enterprise_id)
        .where(
            IndicatorValue.year == year,
            IndicatorValue.code == model.stage_indicator,
            IndicatorValue.is_current.is_(True),
        )
    ).all()
    if not rows:
        return pd.Series(dtype=object)
    codes, revenue = zip(*rows, strict=True)
    return importing.stage_series(model, pd.Series(revenue, index=pd.Index(codes), dtype=float))


@dataclass
class _Checked:
    """Everything one validation of a file found (main sheet and list sheets together)."""

    v: importing.Validation  # the combined validation (values with enterprise ids, diff-ready)
    known: pd.DataFrame
    list_codes: list[str]
    sheets: list[str]
    notes: list[str]
    skipped: list[dict]
    mismatches: pd.DataFrame
    diff: pd.DataFrame | None = None
    counts: dict[str, int] = field(default_factory=dict)
    model: ScoringModel | None = None
    replaced_ids: np.ndarray | None = None  # ids of the current rows the values replace (read with the diff)
    sheet: str | None = None
    sheet_note: str = ""
    other_sheets: list[str] = field(default_factory=list)
    list_names: list[str] = field(default_factory=list)
    write_values: pd.DataFrame | None = None  # the values to write (lists merged in add mode)
    built: source_profiles.Built | None = None  # a source profile's matches, pending rows and patents
    # What the last comparison saw: (year, list mode) and the sorted ids of the current rows it read
    compared: tuple[int, str | None] | None = None
    compared_ids: np.ndarray | None = None


CURRENT_COLUMNS = ["id", "enterprise_id", "code", "value_num", "value_text"]


def _current_values(session: Session, year: int, values: pd.DataFrame) -> pd.DataFrame:
    """Current values (id, enterprise_id, code, value_num, value_text) of the year for the codes in ``values``.

    Through the driver, never an IN-list of 100,000 enterprise ids (it costs more to compile than the
    rows cost to read); rows of other enterprises are dropped afterwards. SQLite: one pass over the
    partial unique index of current rows, in (enterprise, year, code) order — the order imports write
    rows in, so the table is read nearly in sequence (per code through the (year, code) index it was
    read once per code: twice the time). PostgreSQL: one query per code over the (year, code) index.
    """
    codes = pd.unique(values["code"].to_numpy(dtype=object)).tolist()
    connection = session.connection()
    cursor = connection.connection.cursor()
    rows: list[tuple] = []
    try:
        if connection.dialect.name == "sqlite":
            # ``is_current`` as a bare term: only then may SQLite use the partial index.
            cursor.execute(
                "SELECT id, enterprise_id, code, value_num, value_text FROM indicatorvalue "
                "INDEXED BY uq_indicatorvalue_current WHERE is_current AND year = ? "
                f"AND code IN ({', '.join('?' * len(codes))})",
                (year, *codes),
            )
            rows = cursor.fetchall()
        else:
            true_ = _bind(connection.dialect, "is_current", True)
            for code in codes:
                cursor.execute(
                    "SELECT id, enterprise_id, code, value_num, value_text FROM indicatorvalue "
                    "WHERE year = %s AND code = %s AND is_current = %s",
                    (year, code, true_),
                )
                rows += cursor.fetchall()
    finally:
        cursor.close()
    if not rows:
        return pd.DataFrame(columns=CURRENT_COLUMNS)
    grid = np.array(rows, dtype=object)  # one C pass; columns are then converted whole
    del rows
    return pd.DataFrame(
        {
            "id": grid[:, 0].astype(np.int64),
            "enterprise_id": grid[:, 1].astype(np.int64),
            "code": pd.Series(grid[:, 2], dtype=object),
            "value_num": np.asarray(grid[:, 3].tolist(), dtype=float),  # NULL → NaN
            "value_text": pd.Series(grid[:, 4], dtype=object),
        },
        copy=False,
    )  # fresh arrays: one block each, not stacked into 2M-row 2-D copies


# The last dry runs' checked files, so that a commit writes exactly what the officer saw without reading
# and checking the file a second time (half of a 100,000-row commit). Keyed by the file's sha256, the
# department, year, column choices and the model; a dry run always checks afresh and refreshes it. A
# miss (another replica, a restart, an expired entry) simply checks the file again.
_CHECKED: OrderedDict[tuple, tuple[float, _Checked]] = OrderedDict()
_CHECKED_LOCK = threading.Lock()
CHECKED_KEEP = 2
CHECKED_SECONDS = 30 * 60


def _checked_key(
    data: bytes,
    model: ScoringModel,
    department: str,
    year: int,
    column_map: dict | None,
    ignore: list | None,
    sheet: str | None = None,
    accepted: dict | None = None,
) -> tuple:
    return (
        hashlib.sha256(data).hexdigest(),
        model.fingerprint(),
        department,
        year,
        sheet,
        json.dumps({str(k): v for k, v in (accepted or {}).items()}, sort_keys=True),
        json.dumps(column_map or {}, ensure_ascii=False, sort_keys=True),
        json.dumps(sorted(ignore or []), ensure_ascii=False),
    )


def _validate(
    session: Session,
    department: str,
    year: int,
    file_name: str,
    data: bytes,
    timings: dict[str, float],
    *,
    column_map: dict[str, str] | None = None,
    ignore: list[str] | None = None,
    list_mode: str | None = None,
    reuse: bool = False,
    sheet: str | None = None,
    accepted: dict[int, str] | None = None,
) -> _Checked:
    """Read and check the file (or, with ``reuse``, take the dry run's check of the same file and
    choices), then compare with the current values.

    ``timings`` gets ``read``, ``validate`` and ``diff`` (seconds, with ``*_cpu`` for this process's CPU
    time and ``read_worker_cpu`` for the reading worker's)."""
    model = _model(session)
    key = _checked_key(data, model, department, year, column_map, ignore, sheet, accepted)
    checked = None
    if reuse:
        with _CHECKED_LOCK:
            hit = _CHECKED.get(key)
        if hit is not None and time.monotonic() - hit[0] < CHECKED_SECONDS:
            checked = hit[1]
            timings.update(read=0.0, read_cpu=0.0, validate=0.0, validate_cpu=0.0)
    if checked is None and is_profile(department):
        checked = _check_profile(
            session, model, department, year, file_name, data, timings, accepted=accepted, sheet=sheet
        )
    elif checked is None:
        checked = _check_file(
            session,
            model,
            department,
            year,
            file_name,
            data,
            timings,
            column_map=column_map,
            ignore=ignore,
            sheet=sheet,
        )
        with _CHECKED_LOCK:
            _CHECKED[key] = (time.monotonic(), checked)
            _CHECKED.move_to_end(key)
            while len(_CHECKED) > CHECKED_KEEP:
                _CHECKED.popitem(last=False)
    with _Phase(timings, "diff"):
        if not (reuse and _still_current(session, checked, year, list_mode)):
            _compare(session, checked, year, list_mode)
    return checked


def _current_ids(session: Session, year: int, codes: list[str]) -> np.ndarray:
    """Sorted ids of the current rows of the year for ``codes`` (ids only: a fraction of the values)."""
    connection = session.connection()
    cursor = connection.connection.cursor()
    rows: list[tuple] = []
    try:
        if connection.dialect.name == "sqlite":
            cursor.execute(
                "SELECT id FROM indicatorvalue INDEXED BY uq_indicatorvalue_current WHERE is_current "
                f"AND year = ? AND code IN ({', '.join('?' * len(codes))})",
                (year, *codes),
            )
            rows = cursor.fetchall()
        else:
            true_ = _bind(connection.dialect, "is_current", True)
            for code in codes:
                cursor.execute(
                    "SELECT id FROM indicatorvalue WHERE year = %s AND code = %s AND is_current = %s",
                    (year, code, true_),
                )
                rows += cursor.fetchall()
    finally:
        cursor.close()
    return np.sort(np.array(rows, dtype=np.int64).reshape(-1))


def _still_current(session: Session, checked: _Checked, year: int, list_mode: str | None) -> bool:
    """Whether the dry run's comparison still holds: same year and list mode, and exactly the same current
    rows for the file's codes (rows never change once written, only whether they are current — so the
    same ids are the same values). Then the commit reuses its diff and the ids it replaces."""
    if checked.compared != (year, list_mode) or checked.compared_ids is None or checked.write_values is None:
        return False
    codes = pd.unique(checked.v.values["code"].to_numpy(dtype=object)).tolist()
    return bool(np.array_equal(_current_ids(session, year, codes), checked.compared_ids))


def _check_file(
    session: Session,
    model: ScoringModel,
    department: str,
    year: int,
    file_name: str,
    data: bytes,
    timings: dict[str, float],
    *,
    column_map: dict[str, str] | None,
    ignore: list[str] | None,
    sheet: str | None = None,
) -> _Checked:
    # The file is read in a worker process (adapters.reader_worker); meanwhile this process asks the database
    # what the check needs, so the two overlap. On an error either way the pool waits for the read.
    with _Phase(timings, "read"), ThreadPoolExecutor(1, thread_name_prefix="import-read") as pool:
        reading = pool.submit(_read, model, department, file_name, data, sheet)
        with _Phase(timings, "prefetch"):
            known = _known_enterprises(session)
            stages = _stages(session, model, year)
        tables = reading.result()
    if tables.read is not None and "worker_cpu" in tables.read.timings:
        timings["read_worker_cpu"] = tables.read.timings["worker_cpu"]
    reference = previous = None
    if tables.main is not None and len(tables.main) < PARTIAL_ROWS:
        with _Phase(timings, "reference"):
            reference, previous = _outlier_reference(session, model, department, year, tables.main, known)
    with _Phase(timings, "validate"):
        return _check_tables(
            model,
            department,
            tables,
            known=known,
            stages=stages,
            column_map=column_map,
            ignore=ignore,
            reference=reference,
            previous=previous,
        )


def _known_patents(session: Session, profile: str, year: int) -> dict[str, set[str]]:
    """Patent numbers already counted for ``year`` per enterprise by committed files of the profile."""
    out: dict[str, set[str]] = {}
    for details in session.execute(
        select(ImportBatch.details).where(
            ImportBatch.department == profile, ImportBatch.year == year, ImportBatch.status == "committed"
        )
    ).scalars():
        for code, numbers in ((details or {}).get("patents") or {}).items():
            out.setdefault(code, set()).update(numbers)
    return out


def _check_profile(
    session: Session,
    model: ScoringModel,
    name: str,
    year: int,
    file_name: str,
    data: bytes,
    timings: dict[str, float],
    *,
    accepted: dict[int, str] | None,
    sheet: str | None = None,
) -> _Checked:
    """A source profile's file: read by its headers, enterprises resolved (core.identity), long-form rows
    aggregated (core.source_profiles), then the department checks on the template-shaped result."""
    profile = source_profiles.get_profile(name)
    expected = source_profiles.all_headers(profile)
    if len(data) > MAX_BYTES:
        raise ValidationFailed(
            f"文件“{file_name}”过大（{len(data) / 1024 / 1024:.1f} MB），上限为 50 MB；请拆分后分批导入"
        )
    with _Phase(timings, "read"):
        try:
            read = read_upload(data, file_name, expected=expected, sheet=sheet, limits=READ_LIMITS)
            table = apply_header(read.frame, find_header_row(read.frame, expected))
        except SheetChoiceNeeded as exc:
            raise SheetChoiceRequired(str(exc), exc.candidates) from None
        except SpreadsheetError as exc:
            raise ValidationFailed(str(exc)) from None
        if table.empty:
            raise ValidationFailed(f"文件“{file_name}”只有表头，没有数据行")
        known = _known_enterprises(session)
    with _Phase(timings, "validate"):
        registry = pd.DataFrame(
            {"credit_code": known.index.to_numpy(dtype=object), "name": known["name"].to_numpy(dtype=object)}
        )
        patents = _known_patents(session, name, year) if profile.kind == "patents" else None
        try:
            built = source_profiles.build(
                profile,
                table,
                year=year,
                registry=registry,
                columns=importing.profile_columns(model, name),
                accepted=accepted,
                known_patents=patents,
            )
            v = importing.validate(
                model,
                name,
                built.table,
                known_codes=known.index,
                known_ids=known["id"],
                stages=stages if len(stages := _stages(session, model, year)) else None,
                columns=built.columns,
                allow_empty=True,
            )
        except (ValueError, KeyError) as exc:
            raise ValidationFailed(str(exc).strip("'\"")) from None
        if built.flags:
            extra = pd.DataFrame(built.flags, columns=importing.REPORT_COLUMNS)
            v.flags = pd.concat([v.flags, extra], ignore_index=True).sort_values("row", kind="stable")
    matched = built.matches[built.matches["credit_code"].notna()]
    notes = [
        f"按来源“{name}”读取：{len(table)} 行，识别 {matched['credit_code'].nunique()} 家企业"
        + (f"，{len(built.pending)} 行名称相近待确认" if built.pending else ""),
        *built.notes,
        *v.mapping.notes,
    ]
    checked = _Checked(
        v=v,
        known=known,
        list_codes=[],
        sheets=[],
        notes=notes,
        skipped=[*built.skipped, *v.skipped.to_dict("records")],
        mismatches=v.mismatches,
        model=model,
        sheet=read.sheet,
        sheet_note=read.describe() if read.sheet else "",
        built=built,
    )
    return checked


PARTIAL_ROWS = 5_000  # a file with fewer rows is judged against the database's population for outliers
REFERENCE_SAMPLE = 20_000  # enterprises the population's fences are read from (a deterministic sample)


def _outlier_reference(
    session: Session,
    model: ScoringModel,
    department: str,
    year: int,
    table: pd.DataFrame,
    known: pd.DataFrame,
) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """What a partial file's outlier flags are judged against: the database's current values of the
    department's numeric indicators for ``year`` and ``year - 1`` by stage (each value in the stage of its
    own year's revenue; a deterministic sample of at most ``REFERENCE_SAMPLE`` enterprises), and each
    firm of the file's own earlier value (this year's current value it replaces, else last year's)."""
    codes = [c.code for c in importing.department_columns(model, department) if c.kind in ("number", "share")]
    empty = pd.DataFrame(columns=["code", "group", "value"])
    if not codes:
        return empty, {}
    # the file's firms: every cell that is a known credit code (the header mapping comes later)
    cells = (
        pd.unique(pd.concat([table[c].astype(str).str.strip() for c in table.columns], ignore_index=True))
        if len(table.columns)
        else []
    )
    where = known.index.get_indexer(pd.Index(cells, dtype=object))
    firm_ids = known["id"].to_numpy()[where[where >= 0]].tolist()
    step = max(1, len(known) // REFERENCE_SAMPLE)
    wanted = [*codes, model.stage_indicator]
    statement = select(
        IndicatorValue.enterprise_id, IndicatorValue.year, IndicatorValue.code, IndicatorValue.value_num
    ).where(
        IndicatorValue.is_current.is_(True),
        IndicatorValue.year.in_([year - 1, year]),
        IndicatorValue.code.in_(wanted),
        IndicatorValue.value_num.is_not(None),
    )
    if step > 1:
        statement = statement.where(
            (IndicatorValue.enterprise_id % step == 0) | IndicatorValue.enterprise_id.in_(firm_ids)
        )
    rows = pd.DataFrame(session.execute(statement).all(), columns=["enterprise_id", "year", "code", "value"])
    if rows.empty:
        return empty, {}
    revenue = rows[rows["code"] == model.stage_indicator]
    stage_of = pd.Series(
        importing.stage_series(model, revenue["value"].astype(float)).to_numpy(dtype=object),
        index=pd.MultiIndex.from_arrays([revenue["enterprise_id"], revenue["year"]]),
    )
    values = rows[rows["code"].isin(codes)]
    keys = pd.MultiIndex.from_arrays([values["enterprise_id"], values["year"]])
    group = stage_of.reindex(keys).fillna("").to_numpy(dtype=object)
    population = pd.DataFrame(
        {
            "code": values["code"].to_numpy(dtype=object),
            "group": group,
            "value": values["value"].to_numpy(dtype=float),
        }
    )
    mine = values[values["enterprise_id"].isin(firm_ids)].sort_values(
        "year"
    )  # this year's value last: it wins
    code_of = pd.Series(known.index.to_numpy(dtype=object), index=known["id"].to_numpy())
    previous = {
        code: pd.Series(
            part["value"].to_numpy(dtype=float),
            index=code_of.reindex(part["enterprise_id"].to_numpy()).to_numpy(dtype=object),
        )
        .groupby(level=0)
        .last()
        for code, part in mine.groupby("code")
    }
    return population, previous


def _check_tables(
    model: ScoringModel,
    department: str,
    tables: _Tables,
    *,
    known: pd.DataFrame,
    stages: pd.Series,
    column_map: dict[str, str] | None,
    ignore: list[str] | None,
    reference: pd.DataFrame | None = None,
    previous: dict[str, pd.Series] | None = None,
) -> _Checked:
    names = known["name"]
    parts: list[importing.Validation] = []
    notes: list[str] = []
    skipped: list[dict] = []
    try:
        if tables.main is not None:
            main = importing.validate(
                model,
                department,
                tables.main,
                known_codes=known.index,
                stages=stages,
                known_names=names,
                known_ids=known["id"],
                column_map=column_map,
                ignore=ignore,
                allow_empty=bool(tables.lists),
                reference=reference,
                previous=previous,
            )
            parts.append(main)
            notes += main.mapping.notes
            if tables.read is not None and tables.read.sheet:
                notes.insert(0, tables.read.describe())
            skipped += main.skipped.to_dict("records")
        for sheet, (col, table) in tables.lists.items():
            if parts and any(c.code == col.code for c in parts[0].mapping.columns.values()):
                raise importing.ImportFileError(
                    f"“{col.name}”同时出现在数据表的列和工作表“{sheet}”中；请只保留工作表"
                )
            items = importing.validate_items(
                col, table, sheet=sheet, known_codes=known.index, known_names=names
            )
            parts.append(items)
            notes.append(f"读取工作表“{sheet}”：{items.row_count} 行，{len(items.values)} 家企业的{col.name}")
            skipped += [
                {"row": f"{sheet}：{r['row']}", "reason": r["reason"]}
                for r in items.skipped.to_dict("records")
            ]
    except importing.ImportFileError as exc:
        raise ValidationFailed(str(exc)) from None
    combined = _combine(parts)
    list_codes = [col.code for col, _t in tables.lists.values()]
    values = combined.values
    if "enterprise_id" not in values.columns or values["enterprise_id"].isna().any():
        # List sheets' values (the data sheet's come with their ids): each code looked up once — the
        # values repeat the same code objects, which factorize hashes by identity.
        inverse, uniques = pd.factorize(values["credit_code"].to_numpy(dtype=object))
        where = known.index.get_indexer(pd.Index(uniques, dtype=object))
        values["enterprise_id"] = (
            known["id"].to_numpy()[where][inverse] if len(values) else np.empty(0, dtype=np.int64)
        )
    checked = _Checked(
        v=combined,
        known=known,
        list_codes=list_codes,
        sheets=list(tables.lists),
        notes=notes,
        skipped=skipped,
        mismatches=combined.mismatches,
        model=model,
        list_names=[c.name for c, _t in tables.lists.values()],
    )
    if tables.read is not None:
        checked.sheet, checked.sheet_note = tables.read.sheet, tables.read.describe()
        checked.other_sheets = tables.read.other_data_sheets
    elif tables.hidden:
        checked.notes.insert(0, "已跳过隐藏的工作表 " + "、".join(f"“{n}”" for n in tables.hidden))
    return checked


def _compare(session: Session, checked: _Checked, year: int, list_mode: str | None) -> None:
    """The values to write (lists merged in ``add`` mode) and the diff against the current values."""
    combined = checked.v
    checked.notes = [n for n in checked.notes if not n.startswith("列表类指标（")]
    if checked.list_codes:
        checked.notes.append(
            f"列表类指标（{'、'.join(checked.list_names)}）："
            + (f"将{LIST_MODES[list_mode]}" if list_mode in LIST_MODES else "请选择“替换”或“追加”")
        )
    values = combined.values
    checked.write_values = values
    checked.diff, checked.counts, checked.replaced_ids = None, {}, None
    checked.compared, checked.compared_ids = None, None
    if combined.error_count == 0 and not combined.mapping.unmapped and len(values):
        current = _current_values(session, year, values)
        checked.compared = (year, list_mode)
        checked.compared_ids = np.sort(current["id"].to_numpy(dtype=np.int64))
        if checked.list_codes and list_mode == "add" and len(current):
            values = values.copy()
            _merge_lists(values, current, checked.list_codes)
            checked.write_values = values
        diff = importing.diff_values(values, current)
        checked.counts = importing.diff_counts(diff)
        checked.replaced_ids = (
            diff["current_id"].to_numpy()[diff["current_id"].to_numpy() >= 0].astype(np.int64)
        )
        diff["credit_code"] = pd.Series(
            values["credit_code"].to_numpy(dtype=object), index=diff.index, dtype=object
        )
        checked.diff = diff


def _combine(parts: list[importing.Validation]) -> importing.Validation:
    """Main sheet and list sheets as one validation (their reports concatenated)."""
    if len(parts) == 1:
        return parts[0]

    def cat(frames: list[pd.DataFrame]) -> pd.DataFrame:
        frames = [f for f in frames if len(f)]
        return (
            pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=importing.REPORT_COLUMNS)
        )

    first = parts[0]
    mapping = first.mapping
    for p in parts[1:]:
        mapping.unmapped += p.mapping.unmapped
    values = [p.values for p in parts if len(p.values)]
    mism = [p.mismatches for p in parts if len(p.mismatches)]
    return importing.Validation(
        row_count=sum(p.row_count for p in parts),
        errors=cat([p.errors for p in parts]),
        flags=cat([p.flags for p in parts]),
        values=pd.concat(values, ignore_index=True)
        if values
        else pd.DataFrame(columns=importing.VALUE_COLUMNS),
        mapping=mapping,
        error_rows=sum(p.error_rows for p in parts),
        skipped=first.skipped,
        mismatches=pd.concat(mism, ignore_index=True) if mism else first.mismatches,
    )


def _merge_lists(values: pd.DataFrame, current: pd.DataFrame, list_codes: list[str]) -> None:
    """``add`` mode: each enterprise's new list = its current items + the new ones (in place)."""
    cur = current[current["code"].isin(list_codes)].set_index(["enterprise_id", "code"])["value_text"]
    mask = values["code"].isin(list_codes).to_numpy()
    for i in np.flatnonzero(mask):
        key = (int(values.at[i, "enterprise_id"]), values.at[i, "code"])
        if key in cur.index:
            merged = importing.merge_lists(cur.loc[key], json.loads(values.at[i, "value_text"]))
            values.at[i, "value_text"] = json.dumps(merged, ensure_ascii=False, sort_keys=True)


def _shown(num: np.ndarray, text: np.ndarray, codes: np.ndarray, indicators: dict) -> np.ndarray:
    """Readable cell text: lists and objects via core.listtext, numbers as typed (15 digits), vectorised."""
    out = np.full(len(num), "", dtype=object)
    has_num = ~np.isnan(num)
    if has_num.any():
        out[has_num] = pc.cast(pa.array(num[has_num]), pa.string()).to_numpy(zero_copy_only=False)
    has_text = pd.notna(text)
    if has_text.any():
        out[has_text] = text[has_text]
        structured = [c for c, i in indicators.items() if isinstance(i.rule, (ItemsRule, FlagRule))]
        for i in np.flatnonzero(has_text & np.isin(codes, structured)):
            readable = listtext.value_text(text[i], indicators.get(codes[i]))
            out[i] = readable if readable is not None else text[i]
    return out


def _labels(model: ScoringModel) -> dict[str, str]:
    return {**{b.code: b.name for b in model.base_fields}, **{i.code: i.name for i in model.indicators}}


DIFF_ORDER = ("变更", "新增", "不变")


def _diff_display(
    model: ScoringModel, diff: pd.DataFrame, names: pd.Series, *, limit: int | None = None
) -> pd.DataFrame:
    """Raw diff rows with names and readable values (lists as text), changed first, then new."""
    order = np.argsort(pd.Index(DIFF_ORDER).get_indexer(diff["status"].to_numpy(dtype=object)), kind="stable")
    diff = diff.iloc[order[:limit] if limit else order]
    indicators = {i.code: i for i in model.indicators}
    labels = _labels(model)
    codes = diff["code"].to_numpy(dtype=object)
    credit = diff["credit_code"].to_numpy(dtype=object)
    where = names.index.get_indexer(credit)
    return pd.DataFrame(
        {
            "credit_code": credit,
            "name": np.where(where >= 0, names.to_numpy(dtype=object)[where], ""),
            # a base field (total_cost …) has a name but no code a person knows: its code cell stays empty
            "code": np.where(pd.Index(codes).isin(list(indicators)), codes, "—"),
            "indicator": pd.Series(codes).map(labels).fillna(pd.Series(codes)).to_numpy(dtype=object),
            "old": _shown(
                diff["old_num"].to_numpy(dtype=float),
                diff["old_text"].to_numpy(dtype=object),
                codes,
                indicators,
            ),
            "new": _shown(
                diff["new_num"].to_numpy(dtype=float),
                diff["new_text"].to_numpy(dtype=object),
                codes,
                indicators,
            ),
            "status": diff["status"].to_numpy(dtype=object),
        }
    )


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


def _records(frame: pd.DataFrame) -> list[dict]:
    head = frame.head(importing.MAX_REPORTED)
    out = []
    for r in head.itertuples(index=False):
        out.append(
            {
                "row": int(r.row),
                "column": str(r.column),
                "value": "" if r.value is None else str(r.value),
                "problem": str(r.problem),
                "fix": str(r.fix),
            }
        )
    return out


def _mismatch_records(frame: pd.DataFrame) -> list[dict]:
    return [
        {k: (int(v) if k == "row" else str(v)) for k, v in r.items()}
        for r in frame.head(importing.MAX_REPORTED).to_dict("records")
    ]


def _match_records(c: _Checked) -> list[dict]:
    if c.built is None:
        return []
    m = c.built.matches
    m = m[m["credit_code"].notna()].head(importing.MAX_REPORTED)
    return [
        {"row": int(r.row), "credit_code": str(r.credit_code), "method": str(r.method), "key": str(r.key)}
        for r in m.itertuples()
    ]


def _profile_details(c: _Checked) -> dict:
    if c.built is None:
        return {}
    return {
        "profile": c.v.values["department"].iloc[0] if len(c.v.values) else None,
        "matches": _match_records(c),
        "pending": c.built.pending[: importing.MAX_REPORTED],
        "patents": c.built.patents,
    }


def _details(c: _Checked, list_mode: str | None, column_map: dict | None, ignore: list | None) -> dict:
    return {
        **_profile_details(c),
        "options": {"column_map": column_map, "ignore": ignore},
        "skipped": c.skipped[: importing.MAX_REPORTED],
        "notes": c.notes,
        "unmapped": c.v.mapping.unmapped,
        "mapped": {h: col.code for h, col in c.v.mapping.columns.items()},
        "ignored": c.v.mapping.ignored,
        "mismatches": _mismatch_records(c.mismatches),
        "list_codes": c.list_codes,
        "list_mode": list_mode,
        "diff_counts": c.counts,
        "sheet": c.sheet,
    }


def _report(
    batch: ImportBatch | None,
    department: str,
    year: int,
    file_name: str,
    sha: str,
    status: str,
    c: _Checked,
    dup: dict | None,
    timings: dict[str, float],
    list_mode: str | None,
) -> ImportReport:
    v = c.v
    return ImportReport(
        batch_id=batch.id if batch else None,
        department=department,
        year=year,
        file_name=file_name,
        sha256=sha,
        status=status,
        row_count=v.row_count,
        accepted_count=v.accepted_rows,
        error_count=v.error_count,
        flagged_count=len(v.flags),
        value_count=len(v.values),
        errors=_records(v.errors),
        flags=_records(v.flags),
        mapped_columns={h: col.code for h, col in v.mapping.columns.items()},
        ignored_columns=v.mapping.ignored,
        duplicate_of=dup,
        timings=timings,
        skipped=c.skipped,
        unmapped=v.mapping.unmapped,
        notes=c.notes,
        mismatches=_mismatch_records(c.mismatches),
        list_codes=c.list_codes,
        list_mode=list_mode,
        sheets=c.sheets,
        diff=c.diff,
        diff_counts=c.counts,
        model=c.model,
        names=c.known["name"],
        sheet=c.sheet,
        sheet_note=c.sheet_note,
        other_sheets=c.other_sheets,
        matches=_match_records(c),
        pending=c.built.pending if c.built is not None else [],
    )


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
    timings: dict[str, float] = {}
    c = _validate(
        session,
        department,
        year,
        file_name,
        data,
        timings,
        column_map=column_map,
        ignore=ignore,
        list_mode=list_mode,
        sheet=sheet,
        accepted=accepted_matches,
    )
    v = c.v
    sha = hashlib.sha256(data).hexdigest()
    dup = _duplicate_of(session, sha)
    batch = ImportBatch(
        department=department,
        year=year,
        file_name=file_name[:255],
        sha256=sha,
        row_count=v.row_count,
        accepted_count=v.accepted_rows,
        error_count=v.error_count,
        flagged_count=len(v.flags),
        errors=_records(v.errors),
        flags=_records(v.flags),
        status="dry_run",
        created_by=actor.username,
        details={
            **_details(c, list_mode, column_map, ignore),
            "sheet_option": sheet,
            "accepted_matches": {str(k): v for k, v in (accepted_matches or {}).items()},
        },
    )
    session.add(batch)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="import.dry_run",
        entity="ImportBatch",
        entity_id=batch.id,
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
    session.flush()
    return _report(batch, department, year, file_name, sha, "dry_run", c, dup, timings, list_mode)


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
            chunk = id_list[start : start + IN_CHUNK]
            result = session.execute(
                update(IndicatorValue)
                .where(
                    IndicatorValue.year == year,
                    IndicatorValue.code == code,
                    IndicatorValue.is_current.is_(True),
                    IndicatorValue.enterprise_id.in_(chunk),
                )
                .values(is_current=False)
                .execution_options(synchronize_session=False)
            )
            retired += result.rowcount or 0
    return retired


def _retire_ids(session: Session, ids: np.ndarray) -> int:
    """Mark rows not current by primary key: one ``BETWEEN`` per run of consecutive ids (exactly the
    ids given — every id of a run is one of them), through the driver's executemany.

    The rows a file replaces were mostly written together by one earlier import, so their ids come in
    long runs: 2M rows of one batch are one statement, 2.5× faster than an UPDATE per id.
    """
    if not len(ids):
        return 0
    ids = np.unique(np.asarray(ids, dtype=np.int64))
    breaks = np.flatnonzero(np.diff(ids) != 1) + 1
    starts = ids[np.concatenate([[0], breaks])].tolist()
    ends = ids[np.concatenate([breaks - 1, [len(ids) - 1]])].tolist()
    connection = session.connection()
    dialect = connection.dialect
    ph = "?" if dialect.paramstyle == "qmark" else "%s"
    false_ = _bind(dialect, "is_current", False)
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(
            f"UPDATE indicatorvalue SET is_current = {ph} WHERE id BETWEEN {ph} AND {ph}",
            [(false_, a, b) for a, b in zip(starts, ends, strict=True)],
        )
    finally:
        cursor.close()
    return len(ids)


def _insert_values(
    session: Session,
    rows: pd.DataFrame,
    *,
    year: int,
    batch_id: int | None,
    submission_id: int | None,
    created_by: str,
) -> int:
    """Bulk insert through the driver's bulk path (db.bulk: COPY on PostgreSQL, executemany of tuples on
    SQLite — 10× faster than dicts through Core).

    Rows go in by enterprise, then code, so the inserts walk the (enterprise, year, code) index in order.
    What is the same for the whole batch (year, batch, user, time) is a constant of the insert: only the
    six values that vary travel with each row.
    """
    if rows.empty:
        return 0
    connection = session.connection()
    dialect = connection.dialect
    codes = rows["code"].to_numpy(dtype=object)
    enterprise = rows["enterprise_id"].to_numpy(dtype=np.int64)
    code_rank, _ = pd.factorize(codes, sort=True)
    order = np.lexsort((code_rank, enterprise))  # stable, like sort_values(kind="stable")
    nums = rows["value_num"].to_numpy(dtype=float)[order]
    text = rows["value_text"].to_numpy(dtype=object)[order]
    # The two bound forms of the flag, picked per row (binding each of 2M values costs seconds).
    flag_bound = np.array([_bind(dialect, "flagged", False), _bind(dialect, "flagged", True)], dtype=object)
    columns = {
        "enterprise_id": enterprise[order],
        "code": codes[order].tolist(),
        "value_num": np.where(np.isnan(nums), None, nums).tolist() if dialect.name == "sqlite" else nums,
        "value_text": np.where(pd.isna(text), None, text).tolist(),
        "source": rows["source"].to_numpy(dtype=object)[order].tolist(),
        "flagged": flag_bound[rows["flagged"].to_numpy(dtype=bool)[order].astype(np.intp)].tolist(),
    }
    constants = {
        "year": year,
        "is_current": True,
        "batch_id": batch_id,
        "submission_id": submission_id,
        "created_by": created_by,
        "created_at": utcnow(),
    }
    if dialect.name == "sqlite":
        # The default 2 MB page cache spills the four index B-trees to the WAL mid-transaction; a
        # larger cache for this connection halves a 2M-row import (memory is returned on close).
        connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    return insert_columns(session, IndicatorValue.__table__, columns, constants)


def replace_values(
    session: Session,
    *,
    year: int,
    rows: pd.DataFrame,
    batch_id: int | None = None,
    submission_id: int | None = None,
    created_by: str,
) -> int:
    """Retire the current rows of (enterprise, code) in ``rows`` and insert ``rows`` as current.

    ``rows``: enterprise_id, code, value_num, value_text, source, flagged. Shared with the review
    service (approval writes self-reported values the same way).
    """
    _retire_current(session, year, rows)
    return _insert_values(
        session, rows, year=year, batch_id=batch_id, submission_id=submission_id, created_by=created_by
    )


def commit_import(
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
    """Validate again and write every value, all or nothing.

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
        batch = session.get(ImportBatch, batch_id)
        if batch is None:
            raise NotFound(f"导入批次 #{batch_id} 不存在")
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
    timings: dict[str, float] = {}
    c = _validate(
        session,
        department,
        year,
        file_name,
        data,
        timings,
        column_map=column_map,
        ignore=ignore,
        list_mode=list_mode,
        reuse=batch is not None,
        sheet=sheet,
        accepted=accepted_matches,
    )
    v = c.v
    dup = _duplicate_of(session, sha)
    if v.error_count:
        raise ValidationFailed(
            f"文件有 {v.error_count} 处问题，整批未导入：{importing.summary_message(v.errors)}",
            problems=_records(v.errors),
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
    with _Phase(timings, "write"):
        rows = c.write_values.rename(columns={"department": "source"})
        details = _details(c, list_mode, column_map, ignore)
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
            retired = (
                _retire_ids(session, c.replaced_ids)
                if c.replaced_ids is not None
                else _retire_current(session, year, rows)
            )
            inserted = _insert_values(
                session, rows, year=year, batch_id=batch.id, submission_id=None, created_by=actor.username
            )
            now = utcnow()
            session.execute(
                update(ImportBatch)
                .where(ImportBatch.id == batch.id)
                .values(
                    status="committed",
                    committed_at=now,
                    row_count=v.row_count,
                    accepted_count=v.accepted_rows,
                    error_count=0,
                    flagged_count=len(v.flags),
                    errors=[],
                    flags=_records(v.flags),
                    details=details,
                )
                .execution_options(synchronize_session=False)
            )
            audit.record(
                session,
                actor=actor,
                action="import.commit",
                entity="ImportBatch",
                entity_id=batch.id,
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
    return _report(batch, department, year, file_name, sha, "committed", c, dup, timings, list_mode)


# --------------------------------------------------------------------------- undo
@dataclass
class UndoReport:
    batch_id: int
    reverted: int  # values of the batch that are no longer current
    restored: int  # earlier values that are current again
    left_alone: pd.DataFrame  # credit_code, name, code, indicator, replaced_by — kept, replaced since

    def left_alone_frame(self) -> pd.DataFrame:
        return self.left_alone.rename(
            columns={
                "credit_code": "统一社会信用代码",
                "name": "企业名称",
                "code": "指标代码",
                "indicator": "指标",
                "replaced_by": "已被替换为",
            }
        )


def undo_batch(session: Session, *, actor: Actor, batch_id: int, reason: str | None = None) -> UndoReport:
    """Revert a committed batch: the values it replaced become current again.

    A value of the batch that a later batch or an approved self-report has replaced since is left alone
    and listed. Rows of batches reverted before are never brought back. Score runs keep their stored
    inputs and are not touched. Audited; the batch's status becomes ``reverted``.
    """
    require_staff(actor)
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound(f"导入批次 #{batch_id} 不存在")
    if batch.status != "committed":
        label = STATUS_LABELS.get(batch.status, batch.status)
        raise Conflict(f"导入批次 #{batch_id} 的状态是“{label}”，只有已导入的批次可以撤销")
    year = batch.year
    own = pd.DataFrame(
        session.execute(
            select(
                IndicatorValue.id,
                IndicatorValue.enterprise_id,
                IndicatorValue.code,
                IndicatorValue.is_current,
            ).where(IndicatorValue.batch_id == batch_id)
        ).all(),
        columns=["id", "enterprise_id", "code", "is_current"],
    )
    reverted_batches = set(
        session.execute(select(ImportBatch.id).where(ImportBatch.status == "reverted")).scalars().all()
    )
    history = []
    for code, ids in own.groupby("code", sort=False)["enterprise_id"]:
        id_list = ids.astype("int64").tolist()
        for start in range(0, len(id_list), IN_CHUNK):
            chunk = id_list[start : start + IN_CHUNK]
            part = session.execute(
                select(
                    IndicatorValue.id,
                    IndicatorValue.enterprise_id,
                    IndicatorValue.code,
                    IndicatorValue.batch_id,
                    IndicatorValue.submission_id,
                    IndicatorValue.source,
                    IndicatorValue.is_current,
                ).where(
                    IndicatorValue.year == year,
                    IndicatorValue.code == code,
                    IndicatorValue.enterprise_id.in_(chunk),
                )
            ).all()
            history += part
    hist = pd.DataFrame(
        history, columns=["id", "enterprise_id", "code", "batch_id", "submission_id", "source", "is_current"]
    ).sort_values("id", kind="stable")
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
    known = _known_enterprises(session)
    by_id = pd.Series(known.index.to_numpy(), index=known["id"].to_numpy())
    model = _model(session)
    labels = _labels(model)
    left = pd.DataFrame(
        {
            "credit_code": by_id.reindex(later["enterprise_id"].to_numpy()).to_numpy(dtype=object),
            "code": later["code"].to_numpy(dtype=object),
            "replaced_by": [
                f"填报审核通过的自报值（填报 #{int(s)}）"
                if s == s and s is not None and src == SELF_REPORT_SOURCE
                else f"导入批次 #{int(b)}"
                if b == b and b is not None
                else f"{src}数据"
                for b, s, src in zip(
                    later["batch_id"].tolist(),
                    later["submission_id"].tolist(),
                    later["source"].tolist(),
                    strict=True,
                )
            ],
        }
    )
    left.insert(
        1, "name", known["name"].reindex(left["credit_code"].to_numpy()).fillna("").to_numpy(dtype=object)
    )
    left.insert(3, "indicator", [labels.get(c, c) for c in left["code"].tolist()])
    own_current_ids = current_own["id"].astype("int64").tolist()
    with session.begin_nested():
        for start in range(0, len(own_current_ids), IN_CHUNK):
            session.execute(
                update(IndicatorValue)
                .where(IndicatorValue.id.in_(own_current_ids[start : start + IN_CHUNK]))
                .values(is_current=False)
                .execution_options(synchronize_session=False)
            )
        for start in range(0, len(restore_ids), IN_CHUNK):
            session.execute(
                update(IndicatorValue)
                .where(IndicatorValue.id.in_(restore_ids[start : start + IN_CHUNK]))
                .values(is_current=True)
                .execution_options(synchronize_session=False)
            )
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
        audit.record(
            session,
            actor=actor,
            action="import.undo",
            entity="ImportBatch",
            entity_id=batch_id,
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
    session.expire(batch)
    return UndoReport(
        batch_id=batch_id,
        reverted=len(own_current_ids),
        restored=len(restore_ids),
        left_alone=left.reset_index(drop=True),
    )


# --------------------------------------------------------------------------- history
BATCH_COLUMNS = {
    "id": "批次",
    "department": "部门",
    "year": "年度",
    "file_name": "文件名",
    "status": "状态",
    "row_count": "行数",
    "accepted_count": "通过行数",
    "error_count": "问题数",
    "flagged_count": "待核实数",
    "created_by": "操作人",
    "created_at": "试导入时间",
    "committed_at": "导入时间",
    "sha256": "文件指纹",
}
STATUS_LABELS = {"dry_run": "试导入", "committed": "已导入", "reverted": "已撤销"}


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
        select(func.count()).select_from(ImportBatch).where(ImportBatch.status == "committed")
    ).scalar_one()


def batch_time(value: datetime | None) -> str:
    return display_time(value)


def correctable_columns(session: Session, *, actor: Actor) -> list[importing.TemplateColumn]:
    """Every value a department supplies (one entry per code, its first supplying department), for the
    correction form: what :func:`correct_value` can write."""
    require_staff(actor)
    model = _model(session)
    seen: dict[str, importing.TemplateColumn] = {}
    for department in importing.departments(model):
        for col in importing.department_columns(model, department):
            seen.setdefault(col.code, col)
    return list(seen.values())


def correct_value(
    session: Session, *, actor: Actor, enterprise_id: int, year: int, code: str, value: str, reason: str
) -> ImportReport:
    """Correct one department value of one enterprise (e.g. after an upheld objection during 公示) through
    the import path itself: a one-row file of the supplying department is checked by the same rules and
    committed as a batch — traceable, undoable, audited — and the next run of the year reads it.

    The form replaces hand-building a department file for one cell."""
    require_staff(actor)
    if not (reason and reason.strip()):
        raise ValidationFailed("请填写更正原因（如异议编号和核实情况）。")
    if not str(value or "").strip():
        raise ValidationFailed("请填写更正后的数值。")
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound("企业不存在。")
    column = next((c for c in correctable_columns(session, actor=actor) if c.code == code), None)
    if column is None:
        raise ValidationFailed(
            f"“{code}”不是部门报送的数据，不能在此更正（企业自报数据请企业申请更正填报）。"
        )
    table = pd.DataFrame(
        {
            importing.CODE_HEADER: [enterprise.credit_code],
            importing.NAME_HEADER: [enterprise.name],
            column.header: [str(value).strip()],
        }
    )
    data = table.to_csv(index=False).encode("utf-8-sig")
    report = commit_import(
        session,
        actor=actor,
        data=data,
        department=column.department,
        year=year,
        file_name=f"数据更正_{enterprise.credit_code}_{code}.csv",
        confirm_duplicate=True,
    )
    audit.record(
        session,
        actor=actor,
        action="value.correct",
        entity="Enterprise",
        entity_id=enterprise_id,
        after={"year": year, "code": code, "value": str(value).strip(), "batch_id": report.batch_id},
        reason=reason.strip(),
    )
    session.commit()
    return report
