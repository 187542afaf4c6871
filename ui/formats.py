"""Display formats: numbers, dates, stage/tier/state labels (Chinese)."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from core.clock import display_time
from core.scoring_model import ScoringModel
from core.workflows import SCORE_RUN, SUBMISSION

# Column headings of score-run tables (services.run_diff.list_runs columns).
RUN_COLUMNS = {
    "id": "批次",
    "year": "年度",
    "state": "状态",
    "enterprise_count": "企业数",
    "notice_start": "公示开始",
    "notice_end": "公示结束",
    "supersedes_id": "替代批次",
    "created_by": "计算人",
    "created_at": "计算时间",
}

# Column headings of a list-changes table (enterprises entering or leaving a list between two runs or
# model versions: services.run_diff and the model workbench's impact preview).
LIST_CHANGE_COLUMNS = {
    "credit_code": "统一社会信用代码",
    "name": "企业",
    "stage_name": "阶段",
    "list": "榜单",
    "change": "变化",
    "list_a": "原榜单",
    "list_b": "新榜单",
}


def num(x: Any, digits: int = 2) -> str:
    """1,234.57 · — for missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{float(x):,.{digits}f}"


def points(x: Any) -> str:
    return num(x, 2)


def signed(x: Any, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{float(x):+,.{digits}f}"


def day(d: date | datetime | None) -> str:
    """2026-11-23 (dates) or 2026-11-23 13:10 in Beijing time (datetimes); — when missing."""
    return display_time(d) or "—"


def tier_label(tier: str | None, model: ScoringModel) -> str:
    """The list's name in the run's own model (未上榜 when on none)."""
    return model.tier_name(tier) if tier else "未上榜"


def submission_state(state: str) -> str:
    return SUBMISSION.labels.get(state, state)


def run_state(state: str) -> str:
    return SCORE_RUN.labels.get(state, state)


def file_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} 字节"


# Indicator sources as the public reads them ("派生" is the model's word for a computed indicator).
SOURCE_LABELS = {"派生": "由其他指标计算", "自报": "企业填报"}


def source_label(source: str | None) -> str:
    return SOURCE_LABELS.get(source or "", source or "")
