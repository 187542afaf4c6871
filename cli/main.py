"""The entry point: one argparse parser over every registered command, and the error policy.

:func:`main` checks the settings before any command, runs the handler, and turns every known failure
(CommandError, a service's refusal, a bad model or spreadsheet, a file error) into one Chinese line
on stderr with exit 1; usage errors exit 2; a traceback appears only with ``--debug``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import traceback

# Importing a command module registers its commands; --help lists them in this order.
# isort: off
from cli import database, scoring, imports, accounts, exports, serve  # noqa: F401

# isort: on
from cli.common import COMMANDS, EXIT_ERROR, EXIT_USAGE, CommandError


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
