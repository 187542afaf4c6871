"""The nginx configuration ``manage.py serve`` renders from deploy/nginx.conf.template."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.cluster import STICKY_COOKIE, render_nginx_config, upload_limit_mb


def _render(tmp_path: Path, **kw) -> str:  # noqa: ANN003
    return render_nginx_config(
        run_dir=tmp_path,
        listen="127.0.0.1:8080",
        ports=[8601, 8602, 8603],
        body_limit_mb=upload_limit_mb(),
        **kw,
    )


def test_every_server_sticky_websocket_and_upload_limit(tmp_path: Path) -> None:
    conf = _render(tmp_path)
    assert "@@" not in conf
    for port in (8601, 8602, 8603):
        assert f"server 127.0.0.1:{port} " in conf
    assert "hash $sticky_key consistent;" in conf
    assert f"$cookie_{STICKY_COOKIE}" in conf
    assert upload_limit_mb() == 50  # .streamlit/config.toml server.maxUploadSize
    assert "client_max_body_size 51m;" in conf
    stream = conf.split("location /_stcore/stream {", 1)[1].split("}", 1)[0]
    assert "proxy_read_timeout 1d;" in stream
    # The headers are set once, at the server level: a location setting any inherits none of them, and the
    # WebSocket without its Host was refused under any name but 127.0.0.1 (tests/e2e/test_cluster.py).
    server = conf.split("server {", 1)[1]
    locations = re.findall(r"(?m)^\s*location [^{]*\{[^}]*\}", server)
    assert len(locations) >= 3 and not any("proxy_set_header" in block for block in locations)
    for header in ("Host $http_host", "Upgrade $http_upgrade", "Connection $connection_upgrade"):
        assert f"proxy_set_header {header};" in server
    assert f"pid {tmp_path}/nginx.pid;" in conf  # nothing under /var or /run: no root needed
    assert "/var/" not in conf and "/run/" not in conf
    assert "X-Upstream" not in conf
    assert "X-Upstream" in _render(tmp_path, expose_upstream=True)


@pytest.mark.skipif(
    not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()), reason="nginx not installed"
)
def test_nginx_accepts_the_configuration_unprivileged(tmp_path: Path) -> None:
    for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (tmp_path / sub).mkdir(parents=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(_render(tmp_path), encoding="utf-8")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    checked = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
