"""The canonical text of a run's inputs, and the fingerprint over it.

A run's ``input_fingerprint`` is a sha256 over the model version id and every input cell, rows in
credit-code order and columns in the model's order, each cell as an exact JSON token (floats as
``repr``, which round-trips; text as a JSON string; absent as ``null``). :func:`verify_run` rebuilds
the inputs from the stored breakdowns and must reach the same text, so the tokens here are the one
definition both the compute and the verify use. The same tokens fill the per-row breakdown JSON that
动态积分 stores.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.scoring_model import ScoringModel


def token(value: Any) -> str:
    """The exact JSON text of a cell: float repr (round-trips), JSON string, or null."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    number = float(value)
    return repr(number) if math.isfinite(number) else "null"


def float_texts(values: np.ndarray) -> np.ndarray:
    """``repr`` of every float (NaN and infinities ``null``), as an object array of str.

    Arrow's float-to-text writes the same shortest round-trip digits as ``repr`` at a third of the cost
    (repr of the distinct values was most of the fingerprint's time); only its layout differs, so a
    whole number gets repr's ``.0`` and the values repr writes with an exponent (below 1e-4, from 1e16)
    or that Arrow wrote with one go through ``repr`` itself."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    texts = pa.array(values).cast(pa.string())
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        positional = np.isfinite(values) & (magnitude < 1e16) & ((magnitude >= 1e-4) | (values == 0))
    positional &= ~pc.match_substring(texts, "e").to_numpy(zero_copy_only=False)
    whole = positional & ~pc.match_substring(texts, ".").to_numpy(zero_copy_only=False)
    out = texts.to_numpy(zero_copy_only=False)
    out[whole] = out[whole] + ".0"
    others = np.flatnonzero(~positional)
    out[others] = [repr(v) if math.isfinite(v) else "null" for v in values[others].tolist()]
    return out


def _token_table(
    column: pd.Series | np.ndarray, decimals: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct tokens of a column, the position of every cell's token in them): cells repeat
    (bands, flags, zeros, tiers, absent cells), so each distinct value is rendered once."""
    array = column.to_numpy() if isinstance(column, pd.Series) else column
    if array.dtype.kind in "fiub":
        values = array.astype(np.float64)
        if decimals is not None:
            values = np.round(values, decimals)
        if len(values) == 0:
            return np.empty(0, dtype=object), np.empty(0, dtype=np.intp)
        if ((values == 0) & np.signbit(values)).any():
            # -0.0 and 0.0 are one distinct value to both np.unique and the hash below, but which one
            # is rendered differs: such a column keeps np.unique's choice, as the fingerprint always had
            unique, inverse = np.unique(values, return_inverse=True)
        else:
            # distinct values by hashing (np.unique sorts: a tenth of the fingerprint's time at 100k);
            # the tokens are the same, only their order in the table differs. NaN → the appended null
            inverse, unique = pd.factorize(values, use_na_sentinel=True)
            unique = np.append(unique, np.nan)
            inverse = np.where(inverse < 0, len(unique) - 1, inverse)
        return float_texts(unique), inverse
    codes, uniques = pd.factorize(np.asarray(array, dtype=object), use_na_sentinel=True)
    table = np.array([*(token(u) for u in uniques.tolist()), "null"], dtype=object)  # -1 (absent) → null
    return table, codes


def tokens(column: pd.Series | np.ndarray, decimals: int | None = None) -> list[str]:
    """``token`` of every cell."""
    table, index = _token_table(column, decimals)
    return table[index].tolist()


def token_array(
    column: pd.Series | np.ndarray, decimals: int | None = None, order: np.ndarray | None = None
) -> pa.Array:
    """``token`` of every cell (in ``order`` when given) as an Arrow string array: no Python str per cell."""
    table, index = _token_table(column, decimals)
    positions = index if order is None else index[order]
    positions = np.where(positions < 0, positions + len(table), positions)  # -1: the last token, null
    return pa.array(table, type=pa.string()).take(pa.array(positions))


def input_columns(model: ScoringModel) -> list[str]:
    """What the engine reads: every indicator, then the extra fields its rules name."""
    return [*model.codes, *model.extra_columns()]


_TAB = pa.scalar("\t", pa.large_string())


def _tab_joined(texts: pa.Array | pa.ChunkedArray) -> pa.Buffer:
    """The UTF-8 bytes of ``"\t".join(texts)``, joined by Arrow (no Python str per cell, the GIL let go).

    ``texts`` may come in chunks: Arrow splits a NumPy string array of 1,000,000 credit codes in two."""
    texts = texts.cast(pa.large_string())
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    one_list = pa.ListArray.from_arrays(pa.array([0, len(texts)], pa.int32()), texts)
    return pc.binary_join(one_list, _TAB)[0].as_buffer()


def fingerprint(model_version_id: int, inputs: pd.DataFrame, columns: list[str]) -> str:
    """sha256 over the model version id and the input cells, rows in credit-code order, column by column:
    ``model_version=<id>``, the credit codes, then ``<column>=`` and the cells' tokens, each joined by
    tabs and ended by a line break (the cells' tokens put in order by Arrow, hashed as bytes)."""
    credit_codes = inputs["credit_code"].to_numpy(dtype=str)
    order = np.argsort(credit_codes, kind="stable")
    digest = hashlib.sha256(f"model_version={model_version_id}\n".encode())
    digest.update(_tab_joined(pa.array(credit_codes[order])))
    digest.update(b"\n")
    for column in columns:
        digest.update(f"{column}=".encode())
        digest.update(_tab_joined(token_array(inputs[column], order=order)))
        digest.update(b"\n")
    return digest.hexdigest()
