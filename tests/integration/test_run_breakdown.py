"""A run's breakdowns packed once per run (RunBreakdown) read back exactly as the per-row JSON stored them,
through every reader, on SQLite and PostgreSQL; runs stored the older way read the same."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, func, select, update

from core import breakdown as codec
from db.models import RunBreakdown, Score
from db.queries import (
    breakdown_columns_frame,
    breakdown_parts,
    breakdown_raws,
    latest_run,
    run_totals,
    scores_frame,
)
from services.actor import Actor
from services.model_versions import get_model
from services.runs import compute_run, score_year, verify_run

OFFICER = Actor(username="officer1", role="officer", user_id=1)


@pytest.fixture
def fresh_run(seeded):  # noqa: ANN001, ANN201
    """A run computed now over the demo data, and the per-row JSON breakdowns the same data gives."""
    session = seeded
    year = latest_run(session).year
    scored = score_year(session, year=year)
    run = compute_run(session, actor=OFFICER, year=year)
    rows = dict(zip(scored.enterprise_ids.tolist(), [json.loads(b) for b in scored.breakdowns], strict=True))
    return run, rows


def _number(cell: object) -> object:
    if isinstance(cell, str):
        try:
            return float(cell)
        except ValueError:
            return cell
    return cell


def _readings(session, run, model) -> dict:  # noqa: ANN001
    columns = codec.breakdown_columns(model)
    frame = scores_frame(session, run_id=run.id, include_breakdown=True)
    ids, parts = breakdown_parts(session, run_id=run.id, model=model, parts=("v", "f", "p", "s"))
    totals, points = run_totals(session, run_id=run.id, width=len(model.codes))
    return {
        "v": breakdown_columns_frame(
            session, run_id=run.id, model=model, columns=columns, part="v"
        ).sort_index(),
        "s": breakdown_columns_frame(
            session, run_id=run.id, model=model, columns=columns, part="s"
        ).sort_index(),
        "f": breakdown_columns_frame(
            session, run_id=run.id, model=model, columns=model.codes, part="f"
        ).sort_index(),
        "p": breakdown_columns_frame(
            session, run_id=run.id, model=model, columns=model.codes, part="p"
        ).sort_index(),
        "parts": (ids.tolist(), parts),
        "totals": (totals, points),
        "decoded": [codec.decode(model, raw) for raw in frame["breakdown"].tolist()],
    }


def test_packed_breakdowns_equal_the_per_row_json(session, fresh_run) -> None:  # noqa: ANN001
    run, rows = fresh_run
    assert (
        session.exec(
            select(func.count())
            .select_from(Score)
            .where(Score.run_id == run.id, Score.breakdown.is_not(None))
        ).one()[0]
        == 0
    )
    assert session.get(RunBreakdown, run.id) is not None
    ids = sorted(rows)
    assert breakdown_raws(session, run_id=run.id, enterprise_ids=ids) == [rows[i] for i in ids]
    assert breakdown_raws(session, run_id=run.id, enterprise_ids=[-1]) == [None]
    texts = [v for raw in rows.values() for v in raw["v"] if isinstance(v, str)]
    assert texts, "the demo data has text inputs (tiers, item lists): they must round-trip too"


def test_every_reader_reads_the_same_from_either_form(session, fresh_run) -> None:  # noqa: ANN001
    run, rows = fresh_run
    model = get_model(session, run.model_version_id)
    packed = _readings(session, run, model)
    assert verify_run(session, actor=OFFICER, run_id=run.id).identical
    # The same run stored the older way: one JSON text per Score row, no RunBreakdown.
    for enterprise_id, raw in rows.items():
        session.execute(
            update(Score)
            .where(Score.run_id == run.id, Score.enterprise_id == enterprise_id)
            .values(breakdown=raw)
        )
    session.execute(delete(RunBreakdown).where(RunBreakdown.run_id == run.id))
    session.commit()
    per_row = _readings(session, run, model)
    for part in "vsfp":  # PostgreSQL's ->> hands the per-row form's numbers back as text: compare as numbers
        pd.testing.assert_frame_equal(packed[part].map(_number), per_row[part].map(_number))
    assert packed["parts"] == per_row["parts"]
    pd.testing.assert_frame_equal(packed["totals"][0], per_row["totals"][0])
    np.testing.assert_array_equal(packed["totals"][1], per_row["totals"][1])
    assert packed["decoded"] == per_row["decoded"]
    assert verify_run(session, actor=OFFICER, run_id=run.id).identical


def test_a_changed_blob_is_caught_by_verify(session, fresh_run) -> None:  # noqa: ANN001
    run, _rows = fresh_run
    model = get_model(session, run.model_version_id)
    packed = codec.unpack(session.get(RunBreakdown, run.id).data)
    code = model.codes[0]
    packed.p[0, 0] += 1.0  # one enterprise's stored points of one indicator
    scored = pd.DataFrame(
        {"f_" + c: packed.f[:, i] for i, c in enumerate(model.codes)}
        | {"pts_" + c: packed.p[:, i] for i, c in enumerate(model.codes)}
    )
    inputs = pd.DataFrame({c: packed.v[c] for c in packed.columns})
    sources = pd.DataFrame({c: packed.s[c] for c in packed.columns})
    blob = codec.pack(model, ids=packed.ids, inputs=inputs, scored=scored, sources=sources)
    session.execute(update(RunBreakdown).where(RunBreakdown.run_id == run.id).values(data=blob))
    session.execute(update(Score).where(Score.run_id == run.id).values(breakdown=None))
    session.commit()
    from db import queries

    queries._PACKED.clear()  # the blob was changed behind the run's back (the cache trusts runs immutable)
    report = verify_run(session, actor=OFFICER, run_id=run.id)
    assert not report.identical and report.differing_columns == ["pts_" + code]


def test_fingerprint_tokens_are_each_cells_own_token() -> None:
    """The column tokens (distinct values rendered once, by hash) are every cell's own exact token:
    NaN and infinities null, whole and fractional floats as repr, the rounding of fractions kept."""
    from services.runs import canonical

    rng = np.random.default_rng(3)
    column = np.round(rng.lognormal(5, 2, 2000), 2)
    column[rng.random(2000) < 0.1] = np.nan
    column[:4] = [np.inf, -np.inf, 0.1 + 0.2, 2.0**60]
    assert canonical.tokens(column) == [canonical.token(v) for v in column.tolist()]
    assert canonical.tokens(column, 1) == [canonical.token(v) for v in np.round(column, 1).tolist()]
    assert canonical.tokens(np.array([3, 1, 3])) == ["3.0", "1.0", "3.0"]
    assert canonical.tokens(np.array([0.0, -0.0, 5.0])) == ["0.0", "0.0", "5.0"]  # as np.unique rendered it


def test_fingerprint_is_the_sha256_of_its_definition() -> None:
    """The fingerprint (joined by Arrow) is the sha256 of the text its definition names: the model
    version, the credit codes in order, then each column's cell tokens, tab-joined, a line each."""
    import hashlib

    from services.runs import canonical

    rng = np.random.default_rng(5)
    n = 3000
    inputs = pd.DataFrame(
        {
            "credit_code": [f"91{rng.integers(10**15):016d}" for _ in range(n)],
            "name": ["甲"] * n,
            "G01": np.where(rng.random(n) < 0.1, np.nan, np.round(rng.lognormal(5, 2, n), 2)),
            "T09": pd.Series(rng.choice(np.array(["省", "国家", None], dtype=object), n), dtype=object),
            "T10": pd.Series([None] * n, dtype=object),
        }
    )
    inputs.loc[7, "T09"] = '[{"level": "市", "role": "牵头"}]'
    columns = ["G01", "T09", "T10"]
    order = np.argsort(inputs["credit_code"].to_numpy(dtype=str), kind="stable")
    lines = ["model_version=12", "\t".join(inputs["credit_code"].to_numpy()[order])]
    for column in columns:
        cells = inputs[column].to_numpy(dtype=object)[order].tolist()
        tokens = [canonical.token(None if isinstance(v, float) and np.isnan(v) else v) for v in cells]
        lines.append(column + "=" + "\t".join(tokens))
    expected = hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()
    assert canonical.fingerprint(12, inputs, columns) == expected
    assert (
        canonical.fingerprint(12, inputs.iloc[:0], columns)
        == hashlib.sha256(b"model_version=12\n\nG01=\nT09=\nT10=\n").hexdigest()
    )


def test_fingerprint_of_a_million_enterprises_is_its_definition() -> None:
    """At 1,000,000 enterprises Arrow hands the credit codes over in two chunks: the fingerprint is still
    the sha256 of its definition (a run of a million enterprises once failed here)."""
    import hashlib

    from services.runs import canonical

    n = 1_000_000
    codes = np.char.add("91", np.char.zfill(np.arange(n)[::-1].astype(str), 16))
    inputs = pd.DataFrame({"credit_code": codes, "T10": pd.Series([None] * n, dtype=object)})
    text = "model_version=3\n" + "\t".join(sorted(codes.tolist())) + "\nT10=" + "\t".join(["null"] * n) + "\n"
    assert canonical.fingerprint(3, inputs, ["T10"]) == hashlib.sha256(text.encode()).hexdigest()


def test_float_texts_are_repr() -> None:
    """Arrow's float-to-text, laid out as repr: the same text as repr for every float — random bit
    patterns, amounts, ratios, whole numbers, the exponent boundaries — and null where not finite."""
    from services.runs.canonical import float_texts

    rng = np.random.default_rng(11)
    values = np.concatenate(
        [
            rng.integers(0, 2**64, 200_000, dtype=np.uint64).view(np.float64),
            np.round(rng.lognormal(6, 3, 50_000), 2),
            rng.lognormal(0, 8, 50_000) * rng.choice([-1, 1], 50_000),
            np.round(rng.lognormal(3, 8, 20_000)),
            [
                0.0,
                -0.0,
                1e-4,
                9.999e-5,
                1e15,
                1e16,
                9999999999999998.0,
                1e16 - 2,
                2.0**53,
                5e-324,
                np.nan,
                np.inf,
            ],
        ]
    )
    expected = [repr(v) if np.isfinite(v) else "null" for v in values.tolist()]
    assert float_texts(values).tolist() == expected
