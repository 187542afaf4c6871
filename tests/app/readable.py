"""What "readable" means for a table on an officer screen, checked over every st.dataframe of an AppTest:
no raw placeholders (None, nan, <NA>…), no English state or stage codes, no bare indicator-code lists
("T01,T02"), no JSON text, no Python booleans."""

from __future__ import annotations

import json
import re

import pandas as pd

RAW = {
    "None",
    "nan",
    "NaN",
    "<NA>",
    "NaT",
    "null",
    "startup",
    "seed",
    "growth",
    "expansion",
    "mature",
    "open",
    "accepted",
    "done",
    "declined",
    "notice",
    "final",
    "draft",
    "submitted",
    "returned",
    "approved",
    "True",
    "False",
    "pending",
    "confirmed",
    "paid",
    "refused",
}
CODE_LIST = re.compile(r"^[A-Z]\d{2}(\s*[,，、]\s*[A-Z]\d{2})+$")  # "T01,T02" without names
JSON = re.compile(r"^\s*[\[{].*[\]}]\s*$")


def cells(at) -> list[str]:  # noqa: ANN001 - streamlit.testing AppTest
    """Column headers and text-like cells of every table on the page, its hidden columns left out. A
    missing cell counts as the text the grid draws for it: the table's placeholder when it has a readable
    one (a data editor keeps an empty cell empty), else "None"."""
    values = []
    for frame in at.dataframe:
        config = json.loads(frame.proto.columns or "{}")
        df = frame.value.drop(
            columns=[c for c, v in config.items() if (v or {}).get("hidden")], errors="ignore"
        )
        placeholder = frame.proto.placeholder if frame.proto.HasField("placeholder") else None
        drawn_for_missing = placeholder if placeholder and placeholder not in RAW else "None"
        values += [str(c) for c in df.columns]
        values += [
            str(v) if isinstance(v, str) else drawn_for_missing
            for v in df.to_numpy().ravel().tolist()
            if isinstance(v, str) or v is None or pd.isna(v)
        ]
    return values


def unreadable(at) -> list[str]:  # noqa: ANN001
    return [v for v in cells(at) if v in RAW or CODE_LIST.match(v) or JSON.match(v)]


def assert_readable(at) -> None:  # noqa: ANN001
    bad = unreadable(at)
    assert not bad, bad[:10]
