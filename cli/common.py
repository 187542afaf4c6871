"""What every command shares: the registry, the user-facing error, arguments and options, output helpers.

A command module registers each subcommand with :func:`command` (name, help, options, handler); a
handler returns an exit code or raises :class:`CommandError` (printed as one Chinese line, exit 1).
:func:`open_session` is the one unit of work a handler uses: the services it calls check the actor and
commit; :func:`as_system` is one service call as the system actor in its own unit of work. An option
several commands take (``--run``, ``--out``, ``--year``, ``--yes``) is declared once here (``add_*``), so
its type, metavar and wording are the same in every command's --help. Output files are checked by suffix before any work (:func:`check_suffix`, :func:`out_file`) and written sanitised
against formula injection (:func:`write_output`).
"""

from __future__ import annotations

import argparse
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # pandas and the spreadsheet writers load only when a command writes (fast --help)
    import pandas as pd

T = TypeVar("T")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

INPUT_SUFFIXES = (".csv", ".xlsx", ".xls")
OUTPUT_SUFFIXES = (".csv", ".xlsx")


class CommandError(Exception):
    """A user-facing failure: the message is printed as it is and the command exits 1."""


Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[Callable[[argparse._SubParsersAction], argparse.ArgumentParser], Handler]] = {}


def command(
    name: str,
    *,
    help: str,  # argparse's own word (shadows the builtin inside this function only)
    description: str,
    arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> Callable[[Handler], Handler]:
    """Register ``handler`` as subcommand ``name``; ``arguments`` adds its options to the subparser."""

    def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=description)
        if arguments is not None:
            arguments(p)
        return p

    def wrap(handler: Handler) -> Handler:
        COMMANDS[name] = (add_parser, handler)
        return handler

    return wrap


def open_session():
    """A session that commits on success and rolls back on an exception (``db.session.session_scope``)."""
    from db.session import session_scope

    return session_scope()


def as_system(use_case: Callable[..., T], /, **kwargs: Any) -> T:
    """``use_case(session, actor=Actor.system(), **kwargs)`` in one committed session: one service call
    with the checks and the audit of the page's (a refusal propagates; :func:`cli.main.main` prints it)."""
    from services.actor import Actor

    with open_session() as session:
        return use_case(session, actor=Actor.system(), **kwargs)


def year_arg(text: str) -> int:
    """An evaluation year argument (2000–2100)."""
    try:
        year = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"年度应为四位数字，例如 2025（收到“{text}”）") from None
    if not 2000 <= year <= 2100:
        raise argparse.ArgumentTypeError(f"年度 {year} 超出范围（2000–2100）")
    return year


def positive_int(text: str) -> int:
    """A positive integer argument."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为正整数（收到“{text}”）") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"应为正整数（收到 {value}）")
    return value


# ====================================================================================== shared options
# argparse's own word ``help`` names the text each command gives an option (as in :func:`command`).
def add_run(p: argparse.ArgumentParser, *, required: bool = False, help: str = "积分批次 id") -> None:
    """``--run ID``: a score run's id; ``help`` says which runs the command takes or which it defaults to."""
    p.add_argument("--run", type=positive_int, required=required, metavar="ID", help=help)


def add_out(
    p: argparse.ArgumentParser,
    *,
    metavar: str = "FILE",
    help: str = "输出文件（.csv 或 .xlsx）",
    type: Callable[[str], Any] | None = None,
) -> None:
    """``--out FILE`` (required): where the command writes; the handler checks it before any work."""
    p.add_argument("--out", required=True, type=type, metavar=metavar, help=help)


def add_year(p: argparse.ArgumentParser, *, required: bool = False, help: str) -> None:
    """``--year YEAR``: an evaluation or data year (:func:`year_arg`)."""
    p.add_argument("--year", type=year_arg, required=required, help=help)


def add_yes(p: argparse.ArgumentParser) -> None:
    """``--yes``: skip the interactive confirmation of a destructive command (scripts)."""
    p.add_argument("--yes", action="store_true", help="不再询问确认（脚本使用）")


def check_suffix(path: Path, allowed: tuple[str, ...], what: str) -> str:
    """The lower-case suffix of ``path``; CommandError unless it is one of ``allowed``."""
    suffix = path.suffix.lower()
    if suffix not in allowed:
        shown = suffix or "（无扩展名）"
        raise CommandError(f"{what}“{path.name}”的文件类型 {shown} 不受支持：请使用 {' / '.join(allowed)}")
    return suffix


def write_output(path: Path, df: pd.DataFrame, *, sheet: str, header_row: list[str] | None = None) -> None:
    """``df`` as csv or xlsx (by suffix), with an optional header row of labels above the codes."""
    from core.spreadsheet import write_csv, write_xlsx

    suffix = check_suffix(path, OUTPUT_SUFFIXES, "输出文件")
    if suffix == ".csv":
        data = write_csv(df)
    else:
        data = write_xlsx({sheet: df}, header_rows={sheet: [header_row]} if header_row else None)
    if path.parent and not path.parent.exists():
        raise CommandError(f"输出目录不存在：{path.parent}")
    path.write_bytes(data)


def print_table(df: pd.DataFrame) -> None:
    """A plain aligned table (CJK characters count as two columns)."""

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


def out_file(text: str) -> Path:
    """An output file argument: a supported suffix in an existing directory."""
    path = Path(text)
    check_suffix(path, OUTPUT_SUFFIXES, "输出文件")
    if path.parent and not path.parent.exists():
        raise CommandError(f"输出目录不存在：{path.parent}")
    return path


def file_format(path: Path) -> str:
    """``csv`` or ``xlsx``: the export format a service takes."""
    return path.suffix.lower().lstrip(".")
