"""Infrastructure faults in a real browser — the database unreachable (PostgreSQL), the disk
full and the SQLite file on a read-only mount. Every page the user is on, the login included, shows the
Chinese message (what happened, nothing saved, try later); no exception text, host, port or driver
message reaches the browser; the details are in the server log.

Each test starts a server of its own on a database of its own. Disk full and read-only are real: a small
tmpfs that is then filled, or remounted read-only (root only; skipped elsewhere).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from deploy.local import free_port
from tests.conftest import throwaway_postgres
from tests.e2e.conftest import ROOT, login, running_app, wait_settled

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
# What must never reach the browser: exception class names, driver and library names, SQL, tracebacks.
LEAKS = re.compile(
    r"OperationalError|InterfaceError|sqlalchemy|sqlite3|psycopg|Traceback|errno|"
    r"readonly database|disk is full|Connection refused|connection failed|127\.0\.0\.1|"
    r"SELECT |UPDATE |INSERT |File \"|\.py",
    re.IGNORECASE,
)
NOTHING_SAVED = "本次操作没有保存任何内容"


def _manage(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def _seed(url: str) -> None:
    """A small demo in which ent1's reports are drafts (the demo may have submitted them): the page's
    保存草稿 is then enabled, which is the moment the fault is staged at."""
    _manage(url, "init-db")
    _manage(url, "seed-demo", "--local-demo", "--enterprises", "30")
    from sqlalchemy import text

    from db.session import make_engine

    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE submission SET state = 'draft' WHERE enterprise_id = "
                "(SELECT enterprise_id FROM \"user\" WHERE username = 'ent1')"
            )
        )
    engine.dispose()


@contextmanager
def _server(url: str, log_path: Path, browser) -> Iterator[str]:  # noqa: ANN001
    """A server (Home.py, no 动态积分 worker) on ``url``, warmed up by one visit."""
    env = {
        "DATABASE_URL": url,
        "COOKIE_KEY": "e2e-only-cookie-key-3f9a1c7e5b2d4a6f8e0c1b3d5f7a9c2e",
        "APP_ENV": "test",
        "DYNAMIC_WORKER": "0",
    }
    with running_app(env, log_path, browser, entry="Home.py") as base:
        yield base


def _assert_fault_message(page, what: str, log_path: Path) -> None:  # noqa: ANN001
    wait_settled(page)
    alert = page.locator('[data-testid="stAlertContentError"]').filter(has_text=NOTHING_SAVED)
    try:
        alert.first.wait_for(timeout=20_000)
    except Exception as exc:  # noqa: BLE001 - say what the page showed instead
        errors = [ln for ln in log_path.read_text(errors="replace").splitlines() if "Error" in ln]
        raise AssertionError(page.locator("body").inner_text()[-1500:] + "\n".join(errors[-8:])) from exc
    text = alert.first.inner_text()
    assert what in text and "请稍后再试" in text and "错误编号" in text, text
    body = page.locator("body").inner_text()
    assert not LEAKS.search(body), LEAKS.search(body)
    assert page.locator('[data-testid="stException"]').count() == 0
    ref = re.search(r"错误编号 ([0-9a-f]{8})", text).group(1)
    server_log = log_path.read_text(encoding="utf-8", errors="replace")
    assert f"infrastructure fault {ref}" in server_log  # the details stay on the server


def _open_self_report(page, base: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/self-report")
    wait_settled(page)
    page.get_by_role("heading", name="数据填报").wait_for()
    page.get_by_role("button", name="保存草稿").first.wait_for()
    wait_settled(page)


def _attempt_login(page, base: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/login")
    wait_settled(page)
    page.get_by_label("用户名").fill("officer1")
    page.get_by_label("密码", exact=True).fill("Demo@2025")
    page.get_by_role("button", name="登录").click()


def _save_draft(page) -> None:  # noqa: ANN001
    page.get_by_role("button", name="保存草稿").first.click()


# ------------------------------------------------------------------------------ PostgreSQL unreachable
def test_unreachable_database_anonymous_and_login(new_page, browser, tmp_path: Path) -> None:  # noqa: ANN001
    """PostgreSQL on a closed port from the start: the public home page and a login attempt."""
    url = f"postgresql://app:s3cret@127.0.0.1:{free_port()}/innovation"
    log_path = tmp_path / "server.log"
    with _server(url, log_path, browser) as base:
        page = new_page()
        page.goto(base)
        _assert_fault_message(page, "无法连接数据库", log_path)
        login_page = new_page()
        login_page.goto(f"{base}/login")
        wait_settled(login_page)
        if login_page.get_by_label("用户名").count():
            login_page.get_by_label("用户名").fill("officer1")
            login_page.get_by_label("密码", exact=True).fill("Demo@2025")
            login_page.get_by_role("button", name="登录").click()
        _assert_fault_message(login_page, "无法连接数据库", log_path)


class _Proxy:
    """A TCP forwarder to PostgreSQL that can be cut: the database becomes unreachable mid-session."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.open:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:  # accepted while being cut: this connection must not reach the database
                client.close()
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        self.open = False
        # close() alone does not wake a thread blocked in accept(), which could then still accept the
        # server's next (pre-ping) connection and forward it; shutdown() wakes it on Linux.
        with suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for sock in self.sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
def test_database_lost_while_an_enterprise_saves_a_draft(new_page, browser, tmp_path: Path) -> None:  # noqa: ANN001
    from sqlalchemy.engine import make_url

    with throwaway_postgres("ip_fault") as database_url:
        real = make_url(database_url)
        _seed(real.render_as_string(hide_password=False))
        proxy = _Proxy(real.host or "127.0.0.1", real.port or 5432)
        url = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        log_path = tmp_path / "server.log"
        with _server(url, log_path, browser) as base:
            page = new_page()
            login(page, base, "ent1")
            _open_self_report(page, base)
            proxy.cut()
            _save_draft(page)
            _assert_fault_message(page, "无法连接数据库", log_path)
            # The public pages may still show what they cached; a login needs the database.
            officer = new_page()
            _attempt_login(officer, base)
            _assert_fault_message(officer, "无法连接数据库", log_path)


# ------------------------------------------------------------------------------ SQLite: disk full, read-only
@contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a tmpfs needs root (the disk-full and read-only faults are real mounts)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture(scope="module")
def small_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded SQLite file, checkpointed into one file (its WAL starts empty wherever it is copied)."""
    path = tmp_path_factory.mktemp("faults") / "seed.db"
    _seed(f"sqlite:///{path}")
    import sqlite3

    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return path


def _fill(directory: Path) -> None:
    # ENOSPC may come from a write, a flush or the close: all of them end the filling.
    with suppress(OSError), open(directory / "filler", "wb", buffering=0) as filler:
        while True:
            filler.write(b"\0" * 65536)


def test_disk_full_while_an_enterprise_saves_a_draft(
    new_page, browser, tmp_path: Path, small_sqlite: Path
) -> None:  # noqa: ANN001
    size = small_sqlite.stat().st_size + 16 * 1024 * 1024
    with _tmpfs(tmp_path / "disk", str(size)) as disk:
        shutil.copy(small_sqlite, disk / "app.db")
        log_path = tmp_path / "server.log"
        with _server(f"sqlite:///{disk / 'app.db'}", log_path, browser) as base:
            page = new_page()
            login(page, base, "ent1")
            _open_self_report(page, base)
            _fill(disk)
            _save_draft(page)
            _assert_fault_message(page, "存储空间已满", log_path)
            officer = new_page()  # logging in writes a session: the login page says the same
            _attempt_login(officer, base)
            _assert_fault_message(officer, "存储空间已满", log_path)


def test_read_only_sqlite_anonymous_and_login(new_page, browser, tmp_path: Path, small_sqlite: Path) -> None:  # noqa: ANN001
    """The SQLite file on a mount that is read-only when the server starts (a mount cannot turn read-only
    under a process that has its files open for writing). Whatever can be read is shown; logging in
    writes (a session row) and gets the message."""
    with _tmpfs(tmp_path / "ro", "256m") as disk:
        shutil.copy(small_sqlite, disk / "app.db")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        log_path = tmp_path / "server.log"
        with _server(f"sqlite:///{disk / 'app.db'}", log_path, browser) as base:
            page = new_page()
            page.goto(base)
            wait_settled(page)
            body = page.locator("body").inner_text()
            assert not LEAKS.search(body), LEAKS.search(body)
            assert page.locator('[data-testid="stException"]').count() == 0
            officer = new_page()
            _attempt_login(officer, base)
            _assert_fault_message(officer, "只读", log_path)


# ------------------------------------------------------------------------------ a bug
def test_a_bug_shows_a_chinese_message_and_keeps_its_traceback_on_the_server(browser, tmp_path: Path) -> None:  # noqa: ANN001
    """An exception that is no infrastructure fault (a bug) reaches the browser as a Chinese message with a
    reference number — never Streamlit's English box with the traceback, the exception's text and links
    to search engines outside the intranet; the traceback is in the server log under that number."""
    log_path = tmp_path / "server.log"
    with running_app({"APP_ENV": "test"}, log_path, browser, entry="tests/e2e/apps/bug_page.py") as base:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(base)
        wait_settled(page)
        page.get_by_role("button", name="出错").click()
        alert = page.locator('[data-testid="stAlertContentError"]').filter(has_text="页面出现了程序错误")
        alert.wait_for(timeout=20_000)
        text = alert.inner_text()
        body = page.locator("body").inner_text()
        links = page.locator("a").evaluate_all("links => links.map(a => a.href)")
        exception_boxes = page.locator('[data-testid="stException"]').count()
        page.close()
    assert exception_boxes == 0
    assert "ValueError" not in body and "secret" not in body and not LEAKS.search(body), body
    assert not [href for href in links if "google" in href or "chatgpt" in href], links
    ref = re.search(r"错误编号 ([0-9a-f]{8})", text).group(1)
    server_log = log_path.read_text(encoding="utf-8", errors="replace")
    assert f"unexpected error {ref}" in server_log
    assert "Traceback (most recent call last):" in server_log and "ValueError" in server_log
