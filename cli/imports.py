"""Importing department files: import (check, then write the whole batch) and undo-import.

``import`` runs ``services.imports.dry_run_import``, prints the report (problems, unmapped columns,
name mismatches, pending fuzzy matches) and commits only when the file is clean and the officer's
choices (--map, --ignore, --list-mode, --accept-match …) settle every question; ``--dry-run`` stops
after the report. ``undo-import`` reverts a committed batch through ``services.imports.undo_batch``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.common import (
    EXIT_OK,
    CommandError,
    add_year,
    add_yes,
    as_system,
    command,
    positive_int,
    print_table,
)


def _add_import(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, nargs="?", help="数据文件（xlsx、xls 或 csv）")
    p.add_argument("--department", help="部门：当前评价模型的数据来源部门（数据导入页面列出的部门），或 综合")
    p.add_argument(
        "--profile",
        metavar="NAME",
        help="数据来源：企查查、天眼查、专利清单、融资事件、政府共享名单等（--list-profiles 列出）；"
        "不指定部门和来源时按表头自动识别来源",
    )
    p.add_argument("--list-profiles", action="store_true", help="列出可用的数据来源")
    p.add_argument(
        "--accept-match",
        action="append",
        default=[],
        metavar="行号=代码",
        help="确认名称相近的行属于该统一社会信用代码的企业（可重复）",
    )
    add_year(p, help="数据年度")
    p.add_argument("--dry-run", action="store_true", help="只检查并输出问题报告，不写入")
    p.add_argument("--confirm-duplicate", action="store_true", help="同一文件已导入过时仍然导入")
    p.add_argument("--report", type=Path, metavar="CSV", help="把逐行问题报告写入此 csv 文件")
    p.add_argument(
        "--diff", type=Path, metavar="CSV", help="把将要发生的变化（当前值 → 导入后）写入此 csv 文件"
    )
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="表头=代码",
        help='把文件中的一列对应到指标，如 --map "研发投入(万元)=指标代码"（可重复）',
    )
    p.add_argument("--ignore", action="append", default=[], metavar="表头", help="不导入这一列（可重复）")
    p.add_argument(
        "--list-mode",
        choices=["replace", "add"],
        help="列表类指标工作表：replace 替换企业原有列表，add 追加到原有列表（文件含列表工作表时必选）",
    )
    p.add_argument(
        "--accept-name-mismatch",
        action="store_true",
        help="企业名称与信用代码不是同一家企业的行，确认按信用代码导入",
    )
    p.add_argument("--sheet", metavar="NAME", help="要导入的工作表名称（文件中有多个数据工作表时必须指定）")


def _print_import_problems(problems: list[dict], limit: int = 20) -> None:
    for p in problems[:limit]:
        print(
            f"  第 {p['row']} 行 “{p['column']}” {p['value']!s:.30}：{p['problem']}（{p['fix']}）",
            file=sys.stderr,
        )
    if len(problems) > limit:
        print(f"  …… 共 {len(problems)} 处，完整报告请用 --report 输出", file=sys.stderr)


def _column_map(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        header, sep, code = pair.rpartition("=")
        if not sep or not header.strip() or not code.strip():
            raise CommandError(f'--map 的格式应为 "表头=指标代码"（收到“{pair}”）')
        out[header.strip()] = code.strip()
    return out


def _print_dry_run(report) -> None:
    print(f"试导入批次 #{report.batch_id}：{report.summary()}")
    for note in report.notes:
        print(f"  · {note}")
    if report.skipped:
        shown = "、".join(f"第 {s['row']} 行（{s['reason']}）" for s in report.skipped[:10])
        more = f" 等 {len(report.skipped)} 行" if len(report.skipped) > 10 else ""
        print(f"已跳过：{shown}{more}")
    if report.ignored_columns:
        print(f"不导入的列：{'、'.join(report.ignored_columns)}")
    for u in report.unmapped:
        hint = "、".join(f"{s['code']} {s['name']}" for s in u["suggestions"]) or "无相近指标"
        print(
            f'未对应的数据列“{u["header"]}”（可能是：{hint}）：用 --map "{u["header"]}=代码" 或 --ignore "{u["header"]}"',
            file=sys.stderr,
        )
    for m in report.mismatches[:20]:
        print(
            f"  第 {m['row']} 行：文件中的企业名称“{m['file_name']}”属于另一家已登记企业（{m['other_code']}），"
            f"代码 {m['credit_code']} 登记的是“{m['registered_name']}”",
            file=sys.stderr,
        )
    for m in report.pending[:50]:
        cands = "；".join(f"{c['credit_code']} {c['name']}（相似度 {c['score']:g}）" for c in m["candidates"])
        print(
            f"  第 {m['row']} 行“{m['name']}”名称相近，待确认（不导入）：{cands}；确认请加 --accept-match {m['row']}=代码",
            file=sys.stderr,
        )
    if report.matches:
        counts: dict[str, int] = {}
        for m in report.matches:
            counts[m["method"]] = counts.get(m["method"], 0) + 1
        print("企业识别方式：" + "，".join(f"{k} {v} 行" for k, v in counts.items()))
    if report.duplicate_of:
        print(f"注意：同一文件已导入过（批次 #{report.duplicate_of['batch_id']}）")


@command(
    "import",
    help="导入部门数据（先检查，全部无误才整批写入）",
    description="按部门导入模板读取 xlsx/xls/csv，逐行检查后整批写入；--dry-run 只检查不写入。",
    arguments=_add_import,
)
def cmd_import(args: argparse.Namespace) -> int:
    from core import identity
    from core.importing import report_frame
    from core.spreadsheet import write_csv
    from services import imports
    from services.errors import ValidationFailed

    if args.list_profiles:
        from core import source_profiles

        for p in source_profiles.load_profiles():
            print(f"{p.name}\t识别表头：{'、'.join(p.signature[:6])}")
        return EXIT_OK
    if args.file is None or args.year is None:
        raise CommandError("请指定数据文件和 --year 数据年度")
    data = args.file.read_bytes()
    if args.profile and args.department:
        raise CommandError("--department 与 --profile 只能指定一个")
    department = args.profile or args.department
    if args.profile and not imports.is_profile(args.profile):
        raise CommandError(
            f"没有名为“{args.profile}”的数据来源，可选：{'、'.join(imports.profile_choices())}"
        )
    if department is None:
        department = imports.recognise_profile(data, args.file.name)
        if department is None:
            raise CommandError("未能按表头识别数据来源：请用 --department 指定部门或 --profile 指定来源")
        print(f"按表头识别为数据来源“{department}”")
    try:
        accepted = identity.parse_accepted(args.accept_match) or None
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    options = {
        "column_map": _column_map(args.map) or None,
        "ignore": args.ignore or None,
        "list_mode": args.list_mode,
        "sheet": args.sheet,
        "accepted_matches": accepted,
    }
    try:
        report = as_system(
            imports.dry_run_import,
            department=department,
            year=args.year,
            file_name=args.file.name,
            data=data,
            **options,
        )
    except imports.SheetChoiceRequired as exc:
        raise CommandError(f"{exc}：请用 --sheet 指定，例如 --sheet {exc.sheets[0]}") from None
    if args.report:
        args.report.write_bytes(write_csv(report_frame(report.errors + report.flags)))
    if args.diff:
        args.diff.write_bytes(write_csv(report.diff_frame()))
    _print_dry_run(report)
    if not report.ok:
        _print_import_problems(report.errors)
        raise CommandError(
            "文件不能导入，整批未写入"
            + (f"：{report.error_count} 处问题" if report.error_count else "：有数据列未对应指标")
        )
    if report.needs_list_mode:
        raise CommandError(
            "文件含列表类指标的工作表：请用 --list-mode replace（替换）或 --list-mode add（追加）选择导入方式"
        )
    if report.mismatches and not args.accept_name_mismatch:
        raise CommandError(
            f"{len(report.mismatches)} 行企业名称与信用代码不一致：请核对，确认按信用代码导入请加 --accept-name-mismatch"
        )
    if args.dry_run:
        return EXIT_OK
    try:
        done = as_system(
            imports.commit_import,
            data=data,
            batch_id=report.batch_id,
            confirm_duplicate=args.confirm_duplicate,
            accept_name_mismatch=args.accept_name_mismatch,
            **options,
        )
    except ValidationFailed as exc:
        _print_import_problems(exc.problems)
        raise
    counts = "，".join(f"{k} {v}" for k, v in done.diff_counts.items())
    print(
        f"已导入批次 #{done.batch_id}：{done.value_count} 个数值（{done.row_count} 家企业；{counts}），"
        f"用时 读取 {done.timings.get('read', 0):.1f} 秒 · 检查 {done.timings.get('validate', 0):.1f} 秒 · "
        f"写入 {done.timings.get('write', 0):.1f} 秒"
    )
    return EXIT_OK


def _add_undo_import(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch", type=positive_int, required=True, help="导入批次 id")
    p.add_argument("--reason", help="撤销原因（记入审计日志）")
    add_yes(p)


@command(
    "undo-import",
    help="撤销一个已导入的批次",
    description="撤销已导入的批次：被它替换的数值恢复为当前值；之后已被其他批次或审核通过的自报值替换的数值保持不变并列出。"
    "已计算的积分批次不受影响。",
    arguments=_add_undo_import,
)
def cmd_undo_import(args: argparse.Namespace) -> int:
    from services import imports

    if not args.yes:
        answer = input(f"确定撤销导入批次 #{args.batch}？输入 yes 确认：") if sys.stdin.isatty() else ""
        if answer.strip().lower() != "yes":
            raise CommandError("未确认，没有撤销（非交互运行请加 --yes）")
    done = as_system(imports.undo_batch, batch_id=args.batch, reason=args.reason)
    left = done.left_alone_frame()
    print(
        f"已撤销导入批次 #{done.batch_id}：{done.reverted} 个数值不再有效，{done.restored} 个原有数值恢复为当前值"
    )
    if len(left):
        print(f"{len(left)} 个数值之后已被替换，保持不变：")
        print_table(left.head(50))
    return EXIT_OK
