"""Yes/no text: the one home for which cell text means "yes" and which means "no".

A department's file, an offline score input, an items value and the engine's flag factors all read
是/否 cells; they share these two sets so a value accepted in one place means the same everywhere.
Matching is on the stripped, lower-cased text (``"TRUE"``, ``" 是 "`` both read as yes). Numbers read
as yes when non-zero (``1``, ``2.5``) and as no when zero; ``NaN`` is no.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

TRUE_TEXT = frozenset({"1", "1.0", "true", "t", "yes", "y", "是", "有", "√", "✓"})
FALSE_TEXT = frozenset({"0", "0.0", "false", "f", "no", "n", "否", "无"})
YES_NO_TEXT = TRUE_TEXT | FALSE_TEXT  # a cell that is neither is not a yes/no answer


def yes_no_key(x: Any) -> str:
    """The text a cell is matched on: stripped and lower-cased."""
    return str(x).strip().lower()


def is_true(x: Any) -> bool:
    """Whether a cell reads as yes: ``True``, a non-zero number, or text in ``TRUE_TEXT``."""
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | float | np.integer | np.floating):
        return not math.isnan(float(x)) and float(x) != 0
    return yes_no_key(x) in TRUE_TEXT
