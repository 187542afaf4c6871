"""Derived indicators from base values of this and the previous year (pure pandas, no I/O).

The model declares its derivations as data (``[[derivations]]`` in the TOML):

* ``ratio``:  target = numerator ÷ denominator × scale — missing when either side is missing or the
  denominator ≤ 0;
* ``growth``: target = (this year − previous year) ÷ |previous year| × 100 — missing when either year is
  missing or the previous year is 0 (the model's ``zero_base`` rule scores that case from ``prev_<code>``).

A value a department supplied directly for a derived code is kept; the derivation only fills gaps.
The previous-year columns the rules read (``prev_T01``, ``prev_G01`` …: ``model.extra_columns()`` with
``model.previous_prefix``) are copied from the previous year's frame, matched on ``credit_code``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.scoring_model import ScoringModel

KEY = "credit_code"


def _num(df: pd.DataFrame, code: str) -> pd.Series:
    if code not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype="float64")
    return pd.to_numeric(df[code], errors="coerce").astype("float64")


class _PreviousYear:
    """The previous year's values for the rows of this year, matched on credit code. The match is
    made once (a hash of every credit code) and serves every derivation and ``prev_`` column."""

    def __init__(self, this_year: pd.DataFrame, prev_year: pd.DataFrame | None, prefix: str) -> None:
        self.this_year, self.prev_year, self.prefix = this_year, prev_year, prefix
        self._rows: np.ndarray | None = None

    def rows(self) -> np.ndarray:
        """Position in the previous year's frame of each row of this year (-1: none)."""
        if self._rows is None:
            assert self.prev_year is not None
            keys = pd.Index(self.prev_year[KEY].to_numpy(dtype=object), dtype=object)
            if not keys.is_unique:
                raise ValueError("cannot reindex on an axis with duplicate labels")
            self._rows = keys.get_indexer(self.this_year[KEY].to_numpy(dtype=object))
        return self._rows

    def column(self, code: str) -> pd.Series:
        """The previous year's ``code`` for each row of this year.

        From the previous year (matched on credit code) when it has the code, else from a ``prev_<code>``
        column that a single-year spreadsheet may carry (scoring-model.md §9), else NaN.
        """
        prev_year = self.prev_year
        if prev_year is None or prev_year.empty or code not in prev_year.columns:
            return _num(self.this_year, self.prefix + code)
        rows = self.rows()
        previous = _num(prev_year, code).to_numpy()
        aligned = np.where(rows >= 0, previous[np.maximum(rows, 0)], np.nan)  # prev_year has rows
        return pd.Series(aligned, index=self.this_year.index, dtype="float64")


def previous_columns(model: ScoringModel) -> list[str]:
    """The ``prev_<code>`` columns the model's rules read."""
    prefix = model.previous_prefix
    return [c for c in model.extra_columns() if c.startswith(prefix)]


def derive_indicators(
    model: ScoringModel, this_year: pd.DataFrame, prev_year: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``this_year`` with the model's derived indicators and ``prev_<code>`` columns filled in.

    Both frames are in the value-contract shape (``credit_code`` plus one column per code). Returns a
    new frame; the inputs are not modified.
    """
    out = this_year.copy()
    prefix = model.previous_prefix
    previous_year = _PreviousYear(out, prev_year, prefix)
    for derivation in model.derivations:
        if derivation.kind == "ratio":
            numerator_code, denominator_code = derivation.ratio_codes
            numerator = _num(out, numerator_code)
            denominator = _num(out, denominator_code)
            valid = denominator > 0
            derived = (numerator / denominator.where(valid)) * derivation.scale
        else:  # growth
            current = _num(out, derivation.growth_code)
            previous = previous_year.column(derivation.growth_code)
            base = previous.where(previous != 0).abs()
            derived = (current - previous) / base * 100.0
        derived = derived.where(np.isfinite(derived))
        target = derivation.target
        if target in out.columns:
            supplied = _num(out, target)
            out[target] = supplied.where(supplied.notna(), derived)
        else:
            out[target] = derived
    for column in previous_columns(model):
        if column not in out.columns or out[column].isna().all():
            out[column] = previous_year.column(column.removeprefix(prefix))
    return out
