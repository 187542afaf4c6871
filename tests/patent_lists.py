"""Rows of a 专利清单 (a patent-office export) for the tests of its source profile.

:data:`PATENT_HEAD` is the export's header; :func:`patent_row` writes one application in that column
order, with the columns a test does not care about at their usual values.
"""

from __future__ import annotations

from core.source_profiles import patent_check

PATENT_HEAD = [
    "申请号",
    "申请日",
    "公开（公告）号",
    "授权公告日",
    "专利类型",
    "专利名称",
    "申请（专利权）人",
    "当前权利人",
    "法律状态",
    "主分类号",
    "国际申请号",
]


def patent_number(body: str) -> str:
    """A well-formed application number: CN, the 12 digits, a dot and the right check character."""
    return f"CN{body}.{patent_check(body)}"


def wrong_check_number(body: str) -> str:
    """An application number whose check character is wrong."""
    return f"CN{body}.{'X' if patent_check(body) != 'X' else '0'}"


def patent_row(
    number: str,
    filed: str,
    title: str,
    applicant: str,
    *,
    kind: str = "发明",
    status: str = "实质审查",
    publication: str = "",
    granted: str = "",
    holder: str = "",
    pct: str = "",
) -> list[str]:
    """One application in :data:`PATENT_HEAD` order (main class G06F)."""
    return [number, filed, publication, granted, kind, title, applicant, holder, status, "G06F", pct]
