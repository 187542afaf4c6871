"""Read-only exports and look-ups: search, export-lists, export-subsidies, export-pool, bank-whitelist,
monitoring-report.

Each calls the service behind the matching officer page (``services.search``, ``services.scenarios``,
``services.bank``, ``services.monitoring``) as the system actor and writes the bytes it returns; the
bank whitelist is audited by its service like the page's download.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    CommandError,
    add_out,
    add_run,
    as_system,
    command,
    file_format,
    out_file,
    positive_int,
    print_table,
)

if TYPE_CHECKING:
    from services.scenarios import ListsView

_LATEST_RUN = "积分批次 id（默认最新的公示中或已定稿批次）"


# ====================================================================================== search
def _add_search(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", metavar="QUERY", help="查找内容，例如 联翔、wzlx、9133030")
    p.add_argument("--limit", type=positive_int, default=20, metavar="N", help="最多显示 N 条（默认 20）")
    add_run(p, help="发展阶段取自该积分批次（默认最近的公示或定稿批次）")


@command(
    "search",
    help="按名称、拼音或统一社会信用代码查找企业",
    description="按企业名称片段、拼音首字母（如 wzlx）、全拼、近似名称（错一字）或统一社会信用代码"
    "前缀查找企业，输出序号、统一社会信用代码、企业名称、发展阶段（取最近的公示或定稿批次）。"
    "找不到时退出码为 1。",
    arguments=_add_search,
)
def cmd_search(args: argparse.Namespace) -> int:
    from services.search import find_enterprises

    if not args.query.strip():
        raise CommandError("查找内容不能为空：请输入企业名称、拼音或统一社会信用代码")
    found = as_system(find_enterprises, query=args.query, limit=args.limit, run_id=args.run)
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
    print_table(found)
    return EXIT_OK


def _run_and_out(p: argparse.ArgumentParser) -> None:
    add_run(p, required=True)
    add_out(p)


def _write_run_lists(args: argparse.Namespace, part: str) -> tuple[Path, ListsView]:
    """The run's ``part`` export (services.scenarios.export_lists: published runs only) written to --out;
    the run's lists view for the summary line."""
    from services.scenarios import export_lists, lists_view

    out = out_file(args.out)
    data = as_system(export_lists, run_id=args.run, fmt=file_format(out), part=part)
    view = as_system(lists_view, run_id=args.run)
    out.write_bytes(data)
    return out, view


@command(
    "export-lists",
    help="导出一个批次的公示名单",
    description="导出批次的上榜企业（序号、企业名称、统一社会信用代码、所属阶段、榜单、积分），"
    "按阶段（评价模型的阶段顺序）和阶段内排名排序；csv 或 xlsx（按扩展名）。只接受公示中或已定稿的批次。",
    arguments=_run_and_out,
)
def cmd_export_lists(args: argparse.Namespace) -> int:
    out, view = _write_run_lists(args, "lists")
    print(f"已导出 {len(view.notice)} 家上榜企业到 {out}")
    return EXIT_OK


@command(
    "export-subsidies",
    help="导出一个批次的精准扶持名单（含名额与预算）",
    description="按批次所用评价模型的扶持规则（阶段比例、名额上限、每家金额）导出扶持名单："
    "xlsx 含“扶持名单”和“名额与预算”两个工作表，csv 只含扶持名单。只接受公示中或已定稿的批次。",
    arguments=_run_and_out,
)
def cmd_export_subsidies(args: argparse.Namespace) -> int:
    out, view = _write_run_lists(args, "subsidies")
    total = view.plan.iloc[-1]
    print(
        f"{view.run_label}：扶持 {len(view.subsidies)} 家，合计 {float(total['实际金额（万元）']):g} 万元"
        f"（预算 {float(total['预算（万元）']):g} 万元），已写入 {out}"
    )
    return EXIT_OK


def _add_export_pool(p: argparse.ArgumentParser) -> None:
    add_run(p, help=_LATEST_RUN)
    p.add_argument("--pool", metavar="POOL", help="培育库代码或名称，如 hte 或 国家高新技术企业")
    add_out(p)


@command(
    "export-pool",
    help="导出培育库（候选企业、未满足条件及差距）",
    description="导出一个批次的培育库候选企业（尚未具备资格、未被一票否决），按接近程度排序，"
    "列出每个未满足的条件及其数值差距。--pool 指定一个培育库（代码或名称）；"
    "不指定时导出全部（仅 xlsx：汇总 + 每个培育库一个工作表）。",
    arguments=_add_export_pool,
)
def cmd_export_pool(args: argparse.Namespace) -> int:
    from services.scenarios import export_pool, pools_view

    out = out_file(args.out)
    data = as_system(export_pool, run_id=args.run, pool=args.pool, fmt=file_format(out))
    view = as_system(pools_view, run_id=args.run)
    out.write_bytes(data)
    print(f"{view.run_label}：已写入 {out}")
    print_table(view.counts)
    return EXIT_OK


def _add_bank_whitelist(p: argparse.ArgumentParser) -> None:
    add_run(p, help=_LATEST_RUN)
    p.add_argument("--bank", required=True, metavar="NAME", help="接收名单的合作银行名称")
    choice = p.add_mutually_exclusive_group(required=True)
    choice.add_argument("--min-total", type=float, metavar="X", help="总积分不低于 X")
    choice.add_argument(
        "--tier", metavar="TIER", help="榜单代码或名称（含更高的榜单），以批次所用评价模型的榜单为准"
    )
    choice.add_argument("--top", type=positive_int, metavar="N", help="各阶段前 N 名")
    add_out(p)


@command(
    "bank-whitelist",
    help="导出合作银行推荐名单（只含同意推荐的企业）",
    description="按积分门槛、榜单或各阶段前 N 名选出企业，只保留已同意向合作银行推荐、"
    "未被一票否决的企业；每次导出都记入审计日志（操作人、时间、银行、条件、名单）。"
    "--min-total、--tier、--top 三选一。",
    arguments=_add_bank_whitelist,
)
def cmd_bank_whitelist(args: argparse.Namespace) -> int:
    from core.bank import Criteria
    from services.bank import export_whitelist

    out = out_file(args.out)
    if args.min_total is not None:
        criteria = Criteria("min_total", min_total=args.min_total)
    elif args.tier is not None:
        criteria = Criteria("tier", tier=args.tier)
    else:
        criteria = Criteria("top_n", top_n=args.top)
    data, result = as_system(
        export_whitelist, criteria=criteria, bank_name=args.bank, run_id=args.run, fmt=file_format(out)
    )
    out.write_bytes(data)
    print(
        f"{result.run_label}，条件：{result.criteria_text}：符合条件 {result.chosen} 家，其中未同意推荐 "
        f"{result.without_consent} 家未列入；名单 {len(result.table)} 家已写入 {out}（已记入审计日志）"
    )
    return EXIT_OK


def _add_monitoring_report(p: argparse.ArgumentParser) -> None:
    add_run(p, required=True, help="积分批次 id（公示中或已定稿）")
    add_out(p, metavar="DIR", help="输出目录（不存在时创建）")


@command(
    "monitoring-report",
    help="生成年度监测报告（xlsx + 离线 HTML）",
    description="以该批次对比上一年度定稿批次：阶段分布及变化、榜单企业、积分升降最多的企业及主要变动指标、"
    "分阶段指标中位数、载体评价、培育库、各部门数据完整性。在 DIR 下写出 监测报告_<年度>.xlsx "
    "和 监测报告_<年度>.html（图表内嵌，不引用任何外部资源）。",
    arguments=_add_monitoring_report,
)
def cmd_monitoring_report(args: argparse.Namespace) -> int:
    from services.monitoring import monitoring_report

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"输出位置 {out} 已存在且不是目录")
    report = as_system(monitoring_report, run_id=args.run)
    year = report.title.split(" ", 1)[0]
    out.mkdir(parents=True, exist_ok=True)
    xlsx, page = out / f"监测报告_{year}.xlsx", out / f"监测报告_{year}.html"
    xlsx.write_bytes(report.to_xlsx())
    page.write_text(report.to_html(), encoding="utf-8")
    print(f"{report.title}（{report.subtitle}）：已写入 {xlsx} 和 {page}")
    return EXIT_OK
