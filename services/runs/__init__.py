"""Score runs: compute → 公示 (notice) → final, supersede, verify — the public surface.

A run scores one year under one stored model version and keeps, per enterprise, the breakdown
(core.breakdown) that lets :func:`verify_run` rebuild its exact inputs and rescore them. By concept:
``compute`` (read, derive, score, store a draft), ``canonical`` (the input fingerprint's exact text),
``lifecycle`` (publish, finalize, supersede and their one guard), ``summary`` (a run per stage) and
``verify``. Callers import from here.
"""

from db.queries import latest_run, scores_frame
from services.runs.compute import LAST_TIMINGS, Progress, ScoredYear, compute_run, model_inputs, score_year
from services.runs.lifecycle import (
    NOTICE_DAYS,
    TransitionGuard,
    assert_not_final,
    default_notice_window,
    finalize_run,
    get_run,
    guard_transition,
    publish_run,
    supersede_run,
)
from services.runs.summary import run_summary, stage_summary
from services.runs.verify import RESULT_COLUMNS, VerifyReport, verify_run

__all__ = [
    "LAST_TIMINGS", "NOTICE_DAYS", "RESULT_COLUMNS", "Progress", "ScoredYear", "TransitionGuard", "VerifyReport",
    "assert_not_final", "compute_run", "default_notice_window", "finalize_run", "get_run", "guard_transition",
    "latest_run", "model_inputs", "publish_run", "run_summary", "score_year", "scores_frame", "stage_summary",
    "supersede_run", "verify_run",
]  # fmt: skip
