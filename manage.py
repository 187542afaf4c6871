#!/usr/bin/env python
"""Command line over services/ and core/: ``python manage.py <command> --help``.

Every command reports problems as one Chinese line on stderr and exits non-zero; tracebacks only with
``--debug``. Commands register themselves in :data:`COMMANDS` (name → (add_parser, handler)); each
engineer adds theirs in a marked section below.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

# The CLI is run from anywhere (make, cron): import the project packages from this file's directory.
sys.path.insert(0, str(Path(__file__).resolve().parent))

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

INPUT_SUFFIXES = (".csv", ".xlsx", ".xls")
OUTPUT_SUFFIXES = (".csv", ".xlsx")


class CommandError(Exception):
    """A user-facing failure: the message is printed as it is and the command exits 1."""


Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[Callable[[argparse._SubParsersAction], argparse.ArgumentParser], Handler]] = {}


def command(name: str, add_parser: Callable[[argparse._SubParsersAction], argparse.ArgumentParser]):
    """Register ``handler`` as subcommand ``name`` with its parser builder."""

    def wrap(handler: Handler) -> Handler:
        COMMANDS[name] = (add_parser, handler)
        return handler

    return wrap


# ====================================================================================== helpers
def _session():
    from db.session import session_scope

    return session_scope()


def _year(text: str) -> int:
    try:
        year = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"年度应为四位数字，例如 2025（收到“{text}”）") from None
    if not 2000 <= year <= 2100:
        raise argparse.ArgumentTypeError(f"年度 {year} 超出范围（2000–2100）")
    return year


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为正整数（收到“{text}”）") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"应为正整数（收到 {value}）")
    return value


def _suffix(path: Path, allowed: tuple[str, ...], what: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        shown = suffix or "（无扩展名）"
        raise CommandError(f"{what}“{path.name}”的文件类型 {shown} 不受支持：请使用 {' / '.join(allowed)}")
    return suffix


def _write_output(path: Path, df, *, sheet: str, header_row: list[str] | None = None) -> None:
    from core.spreadsheet import write_csv, write_xlsx

    suffix = _suffix(path, OUTPUT_SUFFIXES, "输出文件")
    if suffix == ".csv":
        data = write_csv(df)
    else:
        data = write_xlsx({sheet: df}, header_rows={sheet: [header_row]} if header_row else None)
    if path.parent and not path.parent.exists():
        raise CommandError(f"输出目录不存在：{path.parent}")
    path.write_bytes(data)


def _print_table(df) -> None:
    """A plain aligned table (CJK characters count as two columns)."""
    import unicodedata

    def width(s: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)

    cells = [[str(c) for c in df.columns]] + [
        ["" if v is None else str(v) for v in row] for row in df.itertuples(index=False)
    ]
    widths = [max(width(r[j]) for r in cells) for j in range(len(cells[0]))]
    for k, row in enumerate(cells):
        print("  ".join(v + " " * (widths[j] - width(v)) for j, v in enumerate(row)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


# ====================================================================================== init-db
def _add_init_db(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return sub.add_parser(
        "init-db",
        help="创建或升级数据库结构（幂等）",
        description="按 Alembic 迁移把 DATABASE_URL 指向的数据库升级到最新结构（可重复执行）。",
    )


@command("init-db", _add_init_db)
def cmd_init_db(args: argparse.Namespace) -> int:
    from db.schema import init_db
    from db.session import database_url, get_engine

    init_db(get_engine())
    print(f"数据库已就绪：{get_engine().url.render_as_string(hide_password=True) or database_url()}")
    return EXIT_OK


# ====================================================================================== seed-demo
def _add_seed_demo(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "seed-demo",
        help="写入演示数据（企业、账户、填报、积分批次）",
        description="向空数据库写入可复现的演示数据：企业、载体、部门数据、自报、服务目录、"
        "演示账户（密码 Demo@2025）以及上一年度定稿、本年度公示中的积分批次。",
    )
    p.add_argument(
        "--enterprises", type=_positive_int, default=3000, metavar="N", help="企业数量（默认 3000）"
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
    return p


@command("seed-demo", _add_seed_demo)
def cmd_seed_demo(args: argparse.Namespace) -> int:
    from core.deployment import is_production
    from core.workflows import SCORE_RUN
    from demo import is_empty, seed_demo

    if is_production():
        raise CommandError("生产环境（APP_ENV=production）不能写入演示数据：演示账户的密码是公开的。")
    with _session() as session:
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
def _add_verify_audit(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return sub.add_parser(
        "verify-audit",
        help="核验审计日志的哈希链",
        description="按编号顺序重算每条审计记录的哈希并与前一条链接比对；"
        "报告第一条被修改、删除或替换的记录。完好时打印链尾哈希，可另行留存以便日后比对。",
    )


@command("verify-audit", _add_verify_audit)
def cmd_verify_audit(args: argparse.Namespace) -> int:
    from services.actor import Actor
    from services.audit import verify_chain

    with _session() as session:
        report = verify_chain(session, actor=Actor.system())
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


# ====================================================================================== score-file
def _add_score_file(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "score-file",
        help="离线为一个表格计分（不使用数据库）",
        description="读取按数值约定填写的 csv/xlsx（每行一家企业，列为 credit_code、name 和指标代码），"
        "按评价模型计分、排名，写出 csv 或 xlsx（按扩展名）。",
    )
    p.add_argument("input", metavar="INPUT", help="输入文件（.csv / .xlsx / .xls）")
    p.add_argument("--year", type=_year, required=True, help="评价年度（写入 xlsx 标题）")
    p.add_argument("--model", metavar="FILE", help="评价模型 TOML 文件（默认内置龙湾 2022 模型）")
    p.add_argument("--out", required=True, metavar="OUTPUT", help="输出文件（.csv 或 .xlsx）")
    return p


@command("score-file", _add_score_file)
def cmd_score_file(args: argparse.Namespace) -> int:
    from adapters.reader_worker import read_table
    from core.derive import derive_indicators
    from core.engine import score
    from core.measures import prepare_inputs
    from core.model_loading import load_model
    from core.reports import limit_errors, parse_score_input, score_output_frame, score_output_labels
    from core.spreadsheet import apply_header, find_header_row

    src = Path(args.input)
    out = Path(args.out)
    _suffix(src, INPUT_SUFFIXES, "输入文件")
    _suffix(out, OUTPUT_SUFFIXES, "输出文件")
    if not src.is_file():
        raise CommandError(f"找不到输入文件：{src}")
    if args.model and not Path(args.model).is_file():
        raise CommandError(f"找不到模型文件：{args.model}")
    model = load_model(args.model) if args.model else load_model()
    t0 = time.perf_counter()
    raw = read_table(src.read_bytes(), src.name)
    expected = ["credit_code", "name", "统一社会信用代码", "企业名称", *model.codes]
    table = apply_header(raw, find_header_row(raw, expected))
    inputs, errors = parse_score_input(model, table)
    if len(inputs.columns):
        rows = inputs.attrs["rows"]
        inputs = derive_indicators(model, inputs)
        prepared = prepare_inputs(model, inputs)
        # List cells (JSON) are parsed by the engine; report them with the same row numbers.
        for i, code, message in prepared.attrs.get("parse_errors", []):
            errors.append(f"第 {rows[i]} 行 {code} 列：{message}")
    if errors:
        raise CommandError(
            f"{src.name} 有 {len(errors)} 处问题，未计分：\n" + "\n".join(limit_errors(errors))
        )
    scored = score(model, prepared)
    frame = score_output_frame(model, scored)
    _write_output(out, frame, sheet=f"{args.year}年度积分", header_row=score_output_labels(model))
    ranked = int(frame["rank"].notna().sum())
    print(
        f"已计分 {len(frame)} 家企业（参与排名 {ranked} 家，一票否决 {int(frame['veto'].sum())} 家），"
        f"用时 {time.perf_counter() - t0:.2f} 秒，结果已写入 {out}"
    )
    return EXIT_OK


# ====================================================================================== compute
def _add_compute(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "compute",
        help="计算一个年度的积分批次（草稿）",
        description="按评价模型计算指定年度全部企业的积分，生成草稿批次并打印各阶段汇总。",
    )
    p.add_argument("--year", type=_year, required=True, help="评价年度")
    p.add_argument("--model-version", metavar="V", help="模型版本号（如 2022.1）或版本 id；默认当前发布版本")
    return p


def _model_version_id(session, spec: str | None) -> int | None:
    from sqlmodel import select

    from db.models import ModelVersion

    if spec is None:
        return None
    found = session.exec(select(ModelVersion).where(ModelVersion.version == spec)).first()
    if found is None and spec.isdigit():
        found = session.get(ModelVersion, int(spec))
    if found is None:
        raise CommandError(f"找不到评价模型版本“{spec}”")
    return found.id


@command("compute", _add_compute)
def cmd_compute(args: argparse.Namespace) -> int:
    from core.reports import stage_summary_frame
    from db.queries import scores_frame
    from services.actor import Actor
    from services.model_versions import ensure_default_model, get_model
    from services.runs import compute_run

    t0 = time.perf_counter()
    with _session() as session:
        version_id = _model_version_id(session, args.model_version)
        if version_id is None:
            version_id = ensure_default_model(session).id
        run = compute_run(session, actor=Actor.system(), year=args.year, model_version_id=version_id)
        seconds = time.perf_counter() - t0
        model = get_model(session, run.model_version_id)
        summary = stage_summary_frame(model, scores_frame(session, run_id=run.id))
        run_id, count = run.id, run.enterprise_count
    print(f"积分批次 #{run_id}（{args.year} 年度，草稿）：{count} 家企业，用时 {seconds:.1f} 秒")
    _print_table(summary)
    return EXIT_OK


# ====================================================================================== model
def _add_model(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "model",
        help="评价模型版本：列出、导入、导出、发布",
        description="管理评价模型版本。导入的模型经校验后存为草稿；发布后用于新的积分计算，"
        "已有批次始终保留其计算时的模型版本。",
    )
    actions = p.add_subparsers(dest="model_action", metavar="ACTION", parser_class=type(p))
    actions.add_parser("list", help="列出全部模型版本")
    imp = actions.add_parser("import", help="导入模型文件（TOML），校验后存为草稿")
    imp.add_argument("file", metavar="FILE", help="模型文件（.toml）")
    imp.add_argument("--name", metavar="N", help="模型名称（默认取文件中的名称）")
    exp = actions.add_parser("export", help="导出一个模型版本为 TOML（可再导入）")
    exp.add_argument("version", metavar="VERSION", help="版本号或版本 id")
    exp.add_argument("--out", required=True, metavar="FILE", help="输出文件（.toml）")
    pub = actions.add_parser("publish", help="发布一个草稿版本（记入审计日志）")
    pub.add_argument("version", metavar="VERSION", help="版本号或版本 id")
    return p


@command("model", _add_model)
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
    with _session() as session:
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
            _print_table(pd.DataFrame(rows))
        elif action == "import":
            path = Path(args.file)
            _suffix(path, (".toml",), "模型文件")
            model = load_model(path)  # field-level Chinese errors for a bad file
            version = register_model(session, actor=actor, definition=model.to_dict(), name=args.name)
            print(
                f"已导入为草稿：版本 {version.version}（id {version.id}）· {version.name}；"
                f"发布：manage.py model publish {version.version}"
            )
        elif action == "export":
            out = Path(args.out)
            _suffix(out, (".toml",), "输出文件")
            version = find_model_version(session, args.version)
            out.write_text(export_model_toml(session, actor=actor, version_id=version.id), encoding="utf-8")
            print(f"已导出版本 {version.version} 到 {out}")
        else:
            version = find_model_version(session, args.version)
            version = publish_model_version(session, actor=actor, version_id=version.id)
            print(f"已发布版本 {version.version}：新的积分计算将使用该版本，已有批次保留原版本。")
    return EXIT_OK


# ====================================================================================== export-lists
def _add_export_lists(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "export-lists",
        help="导出一个批次的公示名单",
        description="导出批次的上榜企业（序号、企业名称、统一社会信用代码、所属阶段、榜单、积分），"
        "按阶段（种子期→成熟期）和阶段内排名排序；csv 或 xlsx（按扩展名）。",
    )
    p.add_argument("--run", type=_positive_int, required=True, metavar="ID", help="积分批次 id")
    p.add_argument("--out", required=True, metavar="FILE", help="输出文件（.csv 或 .xlsx）")
    return p


@command("export-lists", _add_export_lists)
def cmd_export_lists(args: argparse.Namespace) -> int:
    from core.reports import notice_list_frame
    from db.models import ScoreRun
    from db.queries import scores_frame
    from services.model_versions import get_model

    out = Path(args.out)
    _suffix(out, OUTPUT_SUFFIXES, "输出文件")
    with _session() as session:
        run = session.get(ScoreRun, args.run)
        if run is None:
            raise CommandError(f"积分批次 #{args.run} 不存在")
        model = get_model(session, run.model_version_id)
        frame = notice_list_frame(model, scores_frame(session, run_id=run.id))
        year, state = run.year, run.state
    _write_output(out, frame, sheet=f"{year}年度创新积分榜单")
    note = "" if state in ("notice", "final") else f"（注意：该批次状态为 {state}，尚未公示）"
    print(f"已导出 {len(frame)} 家上榜企业到 {out}{note}")
    return EXIT_OK


# ====================================================================================== create-user
def _add_create_user(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "create-user", help="创建账户", description="创建账户；不提供密码时生成一次性密码并要求首次登录修改。"
    )
    p.add_argument("username", metavar="USERNAME", help="用户名（小写字母、数字、. _ -）")
    p.add_argument("--role", required=True, choices=("enterprise", "officer", "admin", "bank"), help="角色")
    p.add_argument("--enterprise", metavar="CREDIT_CODE", help="企业账户关联的统一社会信用代码")
    p.add_argument("--bank", metavar="NAME", help="合作银行账户所属的银行（机构名称）")
    p.add_argument("--display-name", metavar="NAME", help="显示名称（默认为用户名或企业名称）")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行）")
    return p


@command("create-user", _add_create_user)
def cmd_create_user(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from core.credit_code import explain, normalize
    from db.models import Enterprise
    from services.accounts import create_user
    from services.actor import Actor

    password = None
    if args.password_stdin:
        line = sys.stdin.readline() if not sys.stdin.isatty() else getpass.getpass("密码：")
        password = line.rstrip("\r\n")
        if not password:
            raise CommandError("标准输入中没有读到密码")
    with _session() as session:
        enterprise_id = None
        display = args.display_name
        if args.enterprise:
            code = normalize(args.enterprise)
            problem = explain(code)
            if problem:
                raise CommandError(problem)
            ent = session.exec(select(Enterprise).where(Enterprise.credit_code == code)).first()
            if ent is None:
                raise CommandError(f"找不到统一社会信用代码为 {code} 的企业")
            enterprise_id = ent.id
            display = display or ent.name
        user, one_time = create_user(
            session,
            actor=Actor.system(),
            username=args.username,
            role=args.role,
            enterprise_id=enterprise_id,
            password=password,
            display_name=display,
            bank_name=args.bank,
        )
        username = user.username
    print(f"账户 {username} 已创建（角色 {args.role}）")
    if one_time:
        print(f"一次性密码：{one_time}")
        print("请安全转交；首次登录须修改密码。")
    return EXIT_OK


# --- officer workflow commands (issue 4) ---
def _add_import(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "import",
        help="导入部门数据（先检查，全部无误才整批写入）",
        description="按部门导入模板读取 xlsx/xls/csv，逐行检查后整批写入；--dry-run 只检查不写入。",
    )
    p.add_argument("file", type=Path, nargs="?", help="数据文件（xlsx、xls 或 csv）")
    p.add_argument("--department", help="部门：税务、经信、科技、金融、市监、人社（或 综合）")
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
    p.add_argument("--year", type=_year, help="数据年度")
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
        help='把文件中的一列对应到指标，如 --map "研发投入(万元)=T01"（可重复）',
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
    return p


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


@command("import", _add_import)
def cmd_import(args: argparse.Namespace) -> int:
    from core import identity
    from core.importing import report_frame
    from core.spreadsheet import write_csv
    from services import imports
    from services.actor import Actor
    from services.errors import ValidationFailed

    if args.list_profiles:
        from core import source_profiles

        for p in source_profiles.load_profiles():
            print(f"{p.name}\t识别表头：{'、'.join(p.signature[:6])}")
        return EXIT_OK
    if args.file is None or args.year is None:
        raise CommandError("请指定数据文件和 --year 数据年度")
    data = args.file.read_bytes()
    actor = Actor.system()
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
        with _session() as session:
            report = imports.dry_run_import(
                session,
                actor=actor,
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
        with _session() as session:
            done = imports.commit_import(
                session,
                actor=actor,
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


def _add_undo_import(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "undo-import",
        help="撤销一个已导入的批次",
        description="撤销已导入的批次：被它替换的数值恢复为当前值；之后已被其他批次或审核通过的自报值替换的数值保持不变并列出。"
        "已计算的积分批次不受影响。",
    )
    p.add_argument("--batch", type=_positive_int, required=True, help="导入批次 id")
    p.add_argument("--reason", help="撤销原因（记入审计日志）")
    p.add_argument("--yes", action="store_true", help="不再询问，直接撤销")
    return p


@command("undo-import", _add_undo_import)
def cmd_undo_import(args: argparse.Namespace) -> int:
    from services import imports
    from services.actor import Actor

    if not args.yes:
        answer = input(f"确定撤销导入批次 #{args.batch}？输入 yes 确认：") if sys.stdin.isatty() else ""
        if answer.strip().lower() != "yes":
            raise CommandError("未确认，没有撤销（非交互运行请加 --yes）")
    with _session() as session:
        done = imports.undo_batch(session, actor=Actor.system(), batch_id=args.batch, reason=args.reason)
        left = done.left_alone_frame()
    print(
        f"已撤销导入批次 #{done.batch_id}：{done.reverted} 个数值不再有效，{done.restored} 个原有数值恢复为当前值"
    )
    if len(left):
        print(f"{len(left)} 个数值之后已被替换，保持不变：")
        _print_table(left.head(50))
    return EXIT_OK


def _add_publish(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "publish",
        help="开始公示一个积分批次",
        description="草稿批次进入公示期。同年度已有批次在公示时，须加 --replace 确认由本批次替代。",
    )
    p.add_argument("--run", type=_positive_int, required=True, help="批次 id")
    p.add_argument("--days", type=_positive_int, required=True, help="公示天数")
    p.add_argument("--start", help="公示开始日期 YYYY-MM-DD（默认今天）")
    p.add_argument("--replace", action="store_true", help="确认替代同年度正在公示的批次")
    return p


@command("publish", _add_publish)
def cmd_publish(args: argparse.Namespace) -> int:
    from datetime import date

    from services.actor import Actor
    from services.runs import default_notice_window, publish_run

    try:
        start = date.fromisoformat(args.start) if args.start else None
    except ValueError:
        raise CommandError(f"开始日期格式应为 YYYY-MM-DD（收到“{args.start}”）") from None
    start, end = default_notice_window(start, days=args.days)
    with _session() as session:
        run = publish_run(
            session,
            actor=Actor.system(),
            run_id=args.run,
            notice_start=start,
            notice_end=end,
            replace=args.replace,
        )
        run_id = run.id
    print(f"积分批次 #{run_id} 已开始公示：{start:%Y-%m-%d} 至 {end:%Y-%m-%d}")
    return EXIT_OK


def _add_finalize(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "finalize",
        help="公示结束后定稿一个积分批次",
        description="公示中的批次定稿；定稿后不可更改。公示期结束前定稿须用 --reason 说明理由（记入审计日志）。",
    )
    p.add_argument("--run", type=_positive_int, required=True, help="批次 id")
    p.add_argument("--reason", help="公示期结束前提前定稿的理由")
    return p


@command("finalize", _add_finalize)
def cmd_finalize(args: argparse.Namespace) -> int:
    from services.actor import Actor
    from services.runs import finalize_run

    with _session() as session:
        run = finalize_run(session, actor=Actor.system(), run_id=args.run, reason=args.reason)
        run_id, year = run.id, run.year
    print(f"积分批次 #{run_id}（{year} 年度）已定稿")
    return EXIT_OK


def _add_dynamic(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "dynamic",
        help="动态积分：立即重算，或作为后台进程持续重算",
        description="审核通过或导入数据后，应用会在后台重算该年度的动态积分（不是积分批次，不产生榜单）。"
        "本命令立即重算有新数据的年度（--year 指定则强制重算该年度）；"
        "--watch 作为独立进程持续运行（多副本部署时各副本通过数据库租约协调）。",
    )
    p.add_argument("--year", type=_year, help="强制重算的年度")
    p.add_argument("--watch", action="store_true", help="持续运行，每隔几秒检查一次")
    return p


@command("dynamic", _add_dynamic)
def cmd_dynamic(args: argparse.Namespace) -> int:
    import os
    import socket
    import time

    from core import settings
    from db.session import get_engine
    from services import dynamic
    from services.actor import Actor

    owner = f"cli:{socket.gethostname()}:{os.getpid()}"
    if args.year is not None:
        with _session() as session:
            state = dynamic.recompute_year(session, actor=Actor.system(), year=args.year, owner=owner)
            note, count, seconds = state.note, state.enterprise_count, state.seconds
        print(note or f"{args.year} 年度动态积分已重算：{count} 家企业，用时 {seconds:.1f} 秒")
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


def _add_verify_run(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "verify-run",
        help="重算核验：用存储的输入和模型重算并比对",
        description="按批次保存的输入数据和模型版本重新计算，报告每个数字是否完全一致。",
    )
    p.add_argument("--run", type=_positive_int, required=True, help="批次 id")
    return p


@command("verify-run", _add_verify_run)
def cmd_verify_run(args: argparse.Namespace) -> int:
    from services.actor import Actor
    from services.runs import verify_run

    with _session() as session:
        report = verify_run(session, actor=Actor.system(), run_id=args.run)
    if report.identical:
        print(f"积分批次 #{args.run} 核验通过：{report.enterprise_count} 家企业的全部数字与重算结果完全一致")
        return EXIT_OK
    print(
        f"输入指纹{'一致' if report.fingerprint_matches else '不一致'}；"
        f"{len(report.differing_enterprises)} 家企业存在差异，涉及：{'、'.join(report.differing_columns[:10])}",
        file=sys.stderr,
    )
    if not report.differences.empty:
        _print_table(report.differences.head(20))
    raise CommandError(f"积分批次 #{args.run} 核验未通过")


# --- end officer workflow commands ---


# ====================================================================================== 用户管理
def _add_users(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "users",
        help="用户管理：列出、重置密码、解锁、停用/启用、改角色、批量开通企业账户",
        description="与“用户管理”页面相同的操作（以 system 身份执行，均写入审计日志）。",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="列出账户")
    for name, text in (
        ("reset-password", "生成一次性密码（并结束该账户的所有会话）"),
        ("unlock", "解除登录限制"),
        ("deactivate", "停用账户（立即结束其会话）"),
        ("reactivate", "启用账户"),
        ("end-sessions", "结束该账户在所有设备上的登录"),
    ):
        a = actions.add_parser(name, help=text)
        a.add_argument("username", metavar="USERNAME")
    a = actions.add_parser("set-role", help="修改工作人员角色（officer / admin）")
    a.add_argument("username", metavar="USERNAME")
    a.add_argument("role", choices=("officer", "admin"))
    a = actions.add_parser(
        "bank-token", help="合作银行接口令牌：create 创建（只显示这一次）、revoke 撤销、list 列出"
    )
    a.add_argument("token_action", choices=("create", "revoke", "list"), metavar="create|revoke|list")
    a.add_argument("--bank", metavar="NAME", help="银行名称（与该银行账户的“所属银行”一致）")
    a.add_argument(
        "--hint", metavar="PREFIX", help="revoke：只撤销以此开头的令牌（默认撤销该银行的全部令牌）"
    )
    a = actions.add_parser(
        "create-enterprise-accounts", help="为尚无账户的企业批量开通账户，一次性密码写入 xlsx（只输出这一次）"
    )
    a.add_argument(
        "--codes",
        type=Path,
        metavar="FILE",
        help="每行一个统一社会信用代码的文本文件（默认：全部尚无账户的企业）",
    )
    a.add_argument("--out", type=Path, required=True, metavar="XLSX", help="输出的账户清单 .xlsx")
    return p


@command("users", _add_users)
def cmd_users(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from db.models import Enterprise
    from services import accounts
    from services.actor import Actor

    system = Actor.system()
    with _session() as session:
        if args.action == "list":
            frame = accounts.list_users(session, actor=system)
            _print_table(
                frame[
                    ["username", "display_name", "role", "active", "must_change_password", "throttled_until"]
                ].rename(
                    columns={
                        "username": "用户名",
                        "display_name": "名称",
                        "role": "角色",
                        "active": "启用",
                        "must_change_password": "须改密码",
                        "throttled_until": "登录限制至",
                    }
                )
            )
            return EXIT_OK
        if args.action == "reset-password":
            otp = accounts.reset_password(session, actor=system, username=args.username)
            print(f"{args.username} 的一次性密码（只显示这一次）：{otp}")
        elif args.action == "unlock":
            accounts.unlock_user(session, actor=system, username=args.username)
            print(f"已解除 {args.username} 的登录限制。")
        elif args.action in ("deactivate", "reactivate"):
            accounts.set_active(
                session, actor=system, username=args.username, active=args.action == "reactivate"
            )
            print(f"已{'启用' if args.action == 'reactivate' else '停用'} {args.username}。")
        elif args.action == "end-sessions":
            count = accounts.end_user_sessions(session, actor=system, username=args.username)
            print(f"已结束 {args.username} 的 {count} 个会话。")
        elif args.action == "set-role":
            accounts.change_role(session, actor=system, username=args.username, role=args.role)
            print(f"已将 {args.username} 的角色改为 {args.role}。")
        elif args.action == "bank-token":
            from services import bank_api

            if args.token_action == "list":
                _print_table(bank_api.list_tokens(session, actor=system))
                return EXIT_OK
            if not args.bank:
                raise CommandError("请用 --bank 指定银行名称")
            if args.token_action == "create":
                token = bank_api.create_token(session, actor=system, bank_name=args.bank)
                print(f"已为“{args.bank.strip()}”创建接口令牌（只显示这一次，请安全转交；库中只存其摘要）：")
                print(token)
            else:
                count = bank_api.revoke_tokens(session, actor=system, bank_name=args.bank, hint=args.hint)
                print(f"已撤销“{args.bank.strip()}”的 {count} 个接口令牌。")
        else:
            _suffix(args.out, (".xlsx",), "输出文件")
            if args.codes:
                codes = {
                    c.strip().upper() for c in args.codes.read_text(encoding="utf-8").split() if c.strip()
                }
                ids = (
                    session.execute(select(Enterprise.id).where(Enterprise.credit_code.in_(codes)))
                    .scalars()
                    .all()
                )
                if len(ids) != len(codes):
                    raise CommandError(f"{len(codes) - len(ids)} 个统一社会信用代码找不到对应企业")
            else:
                ids = accounts.enterprises_without_account(session, actor=system, limit=5000)["id"].tolist()
            if not ids:
                raise CommandError("没有需要开通账户的企业")
            created = accounts.create_enterprise_accounts(session, actor=system, enterprise_ids=ids)
            args.out.write_bytes(accounts.accounts_xlsx(created))
            args.out.chmod(0o600)
            print(
                f"已开通 {len(created)} 个企业账户，账户与一次性密码已写入 {args.out}（权限 600；交付后请删除）。"
            )


# ====================================================================================== search (issue 9)
def _add_search(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "search",
        help="按名称、拼音或统一社会信用代码查找企业",
        description="按企业名称片段、拼音首字母（如 wzlx）、全拼、近似名称（错一字）或统一社会信用代码"
        "前缀查找企业，输出序号、统一社会信用代码、企业名称、发展阶段（取最近的公示或定稿批次）。"
        "找不到时退出码为 1。",
    )
    p.add_argument("query", metavar="QUERY", help="查找内容，例如 联翔、wzlx、9133030")
    p.add_argument("--limit", type=_positive_int, default=20, metavar="N", help="最多显示 N 条（默认 20）")
    p.add_argument(
        "--run", type=_positive_int, metavar="ID", help="发展阶段取自该积分批次（默认最近的公示或定稿批次）"
    )
    return p


@command("search", _add_search)
def cmd_search(args: argparse.Namespace) -> int:
    from services.actor import Actor
    from services.search import find_enterprises

    if not args.query.strip():
        raise CommandError("查找内容不能为空：请输入企业名称、拼音或统一社会信用代码")
    with _session() as session:
        found = find_enterprises(
            session, actor=Actor.system(), query=args.query, limit=args.limit, run_id=args.run
        )
    if found.empty:
        print(f"未找到与“{args.query}”匹配的企业", file=sys.stderr)
        return EXIT_ERROR
    found = found.drop(columns=["enterprise_id"]).rename(
        columns={
            "rank": "序号",
            "credit_code": "统一社会信用代码",
            "name": "企业名称",
            "stage": "发展阶段",
            "match": "匹配方式",
        }
    )
    _print_table(found)
    return EXIT_OK


# ====================================================================================== scenarios (issue 9)
def _out_file(text: str) -> Path:
    path = Path(text)
    _suffix(path, OUTPUT_SUFFIXES, "输出文件")
    if path.parent and not path.parent.exists():
        raise CommandError(f"输出目录不存在：{path.parent}")
    return path


def _fmt(path: Path) -> str:
    return path.suffix.lower().lstrip(".")


def _add_export_subsidies(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "export-subsidies",
        help="导出一个批次的精准扶持名单（含名额与预算）",
        description="按批次所用评价模型的扶持规则（阶段比例、名额上限、每家金额）导出扶持名单："
        "xlsx 含“扶持名单”和“名额与预算”两个工作表，csv 只含扶持名单。只接受公示中或已定稿的批次。",
    )
    p.add_argument("--run", type=_positive_int, required=True, metavar="ID", help="积分批次 id")
    p.add_argument("--out", required=True, metavar="FILE", help="输出文件（.csv 或 .xlsx）")
    return p


@command("export-subsidies", _add_export_subsidies)
def cmd_export_subsidies(args: argparse.Namespace) -> int:
    from services.actor import Actor
    from services.scenarios import export_lists, lists_view

    out = _out_file(args.out)
    with _session() as session:
        data = export_lists(session, actor=Actor.system(), run_id=args.run, fmt=_fmt(out), part="subsidies")
        view = lists_view(session, actor=Actor.system(), run_id=args.run)
    out.write_bytes(data)
    total = view.plan.iloc[-1]
    print(
        f"{view.run_label}：扶持 {len(view.subsidies)} 家，合计 {float(total['实际金额（万元）']):g} 万元"
        f"（预算 {float(total['预算（万元）']):g} 万元），已写入 {out}"
    )
    return EXIT_OK


def _add_export_pool(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "export-pool",
        help="导出培育库（候选企业、未满足条件及差距）",
        description="导出一个批次的培育库候选企业（尚未具备资格、未被一票否决），按接近程度排序，"
        "列出每个未满足的条件及其数值差距。--pool 指定一个培育库（代码或名称）；"
        "不指定时导出全部（仅 xlsx：汇总 + 每个培育库一个工作表）。",
    )
    p.add_argument(
        "--run", type=_positive_int, metavar="ID", help="积分批次 id（默认最新的公示中或已定稿批次）"
    )
    p.add_argument("--pool", metavar="POOL", help="培育库代码或名称，如 hte 或 国家高新技术企业")
    p.add_argument("--out", required=True, metavar="FILE", help="输出文件（.csv 或 .xlsx）")
    return p


@command("export-pool", _add_export_pool)
def cmd_export_pool(args: argparse.Namespace) -> int:
    from services.actor import Actor
    from services.scenarios import export_pool, pools_view

    out = _out_file(args.out)
    with _session() as session:
        data = export_pool(session, actor=Actor.system(), run_id=args.run, pool=args.pool, fmt=_fmt(out))
        view = pools_view(session, actor=Actor.system(), run_id=args.run)
    out.write_bytes(data)
    print(f"{view.run_label}：已写入 {out}")
    _print_table(view.counts)
    return EXIT_OK


def _add_bank_whitelist(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "bank-whitelist",
        help="导出合作银行推荐名单（只含同意推荐的企业）",
        description="按积分门槛、榜单或各阶段前 N 名选出企业，只保留已同意向合作银行推荐、"
        "未被一票否决的企业；每次导出都记入审计日志（操作人、时间、银行、条件、名单）。"
        "--min-total、--tier、--top 三选一。",
    )
    p.add_argument(
        "--run", type=_positive_int, metavar="ID", help="积分批次 id（默认最新的公示中或已定稿批次）"
    )
    p.add_argument("--bank", required=True, metavar="NAME", help="接收名单的合作银行名称")
    choice = p.add_mutually_exclusive_group(required=True)
    choice.add_argument("--min-total", type=float, metavar="X", help="总积分不低于 X")
    choice.add_argument(
        "--tier", metavar="TIER", help="榜单代码或名称（含更高的榜单），如 竞跑 或 创新竞跑榜"
    )
    choice.add_argument("--top", type=_positive_int, metavar="N", help="各阶段前 N 名")
    p.add_argument("--out", required=True, metavar="FILE", help="输出文件（.csv 或 .xlsx）")
    return p


@command("bank-whitelist", _add_bank_whitelist)
def cmd_bank_whitelist(args: argparse.Namespace) -> int:
    from core.bank import Criteria
    from services.actor import Actor
    from services.bank import export_whitelist

    out = _out_file(args.out)
    if args.min_total is not None:
        criteria = Criteria("min_total", min_total=args.min_total)
    elif args.tier is not None:
        criteria = Criteria("tier", tier=args.tier)
    else:
        criteria = Criteria("top_n", top_n=args.top)
    with _session() as session:
        data, result = export_whitelist(
            session,
            actor=Actor.system(),
            criteria=criteria,
            bank_name=args.bank,
            run_id=args.run,
            fmt=_fmt(out),
        )
    out.write_bytes(data)
    print(
        f"{result.run_label}，条件：{result.criteria_text}：符合条件 {result.chosen} 家，其中未同意推荐 "
        f"{result.without_consent} 家未列入；名单 {len(result.table)} 家已写入 {out}（已记入审计日志）"
    )
    return EXIT_OK


def _add_monitoring_report(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "monitoring-report",
        help="生成年度监测报告（xlsx + 离线 HTML）",
        description="以该批次对比上一年度定稿批次：阶段分布及变化、榜单企业、积分升降最多的企业及主要变动指标、"
        "分阶段指标中位数、载体评价、培育库、各部门数据完整性。在 DIR 下写出 监测报告_<年度>.xlsx "
        "和 监测报告_<年度>.html（图表内嵌，不引用任何外部资源）。",
    )
    p.add_argument(
        "--run", type=_positive_int, required=True, metavar="ID", help="积分批次 id（公示中或已定稿）"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="输出目录（不存在时创建）")
    return p


@command("monitoring-report", _add_monitoring_report)
def cmd_monitoring_report(args: argparse.Namespace) -> int:
    from services.actor import Actor
    from services.monitoring import monitoring_report

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"输出位置 {out} 已存在且不是目录")
    with _session() as session:
        report = monitoring_report(session, actor=Actor.system(), run_id=args.run)
    year = report.title.split(" ", 1)[0]
    out.mkdir(parents=True, exist_ok=True)
    xlsx, page = out / f"监测报告_{year}.xlsx", out / f"监测报告_{year}.html"
    xlsx.write_bytes(report.to_xlsx())
    page.write_text(report.to_html(), encoding="utf-8")
    print(f"{report.title}（{report.subtitle}）：已写入 {xlsx} 和 {page}")
    return EXIT_OK


# ====================================================================================== assistant (issue 17)
def _add_ask(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "ask",
        help="智能助手：以某个账户的身份提问",
        description="以账户 USERNAME 的身份向智能助手提问，输出答复、识别的意图和依据（积分批次与模型版本，"
        "或政策文件与条款）。权限与页面相同：企业账户只能得到本企业的数据。问答不写入问答记录。",
    )
    p.add_argument("question", metavar="问题", help="例如 “我离竞跑榜还差多少分”")
    p.add_argument("--as", dest="username", required=True, metavar="USERNAME", help="提问的账户，例如 ent1")
    p.add_argument(
        "--enterprise", type=_positive_int, metavar="ID", help="工作人员账户：按该企业（编号）的数据回答"
    )
    return p


@command("ask", _add_ask)
def cmd_ask(args: argparse.Namespace) -> int:
    from services.assistant import actor_for_username, ask

    with _session() as session:
        actor = actor_for_username(session, args.username)
        result = ask(session, actor=actor, question=args.question, enterprise_id=args.enterprise, log=False)
    answer = result.answer
    print(answer.text)
    print(f"意图：{answer.intent_name}（{answer.intent}）")
    for source in answer.sources or ["无（未找到可靠依据）"]:
        print(f"依据：{source}")
    for item in result.items:
        print(
            f"- [{item.kind_label}] {item.name}：{item.outcome_label}。{item.reason}"
            + ("（可免申即享）" if item.instant else "")
        )
    return EXIT_OK


# ====================================================================================== backup / restore (issue 21)
def _add_backup(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "backup",
        help="备份整个数据库（运行中也可备份）",
        description="SQLite 用在线备份接口（含尚在 WAL 中的已提交数据），PostgreSQL 用与服务器同版本的 "
        "pg_dump（自定义格式）。备份文件含密码哈希和证明材料，权限 600，请妥善保管。",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="备份文件（已存在则覆盖）")
    return p


@command("backup", _add_backup)
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


def _add_restore(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "restore",
        help="从备份恢复整个数据库（覆盖现有数据）",
        description="用 backup 命令写出的文件替换当前数据库的全部内容，升级到当前结构，结束备份中的全部"
        "登录会话（所有用户须重新登录），再核验审计日志和每个已定稿批次。"
        "恢复前请停止应用服务器（make cluster-stop）。",
    )
    p.add_argument("--from", dest="source", required=True, metavar="FILE", help="备份文件")
    p.add_argument("--yes", action="store_true", help="不再询问确认（脚本使用）")
    p.add_argument(
        "--no-verify", action="store_true", help="恢复后不核验已定稿批次（大库可另行运行 verify-run）"
    )
    return p


@command("restore", _add_restore)
def cmd_restore(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from db.models import ScoreRun
    from db.session import get_engine
    from services.actor import Actor
    from services.audit import verify_chain
    from services.backup import STORE_NAMES, kind_of_file, restore_database
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
    with _session() as session:
        report = verify_chain(session, actor=Actor.system())
        if not report.ok:
            raise CommandError(f"恢复后的审计日志核验未通过：{report.anchor_problem or report.problem}")
        print(f"  审计日志完好：共 {report.checked} 条")
        if args.no_verify:
            return EXIT_OK
        finals = session.execute(
            select(ScoreRun.id).where(ScoreRun.state == "final").order_by(ScoreRun.id)
        ).scalars()
        for run_id in list(finals):
            verified = verify_run(session, actor=Actor.system(), run_id=run_id)
            if not verified.identical:
                raise CommandError(f"恢复后积分批次 #{run_id} 重算核验未通过")
            print(f"  积分批次 #{run_id} 核验通过（{verified.enterprise_count} 家企业）")
    return EXIT_OK


# ====================================================================================== serve (issue 21)
def _add_serve(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "serve",
        help="在 nginx 后启动多个应用服务进程（粘性会话）",
        description="启动 N 个单进程 Streamlit 服务（端口 base-port 起）和 Debian 的 nginx（端口 port），"
        "按浏览器粘性分配会话；监督各进程，退出或不再响应时自动重启，可按计划轮换重启。"
        "数据库为 DATABASE_URL（多进程请用 PostgreSQL）。Ctrl-C 停止全部进程。",
    )
    p.add_argument("--replicas", type=_positive_int, default=2, metavar="N", help="服务进程数（默认 2）")
    p.add_argument("--port", type=_positive_int, default=8080, help="nginx 监听端口（默认 8080）")
    p.add_argument(
        "--host", default="127.0.0.1", help="nginx 监听地址（默认 127.0.0.1；内网服务可用 0.0.0.0）"
    )
    p.add_argument("--base-port", type=_positive_int, default=8601, help="第一个服务进程的端口（默认 8601）")
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
        "--recycle", type=_positive_int, default=None, metavar="I", help="立即重启运行中集群的第 I 个服务进程"
    )
    return p


@command("serve", _add_serve)
def cmd_serve(args: argparse.Namespace) -> int:
    import os

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
            expose_upstream=os.environ.get("CLUSTER_EXPOSE_UPSTREAM") == "1",
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


# ====================================================================================== main
class _Parser(argparse.ArgumentParser):
    """argparse with Chinese usage errors (exit 2, never a traceback)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"错误：参数有误：{message}\n（用 --help 查看用法）\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="manage.py", description="企业创新积分 命令行工具")
    parser.add_argument("--debug", action="store_true", help="出错时显示完整的错误堆栈")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (add_parser, handler) in COMMANDS.items():
        p = add_parser(sub)
        p.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="出错时显示完整的错误堆栈"
        )
        p.set_defaults(handler=handler, command=name)
    return parser


def _known_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [CommandError, ValueError, OSError]
    for module, name in (
        ("services.errors", "ServiceError"),
        ("core.scoring_model", "ModelError"),
        ("core.spreadsheet", "SpreadsheetError"),
        ("core.workflows", "TransitionError"),
    ):
        with contextlib.suppress(ImportError, AttributeError):
            errors.append(getattr(__import__(module, fromlist=[name]), name))
    return tuple(errors)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        from core import settings

        settings.load()  # every environment variable checked before any command (a bad one: 错误：…)
        return args.handler(args)
    except KeyboardInterrupt:
        print("已取消。", file=sys.stderr)
        return 130
    except _known_errors() as exc:
        if args.debug:
            traceback.print_exc()
        message = str(exc) or type(exc).__name__
        if isinstance(exc, FileNotFoundError):
            message = f"找不到文件：{exc.filename}"
        elif isinstance(exc, OSError) and not isinstance(exc, CommandError):
            message = f"文件或系统错误：{exc}"
        print(f"错误：{message}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the CLI never shows a traceback without --debug
        if args.debug:
            traceback.print_exc()
        print(f"错误：意外故障（{type(exc).__name__}：{exc}）。加 --debug 查看详情。", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
