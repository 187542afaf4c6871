"""The problem report and outlier flags: row-by-row findings the officer reads before importing.

A report row is ``{row, column, value, problem, fix}`` with ``row`` the number the officer sees in
Excel; ``report_frame`` shows it with Chinese headings. Outliers are flagged, never rejected: robust
Tukey fences on a compressed scale within each stage (``outlier_mask``), joined with the database's
values of the same indicator (``reference``), plus a firm's own jump against its previous-year value
(``history_mask``). ``MAX_REPORTED`` caps the stored report rows; the counts stay exact.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from core.engine import stage_codes
from core.scoring_model import ScoringModel

MAX_REPORTED = 10_000  # stored report rows; the counts stay exact
OUTLIER_K = 3.0  # Tukey's "far out" fence on the log scale
OUTLIER_MIN_GROUP = 30
REPORT_COLUMNS = ["row", "column", "value", "problem", "fix"]


def repeat_value(value: Any, n: int) -> np.ndarray:
    """An object array of ``n`` references to ``value`` (``np.full`` with a str copies it ``n`` times)."""
    return np.repeat(np.array([value], dtype=object), n)


def report_part(rows: pd.Series, column: str, values: pd.Series, problem: Any, fix: Any) -> pd.DataFrame:
    """Report rows for some cells of one column; ``problem``/``fix``: one text for all, or one per cell."""
    n = len(rows)
    return pd.DataFrame(
        {
            "row": rows.to_numpy(dtype=np.int64),
            "column": repeat_value(column, n),
            "value": values.astype(object).where(values.notna(), "").to_numpy(dtype=object),
            "problem": problem if isinstance(problem, (pd.Series, np.ndarray)) else repeat_value(problem, n),
            "fix": fix if isinstance(fix, (pd.Series, np.ndarray)) else repeat_value(fix, n),
        }
    )


def stage_series(model: ScoringModel, revenue: pd.Series) -> pd.Series:
    """Stage code per value of the stage indicator (``""`` where missing), by ``core.engine.stage_codes``."""
    return pd.Series(stage_codes(model, revenue, unknown=""), index=revenue.index)


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


HISTORY_FACTOR = 10.0  # a value ≥ 10× (or ≤ 1/10 of) the firm's own previous-year value is questioned


def history_mask(values: pd.Series, previous: pd.Series, *, factor: float = HISTORY_FACTOR) -> pd.Series:
    """Cells that moved by ``factor`` or more against the same firm's previous-year value (aligned by
    position), on the log1p scale so that 0 → 3 is not "infinitely" more: 2.27 → 1,200 is flagged,
    8 → 9 or 0 → 5 is not. Non-negative amounts only (the caller decides)."""
    new = values.to_numpy(dtype=float, na_value=np.nan)
    old = previous.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        moved = np.abs(np.log1p(np.abs(new)) - np.log1p(np.abs(old))) >= math.log(factor)
    return pd.Series(moved & ~np.isnan(new) & ~np.isnan(old), index=values.index)


def outlier_mask(
    values: pd.Series,
    groups: pd.Series,
    *,
    k: float = OUTLIER_K,
    log: bool = True,
    min_group: int = OUTLIER_MIN_GROUP,
    reference: pd.DataFrame | None = None,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``(flag, low, high)``: Tukey fences (k·IQR) within each group on a compressed scale.

    ``reference`` (columns ``group``, ``value``): the population the fences come from besides the file's
    own values — the database's values of the same indicator, so a partial file of a few firms is
    judged against every firm of its stage, not against itself.

    Amounts that cannot be negative use log1p (they are skewed over orders of magnitude). Amounts that
    may be negative (profit) use asinh(x ÷ m), m = the group's median |x|: linear around zero, so the
    step from −5 to +5 is small, and logarithmic in the tails, so a heavy tail is not flagged wholesale.
    Groups with fewer than ``min_group`` values, or no spread, flag nothing. Bounds are returned on the
    original scale so the report can say what range is usual.
    """
    raw = values.to_numpy(dtype=float, na_value=np.nan)
    # Groups as integers (−1: no group, never flagged); a handful of stages, each done in numpy —
    # pandas' groupby re-hashed the 100,000 group labels twice per column.
    keys, labels = pd.factorize(np.asarray(groups.to_numpy(), dtype=object))
    n = len(raw)
    lo, hi, scale = np.full(n, np.nan), np.full(n, np.nan), np.ones(n)
    flag = np.zeros(n, dtype=bool)
    ref_by_group: dict[Any, np.ndarray] = {}
    if reference is not None and len(reference):
        ref_values = reference["value"].to_numpy(dtype=float, na_value=np.nan)
        ref_groups = reference["group"].to_numpy(dtype=object)
        ref_by_group = {g: ref_values[ref_groups == g] for g in pd.unique(ref_groups)}
    for key in range(len(labels)):
        member = np.flatnonzero(keys == key)
        r = raw[member]
        known = ~np.isnan(r)
        if not known.any():
            continue
        extra = ref_by_group.get(labels[key], np.empty(0))
        population = np.concatenate([r[known], extra[~np.isnan(extra)]])
        if log:
            x, xp = _signed_log(r), _signed_log(population)
        else:
            median = float(np.median(np.abs(population)))
            scale[member] = median if median > 0 else 1.0
            x, xp = np.arcsinh(r / scale[member]), np.arcsinh(population / scale[member][0])
        q1, q3 = np.quantile(xp, [0.25, 0.75])
        iqr = q3 - q1
        lo[member], hi[member] = q1 - k * iqr, q3 + k * iqr
        if len(population) >= min_group and iqr > 0:
            flag[member] = known & ((x < q1 - k * iqr) | (x > q3 + k * iqr))

    def back(y: np.ndarray) -> pd.Series:
        if not log:
            return pd.Series(np.sinh(y) * scale, index=values.index)
        return pd.Series(np.sign(y) * np.expm1(np.abs(y)), index=values.index)

    return pd.Series(flag, index=values.index), back(lo), back(hi)


def report_of(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The report parts as one report, by spreadsheet row (a row's problems in column order)."""
    report = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=REPORT_COLUMNS)
    return report.sort_values(["row"], kind="stable").reset_index(drop=True)


def _fmt(v: float) -> str:
    if not np.isfinite(v):
        return "—"
    return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"


def flag_outliers(
    model: ScoringModel,
    numeric: dict[str, tuple[str, pd.Series, bool]],
    *,
    table: pd.DataFrame,
    rows: pd.Series,
    codes: pd.Series,
    bad_row: np.ndarray,
    stages: pd.Series | None = None,
    reference: pd.DataFrame | None = None,
    previous: dict[str, pd.Series] | None = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """``(flags report, code → row positions of its flagged cells)`` for a file's amount columns.

    ``numeric``: code → (file header, values, amounts that cannot be negative). Cells are judged within
    their stage — from the file's stage-indicator column, else ``stages`` (credit code → stage code) —
    against the file's usable values and ``reference``; a firm's own jump against ``previous`` by
    ``HISTORY_FACTOR`` is questioned too. Flags are for follow-up: the values are accepted.
    """
    flag_parts: list[pd.DataFrame] = []
    flagged_at: dict[str, np.ndarray] = {}
    if not numeric or not len(table):
        return report_of(flag_parts), flagged_at
    if model.stage_indicator in numeric:
        group = stage_series(model, numeric[model.stage_indicator][1])
    elif stages is not None:
        group = codes.map(stages).astype(object).fillna("")  # all-unmapped maps to float NaN
    else:
        group = pd.Series("", index=codes.index, dtype=object)
    stage_names = {s.code: s.name for s in model.stages}
    for code, (header, nums, log) in numeric.items():
        usable = nums.where(~bad_row)
        ref = reference[reference["code"] == code] if reference is not None and len(reference) else None
        flag, lo, hi = outlier_mask(usable, group, log=log, reference=ref)
        fm = flag.to_numpy()
        before = None
        if previous is not None and log and code in previous:
            before = pd.Series(codes.to_numpy(dtype=object), index=usable.index).map(previous[code])
            moved = history_mask(usable, before).to_numpy()
        else:
            moved = np.zeros(len(fm), dtype=bool)
        if not (fm.any() or moved.any()):
            continue
        idx = np.flatnonzero(fm | moved)
        g_at, lo_at, hi_at = group.to_numpy()[idx], lo.to_numpy()[idx], hi.to_numpy()[idx]
        prev_at = before.to_numpy()[idx] if before is not None else np.full(len(idx), np.nan)
        probs = np.array(
            [
                "；".join(
                    (
                        [f"明显偏离{stage_names.get(g, '全部企业')}常见范围（约 {_fmt(a)}–{_fmt(b)}）"]
                        if f
                        else []
                    )
                    + ([f"与本企业此前数值 {_fmt(p)} 相差 {HISTORY_FACTOR:g} 倍以上"] if m else [])
                )
                for g, a, b, p, f, m in zip(g_at, lo_at, hi_at, prev_at, fm[idx], moved[idx], strict=True)
            ],
            dtype=object,
        )
        flag_parts.append(
            report_part(
                rows.iloc[idx],
                header,
                table[header].iloc[idx],
                probs,
                "已接受并标记待核实：请与报送部门确认数值与单位",
            )
        )
        flagged_at[code] = idx
    return report_of(flag_parts), flagged_at


def report_frame(records: list[dict] | pd.DataFrame) -> pd.DataFrame:
    """The report with Chinese column names, for display and download."""
    df = records if isinstance(records, pd.DataFrame) else pd.DataFrame(records, columns=REPORT_COLUMNS)
    return df.reindex(columns=REPORT_COLUMNS).rename(
        columns={"row": "行号", "column": "列", "value": "内容", "problem": "问题", "fix": "修改建议"}
    )


def summary_message(errors: pd.DataFrame, *, limit: int = 3) -> str:
    """One Chinese sentence summarising the first problems of a rejected file."""
    if errors.empty:
        return ""
    head = errors.head(limit)
    parts = [f"第 {r.row} 行“{r.column}”{r.problem}" for r in head.itertuples()]
    more = f"等共 {len(errors)} 处问题" if len(errors) > limit else ""
    return "；".join(parts) + more
