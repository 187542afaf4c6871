"""The one error boundary for infrastructure faults: database unreachable, disk full, read-only storage.

Such a fault is no bug of a page and no mistake of the user; what the browser gets is a Chinese message
saying what happened, that nothing was saved and to try again later, with a short reference number.
The exception itself (its text carries the connection string's host and port, the driver's message, SQL)
is logged on the server under that number and never sent to the browser.

Home.py calls :func:`install` first thing on every run. It sets the handler Streamlit calls for an
uncaught exception of a script run — on the current run and on the session, so that widget callbacks and
fragment reruns (which run outside Home.py's body) are caught too: one handler for login, navigation and
every page. Any other exception is a bug: logged the same way (with its traceback, which the browser tests
look for in the server log), and the browser gets a Chinese message instead of Streamlit's traceback.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import streamlit as st
from sqlalchemy import exc as sa_exc

from db.session import database_url

log = logging.getLogger("innovation.faults")

_OS_FAULTS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EIO, errno.EFBIG}
_DB_FAULTS = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.InternalError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
)
NOTHING_SAVED = "本次操作没有保存任何内容。请稍后再试；如果问题持续，请联系系统管理员并告知错误编号"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_infrastructure_fault(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is the database or the disk failing, not a bug."""
    for item in _chain(exc):
        if isinstance(item, _DB_FAULTS):
            return True
        if isinstance(item, OSError) and item.errno in _OS_FAULTS:
            return True
        if type(item).__module__.startswith("psycopg") and type(item).__name__ in (
            "OperationalError",
            "InterfaceError",
        ):
            return True
    return False


def _sqlite_names(exc: BaseException) -> set[str]:
    return {name for item in _chain(exc) if (name := getattr(item, "sqlite_errorname", None))}


def _errnos(exc: BaseException) -> set[int]:
    return {item.errno for item in _chain(exc) if isinstance(item, OSError) and item.errno}


def _sqlite_store_read_only() -> bool:
    """Whether the SQLite file's directory sits on a read-only mount (SQLite then cannot even open a WAL
    database: it reports "unable to open", not "read-only")."""
    url = database_url()
    if not url.startswith("sqlite"):
        return False
    try:
        return bool(os.statvfs(Path(url.split("///", 1)[-1]).parent).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def describe(exc: BaseException) -> str:
    """What happened, in the user's words (decided from the fault's kind and codes, never shown)."""
    names, numbers = _sqlite_names(exc), _errnos(exc)
    text = " ".join(str(item) for item in _chain(exc)).lower()
    if (
        "SQLITE_FULL" in names
        or numbers & {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
        or "disk is full" in text
    ):
        return "服务器的存储空间已满，数据暂时无法写入"
    if (
        any(n.startswith("SQLITE_READONLY") for n in names)
        or errno.EROFS in numbers
        or "read-only" in text
        or (names & {"SQLITE_CANTOPEN", "SQLITE_IOERR"} or "unable to open" in text)
        and _sqlite_store_read_only()
    ):
        return "数据存储当前处于只读状态，数据暂时无法写入"
    if any(n.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) for n in names) or "database is locked" in text:
        return "数据库当前繁忙，未能在限定时间内完成操作"
    if "SQLITE_CANTOPEN" in names or "unable to open" in text:
        return "系统暂时无法打开数据库"
    if "connect" in text or "server closed" in text or "terminat" in text or "timeout" in text:
        return "系统暂时无法连接数据库"
    return "数据服务暂时不可用"


def show_fault(exc: BaseException) -> None:
    """Log the fault under a new reference number and show the Chinese message (no exception text)."""
    ref = secrets.token_hex(4)
    log.error("infrastructure fault %s", ref, exc_info=exc)
    st.error(f"{describe(exc)}。{NOTHING_SAVED}（错误编号 {ref}）。", icon=":material/cloud_off:")


def show_bug(exc: BaseException) -> None:
    """A bug: logged with its traceback under a new reference number; the browser gets a Chinese message
    — not Streamlit's English exception box, whose traceback names files and values and whose links lead
    to search engines outside the intranet. Nothing is claimed about what was saved: a bug may strike
    after a use case committed."""
    ref = secrets.token_hex(4)
    log.error("unexpected error %s", ref, exc_info=exc)
    st.error(
        f"页面出现了程序错误，已记录在服务器日志中（错误编号 {ref}）。请刷新页面后重试；"
        "如果问题持续，请联系系统管理员并告知错误编号。",
        icon=":material/error:",
    )


def _handler(exc: Exception) -> bool | None:
    if is_infrastructure_fault(exc):
        show_fault(exc)
    else:
        show_bug(exc)
    return True  # the message replaces Streamlit's exception box


def install() -> None:
    """Use the fault handler for this session's uncaught exceptions (callbacks, fragments).

    Streamlit 1.67 passes ``on_script_error`` from the session to each new script run; there is no
    public setter for one session, so this sets it where it lives and does nothing if that moved.
    """
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        if ctx is None:
            return
        ctx.on_script_error = _handler
        info = Runtime.instance()._session_mgr.get_active_session_info(ctx.session_id)  # noqa: SLF001
        if info is not None and getattr(info.session, "_on_script_error", _handler) is not _handler:
            info.session._on_script_error = _handler  # noqa: SLF001
    except Exception:  # noqa: BLE001 - no runtime (AppTest, bare scripts): the boundary still holds
        return
