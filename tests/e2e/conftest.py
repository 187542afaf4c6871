"""Browser tests: a real Streamlit server on a seeded SQLite file, driven by Playwright in Debian's Chromium.

* ``e2e_database_url`` — a fresh database seeded with a small demo (``E2E_ENTERPRISES``, default 300);
* ``app_server`` — one server per test session (base URL), on a free port, against that database.
* ``browser`` — Chromium launched from ``/usr/bin/chromium`` (never a Playwright-downloaded build).
* ``new_page(width, height)`` — a fresh context (own cookies) and page; ``page`` is one at 1280×800.
* every e2e test fails when the server wrote a traceback to its log while the test ran
  (:func:`no_server_traceback`);
* :func:`wait_settled` — a click or a page change may bring more than one script run (a callback's outcome
  taken over, a page switch), so "idle once" is not enough: wait until the app has stayed idle for ~800 ms.

All e2e tests share one xdist group, so they run in one worker, one after another, on one server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from deploy.cluster import healthy, streamlit_command
from deploy.local import free_port
from ui.auth import COOKIE_NAME

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("e2e"))
            if not CHROMIUM.exists():
                item.add_marker(
                    pytest.mark.skip(reason="Debian's chromium is not installed (make test installs it)")
                )


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


@pytest.fixture(scope="session")
def e2e_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A freshly migrated and seeded SQLite demo (``E2E_ENTERPRISES`` enterprises, default 300)."""
    db_path = tmp_path_factory.mktemp("e2e") / "e2e.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}"}
    _manage(env, "init-db")
    _manage(env, "seed-demo", "--local-demo", "--enterprises", os.environ.get("E2E_ENTERPRISES", "300"))
    return env["DATABASE_URL"]


@pytest.fixture(scope="session")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Streamlit server's combined stdout/stderr."""
    return tmp_path_factory.mktemp("e2e-log") / "streamlit.log"


@pytest.fixture(autouse=True)
def no_server_traceback(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test when the server logged a traceback while it ran (an exception a page swallowed,
    a pyarrow conversion error …): the browser may look fine while the server is not."""
    if "app_server" not in request.fixturenames:
        yield
        return
    log: Path = request.getfixturevalue("server_log")
    request.getfixturevalue("app_server")
    start = log.stat().st_size if log.exists() else 0
    yield
    written = log.read_bytes()[start:].decode("utf-8", errors="replace") if log.exists() else ""
    ours = [t for t in tracebacks(written) if not is_upstream_race(t)]
    if ours:
        pytest.fail(f"the Streamlit server logged a traceback during this test:\n{ours[-1][-4000:]}")


def outside_requests(app_server: str) -> tuple[list[str], Callable[[object], None]]:
    """A list that fills with every request a watched page sends to a host other than the app's, and
    ``watch(page)`` to watch a page (the intranet is offline: nothing may leave the server)."""
    from urllib.parse import urlparse

    own = urlparse(app_server).netloc
    outside: list[str] = []

    def watch(page) -> None:  # noqa: ANN001
        def record(request) -> None:  # noqa: ANN001
            url = urlparse(request.url)
            if url.scheme in ("http", "https", "ws", "wss") and url.netloc != own:
                outside.append(request.url)

        page.on("request", record)

    return outside, watch


def tracebacks(log_text: str) -> list[str]:
    """Each traceback in a server log, from its header line to the exception line."""
    out: list[str] = []
    for chunk in log_text.split("Traceback (most recent call last):")[1:]:
        lines = chunk.splitlines()
        end = next((i for i, ln in enumerate(lines[1:], 1) if ln and not ln.startswith(" ")), len(lines) - 1)
        out.append("Traceback (most recent call last):" + "\n".join(lines[: end + 1]))
    return out


# Streamlit 1.67's script thread iterates the session's widget states in _reset_triggers while the
# event-loop thread may change them (a page left mid-run in a fast navigation): an upstream race with
# no frame of this project in it. Only that exact traceback is tolerated; any frame of ours still fails.
_UPSTREAM_RACE = "RuntimeError: dictionary changed size during iteration"


def is_upstream_race(traceback_text: str) -> bool:
    files = [ln.strip() for ln in traceback_text.splitlines() if ln.strip().startswith('File "')]
    return (
        traceback_text.rstrip().endswith(_UPSTREAM_RACE)
        and "_reset_triggers" in traceback_text
        and all(
            "/site-packages/streamlit/" in f or "/lib/python3" in f and "site-packages" not in f
            for f in files
        )
    )


@pytest.fixture(scope="session")
def app_server(e2e_database_url: str, browser, server_log: Path) -> Iterator[str]:  # noqa: ANN001
    """Base URL of a running app on the seeded e2e database, warmed up by one visit.

    The first session after a server start is special in Streamlit 1.67: while its cold first run is
    still importing, the browser shows a spurious "Page not found" dialog over the right page. One visit
    before the tests keeps them about the app, not about that start-up race.
    """
    env = {
        "DATABASE_URL": e2e_database_url,
        "COOKIE_KEY": "e2e-only-cookie-key-3f9a1c7e5b2d4a6f8e0c1b3d5f7a9c2e",
        "APP_ENV": "test",
        # The 动态积分 worker runs in the server as in production, on a short interval.
        "DYNAMIC_WORKER": "1",
        "DYNAMIC_MIN_INTERVAL": "2",
        "DYNAMIC_POLL_SECONDS": "1",
    }
    with running_app(env, server_log, browser, entry="serve.py") as base_url:  # Home.py plus the API routes
        yield base_url


@contextmanager
def running_app(env: dict[str, str], log_path: Path, browser, *, entry: str) -> Iterator[str]:  # noqa: ANN001
    """A Streamlit server of ``entry`` on a free port with ``env`` added, warmed up by one visit (see
    :func:`app_server`); stopped on leaving. Its output goes to ``log_path``."""
    port = free_port()
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            streamlit_command(entry, port),
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while not healthy(port):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Streamlit did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.3)
            warm_up = browser.new_context()
            warm_up.new_page().goto(base_url)
            wait_settled(warm_up.pages[0], timeout_s=60)
            warm_up.close()
            yield base_url
        finally:
            stop(server)


def stop(server: subprocess.Popen) -> None:
    """End a server this test started: asked first, killed after 10 s."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser) -> Iterator[Callable[..., object]]:  # noqa: ANN001 - playwright Browser
    """Factory: ``new_page(width=1280, height=800)`` → a page in a fresh context (own cookies)."""
    contexts = []

    def make(width: int = 1280, height: int = 800):  # noqa: ANN202
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):  # noqa: ANN001, ANN201
    return new_page()


def wait_settled(page, *, quiet_ms: int = 800, timeout_s: float = 30) -> None:  # noqa: ANN001
    """Wait until the app's script has stayed idle for ``quiet_ms`` (reruns restart the clock)."""
    deadline = time.monotonic() + timeout_s
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_s * 1000)
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        if page.locator(IDLE).count() == 1:
            quiet_since = quiet_since or time.monotonic()
            if (time.monotonic() - quiet_since) * 1000 >= quiet_ms:
                return
        else:
            quiet_since = None
        page.wait_for_timeout(100)
    raise TimeoutError("the app did not settle")


def screenshot(page, name: str) -> Path:  # noqa: ANN001
    """Save a full-page screenshot under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# Streamlit's main area scrolls by itself (overflow: auto): content wider than a phone makes *it* scroll
# sideways while the document stays exactly as wide as the viewport, so both are measured.
_OVERFLOW = """() => Math.max(
  document.documentElement.scrollWidth - window.innerWidth,
  ...Array.from(document.querySelectorAll('[data-testid="stAppViewContainer"], [data-testid="stMain"]'),
                (e) => e.scrollWidth - e.clientWidth))"""


def horizontal_overflow(page) -> int:  # noqa: ANN001
    """How many CSS pixels the page is wider than its screen (0 = nothing overflows): the document, and
    the app's own scrolling main area (a table scrolling inside itself is not overflow)."""
    return int(page.evaluate(_OVERFLOW))


DEMO_PASSWORD = "Demo@2025"


def goto(page, base_url: str, path: str) -> None:  # noqa: ANN001
    """Open ``/path`` as a deep link, wait until the app has settled, and insist it was found.

    A role's landing page lives at ``/`` (``path=""``): Streamlit serves the default page there only.
    """
    page.goto(f"{base_url}/{path}")
    wait_settled(page)
    dialogs = page.locator('[role="dialog"]')
    assert dialogs.count() == 0, (path, dialogs.all_inner_texts())


def open_signed_in(new_page, base_url: str, username: str, path: str, *, size: tuple[int, int] = (1280, 800)):  # noqa: ANN001, ANN201
    """A new page of ``size`` signed in as ``username`` (the demo password), then opened at ``/path``."""
    page = new_page(*size)
    login(page, base_url, username)
    goto(page, base_url, path)
    return page


def replace_one_time_password(page, one_time: str, new: str) -> None:  # noqa: ANN001
    """Answer the 修改密码 form a first login with a one-time password lands on, as its owner does."""
    page.get_by_role("heading", name="修改密码").wait_for()
    page.get_by_label("原密码").fill(one_time)
    page.get_by_label("新密码", exact=True).fill(new)
    page.get_by_label("再次输入新密码").fill(new)
    page.get_by_role("button", name="保存新密码").click()
    wait_settled(page)


def login(
    page,
    base_url: str,
    username: str,
    password: str = DEMO_PASSWORD,
    *,  # noqa: ANN001
    expect_success: bool = True,
) -> None:
    """Sign in through the 登录 page (a deep link, which must land without Streamlit's dialog)."""
    goto(page, base_url, "login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    wait_settled(page)
    if expect_success:
        page.get_by_role("button", name="退出登录").wait_for()
        # The login cookie is written by a script in the page once the page shows the session: a deep
        # link opened before it lands starts a session without it (a person never clicks that fast).
        deadline = time.monotonic() + 15
        while not any(c["name"] == COOKIE_NAME for c in page.context.cookies()):
            assert time.monotonic() < deadline, "the login cookie never reached the browser"
            page.wait_for_timeout(100)
