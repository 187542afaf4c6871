"""Scoring commands: score-file (offline), compute, model, publish, finalize, dynamic, verify-run.

``score-file`` reads a table through the bounded reader and scores it with :func:`core.score_file.score_table`
(no database). The others act on runs and model versions through ``services.runs`` and
``services.model_versions`` as the system actor, under the same checks as the officer pages.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from cli.common import (
    EXIT_OK,
    INPUT_SUFFIXES,
    OUTPUT_SUFFIXES,
    CommandError,
    add_out,
    add_run,
    add_year,
    as_system,
    check_suffix,
    command,
    open_session,
    positive_int,
    print_table,
    write_output,
)


# ====================================================================================== score-file
def _add_score_file(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="INPUT", help="输入文件（.csv / .xlsx / .xls）")
    add_year(p, required=True, help="评价年度（写入 xlsx 标题）")
    p.add_argument("--model", metavar="FILE", help="评价模型 TOML 文件（默认内置龙湾 2022 模型）")
    add_out(p)


@command(
    "score-file",
    help="离线为一个表格计分（不使用数据库）",
    description="读取按数值约定填写的 csv/xlsx（每行一家企业，列为 credit_code、name 和指标代码），"
    "按评价模型计分、排名，写出 csv 或 xlsx（按扩展名）。",
    arguments=_add_score_file,
)
def cmd_score_file(args: argparse.Namespace) -> int:
    from adapters.reader_worker import read_table
    from core.model_loading import load_model
    from core.score_file import score_table

    src = Path(args.input)
    out = Path(args.out)
    check_suffix(src, INPUT_SUFFIXES, "输入文件")
    check_suffix(out, OUTPUT_SUFFIXES, "输出文件")
    if not src.is_file():
        raise CommandError(f"找不到输入文件：{src}")
    if args.model and not Path(args.model).is_file():
        raise CommandError(f"找不到模型文件：{args.model}")
    model = load_model(args.model) if args.model else load_model()
    t0 = time.perf_counter()
    result = score_table(model, read_table(src.read_bytes(), src.name))
    if result.frame is None:
        raise CommandError(
            f"{src.name} 有 {len(result.errors)} 处问题，未计分：\n" + "\n".join(result.shown_errors)
        )
    write_output(out, result.frame, sheet=f"{args.year}年度积分", header_row=result.labels)
    print(
        f"已计分 {len(result.frame)} 家企业（参与排名 {result.ranked} 家，一票否决 {result.vetoed} 家），"
        f"用时 {time.perf_counter() - t0:.2f} 秒，结果已写入 {out}"
    )
    return EXIT_OK


# ====================================================================================== compute
def _add_compute(p: argparse.ArgumentParser) -> None:
    add_year(p, required=True, help="评价年度")
    p.add_argument("--model-version", metavar="V", help="模型版本号（如 2022.1）或版本 id；默认当前发布版本")


@command(
    "compute",
    help="计算一个年度的积分批次（草稿）",
    description="按评价模型计算指定年度全部企业的积分，生成草稿批次并打印各阶段汇总。",
    arguments=_add_compute,
)
def cmd_compute(args: argparse.Namespace) -> int:
    from services.actor import Actor
    from services.model_versions import ensure_default_model, find_model_version
    from services.runs import compute_run, stage_summary

    actor = Actor.system()
    t0 = time.perf_counter()
    with open_session() as session:
        if args.model_version is None:
            version_id = ensure_default_model(session).id
        else:
            version_id = find_model_version(session, args.model_version).id
        run = compute_run(session, actor=actor, year=args.year, model_version_id=version_id)
        seconds = time.perf_counter() - t0
        summary = stage_summary(session, actor=actor, run_id=run.id)
        run_id, count = run.id, run.enterprise_count
    print(f"积分批次 #{run_id}（{args.year} 年度，草稿）：{count} 家企业，用时 {seconds:.1f} 秒")
    print_table(summary)
    return EXIT_OK


# ====================================================================================== model
def _add_model(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="model_action", metavar="ACTION", parser_class=type(p))
    actions.add_parser("list", help="列出全部模型版本")
    imp = actions.add_parser("import", help="导入模型文件（TOML），校验后存为草稿")
    imp.add_argument("file", metavar="FILE", help="模型文件（.toml）")
    imp.add_argument("--name", metavar="N", help="模型名称（默认取文件中的名称）")
    exp = actions.add_parser("export", help="导出一个模型版本为 TOML（可再导入）")
    exp.add_argument("version", metavar="VERSION", help="版本号或版本 id")
    add_out(exp, help="输出文件（.toml）")
    pub = actions.add_parser("publish", help="发布一个草稿版本（记入审计日志）")
    pub.add_argument("version", metavar="VERSION", help="版本号或版本 id")


@command(
    "model",
    help="评价模型版本：列出、导入、导出、发布",
    description="管理评价模型版本。导入的模型经校验后存为草稿；发布后用于新的积分计算，"
    "已有批次始终保留其计算时的模型版本。",
    arguments=_add_model,
)
def cmd_model(args: argparse.Namespace) -> int:
    from core.clock import display_time
    from core.model_loading import load_model
    from services.actor import Actor
    from services.model_versions import (
        export_model_toml,
        find_model_version,
        list_model_versions,
        publish_model_version,
        register_model,
    )

    actor = Actor.system()
    action = getattr(args, "model_action", None)
    if action is None:
        raise CommandError("请指定操作：list、import、export 或 publish（manage.py model --help 查看说明）")
    with open_session() as session:
        if action == "list":
            import pandas as pd

            rows = [
                {
                    "id": v.id,
                    "版本": v.version,
                    "名称": v.name,
                    "状态": "已发布" if v.state == "published" else "草稿",
                    "创建时间": display_time(v.created_at) or "",
                    "发布时间": display_time(v.published_at) or "",
                }
                for v in list_model_versions(session, actor=actor)
            ]
            if not rows:
                print("尚无模型版本（首次计算积分时会写入系统默认模型）。")
                return EXIT_OK
            print_table(pd.DataFrame(rows))
        elif action == "import":
            path = Path(args.file)
            check_suffix(path, (".toml",), "模型文件")
            model = load_model(path)  # field-level Chinese errors for a bad file
            version = register_model(session, actor=actor, definition=model.to_dict(), name=args.name)
            print(
                f"已导入为草稿：版本 {version.version}（id {version.id}）· {version.name}；"
                f"发布：manage.py model publish {version.version}"
            )
        elif action == "export":
            out = Path(args.out)
            check_suffix(out, (".toml",), "输出文件")
            version = find_model_version(session, args.version)
            out.write_text(export_model_toml(session, actor=actor, version_id=version.id), encoding="utf-8")
            print(f"已导出版本 {version.version} 到 {out}")
        else:
            version = find_model_version(session, args.version)
            version = publish_model_version(session, actor=actor, version_id=version.id)
            print(f"已发布版本 {version.version}：新的积分计算将使用该版本，已有批次保留原版本。")
    return EXIT_OK


def _add_publish(p: argparse.ArgumentParser) -> None:
    add_run(p, required=True)
    p.add_argument("--days", type=positive_int, required=True, help="公示天数")
    p.add_argument("--start", help="公示开始日期 YYYY-MM-DD（默认今天）")
    p.add_argument("--replace", action="store_true", help="确认替代同年度正在公示的批次")


@command(
    "publish",
    help="开始公示一个积分批次",
    description="草稿批次进入公示期。同年度已有批次在公示时，须加 --replace 确认由本批次替代。",
    arguments=_add_publish,
)
def cmd_publish(args: argparse.Namespace) -> int:
    from datetime import date

    from services.runs import default_notice_window, publish_run

    try:
        start = date.fromisoformat(args.start) if args.start else None
    except ValueError:
        raise CommandError(f"开始日期格式应为 YYYY-MM-DD（收到“{args.start}”）") from None
    start, end = default_notice_window(start, days=args.days)
    run = as_system(publish_run, run_id=args.run, notice_start=start, notice_end=end, replace=args.replace)
    print(f"积分批次 #{run.id} 已开始公示：{start:%Y-%m-%d} 至 {end:%Y-%m-%d}")
    return EXIT_OK


def _add_finalize(p: argparse.ArgumentParser) -> None:
    add_run(p, required=True)
    p.add_argument("--reason", help="公示期结束前提前定稿的理由")


@command(
    "finalize",
    help="公示结束后定稿一个积分批次",
    description="公示中的批次定稿；定稿后不可更改。公示期结束前定稿须用 --reason 说明理由（记入审计日志）。",
    arguments=_add_finalize,
)
def cmd_finalize(args: argparse.Namespace) -> int:
    from services.runs import finalize_run

    run = as_system(finalize_run, run_id=args.run, reason=args.reason)
    print(f"积分批次 #{run.id}（{run.year} 年度）已定稿")
    return EXIT_OK


def _add_dynamic(p: argparse.ArgumentParser) -> None:
    add_year(p, help="强制重算的年度")
    p.add_argument("--watch", action="store_true", help="持续运行，每隔几秒检查一次")


@command(
    "dynamic",
    help="动态积分：立即重算，或作为后台进程持续重算",
    description="审核通过或导入数据后，应用会在后台重算该年度的动态积分（不是积分批次，不产生榜单）。"
    "本命令立即重算有新数据的年度（--year 指定则强制重算该年度）；"
    "--watch 作为独立进程持续运行（多副本部署时各副本通过数据库租约协调）。",
    arguments=_add_dynamic,
)
def cmd_dynamic(args: argparse.Namespace) -> int:
    import os
    import socket
    import time

    from core import settings
    from db.session import get_engine
    from services import dynamic

    owner = f"cli:{socket.gethostname()}:{os.getpid()}"
    if args.year is not None:
        state = as_system(dynamic.recompute_year, year=args.year, owner=owner)
        print(
            state.note
            or f"{args.year} 年度动态积分已重算：{state.enterprise_count} 家企业，用时 {state.seconds:.1f} 秒"
        )
        return EXIT_OK
    while True:
        done = dynamic.refresh_due(get_engine(), owner=owner)
        if done or not args.watch:
            print(
                "已重算动态积分：" + ("、".join(f"{y} 年度" for y in done) if done else "没有需要重算的年度")
            )
        if not args.watch:
            return EXIT_OK
        time.sleep(settings.load().dynamic_poll_seconds)


def _add_verify_run(p: argparse.ArgumentParser) -> None:
    add_run(p, required=True)


@command(
    "verify-run",
    help="重算核验：用存储的输入和模型重算并比对",
    description="按批次保存的输入数据和模型版本重新计算，报告每个数字是否完全一致。",
    arguments=_add_verify_run,
)
def cmd_verify_run(args: argparse.Namespace) -> int:
    from services.runs import verify_run

    report = as_system(verify_run, run_id=args.run)
    if report.identical:
        print(f"积分批次 #{args.run} 核验通过：{report.enterprise_count} 家企业的全部数字与重算结果完全一致")
        return EXIT_OK
    print(
        f"输入指纹{'一致' if report.fingerprint_matches else '不一致'}；"
        f"{len(report.differing_enterprises)} 家企业存在差异，涉及：{'、'.join(report.differing_columns[:10])}",
        file=sys.stderr,
    )
    if not report.differences.empty:
        print_table(report.differences.head(20))
    raise CommandError(f"积分批次 #{args.run} 核验未通过")
