"""Which pages each role sees. Home.py builds ``st.navigation`` from :func:`pages_for`.

A role's landing page (the first page of its first section) is served at ``/``: Streamlit ignores a
default page's ``url_path``, so ``/workbench`` or ``/my-score`` are not addresses of their own; link to
pages with ``st.page_link(path)``, never by URL.

Hiding a page is not authorisation: every restricted page still starts with a role guard and every
service checks its actor. Page scripts live in role sub-folders of ``pages/`` (never directly in it:
that switches Streamlit into its legacy mode, where a deep link skips Home.py's login gate).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    url_path: str
    default: bool = False


PUBLIC = [
    PageSpec("pages/public/home.py", "首页", ":material/home:", "home", default=True),
    PageSpec("pages/public/model.py", "指标体系", ":material/rule:", "model"),
    PageSpec("pages/public/lists.py", "积分榜单", ":material/leaderboard:", "lists"),
    PageSpec("pages/public/dashboard.py", "展示大屏", ":material/tv:", "screen"),
]

# --- enterprise pages (issue 3) -------------------------------------------------------------------
ENTERPRISE: list[PageSpec] = [
    PageSpec("pages/enterprise/portrait.py", "我的积分", ":material/insights:", "my-score"),
    PageSpec("pages/enterprise/self_report.py", "数据填报", ":material/edit_note:", "self-report"),
    PageSpec("pages/enterprise/services.py", "政策与服务", ":material/handshake:", "services"),
    PageSpec("pages/enterprise/objections.py", "异议", ":material/report:", "objections"),
]

# --- login (anonymous) and account pages (every logged-in role) — issue 3 ---------------------------
LOGIN: list[PageSpec] = [PageSpec("pages/common/login.py", "登录", ":material/login:", "login")]
ACCOUNT: list[PageSpec] = [PageSpec("pages/common/account.py", "修改密码", ":material/key:", "account")]

# --- officer pages (issue 4 and later) ------------------------------------------------------------
# 审计日志 (pages/admin/audit.py) is listed here, not in ADMIN: admins see this section too, and one
# page may appear only once in st.navigation.
OFFICER: list[PageSpec] = [
    PageSpec("pages/officer/workbench.py", "工作台", ":material/dashboard:", "workbench"),
    PageSpec("pages/officer/review.py", "填报审核", ":material/fact_check:", "review"),
    PageSpec("pages/officer/imports.py", "数据导入", ":material/upload_file:", "imports"),
    PageSpec("pages/officer/runs.py", "积分计算与公示", ":material/calculate:", "runs"),
    PageSpec("pages/admin/audit.py", "审计日志", ":material/history:", "audit"),
]

# --- admin pages ----------------------------------------------------------------------------------
ADMIN: list[PageSpec] = [
    PageSpec("pages/admin/users.py", "用户管理", ":material/manage_accounts:", "users"),
    PageSpec("pages/admin/models.py", "评价模型", ":material/tune:", "models"),
]

SECTION_TITLES = {"public": "公开信息", "enterprise": "企业服务", "officer": "工作台", "admin": "系统管理",
                  "login": "账户", "account": "账户"}


def sections_for(role: str | None) -> dict[str, list[PageSpec]]:
    """Page specs per navigation section for a role (``None`` = anonymous)."""
    sections: dict[str, list[PageSpec]] = {}
    if role == "enterprise" and ENTERPRISE:
        sections["enterprise"] = ENTERPRISE
    if role in ("officer", "admin") and OFFICER:
        sections["officer"] = OFFICER
    if role == "admin" and ADMIN:
        sections["admin"] = ADMIN
    sections["public"] = PUBLIC
    if role is None:
        sections["login"] = LOGIN
    else:
        sections["account"] = ACCOUNT
    return sections


def pages_for(role: str | None) -> dict[str, list[st.Page]]:
    """``st.navigation`` input; the first section's first page is the landing page."""
    sections = sections_for(role)
    first = True
    result: dict[str, list[st.Page]] = {}
    for key, specs in sections.items():
        pages = []
        for spec in specs:
            pages.append(
                st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=first)
            )
            first = False
        result[SECTION_TITLES[key]] = pages
    return result
