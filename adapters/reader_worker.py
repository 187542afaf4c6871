"""The bounded spreadsheet reader: every untrusted upload is read in a child process with limits.

calamine aborts its whole process when an allocation fails (one cell at XFD1048576 asks for 512 GB),
so it must never run inside the server. Each read runs in a worker forked from a small "zygote"
(``python -m adapters.reader_worker FD``, started once, pandas/pyarrow/calamine already imported: a fork
costs milliseconds where a fresh interpreter costs seconds). The worker sets its address-space and CPU
limits (``ReadLimits``), reads one file with the pure ``core.spreadsheet.read_in_process``, answers
through its own pipe and exits, so memory is returned at once and one file cannot affect the next. The
server kills a worker past the time limit; a worker that dies becomes a Chinese refusal. The zygote
itself never reads a file; if it dies it is started again.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from core.spreadsheet import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_BYTES,
    SAVE_AS,
    ReadLimits,
    ReadRequest,
    ReadResult,
    SheetChoiceNeeded,
    SpreadsheetError,
    check_upload,
    display_name,
    read_in_process,
)

_ROOT = str(Path(__file__).resolve().parent.parent)
_LENGTH = struct.Struct("<Q")
_zygote_lock = threading.Lock()
_zygote: tuple[subprocess.Popen, socket.socket] | None = None


def read_upload(
    data: bytes,
    filename: str = "",
    *,
    expected: Sequence[str] | None = None,
    sheet: int | str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    exclude: Sequence[str] = (),
) -> ReadResult:
    """Read an untrusted upload into a raw sheet, bounded in memory and time (module docstring).

    The sheet is chosen as by ``core.spreadsheet.read_in_process``. Every refusal is a
    ``SpreadsheetError`` with a Chinese message; the calling process is never at risk.
    ``limits.isolated=False`` reads in this process (only for trusted, generated files).
    """
    request = ReadRequest(
        data,
        filename,
        expected=list(expected) if expected is not None else None,
        sheet=sheet,
        limits=limits,
        exclude=list(exclude),
    )
    if not limits.isolated:
        return read_in_process(request)
    check_upload(
        data, filename, limits
    )  # the cheap refusals (too large, PDF, HTML, encrypted…) need no child
    return _read_isolated(request)


def read_table(
    data: bytes,
    filename: str = "",
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    sheet: int | str | None = None,
    limits: ReadLimits | None = None,
) -> pd.DataFrame:
    """Raw cells of the first visible (or the given) sheet as strings; see :func:`read_upload`.

    Raises ``SpreadsheetError`` for an empty file, a file over ``max_bytes``, a non-table file, an
    undecodable csv, a broken or encrypted workbook, a sheet without any cell, or a file beyond the
    reading limits.
    """
    limits = limits or DEFAULT_LIMITS
    if max_bytes != limits.max_bytes:
        limits = replace(limits, max_bytes=max_bytes)
    return read_upload(data, filename, sheet=sheet, limits=limits).frame


# --- the server side ----------------------------------------------------------------------------------


def _start_zygote() -> tuple[subprocess.Popen, socket.socket]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH", "")) if p)
    env["RUST_BACKTRACE"] = "0"  # calamine's failed allocation aborts: keep the log to one line
    env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = "1"  # no BLAS thread pool to fork
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapters.reader_worker", str(theirs.fileno())],
        stdin=subprocess.DEVNULL,
        cwd=_ROOT,
        env=env,
        pass_fds=[theirs.fileno()],
    )
    theirs.close()
    ours.settimeout(120)
    try:
        ready = ours.recv(1)  # sent once the zygote has imported everything
    except OSError:
        ready = b""
    ours.settimeout(None)
    if ready != b"R":
        proc.kill()
        proc.wait()
        ours.close()
        raise SpreadsheetError("表格读取进程无法启动，请稍后重试或联系管理员")
    return proc, ours


def _fork_worker(job_r: int, answer_w: int) -> None:
    """Ask the zygote for a worker reading ``job_r`` and answering on ``answer_w`` (restarts it once)."""
    global _zygote
    for attempt in (1, 2):
        with _zygote_lock:
            if _zygote is None or _zygote[0].poll() is not None:
                _zygote = _start_zygote()
            try:
                socket.send_fds(_zygote[1], [b"J"], [job_r, answer_w])
                return
            except OSError:
                _zygote[0].kill()
                _zygote = None
                if attempt == 2:
                    raise


def _beyond_limits(name: str) -> str:
    return (
        f"读取{name}时超出了可用的内存上限，已停止读取（服务不受影响）。通常是工作表的已用范围异常大"
        "（远处的单元格被误填内容或设置了格式）：请在 Excel 中按 Ctrl+End 找到最后一个单元格，删除多余的行和列"
        "后保存，或只把数据区域复制到新工作簿；数据确实很多时请拆分后分批导入"
    )


def _receive(fd: int, n: int, deadline: float) -> bytes:
    """``n`` bytes from ``fd``; ``TimeoutError`` past the deadline, ``EOFError`` if the writer died."""
    buffer = bytearray()
    while len(buffer) < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError
        chunk = os.read(fd, min(n - len(buffer), 1 << 24))
        if not chunk:
            raise EOFError
        buffer += chunk
    return bytes(buffer)


def _read_isolated(request: ReadRequest) -> ReadResult:
    name, limits = display_name(request.filename), request.limits
    t0 = time.perf_counter()
    deadline = time.monotonic() + limits.seconds
    job = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
    job_r, job_w = os.pipe()
    answer_r, answer_w = os.pipe()
    pid = 0
    try:
        try:
            _fork_worker(job_r, answer_w)
        finally:
            os.close(job_r)
            os.close(answer_w)
        try:
            (pid,) = _LENGTH.unpack(_receive(answer_r, _LENGTH.size, deadline))
            # The job goes in from a thread: a worker that stops reading (killed) must not block us.
            writer = threading.Thread(target=_send_job, args=(job_w, job), daemon=True)
            writer.start()
            (n,) = _LENGTH.unpack(_receive(answer_r, _LENGTH.size, deadline))
            kind, payload = pickle.loads(_receive(answer_r, n, deadline))
            pid = 0
        except TimeoutError:
            raise SpreadsheetError(
                f"读取{name}超过 {limits.seconds:.0f} 秒仍未完成，已停止（服务不受影响）：文件可能过大或结构异常；"
                "请删除多余的内容或拆分后再上传"
            ) from None
        except (EOFError, OSError, pickle.UnpicklingError):  # killed by its limits, or calamine aborted
            raise SpreadsheetError(_beyond_limits(name)) from None
    finally:
        os.close(answer_r)
        if pid:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    if kind == "ok":
        payload.timings["worker_wall"] = time.perf_counter() - t0
        return payload
    if kind == "choice":
        raise SheetChoiceNeeded(*payload)
    if kind == "error":
        raise SpreadsheetError(payload)
    if kind == "memory":
        raise SpreadsheetError(_beyond_limits(name))
    raise SpreadsheetError(f"无法读取{name}：文件已损坏或格式异常；{SAVE_AS}")


def _send_job(fd: int, job: bytes) -> None:
    try:
        _write_fd(fd, _LENGTH.pack(len(job)) + job)
    except OSError:
        pass  # the worker died first; the reader reports it
    finally:
        os.close(fd)


# --- the zygote and its workers -----------------------------------------------------------------------


def zygote_main(fd: int) -> None:
    """Entry point of ``python -m adapters.reader_worker``: fork one worker per request until the server
    goes away."""
    sock = socket.socket(fileno=fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps finished workers
    sock.sendall(b"R")
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(sock, 1, 2)
        except OSError:
            return
        if not msg:
            return  # the server closed its end
        if len(fds) != 2:
            for f in fds:
                os.close(f)
            continue
        if os.fork() == 0:
            sock.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                _worker(*fds)
            finally:
                os._exit(0)
        for f in fds:
            os.close(f)


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit_self(limits: ReadLimits) -> None:
    """Memory and CPU limits for this worker; what it already maps (the zygote's image) is not counted."""
    cap = _address_space() + limits.memory
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    cpu = int(limits.seconds) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))


def _read_fd(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 24))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _write_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _worker(job_r: int, answer_w: int) -> None:
    """One read: announce the pid (so the server can kill it), read the job, answer, exit."""
    _write_fd(answer_w, _LENGTH.pack(os.getpid()))
    try:
        (n,) = _LENGTH.unpack(_read_fd(job_r, _LENGTH.size))
        request: ReadRequest = pickle.loads(_read_fd(job_r, n))
    except (EOFError, OSError, pickle.UnpicklingError):
        return
    try:
        _limit_self(request.limits)
        t0 = time.process_time()
        result = read_in_process(request)
        result.timings["worker_cpu"] = time.process_time() - t0
        answer: tuple[str, Any] = ("ok", result)
    except SheetChoiceNeeded as exc:
        answer = ("choice", (str(exc), exc.candidates))
    except SpreadsheetError as exc:
        answer = ("error", str(exc))
    except MemoryError:
        answer = ("memory", None)
    except BaseException as exc:  # the server turns anything else (a Rust panic too) into a refusal
        answer = ("broken", type(exc).__name__)
    try:
        blob = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        blob = pickle.dumps(("memory", None))
    _write_fd(answer_w, _LENGTH.pack(len(blob)) + blob)


if __name__ == "__main__":
    zygote_main(int(sys.argv[1]))
