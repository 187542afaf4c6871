"""Hostile visitors against the real server: raw uploads and ``clear_cache`` messages from a script, as an attacker
sends them (no browser in the attack; the browser only logs in for the logged-in case).

The attacker speaks Streamlit's own protocol: a websocket to ``/_stcore/stream`` (a session), then
``PUT /_stcore/upload_file/<session>/<file>`` with a self-made XSRF token (cookie = header), and
``clear_cache`` back messages.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlparse

import requests
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.web.server.starlette.starlette_app_utils import generate_xsrf_token_string

from tests.e2e.conftest import login
from ui.auth import COOKIE_NAME

MB = 1024 * 1024


def _run(coroutine_function):  # noqa: ANN001, ANN202
    """Run an async attack in a thread of its own: Playwright's sync API keeps an event loop running in
    the test's thread, where asyncio.run is refused."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_function())).result()


def _server_pid(base_url: str) -> int:
    """The Streamlit server process listening on ``base_url``'s port (started by the app_server fixture)."""
    port = str(urlparse(base_url).port)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(args) and b"--server.port" in args and port.encode() in args:
            return int(proc.name)
    raise AssertionError("no Streamlit server process found")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _threads(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


class Session:
    """One websocket session of the app, driven by hand."""

    def __init__(self, ws, token: str, session_id: str, base_url: str) -> None:  # noqa: ANN001
        self.ws, self.token, self.session_id, self.base_url = ws, token, session_id, base_url

    async def run(self, page: str = "") -> None:
        """Ask for a script run (of ``page``) and wait until it finished."""
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_name = page
        await self.ws.send(msg.SerializeToString())
        await self._until("script_finished")

    async def _until(self, kind: str) -> ForwardMsg:
        while True:
            message = ForwardMsg.FromString(await asyncio.wait_for(self.ws.recv(), 90))
            if message.WhichOneof("type") == kind:
                return message

    async def clear_cache(self) -> None:
        msg = BackMsg()
        msg.clear_cache = True
        await self.ws.send(msg.SerializeToString())

    async def upload(self, size: int) -> int:
        """PUT a file of ``size`` bytes into this session; the HTTP status."""
        url = f"{self.base_url}/_stcore/upload_file/{self.session_id}/{uuid.uuid4()}"

        def put() -> int:
            try:
                response = requests.put(
                    url,
                    files={"file": ("evil.pdf", b"%PDF" + b"\0" * (size - 4))},
                    headers={"X-Xsrftoken": self.token},
                    cookies={"_streamlit_xsrf": self.token},
                    timeout=120,
                )
            except requests.ConnectionError:  # the server may close the connection on a refused body
                return 0
            return response.status_code

        return await asyncio.to_thread(put)


@asynccontextmanager
async def session(base_url: str, cookie: str | None = None, page: str = "") -> AsyncIterator[Session]:
    token = generate_xsrf_token_string()
    cookies = f"_streamlit_xsrf={token}" + (f"; {COOKIE_NAME}={cookie}" if cookie else "")
    async with websockets.connect(
        base_url.replace("http", "ws", 1) + "/_stcore/stream",
        subprotocols=["streamlit", token],
        additional_headers={"Cookie": cookies},
        max_size=None,
    ) as ws:
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_name = page
        await ws.send(msg.SerializeToString())
        first = None
        while first is None:
            message = ForwardMsg.FromString(await asyncio.wait_for(ws.recv(), 90))
            if message.WhichOneof("type") == "new_session":
                first = message.new_session.initialize.session_id
        live = Session(ws, token, first, base_url)
        await live._until("script_finished")
        yield live


def test_anonymous_raw_uploads_are_refused_and_memory_stays_put(app_server: str) -> None:
    pid = _server_pid(app_server)

    async def attack() -> tuple[list[int], float]:
        statuses = []
        async with session(app_server) as one, session(app_server) as two, session(app_server) as three:
            for attacker in (one, two, three):
                for _ in range(4):  # 12 × 40 MB = 480 MB if the server kept them
                    statuses.append(await attacker.upload(40 * MB))
            before_close = _rss_mb(pid)
        return statuses, before_close

    start = _rss_mb(pid)
    statuses, during = _run(attack)
    assert statuses and all(s in (0, 400, 403) for s in statuses), statuses
    # memory did not take the 480 MB (a transient request buffer at most)
    assert during - start < 120, (start, during)


def test_a_logged_in_page_without_an_uploader_cannot_receive_files(app_server: str, page) -> None:  # noqa: ANN001
    login(page, app_server, "ent1")
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == COOKIE_NAME)

    async def attack() -> list[int]:
        async with session(app_server, cookie=cookie) as landing:  # the portrait: no uploader on it
            return [await landing.upload(1 * MB) for _ in range(3)]

    assert all(s in (0, 400, 403) for s in _run(attack))


def test_clear_cache_messages_do_not_leak_worker_threads(app_server: str) -> None:
    pid = _server_pid(app_server)

    async def flood() -> tuple[int, int]:
        async with session(app_server) as anonymous:
            await anonymous.run()
            before = _threads(pid)
            for _ in range(40):
                await anonymous.clear_cache()
                await anonymous.run()  # every run calls ensure_dynamic_worker again
            await asyncio.sleep(1)
            return before, _threads(pid)

    before, after = _run(flood)
    assert after - before < 10, (before, after)  # one leaked worker per message was +40


def test_the_pages_uploaders_still_receive_files(app_server: str, new_page, tmp_path: Path) -> None:  # noqa: ANN001
    """The gate's other side: an enterprise's evidence uploader and the officers' import uploader work."""
    from tests.e2e.conftest import goto, wait_settled
    from tests.e2e.test_enterprise_flow import _add_group_standard, _reopen_for_correction, _upload_last

    enterprise = new_page(1280, 800)
    login(enterprise, app_server, "ent3")
    goto(enterprise, app_server, "self-report")
    enterprise.get_by_role("heading", name="数据填报").wait_for()
    _reopen_for_correction(enterprise, "补充一项团体标准")
    _add_group_standard(enterprise, "上传通道检查标准", "T/WZ 024-2025")
    _upload_last(enterprise, tmp_path)  # "已上传“证明材料.pdf”": the file reached the server and the database

    officer = new_page(1400, 900)
    login(officer, app_server, "officer2")
    goto(officer, app_server, "imports")
    csv = tmp_path / "税务.csv"
    csv.write_text("统一社会信用代码,企业名称,营业收入\n", encoding="utf-8")
    officer.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
    wait_settled(officer)
    assert officer.get_by_role("button", name="试导入（只检查，不写入）").is_enabled()  # the upload arrived
