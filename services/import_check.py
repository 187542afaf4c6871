"""Reading a department file and checking it against the database: the first half of every import.

The file is read in a worker process (``adapters.reader_worker``) while this process asks the
database what the checks need (the registered enterprises, each one's stage); the pure checks are
``core.importing``'s (``validate``, ``validate_items``), a source profile's rows are first resolved to
enterprises (``core.identity`` through ``core.source_profiles``). The result is a :class:`Checked`:
the values to write with their enterprise ids, row errors and flags, column mapping, notes, skipped rows.
Nothing is written here; ``services.import_diff`` compares a ``Checked`` with the current values.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from adapters.reader_worker import read_upload
from core import engine, importing, source_profiles
from core.scoring_model import ScoringModel
from core.spreadsheet import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_BYTES,
    ROW_COLUMN,
    ReadResult,
    SheetChoiceNeeded,
    SpreadsheetError,
    detect_format,
    header_table,
    sheet_visibility,
    source_columns,
)
from db.models import ImportBatch
from db.values import current_code_values_by_credit_code, current_number_sample
from services.errors import ValidationFailed

MAX_BYTES = DEFAULT_MAX_BYTES
READ_LIMITS = replace(DEFAULT_LIMITS, max_bytes=MAX_BYTES)
LIST_MODES = {"replace": "替换原有列表", "add": "追加到原有列表"}


class Phase:
    """Wall and CPU time of one phase of an import, added to ``timings[name]`` and ``timings[name + "_cpu"]``
    (CPU time of this process, all threads: under load it is the figure that still compares)."""

    def __init__(self, timings: dict[str, float], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> Phase:
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


@dataclass(frozen=True)
class Upload:
    """One file an officer imports and how it is to be read: the ``department`` (or source profile) and
    ``year`` it reports for; ``column_map`` (header → indicator code) and ``ignore`` (headers marked
    不导入) for columns the model does not know; the ``sheet`` chosen; a source profile's ``accepted``
    fuzzy name matches (row → credit code); whether list sheets replace or add to each enterprise's
    list (``list_mode``)."""

    department: str
    year: int
    file_name: str
    data: bytes
    column_map: dict[str, str] | None = None
    ignore: list[str] | None = None
    list_mode: str | None = None
    sheet: str | None = None
    accepted: dict[int, str] | None = None


def is_profile(department: str | None) -> bool:
    return department in source_profiles.profile_names()


@dataclass
class _Tables:
    main: pd.DataFrame | None  # the data sheet (apply_header output); None when the file has only list sheets
    lists: dict[str, tuple[importing.TemplateColumn, pd.DataFrame]]  # sheet name → (list column, table)
    main_sheet: str = ""
    read: ReadResult | None = None  # how the data sheet was chosen
    hidden: list[str] = field(default_factory=list)  # hidden sheets, never read
    # What each sheet hides: rows (spreadsheet numbers) by sheet name; the data sheet's hidden columns
    hidden_rows: dict[str, list[int]] = field(default_factory=dict)
    hidden_columns: dict[str, int] = field(default_factory=dict)  # label → raw column position
    # The data sheet's cells merged into the one above: label → {spreadsheet row: the merge's top row}
    merged_down: dict[str, dict[int, int]] = field(default_factory=dict)
    # The same for each list sheet: sheet name → label → {spreadsheet row: the merge's top row}
    list_merges: dict[str, dict[str, dict[int, int]]] = field(default_factory=dict)


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
        hidden_rows: dict[str, list[int]] = {}
        list_merges: dict[str, dict[str, dict[int, int]]] = {}
        for name, col in list_sheet.items():
            listed = read_upload(data, file_name, sheet=name, limits=READ_LIMITS)
            table = header_table(listed.frame, importing.item_headers(col))
            at = source_columns(table)
            if not table.empty:
                lists[name] = (col, table)
                hidden_rows[name] = listed.hidden_rows
                list_merges[name] = _merges_by_label(listed.merged_down, at)
        hidden_columns: dict[str, int] = {}
        merged_down: dict[str, dict[int, int]] = {}
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
                    main = header_table(read.frame, expected)
                except SpreadsheetError as exc:
                    raise SpreadsheetError(
                        (f"工作表“{read.sheet}”：" if read.sheet else "") + str(exc)
                    ) from None
                at = source_columns(main)
                hidden_rows[read.sheet or ""] = read.hidden_rows
                shut = set(read.hidden_columns)
                hidden_columns = {label: j for label, j in at.items() if j in shut}
                merged_down = _merges_by_label(read.merged_down, at)
    except SpreadsheetError as exc:
        raise ValidationFailed(str(exc)) from None
    if (main is None or main.empty) and not lists:
        raise ValidationFailed(f"文件“{file_name}”只有表头，没有数据行")
    return _Tables(
        main=main,
        lists=lists,
        main_sheet=(read.sheet or "") if read else "",
        read=read,
        hidden=hidden,
        hidden_rows=hidden_rows,
        hidden_columns=hidden_columns,
        merged_down=merged_down,
        list_merges=list_merges,
    )


def _merges_by_label(merged: dict[tuple[int, int], int], at: dict[str, int]) -> dict[str, dict[int, int]]:
    """A read's cells merged into the one above, by column label: {spreadsheet row: the merge's top row}."""
    label_of = {j: label for label, j in at.items()}
    out: dict[str, dict[int, int]] = {}
    for (r, c), top in merged.items():
        if c in label_of:
            out.setdefault(label_of[c], {})[r + 1] = top + 1
    return out


def known_enterprises(session: Session) -> pd.DataFrame:
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
    rows = current_code_values_by_credit_code(session, code=model.stage_indicator, year=year)
    if rows.empty:
        return pd.Series(dtype=object)
    return pd.Series(
        engine.stage_codes(model, rows["value_num"].to_numpy(), unknown=""),
        index=pd.Index(rows["credit_code"].to_numpy(dtype=object)),
    )


@dataclass
class Checked:
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


def check_file(session: Session, model: ScoringModel, upload: Upload, timings: dict[str, float]) -> Checked:
    # The file is read in a worker process (adapters.reader_worker); meanwhile this process asks the database
    # what the check needs, so the two overlap. On an error either way the pool waits for the read.
    department, year = upload.department, upload.year
    with Phase(timings, "read"), ThreadPoolExecutor(1, thread_name_prefix="import-read") as pool:
        reading = pool.submit(_read, model, department, upload.file_name, upload.data, upload.sheet)
        with Phase(timings, "prefetch"):
            known = known_enterprises(session)
            stages = _stages(session, model, year)
        tables = reading.result()
    if tables.read is not None and "worker_cpu" in tables.read.timings:
        timings["read_worker_cpu"] = tables.read.timings["worker_cpu"]
    reference = previous = None
    if tables.main is not None and len(tables.main) < PARTIAL_ROWS:
        with Phase(timings, "reference"):
            reference, previous = _outlier_reference(session, model, department, year, tables.main, known)
    with Phase(timings, "validate"):
        return _check_tables(
            model,
            department,
            tables,
            known=known,
            stages=stages,
            column_map=upload.column_map,
            ignore=upload.ignore,
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


def check_profile(
    session: Session, model: ScoringModel, upload: Upload, timings: dict[str, float]
) -> Checked:
    """A source profile's file: read by its headers, enterprises resolved (core.identity), long-form rows
    aggregated (core.source_profiles), then the department checks on the template-shaped result."""
    name, year, file_name, data = upload.department, upload.year, upload.file_name, upload.data
    profile = source_profiles.get_profile(name)
    expected = source_profiles.all_headers(profile)
    if len(data) > MAX_BYTES:
        raise ValidationFailed(
            f"文件“{file_name}”过大（{len(data) / 1024 / 1024:.1f} MB），上限为 50 MB；请拆分后分批导入"
        )
    with Phase(timings, "read"):
        try:
            read = read_upload(data, file_name, expected=expected, sheet=upload.sheet, limits=READ_LIMITS)
            table = header_table(read.frame, expected)
        except SheetChoiceNeeded as exc:
            raise SheetChoiceRequired(str(exc), exc.candidates) from None
        except SpreadsheetError as exc:
            raise ValidationFailed(str(exc)) from None
        if table.empty:
            raise ValidationFailed(f"文件“{file_name}”只有表头，没有数据行")
        source_columns(table)
        # A source's rows are aggregated before the row checks: a hidden row refuses the file here.
        rows = table[ROW_COLUMN]
        hidden = importing.hidden_rows_at(rows, read.hidden_rows)
        if hidden.any():
            raise ValidationFailed(importing.hidden_rows_note(rows, hidden, read.sheet or ""))
        known = known_enterprises(session)
    with Phase(timings, "validate"):
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
                accepted=upload.accepted,
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
    checked = Checked(
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
    rows = current_number_sample(session, years=[year - 1, year], codes=wanted, every=step, also=firm_ids)
    if rows.empty:
        return empty, {}
    revenue = rows[rows["code"] == model.stage_indicator]
    stage_of = pd.Series(
        engine.stage_codes(model, revenue["value"].astype(float), unknown=""),
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
) -> Checked:
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
                hidden_rows=tables.hidden_rows.get(tables.main_sheet),
                hidden_columns=tables.hidden_columns,
                merged_down=tables.merged_down,
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
                col,
                table,
                sheet=sheet,
                known_codes=known.index,
                known_names=names,
                hidden_rows=tables.hidden_rows.get(sheet),
                merged_down=tables.list_merges.get(sheet),
            )
            parts.append(items)
            notes += items.mapping.notes
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
    checked = Checked(
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
