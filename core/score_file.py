"""Offline scoring of one value-contract table (``manage.py score-file``): no database, no files.

:func:`score_table` is the whole pipeline from a read sheet to the output frame: find the header row,
check and parse the cells (:func:`core.reports.parse_score_input`), derive the derived indicators, let
the engine parse list, tier and flag cells (its problems reported with the sheet's row numbers), score
and rank, and shape the result (:func:`core.reports.score_output_frame`). Any problem means no scores:
the result then carries every message (first problems only, with a count of the rest) and no frame.
Reading the file and writing the output stay with the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from core.derive import derive_indicators
from core.engine import score
from core.measures import prepare_inputs
from core.reports import limit_errors, parse_score_input, score_output_frame, score_output_labels
from core.scoring_model import ScoringModel
from core.spreadsheet import header_table


@dataclass(frozen=True)
class ScoredTable:
    """The scores of a table (``frame``, one row per enterprise) or the reasons there are none."""

    frame: pd.DataFrame | None
    errors: list[str] = field(default_factory=list)  # every problem found (empty when scored)
    labels: list[str] = field(default_factory=list)  # Chinese column labels for a header row

    @property
    def shown_errors(self) -> list[str]:
        """The first problems and a count of the rest, for a message."""
        return limit_errors(self.errors)

    @property
    def ranked(self) -> int:
        return 0 if self.frame is None else int(self.frame["rank"].notna().sum())

    @property
    def vetoed(self) -> int:
        return 0 if self.frame is None else int(self.frame["veto"].sum())


def score_table(model: ScoringModel, raw: pd.DataFrame) -> ScoredTable:
    """Score ``raw`` (a sheet as read, header row anywhere near the top) under ``model``."""
    expected = ["credit_code", "name", "统一社会信用代码", "企业名称", *model.codes]
    table = header_table(raw, expected)
    inputs, errors = parse_score_input(model, table)
    prepared = None
    if len(inputs.columns):
        rows = inputs.attrs["rows"]
        prepared = prepare_inputs(model, derive_indicators(model, inputs))
        # List cells (JSON) are parsed by the engine; report them with the same row numbers.
        for i, code, message in prepared.attrs.get("parse_errors", []):
            errors.append(f"第 {rows[i]} 行 {code} 列：{message}")
    if errors or prepared is None:
        return ScoredTable(frame=None, errors=errors or ["输入文件没有可计分的数据"])
    frame = score_output_frame(model, score(model, prepared))
    return ScoredTable(frame=frame, labels=score_output_labels(model))
