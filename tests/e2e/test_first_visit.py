"""A server started as ``make run`` starts it: its first visitor lands on the page asked for, in Chinese,
and the server itself asks no other host for anything.

* A fresh Streamlit 1.67 process imports the pages during its first session, and a browser whose first
  session that is gets Streamlit's English "Page not found" dialog over a deep link (/lists, a bookmark, a
  link in a notice). ``make run`` starts a warm-up beside the server (deploy.cluster.warm_up_after_start)
  that pays that first run.
* A headless Streamlit asks checkip.amazonaws.com for the machine's public address to print an "External
  URL" at start; on a government intranet that is a blocked call to a foreign host in the firewall's log.
  ``.streamlit/config.toml`` names the address (``browser.serverAddress``), so nothing is asked; it also
  asks whenever a WebSocket comes from another origin, which serve.py stops. The test points the server's
  HTTP proxy at a listener of its own and expects no call on it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from deploy.cluster import healthy, streamlit_command
from deploy.local import free_port
from tests.e2e.conftest import stop, wait_settled

ROOT = Path(__file__).resolve().parents[2]


def makefile_warm_up_line(port: int) -> str:
    """The ``run`` target's warm-up command, as make would run it for ``PORT=port``."""
    recipe = re.search(r"^run:.*?\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert recipe, "Makefile has no run target"
    lines = [line.strip() for line in recipe.group(1).splitlines() if "warm_up_after_start" in line]
    assert len(lines) == 1, "make run starts no warm-up beside the server"
    return lines[0].rstrip("&").strip().replace("$(PY)", sys.executable).replace("$(PORT)", str(port))


class OutsideCalls:
    """A listener posing as the HTTP(S) proxy: every connection on it is a call the server made to
    another host (local addresses bypass it through NO_PROXY)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.requests: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.requests.append(conn.recv(2048).decode(errors="replace").split("\r\n", 1)[0])
                except OSError:
                    self.requests.append("(a connection)")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def fresh_server(
    e2e_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, OutsideCalls]]:
    """A server just started, with the Makefile's warm-up run beside it: (base URL, outside calls)."""
    port = free_port()
    outside = OutsideCalls()
    proxy = f"http://127.0.0.1:{outside.port}"
    env = {
        **os.environ,
        "DATABASE_URL": e2e_database_url,
        "COOKIE_KEY": "e2e-only-cookie-key-3f9a1c7e5b2d4a6f8e0c1b3d5f7a9c2e",
        "APP_ENV": "test",
        **{name: proxy for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")},
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    log_path = tmp_path_factory.mktemp("fresh") / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            streamlit_command("serve.py", port), cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + 60
            while not healthy(port):  # the server printed its address: the visitor may come
                assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()[-2000:]
                time.sleep(0.3)
            warm = subprocess.run(
                makefile_warm_up_line(port), shell=True, cwd=ROOT, env=env, timeout=180, capture_output=True
            )
            assert warm.returncode == 0, warm.stderr.decode()[-2000:]
            yield f"http://127.0.0.1:{port}", outside
        finally:
            stop(server)
            outside.close()


def _open_first(browser, url: str):  # noqa: ANN001, ANN202
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(url)
    wait_settled(page, timeout_s=60)
    return context, page


def test_a_deep_link_as_the_first_visit_after_make_run_shows_the_page(fresh_server, browser) -> None:  # noqa: ANN001
    base_url, _ = fresh_server
    context, page = _open_first(browser, f"{base_url}/lists")
    try:
        assert page.locator('[role="dialog"]').all_inner_texts() == []
        page.get_by_role("heading", name="积分榜单").first.wait_for(timeout=10_000)
    finally:
        context.close()


def test_the_server_asks_no_other_host_at_start_or_for_a_visit(fresh_server, browser) -> None:  # noqa: ANN001
    base_url, outside = fresh_server
    context, page = _open_first(browser, f"{base_url}/")
    try:
        page.get_by_role("heading").first.wait_for(timeout=10_000)
    finally:
        context.close()
    # A page of another site opens a WebSocket to the app (as any site an officer has open can): refused,
    # without the server asking the internet for its own public address first.
    with (
        pytest.raises(InvalidStatus),
        connect(
            f"{base_url.replace('http', 'ws')}/_stcore/stream", origin="http://other.example", open_timeout=30
        ),
    ):
        pass
    assert outside.requests == []
