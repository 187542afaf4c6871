"""The per-enterprise breakdown stored with every Score: inputs, fractions, points and sources.

Stored compactly as arrays aligned with the run's model (its version is on the run), because a run of
100,000 enterprises writes one breakdown per row and keyed objects were four times the size::

    {"v": [input of every column in breakdown_columns(model)],
     "f": [fraction of every indicator, model order],
     "p": [points of every indicator, model order],
     "s": [source department of every column in breakdown_columns(model)]}

:func:`decode` turns one back into ``{code: {"value", "f", "pts", "source"}}`` (extra columns such as
``total_cost`` or ``prev_T01`` carry only value and source), which is what every reader uses.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from core.scoring_model import ScoringModel


def breakdown_columns(model: ScoringModel) -> list[str]:
    """Every input the engine reads, in stored order: the indicators, then the extra fields."""
    return [*model.codes, *model.extra_columns()]


def template(model: ScoringModel) -> str:
    """A %-template for one stored breakdown; fill it with JSON tokens in :func:`token_order`."""
    columns = breakdown_columns(model)
    codes = model.codes

    def array(n: int) -> str:
        return "[" + ",".join(["%s"] * n) + "]"

    parts = (array(len(columns)), array(len(codes)), array(len(codes)), array(len(columns)))
    return '{"v":' + parts[0] + ',"f":' + parts[1] + ',"p":' + parts[2] + ',"s":' + parts[3] + "}"


def token_order(model: ScoringModel) -> list[tuple[str, str]]:
    """(part, column) pairs in the order :func:`template` expects its tokens."""
    columns = breakdown_columns(model)
    return (
        [("v", c) for c in columns]
        + [("f", c) for c in model.codes]
        + [("p", c) for c in model.codes]
        + [("s", c) for c in columns]
    )


def decode(model: ScoringModel, raw: dict | str | None) -> dict[str, dict[str, Any]]:
    """``{code: {"value", "f", "pts", "source"}}`` from a stored breakdown (JSON text or parsed)."""
    if raw is None or raw == "":
        return {}
    data = json.loads(raw) if isinstance(raw, str) else raw
    if "v" not in data:  # keyed form, already what readers want
        return data
    columns = breakdown_columns(model)
    out: dict[str, dict[str, Any]] = {
        column: {"value": value, "source": source}
        for column, value, source in zip(columns, data["v"], data["s"], strict=True)
    }
    for code, fraction, points in zip(model.codes, data["f"], data["p"], strict=True):
        out[code]["f"] = fraction
        out[code]["pts"] = points
    return out


def column_values(
    model: ScoringModel, raws: list[dict | str | None], column: str, part: str = "v"
) -> list[Any]:
    """One column of many stored breakdowns (``part``: v, f, p or s) without decoding whole rows."""
    keyed = {"v": "value", "f": "f", "p": "pts", "s": "source"}[part]
    index = (breakdown_columns(model) if part in "vs" else model.codes).index(column)
    values = []
    for raw in raws:
        data = json.loads(raw) if isinstance(raw, str) else (raw or {})
        if "v" in data:
            values.append(data[part][index])
        else:
            values.append((data.get(column) or {}).get(keyed))
    return values


def parts_frame(model: ScoringModel, raws: list[dict | str | None], part: str = "v") -> dict[str, list[Any]]:
    """Every column of one part (v, f, p or s) of many stored breakdowns, each breakdown parsed once.

    ``{column: [value per breakdown]}`` — columns are :func:`breakdown_columns` for v/s, the indicator
    codes for f/p. Use it when a reader needs many columns (one :func:`column_values` call per column
    would parse every breakdown again for each).
    """
    keyed = {"v": "value", "f": "f", "p": "pts", "s": "source"}[part]
    columns = breakdown_columns(model) if part in "vs" else model.codes
    rows: list[list[Any]] = []
    for raw in raws:
        data = json.loads(raw) if isinstance(raw, str) else (raw or {})
        if "v" in data:
            rows.append(data[part])
        else:
            rows.append([(data.get(c) or {}).get(keyed) for c in columns])
    if not rows:
        return {c: [] for c in columns}
    return {c: list(values) for c, values in zip(columns, zip(*rows, strict=True), strict=True)}


# ----------------------------------------------------------------------------- a run's breakdowns, packed
# A run stores its breakdowns once, column by column, in one compressed blob (``RunBreakdown``) instead of
# a JSON text per Score row: at 100,000 enterprises 14 MB instead of 85 MB, written in a fraction of the
# time. The parts are the same (inputs v and sources s of every breakdown column, fractions f and points p
# of every indicator, exactly as stored before: f rounded to 4 decimals), so every reader gets the same
# values; :meth:`Packed.raw` rebuilds the array form of one row for :func:`decode`.
PACK_MAGIC = b"IPRB2\n"  # zstd body (pyarrow's codec); IPRB1 blobs (zlib) still read
_ZLIB_MAGIC = b"IPRB1\n"
_DICT_LIMIT = 65_535  # a numeric column with fewer distinct values is stored as uniques + uint16 codes


@dataclass
class Packed:
    """A run's breakdowns, unpacked: row i belongs to enterprise ``ids[i]`` (ascending ids).

    ``v`` and ``s``: column → array (float64 for columns of numbers only, else object: JSON values);
    ``f`` and ``p``: rows × indicators float64 (NaN where the stored value was null).
    """

    columns: list[str]
    codes: list[str]
    ids: np.ndarray
    v: dict[str, np.ndarray]
    f: np.ndarray
    p: np.ndarray
    s: dict[str, np.ndarray]

    def rows_of(self, enterprise_ids: Any) -> np.ndarray:
        """Row positions of ``enterprise_ids`` (-1 where the run has no such enterprise)."""
        wanted = np.asarray(enterprise_ids, dtype=np.int64)
        pos = np.searchsorted(self.ids, wanted)
        pos = np.minimum(pos, max(len(self.ids) - 1, 0))
        found = (
            (len(self.ids) > 0) & (self.ids[pos] == wanted) if len(self.ids) else np.zeros(len(wanted), bool)
        )
        return np.where(found, pos, -1)

    def part_column(self, part: str, column: str) -> list[Any]:
        """One column of one part (v, f, p or s) as JSON values (None for null), in row order."""
        if part in "fp":
            return _json_values(getattr(self, part)[:, self.codes.index(column)])
        return _json_values(getattr(self, part)[column])

    def part_rows(self, part: str, rows: np.ndarray | None = None) -> list[list[Any]]:
        """Whole rows of one part (lists aligned with the part's columns) for ``rows`` (default all)."""
        names = self.codes if part in "fp" else self.columns
        index = np.arange(len(self.ids)) if rows is None else np.asarray(rows)
        cols = []
        for name in names:
            if part in "fp":
                cols.append(_json_values(getattr(self, part)[index, self.codes.index(name)]))
            else:
                cols.append(_json_values(getattr(self, part)[name][index]))
        return [list(row) for row in zip(*cols, strict=True)] if cols else [[] for _ in index]

    def raws(self, rows: np.ndarray | None = None) -> list[dict[str, list[Any]]]:
        """The stored array form ``{"v", "f", "p", "s"}`` of ``rows`` (default all), for :func:`decode`."""
        parts = {part: self.part_rows(part, rows) for part in "vfps"}
        return [
            {"v": v, "f": f, "p": p, "s": s}
            for v, f, p, s in zip(parts["v"], parts["f"], parts["p"], parts["s"], strict=True)
        ]


def _json_values(array: np.ndarray) -> list[Any]:
    """Array cells as JSON values: NaN and infinities → None, as the per-row JSON stored them."""
    if array.dtype.kind == "f":
        out = array.astype(object)
        out[~np.isfinite(array)] = None
        return out.tolist()
    return array.tolist()


def _pack_numeric(values: np.ndarray) -> tuple[str, bytes]:
    values = np.ascontiguousarray(values, dtype=np.float64)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    if len(uniques) <= _DICT_LIMIT and len(uniques) * 4 < len(values):
        return "dict", np.asarray(uniques, dtype=np.float64).tobytes() + codes.astype(np.uint16).tobytes()
    return "f8", values.tobytes()


def _unpack_numeric(kind: str, data: bytes, n: int) -> np.ndarray:
    if kind == "f8":
        return np.frombuffer(data, dtype=np.float64, count=n).copy()
    uniques_bytes = len(data) - 2 * n
    uniques = np.frombuffer(data[:uniques_bytes], dtype=np.float64)
    return uniques[np.frombuffer(data[uniques_bytes:], dtype=np.uint16, count=n)]


def _json_cell(value: Any) -> Any:
    """A cell as the per-row JSON stored it: text as text, any other value a float (null when not finite)."""
    if value is None or isinstance(value, str):
        return value
    number = float(value)
    return number if math.isfinite(number) else None


def _pack_objects(values: np.ndarray) -> tuple[str, bytes]:
    """Distinct values once (as the per-row JSON stored them) and a code per row; many distinct values
    (item lists) as one JSON array."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    legend = [_json_cell(u) for u in uniques.tolist()]
    if len(legend) <= _DICT_LIMIT and len(legend) * 4 < len(codes):
        head = json.dumps(legend, ensure_ascii=False).encode()
        # -1 (absent) becomes the last code: a null appended to the legend
        codes = np.where(codes < 0, len(legend), codes).astype(np.uint16)
        return "odict", len(head).to_bytes(8, "little") + head + codes.tobytes()
    cells = np.array([*legend, None], dtype=object)[codes]  # -1 picks the appended null
    return "json", json.dumps(cells.tolist(), ensure_ascii=False).encode()


def _unpack_objects(kind: str, data: bytes, n: int) -> np.ndarray:
    if kind == "json":
        return np.array(json.loads(data), dtype=object)
    size = int.from_bytes(data[:8], "little")
    legend = np.array([*json.loads(data[8 : 8 + size]), None], dtype=object)
    return legend[np.frombuffer(data[8 + size :], dtype=np.uint16, count=n)]


def pack(
    model: ScoringModel, *, ids: np.ndarray, inputs: pd.DataFrame, scored: pd.DataFrame, sources: pd.DataFrame
) -> bytes:
    """The blob of a run's breakdowns: inputs and sources of every breakdown column, fractions (rounded
    to 4 decimals, as stored per row before) and points of every indicator; rows in ``ids`` order, which
    must ascend. Numeric columns go in as float64 (uniques + codes when few), others as JSON."""
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) > 1 and not (np.diff(ids) > 0).all():
        raise ValueError("breakdown rows must be in ascending enterprise id order")
    n = len(ids)
    segments: list[tuple[str, str, str, bytes]] = [("ids", "", "i8", ids.tobytes())]
    for column in breakdown_columns(model):
        values = inputs[column].to_numpy()
        if values.dtype.kind in "fiub":
            kind, data = _pack_numeric(values.astype(np.float64))
        else:
            kind, data = _pack_objects(values)
        segments.append(("v", column, kind, data))
        src = (
            sources[column].to_numpy(dtype=object) if column in sources.columns else np.full(n, None, object)
        )
        segments.append(("s", column, *_pack_objects(src)))
    for code in model.codes:
        segments.append(
            ("f", code, *_pack_numeric(np.round(scored["f_" + code].to_numpy(dtype=np.float64), 4)))
        )
        segments.append(("p", code, *_pack_numeric(scored["pts_" + code].to_numpy(dtype=np.float64))))
    raw = b"".join(data for *_, data in segments)
    body = pa.compress(raw, codec="zstd", asbytes=True)  # a third of zlib's time, as small
    header = json.dumps(
        {
            "size": len(raw),
            "n": n,
            "columns": breakdown_columns(model),
            "codes": list(model.codes),
            "segments": [[part, name, kind, len(data)] for part, name, kind, data in segments],
        },
        ensure_ascii=False,
    ).encode()
    return PACK_MAGIC + len(header).to_bytes(8, "little") + header + body


def unpack(blob: bytes) -> Packed:
    """A run's breakdowns from the blob :func:`pack` wrote."""
    blob = bytes(blob)
    if not blob.startswith((PACK_MAGIC, _ZLIB_MAGIC)):
        raise ValueError("not a packed run breakdown")
    start = len(PACK_MAGIC)
    size = int.from_bytes(blob[start : start + 8], "little")
    header = json.loads(blob[start + 8 : start + 8 + size])
    if blob.startswith(_ZLIB_MAGIC):
        body = zlib.decompress(blob[start + 8 + size :])
    else:
        body = pa.decompress(
            blob[start + 8 + size :], decompressed_size=header["size"], codec="zstd", asbytes=True
        )
    n = header["n"]
    codes: list[str] = header["codes"]
    packed = Packed(
        columns=header["columns"],
        codes=codes,
        ids=np.empty(0, np.int64),
        v={},
        f=np.full((n, len(codes)), np.nan),
        p=np.full((n, len(codes)), np.nan),
        s={},
    )
    offset = 0
    for part, name, kind, length in header["segments"]:
        data = body[offset : offset + length]
        offset += length
        if part == "ids":
            packed.ids = np.frombuffer(data, dtype=np.int64, count=n).copy()
            continue
        values = (
            _unpack_objects(kind, data, n) if kind in ("json", "odict") else _unpack_numeric(kind, data, n)
        )
        if part in "fp":
            getattr(packed, part)[:, codes.index(name)] = values
        else:
            getattr(packed, part)[name] = values
    return packed
