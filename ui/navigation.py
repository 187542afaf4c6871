"""Which pages each role sees. Home.py builds ``st.navigation`` from :func:`pages_for`.

Every address of the app answers for every visitor, so Streamlit's English "Page not found" dialog never
appears: besides the role's own pages, :func:`pages_for` registers a hidden *gate* at the address of
every page the role may not open —

* anonymous: the gate is the 登录 form with "请先登录". Streamlit names a page by the hash of its
  ``url_path``, so after the login (no rerun: the cookie must reach the browser) the same run resolves
  the address to the real page when the new role may open it;
* logged in: a page of another role shows the role's landing page with a Chinese message; the 登录
  address shows the landing page.

A role's landing page (the first page of its first section) is served at ``/``. Streamlit ignores a
default page's ``url_path``, so the landing page is registered under the internal name ``start`` and
again, hidden, at its own address (``/my-score``, ``/workbench``); link to pages with
``st.page_link(path)``, which finds the first registration.

Hiding a page is not authorisation: every restricted page still starts with a role guard and every
service checks its actor. Page scripts live in role sub-folders of ``pages/`` (never directly in it:
that switches Streamlit into its legacy mode, where a deep link skips Home.py's login gate).
"""

from __future__ import annotations

import re
import runpy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
LANDING_URL_PATH = "start"  # the internal name of whichever page a role lands on at /
_UNKNOWN_KEY = "_nav_unknown_address"
_ADDRESS = re.compile(r"[A-Za-z0-9_-]{1,64}")


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

# --- enterprise pages -----------------------------------------------------------------------------
ENTERPRISE: list[PageSpec] = [
    PageSpec("pages/enterprise/portrait.py", "我的积分", ":material/insights:", "my-score"),
    PageSpec("pages/enterprise/self_report.py", "数据填报", ":material/edit_note:", "self-report"),
    PageSpec("pages/enterprise/services.py", "政策与服务", ":material/handshake:", "services"),
    PageSpec("pages/enterprise/objections.py", "异议", ":material/report:", "objections"),
    PageSpec("pages/enterprise/assistant.py", "智能助手", ":material/forum:", "assistant"),
]

# --- login (anonymous) and account pages (every logged-in role) -----------------------------------
LOGIN: list[PageSpec] = [PageSpec("pages/common/login.py", "登录", ":material/login:", "login")]
ACCOUNT: list[PageSpec] = [PageSpec("pages/common/account.py", "修改密码", ":material/key:", "account")]

# --- officer pages --------------------------------------------------------------------------------
# 审计日志 (pages/admin/audit.py) is listed here, not in ADMIN: admins see this section too, and one
# page may appear only once in st.navigation.
OFFICER: list[PageSpec] = [
    PageSpec("pages/officer/workbench.py", "工作台", ":material/dashboard:", "workbench"),
    PageSpec("pages/officer/review.py", "填报审核", ":material/fact_check:", "review"),
    PageSpec("pages/officer/imports.py", "数据导入", ":material/upload_file:", "imports"),
    PageSpec("pages/officer/runs.py", "积分计算与公示", ":material/calculate:", "runs"),
    PageSpec("pages/officer/search.py", "企业检索", ":material/manage_search:", "search"),
    PageSpec("pages/officer/portrait.py", "企业画像", ":material/person_search:", "portrait"),
    PageSpec("pages/officer/compare.py", "同阶段对比", ":material/compare_arrows:", "compare"),
    # --- application scenarios ---
    PageSpec("pages/officer/lists.py", "榜单与扶持", ":material/military_tech:", "lists-subsidies"),
    PageSpec("pages/officer/pools.py", "培育库", ":material/eco:", "pools"),
    PageSpec("pages/officer/carriers.py", "载体评价", ":material/apartment:", "carriers"),
    PageSpec("pages/officer/bank.py", "金融推荐", ":material/account_balance:", "bank"),
    PageSpec("pages/officer/monitoring.py", "监测报告", ":material/monitoring:", "monitoring"),
    PageSpec(
        "pages/officer/service_requests.py", "服务需求处理", ":material/support_agent:", "service-requests"
    ),
    PageSpec("pages/officer/catalogue.py", "服务目录", ":material/menu_book:", "service-catalogue"),
    PageSpec("pages/officer/assistant.py", "智能助手", ":material/forum:", "assistant-staff"),
    # --- end application scenarios ---
    PageSpec("pages/admin/audit.py", "审计日志", ":material/history:", "audit"),
]

# --- partner bank pages ---------------------------------------------------------------------------
BANK: list[PageSpec] = [
    PageSpec("pages/bank/whitelist.py", "推荐名单", ":material/list_alt:", "bank-whitelist"),
    PageSpec("pages/bank/outcomes.py", "贷款结果报送", ":material/request_quote:", "bank-outcomes"),
]

# --- admin pages ----------------------------------------------------------------------------------
ADMIN: list[PageSpec] = [
    PageSpec("pages/admin/users.py", "用户管理", ":material/manage_accounts:", "users"),
    PageSpec("pages/admin/models.py", "评价模型", ":material/tune:", "models"),
]

SECTION_TITLES = {
    "public": "公开信息",
    "enterprise": "企业服务",
    "officer": "工作台",
    "admin": "系统管理",
    "bank": "合作银行",
    "login": "账户",
    "account": "账户",
}


def sections_for(role: str | None) -> dict[str, list[PageSpec]]:
    """Page specs per navigation section for a role (``None`` = anonymous)."""
    sections: dict[str, list[PageSpec]] = {}
    if role == "enterprise" and ENTERPRISE:
        sections["enterprise"] = ENTERPRISE
    if role == "bank":
        sections["bank"] = BANK
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


def all_specs() -> list[PageSpec]:
    """Every page of the app, whoever may open it (each address once)."""
    seen: dict[str, PageSpec] = {}
    for specs in (PUBLIC, ENTERPRISE, OFFICER, ADMIN, BANK, LOGIN, ACCOUNT):
        for spec in specs:
            seen.setdefault(spec.url_path, spec)
    return list(seen.values())


def landing_spec(role: str | None) -> PageSpec:
    """The page a role lands on at ``/``."""
    return next(iter(sections_for(role).values()))[0]


def run_page_script(path: str) -> None:
    """Run a page script inside the current page (a gate showing the landing page)."""
    runpy.run_path(str(ROOT / path), run_name="__main__")


def _anonymous_gate(spec: PageSpec) -> Callable[[], None]:
    def gate() -> None:
        from ui.auth import login_form

        st.title("登录")
        st.warning(f"请先登录。登录后将为您打开「{spec.title}」。", icon=":material/lock:")
        left, _ = st.columns([2, 3])
        with left:
            login_form()

    gate.__name__ = f"gate_{spec.url_path.replace('-', '_')}"
    return gate


def _role_gate(spec: PageSpec, role: str) -> Callable[[], None]:
    def gate() -> None:
        from ui.guards import ROLE_LABELS

        landing = landing_spec(role)
        if spec not in LOGIN:
            st.info(
                f"「{spec.title}」不对{ROLE_LABELS.get(role, role)}开放，已为您打开「{landing.title}」。",
                icon=":material/info:",
            )
        run_page_script(landing.path)

    gate.__name__ = f"gate_{spec.url_path.replace('-', '_')}"
    return gate


def _unknown_gate(role: str | None) -> Callable[[], None]:
    def gate() -> None:
        landing = landing_spec(role)
        st.warning(
            f"您访问的页面不存在（可能是过期的书签），已为您打开「{landing.title}」。", icon=":material/info:"
        )
        run_page_script(landing.path)

    return gate


def _requested_address(known: set[str]) -> str | None:
    """An address the browser asked for that no page has (a stale bookmark, a typo), remembered for the
    session so its reruns keep finding it."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    name = getattr(getattr(ctx, "pages_manager", None), "intended_page_name", None)
    if name and name not in known and name != LANDING_URL_PATH and _ADDRESS.fullmatch(name):
        st.session_state[_UNKNOWN_KEY] = name
    return st.session_state.get(_UNKNOWN_KEY)


_AFTER_CHANGE_KEY = "_nav_after_password_change"


def remember_requested_page() -> None:
    """While a one-time password is being replaced (修改密码 is the only page), keep the page the browser
    asked for — a deep link opened before the first login — so :func:`requested_page_after_change` can
    open it once the new password is set. The first address wins: later reruns are on 修改密码 itself."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if _AFTER_CHANGE_KEY in st.session_state:
        return
    from streamlit.util import calc_hash

    manager = getattr(get_script_run_ctx(), "pages_manager", None)
    # A first load names the page by its address; a rerun (the login form's) by the hash of that address.
    name = getattr(manager, "intended_page_name", None)
    page_hash = getattr(manager, "intended_page_script_hash", None)
    known = [spec.url_path for spec in all_specs() if spec.url_path not in ("account", "login")]
    st.session_state[_AFTER_CHANGE_KEY] = next(
        (path for path in known if path == name or (page_hash and calc_hash(path) == page_hash)), None
    )


def requested_page_after_change(role: str | None) -> str | None:
    """The script path of the page a deep link named before the password change, when ``role`` may open
    it (once; None otherwise — the role's landing page then opens as usual)."""
    name = st.session_state.pop(_AFTER_CHANGE_KEY, None)
    if not name:
        return None
    return next(
        (spec.path for specs in sections_for(role).values() for spec in specs if spec.url_path == name), None
    )


def pages_for(role: str | None) -> dict[str, list[st.Page]]:
    """``st.navigation`` input: the role's sections (the first page lands at ``/``), then hidden pages
    that answer every other address of the app (see the module docstring)."""
    sections = sections_for(role)
    result: dict[str, list[st.Page]] = {}
    answered: set[str] = set()
    hidden: list[st.Page] = []
    for key, specs in sections.items():
        pages = []
        for spec in specs:
            if not answered:
                pages.append(
                    st.Page(
                        spec.path, title=spec.title, icon=spec.icon, url_path=LANDING_URL_PATH, default=True
                    )
                )
                hidden.append(
                    st.Page(
                        spec.path,
                        title=spec.title,
                        icon=spec.icon,
                        url_path=spec.url_path,
                        visibility="hidden",
                    )
                )
            else:
                pages.append(st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path))
            answered.add(spec.url_path)
        result[SECTION_TITLES[key]] = pages
    for spec in all_specs():
        if spec.url_path in answered:
            continue
        gate = _anonymous_gate(spec) if role is None else _role_gate(spec, role)
        hidden.append(
            st.Page(gate, title=spec.title, icon=spec.icon, url_path=spec.url_path, visibility="hidden")
        )
    unknown = _requested_address({spec.url_path for spec in all_specs()})
    if unknown:
        hidden.append(st.Page(_unknown_gate(role), title="页面不存在", url_path=unknown, visibility="hidden"))
    result[SECTION_TITLES[next(reversed(sections))]].extend(hidden)
    return result
