"""Two servers behind Debian's nginx on one PostgreSQL database (``manage.py serve``).

An officer on one server approves ent2's pending self-report; ent2, whose browser is on the other server,
sees it approved on the next page load. Then ent2's server is recycled (``serve --recycle 2``): ent2 is
still logged in after it comes back. Which server a browser is on is read from the ``X-Upstream`` header
the test cluster adds (``CLUSTER_EXPOSE_UPSTREAM=1``); the sticky cookie of each browser is chosen so
that the two land on different servers.

Skipped without a PostgreSQL server (TEST_DATABASE_URL) or nginx (``make nginx``).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlmodel import Session

from deploy.cluster import STICKY_COOKIE
from deploy.local import start_local_cluster, sticky_values
from tests.conftest import TEST_DATABASE_URL, throwaway_postgres
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, goto, login, screenshot, wait_settled

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set"),
    pytest.mark.skipif(
        not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()),
        reason="nginx is not installed (make nginx)",
    ),
]


@pytest.fixture(scope="module")
def cluster_db() -> Iterator[str]:
    """A PostgreSQL database of this module's own, migrated and seeded with a small demo."""
    with throwaway_postgres("ip_cluster") as url:
        env = {**os.environ, "DATABASE_URL": url}
        for args in (["init-db"], ["seed-demo", "--local-demo", "--enterprises", "120"]):
            subprocess.run(
                [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True
            )
        yield url


@pytest.fixture(scope="module")
def cluster(cluster_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """``manage.py serve --replicas 2`` on free ports: {"url", "run_dir", "ports", "env"}."""
    run_dir = tmp_path_factory.mktemp("cluster")
    env = {
        "APP_ENV": "test",
        "COOKIE_KEY": "cluster-test-cookie-key-8c1f4e2a9b7d3f6e0a5c2b8d4f1e7a3c",
        "DYNAMIC_WORKER": "0",
    }
    started = start_local_cluster(cluster_db, 2, run_dir, env=env, timeout=120)
    yield {"url": started.url, "run_dir": run_dir, "ports": started.ports, "env": started.env}
    started.stop()
    tail = "\n".join(
        (run_dir / "logs" / f"server-{i}.log").read_text(errors="replace")[-3000:] for i in (1, 2)
    )
    assert "Traceback" not in tail, tail


def _sticky_for(url: str, port: int) -> str:
    values = sticky_values(url, [port], 1)[port]
    assert values, f"no sticky value reaches port {port}"
    return values[0]


def _upstream(page, url: str) -> str | None:  # noqa: ANN001
    return page.context.request.get(f"{url}/_stcore/health").headers.get("x-upstream")


def _on_server(page, url: str, port: int) -> None:  # noqa: ANN001
    assert _upstream(page, url) == f"127.0.0.1:{port}"


def _routed_back(page, url: str, port: int, timeout: float = 30.0) -> None:  # noqa: ANN001
    """Wait until nginx sends this browser to ``port`` again. While a server restarts, the browser's
    reconnect attempts fail there, so nginx's passive check (``max_fails=2 fail_timeout=5s``) skips it
    for a few seconds and sends the browser to the other server; then it tries it again."""
    deadline = time.monotonic() + timeout
    while (seen := _upstream(page, url)) != f"127.0.0.1:{port}":
        assert time.monotonic() < deadline, f"nginx still sends this browser to {seen}, not {port}"
        time.sleep(0.5)


def test_approval_on_one_server_shows_on_the_other_and_a_recycle_keeps_the_login(
    cluster: dict, new_page, cluster_db: str
) -> None:  # noqa: ANN001
    from db.models import Submission, User
    from db.session import make_engine

    url, (port_a, port_b) = cluster["url"], cluster["ports"]
    engine = make_engine(cluster_db)
    with Session(engine) as session:
        ent2 = session.execute(select(User.enterprise_id).where(User.username == "ent2")).scalar_one()
        pending = (
            session.execute(
                select(Submission.id).where(Submission.enterprise_id == ent2, Submission.state == "submitted")
            )
            .scalars()
            .all()
        )
        code = session.execute(
            text("SELECT credit_code FROM enterprise WHERE id = :i"), {"i": ent2}
        ).scalar_one()
    engine.dispose()
    assert pending, "the demo gives ent2 a report waiting for review"

    officer, enterprise = new_page(1400, 900), new_page(1280, 800)
    for page, port in ((officer, port_a), (enterprise, port_b)):
        page.context.add_cookies([{"name": STICKY_COOKIE, "value": _sticky_for(url, port), "url": url}])
        _on_server(page, url, port)

    login(enterprise, url, "ent2")
    goto(enterprise, url, "self-report")
    enterprise.get_by_text(re.compile("已提交，等待审核")).first.wait_for()

    # ---- the officer, on the other server, approves it
    login(officer, url, "officer1")
    goto(officer, url, "review")
    officer.get_by_label("搜索企业（名称或统一社会信用代码）").fill(code)
    officer.keyboard.press("Enter")
    wait_settled(officer)
    officer.get_by_role("heading", name=re.compile(code)).wait_for()
    officer.get_by_role("button", name="审核通过").first.click()
    wait_settled(officer)
    officer.get_by_text(re.compile("已通过：")).wait_for()
    _on_server(officer, url, port_a)

    # ---- ent2's server shows it on the next page load
    goto(enterprise, url, "self-report")
    enterprise.get_by_text(re.compile("已审核通过")).first.wait_for()
    assert enterprise.get_by_text(re.compile("已提交，等待审核")).count() == 0
    _on_server(enterprise, url, port_b)
    screenshot(enterprise, "cluster-approved-on-the-other-server")

    # ---- ent2's server is recycled: ent2 is still logged in when it answers again
    before = json.loads((cluster["run_dir"] / "state.json").read_text())["servers"][1]["pid"]
    done = subprocess.run(
        [sys.executable, "manage.py", "serve", "--recycle", "2", "--run-dir", str(cluster["run_dir"])],
        cwd=ROOT,
        env=cluster["env"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "已重启并就绪" in done.stdout
    _routed_back(enterprise, url, port_b)
    goto(enterprise, url, "self-report")
    enterprise.get_by_role("button", name="退出登录").wait_for()
    enterprise.get_by_text(re.compile("已审核通过")).first.wait_for()
    assert enterprise.get_by_label("用户名").count() == 0
    _on_server(enterprise, url, port_b)
    # The recycled process is a new one: the session came back from the cookie and the database.
    assert json.loads((cluster["run_dir"] / "state.json").read_text())["servers"][1]["pid"] != before


ZONE_NAME = "jifen.zone.test"  # the zone's domain name, resolved to this host by the test browser only


def test_the_cluster_opens_under_the_zone_s_name_and_sees_the_client_behind_the_front_proxy(
    cluster: dict, browser, cluster_db: str
) -> None:  # noqa: ANN001
    """Officers open the zone's address (a name, not 127.0.0.1) through the host's TLS nginx, which says
    who the client is in X-Forwarded-For (docs/deploy.md). The page must load — its WebSocket reaches the
    server with the Host the browser's Origin names (nginx sent the upstream's name, and Streamlit refused
    the socket) — and the login records that client, which the login throttling keys on (docs/security.md)."""
    from db.models import User, UserSession
    from db.session import make_engine

    named = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {ZONE_NAME} 127.0.0.1"],
    )
    try:
        # What the front proxy adds to every request it forwards, the WebSocket's handshake included.
        context = named.new_context(extra_http_headers={"X-Forwarded-For": "203.0.113.7"})
        page = context.new_page()
        zone_url = cluster["url"].replace("127.0.0.1", ZONE_NAME)
        assert zone_url != cluster["url"]
        login(page, zone_url, "ent3")
        page.get_by_role("button", name="退出登录").wait_for()
        context.close()
    finally:
        named.close()

    engine = make_engine(cluster_db)
    with Session(engine) as session:
        addresses = (
            session.execute(
                select(UserSession.client_address)
                .join(User, User.id == UserSession.user_id)
                .where(User.username == "ent3")
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert addresses == ["203.0.113.7"]


def _documented_tls_front(run_dir: Path, *, tls_port: int, plain_port: int, cluster_url: str) -> Path:
    """docs/deploy.md's TLS nginx, as written there, on free ports with a certificate of the test's own,
    forwarding to this cluster: the nginx.conf that runs it unprivileged from ``run_dir``."""
    deploy_md = (ROOT / "docs" / "deploy.md").read_text()
    blocks = [b for b in re.findall(r"```nginx\n(.*?)```", deploy_md, re.DOTALL) if "ssl_certificate " in b]
    assert len(blocks) == 1, "docs/deploy.md shows one TLS front"
    front = re.sub(r"(?m)^ {3}", "", blocks[0])  # the block is indented under a list item
    for documented, here in (
        ("listen 443 ssl", f"listen 127.0.0.1:{tls_port} ssl"),
        ("listen 80;", f"listen 127.0.0.1:{plain_port};"),
        ("/etc/ssl/innovation/", f"{run_dir}/"),
        ("http://127.0.0.1:8080", cluster_url),
    ):
        assert documented in front, documented
        front = front.replace(documented, here)
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=jifen.example.gov.cn", "-addext", "subjectAltName=DNS:jifen.example.gov.cn"),
            *("-keyout", str(run_dir / "privkey.pem"), "-out", str(run_dir / "fullchain.pem")),
        ],
        check=True,
        capture_output=True,
    )
    (run_dir / "tmp").mkdir()
    conf = run_dir / "nginx.conf"
    conf.write_text(
        f"pid {run_dir}/nginx.pid;\nerror_log {run_dir}/error.log warn;\nevents {{}}\nhttp {{\n"
        f"access_log {run_dir}/access.log;\n"
        + "".join(
            f"{kind}_temp_path {run_dir}/tmp/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + front
        + "}\n"
    )
    return conf


def test_the_documented_tls_front_serves_the_cluster_under_the_zone_s_name(
    cluster: dict, browser, tmp_path: Path
) -> None:  # noqa: ANN001
    """docs/deploy.md step 5 — the host's nginx terminating HTTPS for jifen.example.gov.cn and forwarding
    to the cluster's nginx — copied from the page and run: an enterprise user logs in over it, and plain
    HTTP is sent to HTTPS."""
    from deploy.cluster import find_nginx
    from deploy.local import free_port, port_free

    def port_open(port: int) -> bool:
        return not port_free(port)

    tls_port, plain_port = free_port(), free_port()
    conf = _documented_tls_front(
        tmp_path, tls_port=tls_port, plain_port=plain_port, cluster_url=cluster["url"]
    )
    checked = subprocess.run(
        [find_nginx(), "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    front = subprocess.Popen(
        [find_nginx(), "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    named = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP jifen.example.gov.cn 127.0.0.1"],
    )
    try:
        context = named.new_context(ignore_https_errors=True)
        page = context.new_page()
        zone_url = f"https://jifen.example.gov.cn:{tls_port}"
        deadline = time.monotonic() + 15
        while not port_open(tls_port):
            assert front.poll() is None and time.monotonic() < deadline, "the TLS front did not start"
            time.sleep(0.2)
        login(page, zone_url, "ent4")
        page.get_by_role("button", name="退出登录").wait_for()
        plain = http.client.HTTPConnection("127.0.0.1", plain_port, timeout=10)
        plain.request("GET", "/lists", headers={"Host": f"jifen.example.gov.cn:{plain_port}"})
        redirect = plain.getresponse()
        assert (redirect.status, redirect.getheader("Location")) == (
            301,
            "https://jifen.example.gov.cn/lists",
        )
        context.close()
    finally:
        named.close()
        front.terminate()
        front.wait(timeout=10)
