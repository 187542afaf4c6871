"""The stored breakdown round-trips: what a run writes is what readers get back."""

import json

from core import breakdown
from core.scoring_model import load_model

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
    raw = _stored({"G01": 1000.0, "T09": "省", extra: 7.5}, {"G01": 0.5}, {"G01": 3.25},
                  {"G01": "税务", extra: "上年"})
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
