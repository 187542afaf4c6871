"""The upload gate: only a logged-in session whose page shows an uploader may send files, within bounds.

Streamlit 1.67 accepts ``PUT /_stcore/upload_file/<session>/<file>`` from any live session, logged in or
not, whether or not its page has an uploader, and keeps every file in memory until the session ends
(in a load test, 240 MB held by one anonymous session, never given back). Two hooks, both on objects the
runtime was built with (``RuntimeConfig.uploaded_file_manager`` is Streamlit's documented extension
point for upload storage):

* the runtime's ``is_active_session`` — in 1.67 called only by the upload route, *before* the body is
  read — also asks for a permit, so an unpermitted upload is refused (400) without reading its body;
* the upload manager (:class:`GuardedUploadManager`, the stock ``MemoryUploadedFileManager`` with
  ``add_file`` checked) refuses sessions without a permit (403), files over the permit's size (413) and
  anything once the whole process holds :data:`MAX_TOTAL_BYTES` (503). Per session it keeps at most
  :data:`MAX_SESSION_FILES` files and :data:`MAX_SESSION_BYTES`, dropping the session's oldest files
  first: pages store a file in the database in the run after its upload (self-report evidence moves to
  a fresh widget key), so the oldest are the ones no page needs any more.

A permit is granted by :func:`allow` — called by every uploader the app draws (``ui.widgets.file_uploader``,
the 数据导入 page) — only for a logged-in actor, and lives as long as the session's last completed run
drew an uploader (:func:`page_run` in Home.py prunes the rest). The proxy's own limits are in docs/deploy.md.

Streamlit runs no code of ours before the first script run after a server start, so Home.py installs the
gate at the top of every run; files a session managed to send before the first install are dropped then.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

MB = 1024 * 1024
MAX_SESSION_FILES = 12
MAX_SESSION_BYTES = 64 * MB  # one department import (50 MB) plus a little
MAX_TOTAL_BYTES = 768 * MB  # every session together; beyond it uploads wait (503) until files are released

_lock = threading.Lock()
_permits: dict[str, int] = {}  # session id → largest file (bytes) an uploader on its page accepts
_this_run: dict[str, int] = {}  # permits granted by the session's run in progress


def permit(session_id: str) -> int | None:
    """The largest file ``session_id`` may upload now, or None (no upload at all)."""
    with _lock:
        return _permits.get(session_id)


def _session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def allow(max_mb: int) -> None:
    """Called where the page draws an uploader: this session may upload files up to ``max_mb`` MB — if
    someone is logged in (pages stop anonymous visitors before any uploader; this is the second check)."""
    from ui.guards import current_actor

    session_id = _session_id()
    if session_id is None or current_actor() is None:
        return
    size = int(max_mb * MB)
    with _lock:
        _this_run[session_id] = max(size, _this_run.get(session_id, 0))
        _permits[session_id] = max(size, _permits.get(session_id, 0))


@contextlib.contextmanager
def page_run() -> Iterator[None]:
    """Wrap a script run's page: afterwards the session's permit is exactly what this run's uploaders
    granted (none: no uploads). A run cut short by a rerun keeps the previous permit for the next run."""
    session_id = _session_id()
    with _lock:
        if session_id is not None:
            _this_run.pop(session_id, None)
    try:
        yield
    except BaseException as exc:
        if type(exc).__name__ != "RerunException":
            _settle(session_id)
        raise
    _settle(session_id)


def _settle(session_id: str | None) -> None:
    if session_id is None:
        return
    with _lock:
        granted = _this_run.pop(session_id, None)
        if granted is None:
            _permits.pop(session_id, None)
        else:
            _permits[session_id] = granted


def _forget(session_id: str) -> None:
    with _lock:
        _permits.pop(session_id, None)
        _this_run.pop(session_id, None)


def _http_error(status: int, detail: str) -> Exception:
    try:
        from starlette.exceptions import HTTPException
    except ImportError:  # another server implementation: any exception refuses the upload
        return PermissionError(detail)
    return HTTPException(status_code=status, detail=detail)


def _guarded_manager_class():  # noqa: ANN202 - a class made once, over Streamlit's own
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager

    class GuardedUploadManager(MemoryUploadedFileManager):
        """``MemoryUploadedFileManager`` whose ``add_file`` enforces the permit and the bounds."""

        def add_file(self, session_id, file) -> None:  # noqa: ANN001 - Streamlit's signature
            limit = permit(session_id)
            if limit is None:
                raise _http_error(403, "Upload not permitted for this session")
            size = len(file.data)
            if size > limit:
                raise _http_error(413, "File too large")
            with self._lock:
                storage = self.file_storage[session_id]
                old = storage.pop(file.file_id, None)
                if old is not None:
                    self._total_bytes -= len(old.data)
                    self._file_count -= 1
                # the session's oldest files make room (dicts keep insertion order)
                held = sum(len(f.data) for f in storage.values())
                while storage and (len(storage) + 1 > MAX_SESSION_FILES or held + size > MAX_SESSION_BYTES):
                    _, dropped = next(iter(storage.items()))
                    del storage[dropped.file_id]
                    held -= len(dropped.data)
                    self._total_bytes -= len(dropped.data)
                    self._file_count -= 1
                if self._total_bytes + size > MAX_TOTAL_BYTES:
                    if not storage:
                        del self.file_storage[session_id]
                    raise _http_error(503, "Upload storage is full")
                storage[file.file_id] = file
                self._total_bytes += size
                self._file_count += 1

        def remove_session_files(self, session_id: str) -> None:
            super().remove_session_files(session_id)
            _forget(session_id)

    return GuardedUploadManager


_installed = False
_install_lock = threading.Lock()  # not _lock: purging calls remove_session_files, which takes _lock


def install() -> None:
    """Put the gate on the running server (idempotent; a no-op without one, e.g. under AppTest)."""
    global _installed
    if _installed:
        return
    from streamlit.runtime import Runtime
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager

    if not Runtime.exists():
        return
    runtime = Runtime.instance()
    manager = runtime.uploaded_file_mgr
    with _install_lock:
        if _installed:
            return
        if type(manager) is MemoryUploadedFileManager:
            manager.__class__ = _guarded_manager_class()
            # files that arrived before the gate (the first run after a server start) had no permit
            for session_id in list(manager.file_storage):
                manager.remove_session_files(session_id)
        active = runtime.is_active_session
        runtime.is_active_session = lambda session_id: active(session_id) and permit(session_id) is not None
        _installed = True
