"""The engine's result columns as the tests expect them, in order.

Stated here, not read from core/, so that a test fails when the engine or the §9 output changes them.
"""

from __future__ import annotations

WHO = ["credit_code", "name", "stage"]
CLASS_SCORES = ["technology", "growth", "core", "bonus", "deduction", "total"]
VETO = ["veto", "veto_reason"]
MISSING = ["missing_count", "missing"]
STANDING = ["rank", "percentile", "tier", "subsidy", "mujun"]

# core.engine.score: these first, then sub_<class>, f_<indicator>, pts_<indicator>.
ENGINE_HEAD = [*WHO, *CLASS_SCORES, *VETO, *MISSING, *STANDING]
# The §9 offline output (core.reports): without the core subtotal and the missing-value columns.
OUTPUT_HEAD = [*WHO, *[c for c in CLASS_SCORES if c != "core"], *VETO, *STANDING]
