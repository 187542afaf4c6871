"""How an import reads to a person: the report of a dry run or commit, the diff shown, the history labels.

``ImportReport`` is what the import page and ``manage.py import`` show: counts, the first row errors
and flags (``[{row, column, value, problem, fix}]``), the column mapping, notes, name mismatches, and
the raw diff with its Chinese, filterable display (``diff_frame``: changed first, values as a person
types them, list items as text). ``build_report`` turns a ``services.import_check.Checked`` into one;
``batch_details`` is the part of it an ``ImportBatch`` keeps. Also here: ``UndoReport``, the batch
history's Chinese column and status labels, and a batch's report as a sanitised csv.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core import importing, listtext
from core.clock import display_time
from core.scoring_model import FlagRule, ItemsRule, ScoringModel
from core.spreadsheet import write_csv
from db.models import SELF_REPORT_SOURCE, ImportBatch
from services.import_check import LIST_MODES, Checked, Upload

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
    # Source profiles: how each row was matched, and the rows waiting for the officer
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
        labels = code_labels(self.model)
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


def code_labels(model: ScoringModel) -> dict[str, str]:
    """Code → Chinese name, for base fields and indicators alike."""
    return {**{b.code: b.name for b in model.base_fields}, **{i.code: i.name for i in model.indicators}}


DIFF_ORDER = ("变更", "新增", "不变")


def _diff_display(
    model: ScoringModel, diff: pd.DataFrame, names: pd.Series, *, limit: int | None = None
) -> pd.DataFrame:
    """Raw diff rows with names and readable values (lists as text), changed first, then new."""
    order = np.argsort(pd.Index(DIFF_ORDER).get_indexer(diff["status"].to_numpy(dtype=object)), kind="stable")
    diff = diff.iloc[order[:limit] if limit else order]
    indicators = {i.code: i for i in model.indicators}
    labels = code_labels(model)
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


def records(frame: pd.DataFrame) -> list[dict]:
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


def _match_records(c: Checked) -> list[dict]:
    if c.built is None:
        return []
    m = c.built.matches
    m = m[m["credit_code"].notna()].head(importing.MAX_REPORTED)
    return [
        {"row": int(r.row), "credit_code": str(r.credit_code), "method": str(r.method), "key": str(r.key)}
        for r in m.itertuples()
    ]


def _profile_details(c: Checked) -> dict:
    if c.built is None:
        return {}
    return {
        "profile": c.v.values["department"].iloc[0] if len(c.v.values) else None,
        "matches": _match_records(c),
        "pending": c.built.pending[: importing.MAX_REPORTED],
        "patents": c.built.patents,
    }


def batch_details(c: Checked, upload: Upload) -> dict:
    return {
        **_profile_details(c),
        "options": {"column_map": upload.column_map, "ignore": upload.ignore},
        "skipped": c.skipped[: importing.MAX_REPORTED],
        "notes": c.notes,
        "unmapped": c.v.mapping.unmapped,
        "mapped": {h: col.code for h, col in c.v.mapping.columns.items()},
        "ignored": c.v.mapping.ignored,
        "mismatches": _mismatch_records(c.mismatches),
        "list_codes": c.list_codes,
        "list_mode": upload.list_mode,
        "diff_counts": c.counts,
        "sheet": c.sheet,
    }


def batch_counts(v: importing.Validation) -> dict:
    """What a batch and its report count of a check: rows, accepted rows, problems and flags (the first
    ``MAX_REPORTED`` of each listed)."""
    return {
        "row_count": v.row_count,
        "accepted_count": v.accepted_rows,
        "error_count": v.error_count,
        "flagged_count": len(v.flags),
        "errors": records(v.errors),
        "flags": records(v.flags),
    }


def build_report(
    batch: ImportBatch | None,
    upload: Upload,
    sha: str,
    status: str,
    c: Checked,
    dup: dict | None,
    timings: dict[str, float],
) -> ImportReport:
    v = c.v
    return ImportReport(
        batch_id=batch.id if batch else None,
        department=upload.department,
        year=upload.year,
        file_name=upload.file_name,
        sha256=sha,
        status=status,
        value_count=len(v.values),
        **batch_counts(v),
        mapped_columns={h: col.code for h, col in v.mapping.columns.items()},
        ignored_columns=v.mapping.ignored,
        duplicate_of=dup,
        timings=timings,
        skipped=c.skipped,
        unmapped=v.mapping.unmapped,
        notes=c.notes,
        mismatches=_mismatch_records(c.mismatches),
        list_codes=c.list_codes,
        list_mode=upload.list_mode,
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


def left_alone(later: pd.DataFrame, known: pd.DataFrame, model: ScoringModel) -> pd.DataFrame:
    """An undo's values replaced since (``later``: the row after each, with its batch, submission and
    source) as credit_code, name, code, indicator and what replaced it, in words."""
    by_id = pd.Series(known.index.to_numpy(), index=known["id"].to_numpy())
    labels = code_labels(model)
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
    return left


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


def report_csv(batch: ImportBatch) -> bytes:
    """The batch's report (errors, then flags) as a sanitised csv."""
    errors = importing.report_frame(batch.errors or [])
    errors.insert(0, "类型", "错误")
    flags = importing.report_frame(batch.flags or [])
    flags.insert(0, "类型", "待核实")
    frame = pd.concat([errors, flags], ignore_index=True) if len(flags) else errors
    return write_csv(frame)


def batch_time(value: datetime | None) -> str:
    return display_time(value)
