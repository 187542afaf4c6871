"""Vectorised scoring engine: value contract in, one scored row per enterprise out.

    raw cells ──prepare_inputs──▶ float64 "measures" per indicator (numbers, 0/1 flags,
              (core.measures)     tier fraction, Σ item weights, Σ component points)
    measures ──score──▶ stage index (searchsorted on stage bounds)
                      ├ percentile rules: argsort once per (indicator, stage), tie runs → mid-rank
                      │                   (tasks on a 2-thread pool: numpy sorts release the GIL)
                      ├ other rules: column-wise numpy (bands via searchsorted on ≤ 10 thresholds)
                      └ f × points[stage] → pts, class subtotals accumulated in place
             ──rank──▶ one packed int64 key (stage, total, technology in cents) argsorted, then the
                       remaining tie-break keys resolved only inside tied runs; lists, subsidies, 亩均
                       from per-stage counts.

Nothing here knows an indicator code or a number of the model: everything comes from `ScoringModel`.
Columns are built one array at a time (no whole-matrix temporaries) and handed to pandas without copies.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from core.measures import object_column, prepare_inputs, to_float
from core.scoring_model import (
    NUMERIC_RULES,
    Band,
    BandsRule,
    LinearCapRule,
    PercentileRule,
    ScoringModel,
)

# Output subtotals are rounded to cents; the ranker relies on that to pack them into integers.
EXACT_KEYS = ("total", "technology", "growth", "core", "bonus", "deduction")
SUBTOTAL_PREFIX = "sub_"  # one result column per scored class: sub_<class code>
LEGACY_CLASS_COLUMNS = ("technology", "growth")  # also written as plain columns when the model has them
_THREADS = 2


# ======================================================================= rules (vectorised)
def _bands_into(bands: list[Band], direction: str, v: np.ndarray, f: np.ndarray) -> None:
    """f ← fraction of the best band reached (NaN → 0), written in place without big temporaries."""
    f.fill(0.0)
    # walk from the worst band to the best; later (better) bands overwrite
    if direction == "higher":
        for b in reversed(bands):
            np.copyto(f, b.f, where=v >= b.at)
    else:
        for b in reversed(bands):
            np.copyto(f, b.f, where=v <= b.at)


def _percentile_task(v: np.ndarray, idx: np.ndarray | None, out: np.ndarray) -> None:
    """Mid-rank percentile of the positive values of v[idx], written into out[idx].

    One argsort per (indicator, stage); tie runs in sorted order give `below` (run start) and
    `equal` (run length) for every member at once.
    """
    sub = v if idx is None else v[idx]
    pos = np.flatnonzero(sub > 0)
    m = len(pos)
    if m == 0:
        return
    vals = sub[pos]
    order = np.argsort(
        vals.view(np.int64)
    )  # positive doubles sort like their bit patterns; int sort is faster
    target = pos[order] if idx is None else idx[pos[order]]
    if m == 1:
        out[target] = 1.0
        return
    s = vals[order]
    new = np.empty(m, dtype=bool)
    new[0] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    if len(starts) == m:  # no ties: below = position
        f_sorted = np.arange(m, dtype=np.float64)
        f_sorted /= m - 1
    else:
        lens = np.diff(np.append(starts, m))
        # (below + 0.5·(equal − 1)) is constant within a run
        run_f = (starts + 0.5 * (lens - 1)) / (m - 1)
        f_sorted = np.repeat(run_f, lens)
    out[target] = f_sorted


def stage_index(model: ScoringModel, revenue: np.ndarray) -> np.ndarray:
    """Stage position per value of the stage indicator; missing or below the first bound → 0."""
    lows = np.array([s.min_revenue for s in model.stages])
    st = np.searchsorted(lows, revenue, side="right") - 1
    st[np.isnan(revenue) | (st < 0)] = 0  # missing (or below the first bound) → first stage
    return st.astype(np.int8)


def stage_codes(model: ScoringModel, revenue: Any, *, unknown: str | None = None) -> np.ndarray:
    """Stage code per value of the stage indicator (an object array, one code per value; text that is no
    number counts as missing). A missing value, or one below the first stage's bound, is scored in the
    first stage; ``unknown`` (e.g. ``""``) names those rows instead where the stage cannot be told."""
    values = pd.to_numeric(pd.Series(revenue, copy=False), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    codes = np.array(model.stage_codes, dtype=object)[stage_index(model, values)]
    if unknown is not None:
        codes[np.isnan(values) | (values < model.stages[0].min_revenue)] = unknown
    return codes


def _label_column(labels: list[str], codes: np.ndarray, index: pd.Index | None = None) -> pd.Series:
    return object_column(np.array(labels, dtype=object)[codes], index)


_WORD = 62  # flags per int64 word (sign bit left alone)


class _Flags:
    """Per-row sets of flagged items (missing indicators, veto reasons), any number of items.

    Packed in int64 words of 62 flags each, so a model with 64 or 121 core indicators never overflows.
    """

    def __init__(self, n: int, names: list[str]) -> None:
        self.names = names
        self.words = [np.zeros(n, dtype=np.int64) for _ in range(max(1, -(-len(names) // _WORD)))]

    def set(self, item: int, rows: np.ndarray) -> None:
        self.words[item // _WORD][rows] |= 1 << (item % _WORD)

    def any(self) -> np.ndarray:
        out = self.words[0] != 0
        for w in self.words[1:]:
            out |= w != 0
        return out

    def count(self) -> np.ndarray:
        out = np.bitwise_count(self.words[0]).astype(np.int64)
        for w in self.words[1:]:
            out += np.bitwise_count(w)
        return out

    def labels(self, sep: str, index: pd.Index) -> pd.Series:
        """Join the names of the set flags per row, computing each distinct combination once."""
        inv, uniq = pd.factorize(self.words[0])  # hashing: far cheaper than np.unique's sort at 1M rows
        combos = [(int(u),) for u in uniq]
        for w in self.words[1:]:
            inv_w, uniq_w = pd.factorize(w)
            pair = inv.astype(np.int64) * len(uniq_w) + inv_w
            inv, first = pd.factorize(pair)
            combos = [(*combos[p // len(uniq_w)], int(uniq_w[p % len(uniq_w)])) for p in first]
        texts = [
            sep.join(nm for k, nm in enumerate(self.names) if combo[k // _WORD] >> (k % _WORD) & 1)
            for combo in combos
        ]
        return _label_column(texts, inv, index)


def score(model: ScoringModel, inputs: pd.DataFrame) -> pd.DataFrame:
    """Score and rank every row of `inputs` (value contract, raw or prepared) under `model`."""
    X = prepare_inputs(model, inputs)
    n = len(X)
    stage_codes = model.stage_codes
    S = len(stage_codes)

    arrays: dict[str, np.ndarray] = {}

    def col(name: str) -> np.ndarray:
        # DataFrame.__getitem__ is slow next to small numpy ops: fetch each column once
        a = arrays.get(name)
        if a is None:
            a = arrays[name] = X[name].to_numpy(dtype=np.float64)
        return a

    st = stage_index(model, col(model.stage_indicator))
    groups = [np.flatnonzero(st == k) for k in range(S)]

    # Percentile rules are the expensive part (sorts): start them on worker threads and compute the
    # other rules on this thread meanwhile (numpy releases the GIL in sorts and ufuncs).
    fcols: dict[str, np.ndarray] = {"f_" + i.code: np.zeros(n) for i in model.indicators}
    tasks = [
        (col(i.code), g, fcols["f_" + i.code])
        for i in model.indicators
        if isinstance(i.rule, PercentileRule)
        for g in groups
        if len(g)
    ]
    pool = ThreadPoolExecutor(_THREADS) if n >= 20_000 and tasks else None
    futures = [pool.submit(_percentile_task, *t) for t in tasks] if pool else []
    if pool is None:
        for t in tasks:
            _percentile_task(*t)

    subtotal = {c.code: np.zeros(n) for c in model.scored_classes}
    core_inds = model.by_kind("core")
    veto_inds = model.by_kind("veto")
    missing = _Flags(n, [i.code for i in core_inds])
    vetoes = _Flags(n, [i.name for i in veto_inds])
    core_pos = {i.code: k for k, i in enumerate(core_inds)}
    veto_pos = {i.code: k for k, i in enumerate(veto_inds)}
    per_stage = np.empty(n)  # scratch: a per-stage parameter spread over the rows
    pcols: dict[str, np.ndarray] = {}
    not_missing: dict[str, np.ndarray] = {}  # code → rows scored by a special case (pass 1), not missing

    def spread(values: list[float]) -> np.ndarray:
        np.take(np.asarray(values, dtype=np.float64), st, out=per_stage)
        return per_stage

    # pass 1: f of every non-percentile rule
    for ind in model.indicators:
        r = ind.rule
        if isinstance(r, PercentileRule):
            continue
        v = col(ind.code)
        f = fcols["f_" + ind.code]
        if isinstance(r, BandsRule):
            _bands_into(r.bands, r.direction, v, f)
            special = None  # rows a special case scores even when the value itself is missing
            if r.alternative is not None:
                a = r.alternative
                num, den = col(a.numerator), col(a.denominator)
                special = (col(a.field) < a.below) & (den > 0) & ~np.isnan(num)
                use = np.flatnonzero(special)
                if len(use):
                    alt = np.empty(len(use))
                    _bands_into(a.bands, "higher", num[use] / den[use] * a.scale, alt)
                    f[use] = alt
            if r.zero_base is not None:
                z = r.zero_base
                zero = (col(z.field) == 0) & (col(z.current) > 0)
                f[zero] = z.f
                special = zero if special is None else special | zero
            if special is not None:
                not_missing[ind.code] = special
            if r.cap_below is not None:
                c = r.cap_below
                capped = col(c.field) < c.below
                f[capped] = np.minimum(f[capped], c.max_f)
        elif isinstance(r, LinearCapRule):
            np.divide(v, spread([r.caps[s] for s in stage_codes]) if r.caps else float(r.cap or 1.0), out=f)
            f[np.isnan(f)] = 0.0
            np.clip(f, 0.0, 1.0, out=f)
        else:  # tier / items / flag: the prepared measure, scaled when it is in points
            np.divide(v, float(ind.max_points or 1.0) if ind.measure_in_points else 1.0, out=f)
            f[np.isnan(f)] = 0.0
            np.clip(f, 0.0, 1.0, out=f)

    for fut in futures:
        fut.result()
    if pool is not None:
        pool.shutdown()

    # pass 2: points, subtotals, missing and veto flags
    for ind in model.indicators:
        f = fcols["f_" + ind.code]
        if ind.kind == "veto":
            pcols["pts_" + ind.code] = np.zeros(n)
            vetoes.set(veto_pos[ind.code], f > 0)
            continue
        pts = np.empty(n)
        if ind.is_core:
            np.multiply(f, spread([ind.max_for(s) for s in stage_codes]), out=pts)
            if ind.rule.type in NUMERIC_RULES:
                miss = np.isnan(col(ind.code))
                if ind.code in not_missing:
                    miss &= ~not_missing[ind.code]
                missing.set(core_pos[ind.code], miss)
        else:
            np.multiply(f, float(ind.max_points or 0.0), out=pts)
        subtotal[ind.cls] += pts
        pcols["pts_" + ind.code] = pts

    # class caps, then the aggregates: core = Σ core classes, bonus = min(cap, Σ bonus classes) …
    core, bonus, deduction = np.zeros(n), np.zeros(n), np.zeros(n)
    aggregate = {"core": core, "bonus": bonus, "deduction": deduction}
    for klass in model.scored_classes:
        if klass.cap is not None:
            np.minimum(subtotal[klass.code], klass.cap, out=subtotal[klass.code])
        aggregate[klass.kind] += subtotal[klass.code]
    np.minimum(bonus, model.bonus_cap, out=bonus)
    total = core + bonus
    total -= deduction
    np.maximum(total, 0.0, out=total)
    out: dict[str, Any] = {
        "credit_code": X["credit_code"],
        "name": X["name"],
        "stage": _label_column(stage_codes, st, X.index),
    }
    for arr in subtotal.values():
        np.round(arr, 2, out=arr)
    # The value contract's technology / growth columns, for the models that have those classes (the same
    # arrays as their sub_ columns: nothing writes into result columns in place).
    for legacy in LEGACY_CLASS_COLUMNS:
        if legacy in subtotal:
            out[legacy] = subtotal[legacy]
    for k, arr in (("core", core), ("bonus", bonus), ("deduction", deduction), ("total", total)):
        out[k] = np.round(arr, 2, out=arr)
    out["veto"] = vetoes.any()
    out["veto_reason"] = vetoes.labels("；", X.index)
    out["missing_count"] = missing.count()
    out["missing"] = missing.labels(",", X.index)
    for code, arr in subtotal.items():
        out[SUBTOTAL_PREFIX + code] = arr
    scored = pd.DataFrame({**out, **fcols, **pcols}, index=X.index, copy=False)
    return rank(model, scored, values=X, _stage_index=st)


# ======================================================================= ranking and lists
def _ceil_share(share: float, n: np.ndarray) -> np.ndarray:
    # round first: 0.07 × 100 is 7.000000000000001 in binary and must not become 8
    return np.ceil(np.round(share * n, 9)).astype(np.int64)


def _key_column(model: ScoringModel, key: str, scored: pd.DataFrame) -> str | None:
    """The scored column a tie-break key reads: a result column, or a class code's ``sub_`` subtotal."""
    if SUBTOTAL_PREFIX + key in scored.columns and any(c.code == key for c in model.classes):
        return SUBTOTAL_PREFIX + key
    return key if key in scored.columns else None


def _sort_key(model: ScoringModel, key: str, scored: pd.DataFrame, values: pd.DataFrame | None) -> np.ndarray:
    column = _key_column(model, key, scored)
    if column is not None:
        src = scored[column]
    elif key in scored.columns:
        src = scored[key]
    elif values is not None and key in values.columns:
        src = values[key]
    else:
        return np.full(len(scored), np.nan)
    if key == "credit_code" or not (
        pd.api.types.is_numeric_dtype(src.dtype) or pd.api.types.is_bool_dtype(src.dtype)
    ):
        # text key: an object array; the tied subset is converted to fixed-width unicode later
        return src.to_numpy(dtype=object)
    return to_float(src)


def _order_eligible(
    model: ScoringModel, scored: pd.DataFrame, values: pd.DataFrame | None, st: np.ndarray, elig: np.ndarray
) -> np.ndarray:
    """Row indices of the eligible rows sorted by stage, then by the model's tie-break order.

    Stage and the leading cent-exact keys (total, technology …) are packed into one int64 and sorted
    once; each further key (T02, G01, credit_code) only re-sorts the runs that are still tied.
    """
    keys = list(model.tie_break)
    packed = st[elig].astype(np.int64)
    bits_used = max(1, len(model.stages).bit_length())
    k = 0
    class_codes = {c.code for c in model.scored_classes}
    while (
        k < len(keys)
        and (keys[k].key in EXACT_KEYS or keys[k].key in class_codes)
        and (_key_column(model, keys[k].key, scored) is not None)
    ):
        column = _key_column(model, keys[k].key, scored)
        cents = np.rint(scored[column].to_numpy(dtype=np.float64)[elig] * 100)
        np.nan_to_num(cents, copy=False, nan=-1.0)  # missing sorts last when descending
        lo, hi = (float(cents.min()), float(cents.max())) if len(cents) else (0.0, 0.0)
        width = int(hi - lo + 1).bit_length()
        if bits_used + width > 62:
            break
        c = (cents - lo).astype(np.int64)
        if keys[k].order == "desc":
            np.subtract(int(hi - lo), c, out=c)
        packed <<= width
        packed |= c
        bits_used += width
        k += 1
    perm = np.argsort(packed, kind="stable")
    order = elig[perm]
    m = len(order)
    if m < 2:
        return order
    ps = packed[perm]
    boundary = np.empty(m, dtype=bool)  # True where a new run of equal keys starts
    boundary[0] = True
    np.not_equal(ps[1:], ps[:-1], out=boundary[1:])
    del ps, packed, perm
    for tb in keys[k:]:
        single = boundary.copy()
        single[:-1] &= boundary[1:]  # run of length one: starts here and the next one starts too
        P = np.flatnonzero(~single)
        if len(P) == 0:
            break
        blk = np.cumsum(boundary[P], dtype=np.int64)  # run id, restricted to tied positions
        sub = order[P]
        kv = _sort_key(model, tb.key, scored, values)
        subkey = kv[sub]
        if subkey.dtype == object:
            subkey = np.array(["" if x is None or x != x else str(x) for x in subkey], dtype=str)
            if tb.order == "desc":
                # rank the strings, then sort the ranks descending
                _, subkey = np.unique(subkey, return_inverse=True)
                subkey = -subkey.reshape(-1)
        else:
            if tb.order == "desc":
                subkey = -subkey
            subkey[np.isnan(subkey)] = np.inf  # missing sorts last either way
        so = np.lexsort((subkey, blk))
        order[P] = sub[so]
        sk, bk = subkey[so], blk[so]
        newb = np.empty(len(P), dtype=bool)
        newb[0] = True
        newb[1:] = (sk[1:] != sk[:-1]) | (bk[1:] != bk[:-1])
        boundary[P] = newb
    return order


def rank(
    model: ScoringModel,
    scored: pd.DataFrame,
    values: pd.DataFrame | None = None,
    _stage_index: np.ndarray | None = None,
) -> pd.DataFrame:
    """(Re)compute rank, percentile, tier, subsidy and mujun of a scored frame; returns a new frame.

    Needs `stage`, `veto` and the tie-break columns. Tie-break keys that are indicator codes (T02, G01)
    are read from `values` (raw or prepared inputs, row-aligned) or from a column of that name in
    `scored`; when neither has them they count as missing.
    """
    n = len(scored)
    stage_codes = model.stage_codes
    S = len(stage_codes)
    if _stage_index is None:
        lookup = {c: i for i, c in enumerate(stage_codes)}
        st = scored["stage"].map(lookup).to_numpy(dtype=np.int64, na_value=0).astype(np.int8)
    else:
        st = _stage_index
    veto = scored["veto"].to_numpy(dtype=bool)
    elig = np.flatnonzero(~veto)
    order = _order_eligible(model, scored, values, st, elig)

    N = np.bincount(st[elig], minlength=S).astype(np.int64)
    first = np.concatenate(([0], np.cumsum(N)[:-1]))
    rank_arr = np.zeros(n, dtype=np.int64)
    st_sorted = st[order]
    rank_arr[order] = np.arange(len(order)) - first[st_sorted] + 1
    Nrow = N[st]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(Nrow > 1, 100.0 * (Nrow - rank_arr) / (Nrow - 1), 100.0)
    pct[veto] = np.nan

    def cut(shares: list[float]) -> np.ndarray:
        """Per-row label index: first cumulative cut whose ⌈share·N⌉ covers the rank; len = none."""
        code = np.full(n, len(shares), dtype=np.int64)
        for j in range(len(shares) - 1, -1, -1):
            lim = _ceil_share(shares[j], N)[st]
            code[(rank_arr <= lim) & ~veto] = j
        return code

    tier_code = cut([t.share for t in model.tiers])
    mujun_code = cut([m.share for m in model.mujun])
    amount = np.zeros(S)
    limit = np.zeros(S, dtype=np.int64)
    for sub in model.subsidies:
        k = stage_codes.index(sub.stage)
        amount[k] = sub.amount
        limit[k] = min(sub.max_count, int(_ceil_share(sub.share, N[k : k + 1])[0]))
    subsidy = np.where((rank_arr <= limit[st]) & ~veto, amount[st], 0.0)

    res = {c: scored[c] for c in scored.columns}
    rank_col = pd.array(rank_arr, dtype="Int64")
    rank_col[veto] = pd.NA
    new = {
        "rank": rank_col,
        "percentile": np.round(pct, 4),
        "tier": _label_column([t.code for t in model.tiers] + [""], tier_code, scored.index),
        "subsidy": subsidy,
        "mujun": _label_column([m.code for m in model.mujun] + [""], mujun_code, scored.index),
    }
    head = [
        "credit_code",
        "name",
        "stage",
        "technology",
        "growth",
        "core",
        "bonus",
        "deduction",
        "total",
        "veto",
        "veto_reason",
        "missing_count",
        "missing",
    ]
    cols: dict[str, Any] = {}
    for c in head:
        if c in res:
            cols[c] = res.pop(c)
    for c in ("rank", "percentile", "tier", "subsidy", "mujun"):
        res.pop(c, None)
    cols.update(new)
    for klass in model.scored_classes:  # class subtotals follow the value contract's columns
        if SUBTOTAL_PREFIX + klass.code in res:
            cols[SUBTOTAL_PREFIX + klass.code] = res.pop(SUBTOTAL_PREFIX + klass.code)
    cols.update(res)
    return pd.DataFrame(cols, index=scored.index, copy=False)
