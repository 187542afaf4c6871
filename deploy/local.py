"""A cluster on free localhost ports, for the browser tests and the load benchmark.

:func:`start_local_cluster` runs ``manage.py serve --replicas N`` (nginx in front, see :mod:`deploy.cluster`)
with ``CLUSTER_EXPOSE_UPSTREAM=1``, so that every answer names the server behind it in an ``X-Upstream``
header; :func:`upstream` reads that header for a given sticky cookie, and :func:`sticky_values` finds
cookie values that land a browser on a chosen server. Nothing here is used by the application itself.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from deploy.cluster import HEALTH_PATH, ROOT, STICKY_COOKIE, ClusterError


def free_port() -> int:
    """A port nothing listens on now (the system picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def cluster_ports(replicas: int) -> tuple[int, list[int]]:
    """nginx's port and ``replicas`` consecutive server ports, all free."""
    while True:
        port, base = free_port(), free_port()
        ports = [base + i for i in range(replicas)]
        if port not in ports and all(port_free(p) for p in ports[1:]):
            return port, ports


def upstream(url: str, sticky: str) -> str | None:
    """The server ("127.0.0.1:port") nginx sends a browser with this sticky cookie to; None if none answers."""
    request = urllib.request.Request(f"{url}{HEALTH_PATH}", headers={"Cookie": f"{STICKY_COOKIE}={sticky}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.headers.get("X-Upstream")
    except OSError:
        return None


def sticky_values(url: str, ports: list[int], per_port: int, prefix: str = "browser") -> dict[int, list[str]]:
    """Up to ``per_port`` sticky cookie values that each land on the server of each port."""
    found: dict[int, list[str]] = {p: [] for p in ports}
    for i in range(5000):
        value = f"{prefix}{i}"
        server = upstream(url, value)
        port = int(server.rsplit(":", 1)[1]) if server else None
        if port in found and len(found[port]) < per_port:
            found[port].append(value)
        if all(len(v) >= per_port for v in found.values()):
            break
    return found


@dataclass
class LocalCluster:
    supervisor: subprocess.Popen
    url: str  # nginx, the address browsers use
    ports: list[int]  # the servers behind it
    run_dir: Path
    env: dict[str, str]
    log: IO[str]

    def stop(self, timeout: float = 40) -> None:
        """Stop the supervisor (it stops nginx and the servers) and close its log."""
        self.supervisor.send_signal(signal.SIGTERM)
        try:
            self.supervisor.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.supervisor.kill()
        self.log.close()


def start_local_cluster(
    database_url: str, replicas: int, run_dir: Path, *, env: dict[str, str], timeout: float = 180
) -> LocalCluster:
    """``manage.py serve`` on free ports against ``database_url``, returned once nginx answers.

    ``env`` is added to this process's environment. Raises :class:`ClusterError` with the end of the
    supervisor's log when it exits or does not answer within ``timeout`` seconds.
    """
    port, ports = cluster_ports(replicas)
    env = {**os.environ, "DATABASE_URL": database_url, "CLUSTER_EXPOSE_UPSTREAM": "1", **env}
    log = (run_dir / "serve.log").open("w")
    command = [
        "manage.py",
        "serve",
        "--replicas",
        str(replicas),
        "--port",
        str(port),
        "--base-port",
        str(ports[0]),
    ]
    supervisor = subprocess.Popen(
        [sys.executable, *command, "--run-dir", str(run_dir)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while not (run_dir / "state.json").exists() or upstream(url, "probe") is None:
        if supervisor.poll() is not None or time.monotonic() > deadline:
            supervisor.kill()
            log.close()
            raise ClusterError(f"the cluster did not start:\n{(run_dir / 'serve.log').read_text()[-3000:]}")
        time.sleep(0.5)
    return LocalCluster(supervisor, url, ports, run_dir, env, log)
