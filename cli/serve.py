"""``serve``: N single-process Streamlit servers behind Debian's nginx with sticky sessions.

The supervision (start, health checks, restart, scheduled recycling) lives in ``deploy.cluster``;
this command parses the options, warns when several processes would share one SQLite file, and reads
``CLUSTER_EXPOSE_UPSTREAM`` through ``core.settings`` like every other variable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.common import (
    EXIT_OK,
    CommandError,
    command,
    positive_int,
)


# ====================================================================================== serve
def _add_serve(p: argparse.ArgumentParser) -> None:
    p.add_argument("--replicas", type=positive_int, default=2, metavar="N", help="服务进程数（默认 2）")
    p.add_argument("--port", type=positive_int, default=8080, help="nginx 监听端口（默认 8080）")
    p.add_argument(
        "--host", default="127.0.0.1", help="nginx 监听地址（默认 127.0.0.1；内网服务可用 0.0.0.0）"
    )
    p.add_argument("--base-port", type=positive_int, default=8601, help="第一个服务进程的端口（默认 8601）")
    p.add_argument(
        "--run-dir", default=None, metavar="DIR", help="运行目录：nginx 配置、日志、pid（默认 data/cluster）"
    )
    p.add_argument(
        "--recycle-hours",
        type=float,
        default=None,
        metavar="H",
        help="每个服务进程运行 H 小时后轮流重启（释放内存；登录不受影响）",
    )
    p.add_argument("--stop", action="store_true", help="停止运行中的集群")
    p.add_argument(
        "--recycle", type=positive_int, default=None, metavar="I", help="立即重启运行中集群的第 I 个服务进程"
    )


@command(
    "serve",
    help="在 nginx 后启动多个应用服务进程（粘性会话）",
    description="启动 N 个单进程 Streamlit 服务（端口 base-port 起）和 Debian 的 nginx（端口 port），"
    "按浏览器粘性分配会话；监督各进程，退出或不再响应时自动重启，可按计划轮换重启。"
    "数据库为 DATABASE_URL（多进程请用 PostgreSQL）。Ctrl-C 停止全部进程。",
    arguments=_add_serve,
)
def cmd_serve(args: argparse.Namespace) -> int:
    import os

    from core import settings
    from db.session import database_url
    from deploy.cluster import DEFAULT_RUN_DIR, Cluster, ClusterError, recycle_running, stop_running

    run_dir = Path(args.run_dir) if args.run_dir else DEFAULT_RUN_DIR
    try:
        if args.stop:
            stop_running(run_dir)
            print("集群已停止。")
            return EXIT_OK
        if args.recycle:
            port = recycle_running(args.recycle - 1, run_dir)
            print(f"第 {args.recycle} 个服务进程（端口 {port}）已重启并就绪。")
            return EXIT_OK
        if args.replicas > 1 and database_url().startswith("sqlite"):
            print(
                "注意：多个服务进程共用一个 SQLite 文件只适合试用；正式部署请设置 DATABASE_URL 指向 PostgreSQL。",
                file=sys.stderr,
            )
        cluster = Cluster(
            replicas=args.replicas,
            port=args.port,
            base_port=args.base_port,
            run_dir=run_dir,
            env=dict(os.environ),
            listen_host=args.host,
            expose_upstream=settings.load().cluster_expose_upstream,
        )
        cluster.start()
        ports = "、".join(str(r.port) for r in cluster.servers)
        print(
            f"企业创新积分已启动：http://{args.host}:{args.port}（nginx）→ {args.replicas} 个服务进程（端口 {ports}）",
            flush=True,
        )
        print(f"  日志：{run_dir / 'logs'}；停止：Ctrl-C 或 manage.py serve --stop", flush=True)
        cluster.supervise(recycle_hours=args.recycle_hours)
    except ClusterError as exc:
        raise CommandError(str(exc)) from None
    return EXIT_OK
