"""Several single-process Streamlit servers behind Debian's nginx, one command.

``manage.py serve --replicas N`` (``make cluster``) starts N servers on ports ``base_port … base_port+N-1``
and nginx on ``port`` with sticky sessions, from ``deploy/nginx.conf.template`` rendered into a run
directory (pid, logs and temp files there: no root paths, nginx runs as the calling user). The supervisor
then watches: a server that exits or stops answering its health route is started again on its port, and
``recycle_hours`` restarts each server in turn on a schedule (a Streamlit process does not give memory
back after its sessions end). Logins survive a restart: the cookie is a signed token naming a session row
in the database, and every replica signs with the same key (``COOKIE_KEY``, resolved once here).

``state.json`` in the run directory lists the pids, so ``serve --stop`` and ``serve --recycle I`` work
from another shell.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
DEFAULT_RUN_DIR = ROOT / "data" / "cluster"
STICKY_COOKIE = "ip_srv"
# The app with its HTTP routes (serve.py: Home.py plus /api/v1 and /healthz) where it exists.
ENTRY = "serve.py" if (ROOT / "serve.py").exists() else "Home.py"
# Liveness, what the supervisor restarts on: the process answers. /healthz (serve.py) also asks the database,
# for monitoring; a database outage is not cured by restarting servers, so it does not drive restarts.
HEALTH_PATH = "/_stcore/health"
START_TIMEOUT = 90.0  # seconds for a server to answer its health route after a start
# seconds for a started server's first run, which reads what the officer pages share: ~94 s at 520,000
# enterprises on PostgreSQL (bench_pages), about twice that at 1,000,000 — not the health route's 90 s
WARM_UP_TIMEOUT = 900.0
HEALTH_EVERY = 5.0  # seconds between the supervisor's health probes
UNHEALTHY_AFTER = 3  # failed probes in a row before a server that still runs is restarted


def streamlit_command(entry: str, port: int, *options: str) -> list[str]:
    """The command that runs one headless Streamlit server of ``entry`` on ``port`` (no usage statistics,
    no file watcher), with further ``--name value`` options."""
    return [
        *(sys.executable, "-m", "streamlit", "run", entry, "--server.port", str(port)),
        *("--server.headless", "true", "--browser.gatherUsageStats", "false"),
        *("--server.fileWatcherType", "none", *options),
    ]


class ClusterError(RuntimeError):
    """A cluster that cannot start or be reached; the message is Chinese and says what to do."""


def upload_limit_mb(config: Path = ROOT / ".streamlit" / "config.toml") -> int:
    """``server.maxUploadSize`` (MB) of the app: nginx lets a body one megabyte larger through."""
    import tomllib

    try:
        return int(
            tomllib.loads(config.read_text(encoding="utf-8")).get("server", {}).get("maxUploadSize", 200)
        )
    except (OSError, ValueError):
        return 200


def render_nginx_config(
    *,
    run_dir: Path,
    listen: str,
    ports: list[int],
    body_limit_mb: int,
    expose_upstream: bool = False,
    page_rate: int = 600,
    page_burst: int = 300,
    conn_per_ip: int = 40,
    template: Path = TEMPLATE,
) -> str:
    """The nginx configuration for servers on 127.0.0.1:``ports`` (pure: no files written)."""
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=2 fail_timeout=5s;" for p in ports)
    extra = "        add_header X-Upstream $upstream_addr always;" if expose_upstream else ""
    values = {
        "RUN_DIR": str(run_dir),
        "LISTEN": listen,
        "SERVERS": servers,
        "BODY_LIMIT": str(body_limit_mb + 1),
        "STICKY_COOKIE": STICKY_COOKIE,
        "EXTRA_HEADERS": extra,
        "PAGE_RATE": str(page_rate),
        "PAGE_BURST": str(page_burst),
        "CONN_PER_IP": str(conn_per_ip),
    }
    text = template.read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace(f"@@{name}@@", value)
    if "@@" in text:
        raise ClusterError("nginx 配置模板中有未填写的占位符")
    return text


def find_nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if Path(p).exists()), None
    )
    if not found:
        raise ClusterError("找不到 nginx：请以 root 运行 make nginx（安装 Debian 的 nginx）")
    return found


def healthy(port: int, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{HEALTH_PATH}", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


WARM_UP_PARAM = (
    "warm_up"  # the supervisor's run asks Home.py (?warm_up=start) to read the officer pages' data
)


def warm_up(port: int, timeout: float = WARM_UP_TIMEOUT) -> bool:
    """Run the app once in a new server, as a browser would (a session over the WebSocket), and leave.

    A fresh Streamlit process imports the pages in its first session; a browser arriving during that cold
    run gets a spurious "Page not found" dialog over the right page (Streamlit 1.67). The supervisor pays
    that first run itself, so nobody opening a page right after a start or a recycle does. The run also
    asks the server to read what the officer pages share (services.scenarios.warm_after_start) and ends
    when that is read, so the first officer neither waits for it nor shares the CPU with it."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    deadline = time.monotonic() + timeout
    try:
        with connect(
            f"ws://127.0.0.1:{port}/_stcore/stream",
            subprotocols=["streamlit"],
            open_timeout=10,
            max_size=None,
        ) as socket_:
            message = BackMsg()
            message.rerun_script.query_string = f"{WARM_UP_PARAM}=start"
            message.rerun_script.page_script_hash = ""
            socket_.send(message.SerializeToString())
            while time.monotonic() < deadline:
                reply = ForwardMsg()
                reply.ParseFromString(socket_.recv(timeout=max(0.1, deadline - time.monotonic())))
                if reply.WhichOneof("type") == "script_finished":
                    return True
    except Exception:  # noqa: BLE001 - a warm-up only: the server serves anyway, its first visitor pays
        return False
    return False


def warm_up_after_start(port: int, start_timeout: float = START_TIMEOUT) -> bool:
    """Wait for a server just started on its own (``make run``: no supervisor) to answer, then
    :func:`warm_up` it — so its first visitor, too, is spared the cold run's "Page not found" dialog."""
    deadline = time.monotonic() + start_timeout
    while not healthy(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.3)
    return warm_up(port)


def warm_up_all(ports: list[int], timeout: float = WARM_UP_TIMEOUT) -> list[bool]:
    """:func:`warm_up` every server at once: each reads on a backend of its own, so a start with N servers
    takes about one server's warm-up where the cores allow, not N of them."""
    if not ports:
        return []
    with ThreadPoolExecutor(max_workers=len(ports), thread_name_prefix="warm-up") as pool:
        return list(pool.map(lambda port: warm_up(port, timeout), ports))


@dataclass
class Replica:
    index: int
    port: int
    log: Path
    process: subprocess.Popen | None = None
    failures: int = 0
    started_at: float = 0.0
    restarts: int = 0


@dataclass
class Cluster:
    replicas: int
    port: int = 8080
    base_port: int = 8601
    run_dir: Path = DEFAULT_RUN_DIR
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    expose_upstream: bool = False
    listen_host: str = "127.0.0.1"
    servers: list[Replica] = field(default_factory=list)
    nginx: subprocess.Popen | None = None
    _env: dict[str, str] = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------------- start / stop
    def prepare(self) -> Path:
        """Render nginx.conf into the run directory and check it with ``nginx -t``."""
        for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi", "logs"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        ports = [self.base_port + i for i in range(self.replicas)]
        conf = self.run_dir / "nginx.conf"
        conf.write_text(
            render_nginx_config(
                run_dir=self.run_dir.resolve(),
                listen=f"{self.listen_host}:{self.port}",
                ports=ports,
                body_limit_mb=upload_limit_mb(),
                expose_upstream=self.expose_upstream,
            ),
            encoding="utf-8",
        )
        checked = subprocess.run(
            [find_nginx(), "-t", "-q", "-p", str(self.run_dir.resolve()), "-c", str(conf.resolve())],
            capture_output=True,
            text=True,
        )
        if checked.returncode != 0:
            raise ClusterError(f"nginx 配置检查未通过：{checked.stderr.strip()[-500:]}")
        self.servers = [
            Replica(index=i, port=p, log=self.run_dir / "logs" / f"server-{i + 1}.log")
            for i, p in enumerate(ports)
        ]
        return conf

    def _server_env(self) -> dict[str, str]:
        env = dict(self.env)
        if not env.get("COOKIE_KEY"):
            # One key for every replica: a cookie signed by one server is read by all of them.
            os.environ.setdefault(
                "STREAMLIT_LOGGER_LEVEL", "error"
            )  # no "bare mode" warnings from the import
            from ui.auth import resolve_cookie_key

            env["COOKIE_KEY"] = resolve_cookie_key(environ=env, secret=lambda _name: None)
        return env

    def start_server(self, replica: Replica, env: dict[str, str] | None = None) -> None:
        log = replica.log.open("a", encoding="utf-8")
        replica.process = subprocess.Popen(
            streamlit_command(ENTRY, replica.port, "--server.address", "127.0.0.1"),
            cwd=ROOT,
            env=env or self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        replica.started_at = time.monotonic()
        replica.failures = 0

    def wait_healthy(self, replica: Replica, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not healthy(replica.port):
            if replica.process is not None and replica.process.poll() is not None:
                raise ClusterError(f"第 {replica.index + 1} 个服务进程启动失败，见日志 {replica.log}")
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"第 {replica.index + 1} 个服务进程 {timeout:.0f} 秒内未就绪，见日志 {replica.log}"
                )
            time.sleep(0.3)

    def start(self) -> None:
        conf = self.prepare()
        self._env = self._server_env()
        for replica in self.servers:
            self.start_server(replica)
        for replica in self.servers:
            self.wait_healthy(replica)
        warm_up_all([replica.port for replica in self.servers])
        self.nginx = subprocess.Popen(
            [find_nginx(), "-p", str(self.run_dir.resolve()), "-c", str(conf.resolve()), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=(self.run_dir / "logs" / "nginx.log").open("a"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while not healthy(self.port):
            if self.nginx.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ClusterError(
                    f"nginx 未能在端口 {self.port} 启动，见 {self.run_dir / 'nginx-error.log'}"
                )
            time.sleep(0.2)
        self.write_state()

    def write_state(self) -> None:
        state = {
            "supervisor": os.getpid(),
            "port": self.port,
            "nginx": self.nginx.pid if self.nginx else None,
            "servers": [
                {"port": r.port, "pid": r.process.pid if r.process else None, "log": str(r.log)}
                for r in self.servers
            ],
        }
        (self.run_dir / "state.json").write_text(json.dumps(state, indent=1), encoding="utf-8")

    @staticmethod
    def _terminate(process: subprocess.Popen | None, timeout: float = 15.0) -> None:
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def stop(self) -> None:
        self._terminate(self.nginx)
        for replica in self.servers:
            self._terminate(replica.process)
        (self.run_dir / "state.json").unlink(missing_ok=True)

    # ---------------------------------------------------------------- supervision
    def recycle(self, index: int) -> None:
        """Restart one server on its port (its browsers reconnect and stay logged in)."""
        replica = self.servers[index]
        self._terminate(replica.process)
        self.start_server(replica)
        replica.restarts += 1
        self.wait_healthy(replica)
        warm_up(replica.port)
        self.write_state()

    def check_once(self, *, recycle_seconds: float | None = None) -> list[int]:
        """One round of supervision: restart servers that exited, stopped answering or are due for
        recycling; returns the indexes restarted."""
        restarted = []
        for replica in self.servers:
            exited = replica.process is None or replica.process.poll() is not None
            if not exited:
                replica.failures = 0 if healthy(replica.port) else replica.failures + 1
            due = recycle_seconds is not None and time.monotonic() - replica.started_at > recycle_seconds
            if exited or replica.failures >= UNHEALTHY_AFTER or due:
                self.recycle(replica.index)
                restarted.append(replica.index)
                if due:
                    break  # one scheduled recycle per round: the others keep serving meanwhile
        if self.nginx is not None and self.nginx.poll() is not None:
            raise ClusterError(f"nginx 已退出，见 {self.run_dir / 'nginx-error.log'}")
        return restarted

    def supervise(self, *, recycle_hours: float | None = None) -> None:
        """Watch until SIGTERM/SIGINT, then stop everything."""
        stopping = []

        def request_stop(_signum: int, _frame: object) -> None:
            stopping.append(True)

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        # Stagger scheduled recycles so the servers never restart together.
        if recycle_hours:
            for replica in self.servers:
                replica.started_at -= recycle_hours * 3600 * replica.index / len(self.servers)
        try:
            while not stopping:
                for _ in range(int(HEALTH_EVERY * 10)):
                    if stopping:
                        break
                    time.sleep(0.1)
                if not stopping:
                    self.check_once(recycle_seconds=recycle_hours * 3600 if recycle_hours else None)
        finally:
            self.stop()


def read_state(run_dir: Path = DEFAULT_RUN_DIR) -> dict:
    path = run_dir / "state.json"
    if not path.exists():
        raise ClusterError(f"没有运行中的集群（{path} 不存在）")
    return json.loads(path.read_text(encoding="utf-8"))


def stop_running(run_dir: Path = DEFAULT_RUN_DIR, timeout: float = 30.0) -> None:
    """Ask the supervisor recorded in ``state.json`` to stop everything, and wait for it."""
    pid = int(read_state(run_dir)["supervisor"])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        (run_dir / "state.json").unlink(missing_ok=True)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    raise ClusterError(f"集群监督进程 {pid} 在 {timeout:.0f} 秒内未退出")


def recycle_running(index: int, run_dir: Path = DEFAULT_RUN_DIR, timeout: float = START_TIMEOUT) -> int:
    """Stop server ``index`` (0-based) of the running cluster; its supervisor starts it again. Returns the
    port once it answers again."""
    state = read_state(run_dir)
    servers = state["servers"]
    if not 0 <= index < len(servers):
        raise ClusterError(f"集群只有 {len(servers)} 个服务进程")
    port, pid = servers[index]["port"], servers[index]["pid"]
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = read_state(run_dir)["servers"][index]["pid"]
        if current != pid and healthy(port):
            return port
        time.sleep(0.3)
    raise ClusterError(f"第 {index + 1} 个服务进程 {timeout:.0f} 秒内未重新就绪")
