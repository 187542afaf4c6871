"""The stored breakdown round-trips: what a run writes is what readers get back."""

import json

from core import breakdown
from core.model_loading import load_model

MODEL = load_model()


def _stored(values: dict, fractions: dict, points: dict, sources: dict) -> str:
    tokens = {
        "v": lambda c: json.dumps(values.get(c), ensure_ascii=False),
        "f": lambda c: json.dumps(fractions.get(c, 0.0)),
        "p": lambda c: json.dumps(points.get(c, 0.0)),
        "s": lambda c: json.dumps(sources.get(c), ensure_ascii=False),
    }
    return breakdown.template(MODEL) % tuple(tokens[p](c) for p, c in breakdown.token_order(MODEL))


def test_decode_gives_value_fraction_points_and_source_per_indicator() -> None:
    extra = MODEL.extra_columns()[0]
    raw = _stored(
        {"G01": 1000.0, "T09": "省", extra: 7.5}, {"G01": 0.5}, {"G01": 3.25}, {"G01": "税务", extra: "上年"}
    )
    decoded = breakdown.decode(MODEL, raw)
    assert decoded["G01"] == {"value": 1000.0, "source": "税务", "f": 0.5, "pts": 3.25}
    assert decoded["T09"]["value"] == "省" and decoded["T09"]["source"] is None
    assert decoded[extra] == {"value": 7.5, "source": "上年"}  # extra inputs: value and source only
    assert set(decoded) == set(breakdown.breakdown_columns(MODEL))


def test_column_values_reads_one_column_of_many_rows_in_either_form() -> None:
    compact = _stored({"T01": 12.0}, {}, {"T01": 2.5}, {"T01": "税务"})
    keyed = {"T01": {"value": 30.0, "f": 1.0, "pts": 7.0, "source": "税务"}}
    assert breakdown.column_values(MODEL, [compact, keyed, None], "T01") == [12.0, 30.0, None]
    assert breakdown.column_values(MODEL, [compact, keyed], "T01", "p") == [2.5, 7.0]


def test_compact_form_is_much_smaller_than_keyed_objects() -> None:
    values = {c: 123.45 for c in breakdown.breakdown_columns(MODEL)}
    sources = {c: "税务" for c in values}
    compact = _stored(values, {c: 0.5 for c in MODEL.codes}, {c: 1.25 for c in MODEL.codes}, sources)
    keyed = json.dumps(breakdown.decode(MODEL, compact), ensure_ascii=False)
    assert len(compact.encode()) * 2 < len(keyed.encode())


def test_pack_round_trips_what_the_per_row_json_stored() -> None:
    """core.breakdown.pack/unpack: numbers (repeating and distinct), infinities and NaN as null, integers
    and booleans as floats, text with many distinct values (item lists) and few (tiers), absent sources."""
    import numpy as np
    import pandas as pd
    import pytest

    from core.breakdown import breakdown_columns, pack, unpack
    from core.model_loading import load_model

    model = load_model()
    n = 300
    rng = np.random.default_rng(3)
    columns = breakdown_columns(model)
    inputs = pd.DataFrame({c: rng.lognormal(3, 1, n) for c in columns})
    inputs[columns[0]] = np.where(np.arange(n) % 7 == 0, np.inf, np.where(np.arange(n) % 5 == 0, np.nan, 1.5))
    inputs[columns[1]] = pd.Series(
        [f'[{{"level": "市", "n": {i}}}]' if i % 3 else None for i in range(n)], dtype=object
    )
    inputs[columns[2]] = pd.Series(
        ["省" if i % 2 else (i if i % 4 else True) for i in range(n)], dtype=object
    )
    sources = pd.DataFrame({c: np.where(np.arange(n) % 4 == 0, None, "税务") for c in columns}, dtype=object)
    scored = pd.DataFrame(
        {f"f_{c}": rng.random(n) for c in model.codes} | {f"pts_{c}": rng.random(n) * 5 for c in model.codes}
    )
    ids = np.arange(10, 10 + 2 * n, 2)
    packed = unpack(pack(model, ids=ids, inputs=inputs, scored=scored, sources=sources))
    assert packed.ids.tolist() == ids.tolist()
    assert packed.part_column("v", columns[0])[:8] == [None, 1.5, 1.5, 1.5, 1.5, None, 1.5, None]
    assert packed.part_column("v", columns[1])[:3] == [
        None,
        '[{"level": "市", "n": 1}]',
        '[{"level": "市", "n": 2}]',
    ]
    third = packed.part_column("v", columns[2])
    assert third[:5] == [1.0, "省", 2.0, "省", 1.0] and all(type(v) in (float, str) for v in third)
    assert packed.part_column("v", columns[3]) == inputs[columns[3]].tolist()
    assert packed.part_column("s", columns[3])[:2] == [None, "税务"]
    assert packed.part_column("f", model.codes[0]) == np.round(scored[f"f_{model.codes[0]}"], 4).tolist()
    assert packed.part_column("p", model.codes[-1]) == scored[f"pts_{model.codes[-1]}"].tolist()
    assert packed.rows_of([10, 11, 12, 10 + 2 * (n - 1), 9999]).tolist() == [0, -1, 1, n - 1, -1]
    with pytest.raises(ValueError, match="ascending"):
        pack(model, ids=ids[::-1], inputs=inputs, scored=scored, sources=sources)
