"""Exports from a page: small ones built in the run, large ones in a child process with a progress bar.

Writing 100,000 styled rows takes about a minute with any writer, in pure Python: done in the page's own
script thread it would hold the interpreter lock and slow every other user's page. More than
:data:`LARGE_EXPORT_ROWS` rows go to a separate process (its own interpreter, no shared lock) that
reports rows written through shared memory; a fragment polls it once a second and offers the file when
it is done. The table has already passed the service (authorisation, audit); the child only writes it
through core.spreadsheet's sanitiser.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

LARGE_EXPORT_ROWS = 10_000
MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv"}


def _write(table: pd.DataFrame, fmt: str, sheet: str, path: str, counter: Any) -> None:
    """Child process: write the file, counting rows as they go; an error is left beside it as text."""
    from services.search import export_bytes

    def progress(done: int, _total: int) -> None:
        counter.value = done

    try:
        data = export_bytes(table, fmt, sheet=sheet, progress=progress)
        Path(path + ".part").write_bytes(data)
        os.replace(path + ".part", path)
    except Exception as exc:  # noqa: BLE001 - reported to the page, which shows it in Chinese
        Path(path + ".err").write_text(
            f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}", encoding="utf-8"
        )


@dataclass
class ExportJob:
    process: Any
    counter: Any
    total: int
    path: str
    file_name: str
    fmt: str
    started: float

    @property
    def done(self) -> bool:
        return Path(self.path).exists() or Path(self.path + ".err").exists() or not self.process.is_alive()

    def error(self) -> str | None:
        err = Path(self.path + ".err")
        if err.exists():
            return err.read_text(encoding="utf-8").splitlines()[0]
        if not self.process.is_alive() and not Path(self.path).exists():
            return "导出进程意外退出"
        return None

    def take(self) -> bytes:
        data = Path(self.path).read_bytes()
        Path(self.path).unlink(missing_ok=True)
        return data


def start_export(table: pd.DataFrame, fmt: str, *, file_name: str, sheet: str) -> ExportJob:
    """Write ``table`` in a child process ("spawn": no copy of the server's threads and sockets)."""
    context = multiprocessing.get_context("spawn")
    counter = context.Value("q", 0)
    fd, path = tempfile.mkstemp(prefix="export-", suffix=f".{fmt}")
    os.close(fd)
    os.unlink(path)  # the child creates it when finished: its existence means "done"
    process = context.Process(target=_write, args=(table, fmt, sheet, path, counter), daemon=True)
    process.start()
    return ExportJob(
        process=process,
        counter=counter,
        total=len(table),
        path=path,
        file_name=file_name,
        fmt=fmt,
        started=time.monotonic(),
    )


def export_panel(key: str, build: Any, *, file_stem: str, sheet: str) -> None:
    """Format choice, a 生成导出文件 button, then a download button (with progress when large).

    ``build(fmt)`` returns the table to write (it runs the service: authorisation and audit).
    """
    job_key, ready_key = f"{key}_job", f"{key}_ready"
    left, right = st.columns([1, 3])
    fmt = left.radio("导出格式", ["xlsx", "csv"], horizontal=True, key=f"{key}_fmt")
    if right.button("生成导出文件", key=f"{key}_build", icon=":material/download:"):
        st.session_state.pop(ready_key, None)
        table = build(fmt)
        file_name = f"{file_stem}.{fmt}"
        if len(table) > LARGE_EXPORT_ROWS:
            st.session_state[job_key] = start_export(table, fmt, file_name=file_name, sheet=sheet)
        else:
            from services.search import export_bytes

            st.session_state[ready_key] = (file_name, fmt, export_bytes(table, fmt, sheet=sheet), len(table))
    if job_key in st.session_state:
        _poll(job_key, ready_key)
    ready = st.session_state.get(ready_key)
    if ready:
        file_name, fmt_ready, data, rows = ready
        st.download_button(
            f"下载 {file_name}（{rows:,} 行）",
            data,
            file_name=file_name,
            mime=MIME[fmt_ready],
            key=f"{key}_download",
            type="primary",
        )


@st.fragment(run_every=1.0)
def _poll(job_key: str, ready_key: str) -> None:
    job: ExportJob | None = st.session_state.get(job_key)
    if job is None:
        return
    if not job.done:
        share = min(job.counter.value / max(job.total, 1), 0.99)
        st.progress(
            share,
            text=f"正在生成 {job.file_name}：已写入 {job.counter.value:,} / {job.total:,} 行"
            f"（后台进行，不影响其他页面）",
        )
        return
    st.session_state.pop(job_key, None)
    problem = job.error()
    if problem:
        st.error(f"导出失败：{problem}")
        return
    st.session_state[ready_key] = (job.file_name, job.fmt, job.take(), job.total)
    st.rerun(scope="app")  # the whole page shows the download button
