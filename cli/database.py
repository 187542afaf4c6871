"""Commands on the database as a whole: init-db, seed-demo, verify-audit, backup, restore.

``init-db`` runs the Alembic migrations; ``seed-demo`` writes the demo (:mod:`demo`, refused in
production and on a database that holds data); ``verify-audit`` checks the audit hash chain;
``backup`` and ``restore`` go through ``services.backup`` (a restore then verifies the audit chain and
every final run through the services, as an officer could).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.common import (
    EXIT_OK,
    CommandError,
    add_out,
    add_yes,
    as_system,
    command,
    open_session,
    positive_int,
)


# ====================================================================================== init-db
@command(
    "init-db",
    help="创建或升级数据库结构（幂等）",
    description="按 Alembic 迁移把 DATABASE_URL 指向的数据库升级到最新结构（可重复执行）。",
)
def cmd_init_db(args: argparse.Namespace) -> int:
    from db.schema import init_db
    from db.session import database_url, get_engine

    init_db(get_engine())
    print(f"数据库已就绪：{get_engine().url.render_as_string(hide_password=True) or database_url()}")
    return EXIT_OK


# ====================================================================================== seed-demo
def _add_seed_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--enterprises", type=positive_int, default=3000, metavar="N", help="企业数量（默认 3000）"
    )
    p.add_argument("--seed", type=int, default=42, metavar="S", help="随机种子（默认 42，同一种子数据相同）")
    p.add_argument("--if-empty", action="store_true", help="数据库已有数据时跳过（make run 使用）")
    p.add_argument("--no-runs", action="store_true", help="不计算积分批次")
    p.add_argument(
        "--model", metavar="FILE", help="按此评价模型文件（TOML）生成演示数据和积分批次；默认系统默认模型"
    )
    p.add_argument(
        "--local-demo",
        action="store_true",
        help="本机演示：演示账户密码保持 Demo@2025 不变（make run 使用）；否则首次登录须修改",
    )


@command(
    "seed-demo",
    help="写入演示数据（企业、账户、填报、积分批次）",
    description="向空数据库写入可复现的演示数据：企业、载体、部门数据、自报、服务目录、"
    "演示账户（密码 Demo@2025）以及上一年度定稿、本年度公示中的积分批次。",
    arguments=_add_seed_demo,
)
def cmd_seed_demo(args: argparse.Namespace) -> int:
    from core.deployment import is_production
    from core.workflows import SCORE_RUN
    from demo import is_empty, seed_demo

    if is_production():
        raise CommandError("生产环境（APP_ENV=production）不能写入演示数据：演示账户的密码是公开的。")
    with open_session() as session:
        if not is_empty(session):
            if args.if_empty:
                print("数据库已有数据，跳过演示数据。")
                return EXIT_OK
            raise CommandError(
                "数据库中已有企业或用户数据：演示数据只能写入空数据库（或使用 --if-empty 跳过）"
            )
        model = None
        if args.model:
            from core.model_loading import load_model

            model = load_model(Path(args.model))
        summary = seed_demo(
            session,
            enterprises=args.enterprises,
            seed=args.seed,
            with_runs=not args.no_runs,
            model=model,
            local_demo=args.local_demo,
        )
    print(
        f"演示数据已写入：企业 {summary.enterprises} 家，载体 {summary.carriers} 个，指标数据 {summary.values} 条，"
        f"导入批次 {summary.batches} 个，填报 {summary.submissions} 份（待审核 {summary.pending_submissions} 份），"
        f"账户 {summary.users} 个，用时 {summary.seconds:.1f} 秒"
    )
    for year, run_id in summary.runs.items():
        state = SCORE_RUN.labels.get(summary.run_states.get(year, ""), "")
        print(f"  {year} 年度积分批次 #{run_id} {state}")
    if summary.runs:
        print(f"  积分计算用时 {summary.run_seconds:.1f} 秒")
    print("演示账户（密码 Demo@2025）：admin · officer1 · officer2 · ent1 … ent5")
    if not args.local_demo:
        print("  该密码为一次性密码：每个账户首次登录后须设置新密码。")
    return EXIT_OK


# ====================================================================================== verify-audit
@command(
    "verify-audit",
    help="核验审计日志的哈希链",
    description="按编号顺序重算每条审计记录的哈希并与前一条链接比对；"
    "报告第一条被修改、删除或替换的记录。完好时打印链尾哈希，可另行留存以便日后比对。",
)
def cmd_verify_audit(args: argparse.Namespace) -> int:
    from services.audit import verify_chain

    report = as_system(verify_chain)
    if report.anchor_problem:
        raise CommandError(
            f"审计日志与其锚点不一致：{report.anchor_problem}。前 {report.checked} 条记录本身完好；"
            "请从备份核对缺失的记录。"
        )
    if not report.ok:
        raise CommandError(
            f"审计日志在第 {report.checked} 条（编号 {report.broken_id}）处断链：{report.problem}。"
            "此前的记录完好；请从备份核对该记录及其后的记录。"
        )
    print(f"审计日志完好：共 {report.checked} 条，链尾哈希 {report.head}")
    return EXIT_OK


# ====================================================================================== backup / restore
def _add_backup(p: argparse.ArgumentParser) -> None:
    add_out(p, help="备份文件（已存在则覆盖）")


@command(
    "backup",
    help="备份整个数据库（运行中也可备份）",
    description="SQLite 用在线备份接口（含尚在 WAL 中的已提交数据），PostgreSQL 用与服务器同版本的 "
    "pg_dump（自定义格式）。备份文件含密码哈希和证明材料，权限 600，请妥善保管。",
    arguments=_add_backup,
)
def cmd_backup(args: argparse.Namespace) -> int:
    from db.session import get_engine
    from services.actor import Actor
    from services.backup import STORE_NAMES, backup_database

    result = backup_database(get_engine(), actor=Actor.system(), out=Path(args.out))
    print(
        f"已备份 {STORE_NAMES[result.store]} 数据库到 {result.path}：{result.bytes / 1e6:.1f} MB，"
        f"用时 {result.seconds:.1f} 秒"
    )
    print(f"  文件校验码（SHA-256）：{result.sha256}")
    return EXIT_OK


def _add_restore(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="source", required=True, metavar="FILE", help="备份文件")
    add_yes(p)
    p.add_argument(
        "--no-verify", action="store_true", help="恢复后不核验已定稿批次（大库可另行运行 verify-run）"
    )


@command(
    "restore",
    help="从备份恢复整个数据库（覆盖现有数据）",
    description="用 backup 命令写出的文件替换当前数据库的全部内容，升级到当前结构，结束备份中的全部"
    "登录会话（所有用户须重新登录），再核验审计日志和每个已定稿批次。"
    "恢复前请停止应用服务器（make cluster-stop）。",
    arguments=_add_restore,
)
def cmd_restore(args: argparse.Namespace) -> int:
    from db.session import get_engine
    from services.actor import Actor
    from services.audit import verify_chain
    from services.backup import STORE_NAMES, kind_of_file, restore_database
    from services.run_diff import list_runs
    from services.runs import verify_run

    engine = get_engine()
    source = Path(args.source)
    kind_of_file(source)  # a wrong file is refused before anyone is asked anything
    if not args.yes:
        print(
            f"将用“{source}”覆盖当前数据库（{engine.url.render_as_string(hide_password=True)}）的全部内容，"
            "备份之后写入的数据都将丢失，所有用户须重新登录。"
        )
        if not sys.stdin.isatty() or input("确认恢复请输入“恢复”：").strip() != "恢复":
            raise CommandError("已取消，数据库未改动（脚本中请加 --yes）")
    result = restore_database(engine, actor=Actor.system(), source=source)
    print(
        f"已从 {source} 恢复 {STORE_NAMES[result.store]} 数据库，用时 {result.seconds:.1f} 秒；"
        f"结束登录会话 {result.sessions_revoked} 个"
    )
    report = as_system(verify_chain)
    if not report.ok:
        raise CommandError(f"恢复后的审计日志核验未通过：{report.anchor_problem or report.problem}")
    print(f"  审计日志完好：共 {report.checked} 条")
    if args.no_verify:
        return EXIT_OK
    runs = as_system(list_runs)
    for run_id in sorted(int(i) for i in runs.loc[runs["state"] == "final", "id"]):
        verified = as_system(verify_run, run_id=run_id)
        if not verified.identical:
            raise CommandError(f"恢复后积分批次 #{run_id} 重算核验未通过")
        print(f"  积分批次 #{run_id} 核验通过（{verified.enterprise_count} 家企业）")
    return EXIT_OK
