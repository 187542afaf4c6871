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
from typing import Any

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
    return ([("v", c) for c in columns] + [("f", c) for c in model.codes] + [("p", c) for c in model.codes]
            + [("s", c) for c in columns])


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


def column_values(model: ScoringModel, raws: list[dict | str | None], column: str, part: str = "v") -> list[Any]:
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
