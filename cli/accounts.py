"""Accounts and the assistant: create-user, users (the 用户管理 page's actions), ask.

Every action goes through ``services.auth`` / ``services.bank_api`` as the system actor and is audited
as on the page; one-time passwords and bank tokens are printed once and never stored in clear. ``ask``
answers as the named account, with that account's permissions (an enterprise sees only its own data).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from cli.common import (
    EXIT_OK,
    CommandError,
    add_out,
    as_system,
    check_suffix,
    command,
    open_session,
    positive_int,
    print_table,
)


# ====================================================================================== create-user
def _add_create_user(p: argparse.ArgumentParser) -> None:
    p.add_argument("username", metavar="USERNAME", help="用户名（小写字母、数字、. _ -）")
    p.add_argument("--role", required=True, choices=("enterprise", "officer", "admin", "bank"), help="角色")
    p.add_argument("--enterprise", metavar="CREDIT_CODE", help="企业账户关联的统一社会信用代码")
    p.add_argument("--bank", metavar="NAME", help="合作银行账户所属的银行（机构名称）")
    p.add_argument("--display-name", metavar="NAME", help="显示名称（默认为用户名或企业名称）")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行）")


@command(
    "create-user",
    help="创建账户",
    description="创建账户；不提供密码时生成一次性密码并要求首次登录修改。",
    arguments=_add_create_user,
)
def cmd_create_user(args: argparse.Namespace) -> int:
    from core.credit_code import explain, normalize
    from services.accounts import create_user
    from services.search import enterprises_by_code

    password = None
    if args.password_stdin:
        line = sys.stdin.readline() if not sys.stdin.isatty() else getpass.getpass("密码：")
        password = line.rstrip("\r\n")
        if not password:
            raise CommandError("标准输入中没有读到密码")
    enterprise_id = None
    display = args.display_name
    if args.enterprise:
        code = normalize(args.enterprise)
        problem = explain(code)
        if problem:
            raise CommandError(problem)
        found = as_system(enterprises_by_code, credit_codes=[code])
        if code not in found:
            raise CommandError(f"找不到统一社会信用代码为 {code} 的企业")
        enterprise_id, name = found[code]
        display = display or name
    user, one_time = as_system(
        create_user,
        username=args.username,
        role=args.role,
        enterprise_id=enterprise_id,
        password=password,
        display_name=display,
        bank_name=args.bank,
    )
    print(f"账户 {user.username} 已创建（角色 {args.role}）")
    if one_time:
        print(f"一次性密码：{one_time}")
        print("请安全转交；首次登录须修改密码。")
    return EXIT_OK


# ====================================================================================== 用户管理
def _add_users(p: argparse.ArgumentParser) -> None:
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
    add_out(a, metavar="XLSX", help="输出的账户清单 .xlsx", type=Path)


@command(
    "users",
    help="用户管理：列出、重置密码、解锁、停用/启用、改角色、批量开通企业账户",
    description="与“用户管理”页面相同的操作（以 system 身份执行，均写入审计日志）。",
    arguments=_add_users,
)
def cmd_users(args: argparse.Namespace) -> int:
    from services import accounts
    from services.actor import Actor
    from services.search import enterprises_by_code

    system = Actor.system()
    with open_session() as session:
        if args.action == "list":
            frame = accounts.list_users(session, actor=system)
            print_table(
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
                print_table(bank_api.list_tokens(session, actor=system))
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
            check_suffix(args.out, (".xlsx",), "输出文件")
            if args.codes:
                codes = {
                    c.strip().upper() for c in args.codes.read_text(encoding="utf-8").split() if c.strip()
                }
                found = enterprises_by_code(session, actor=system, credit_codes=sorted(codes))
                ids = [enterprise_id for enterprise_id, _ in found.values()]
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


# ====================================================================================== assistant
def _add_ask(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", metavar="问题", help="例如 “我离下一个榜单还差多少分”")
    p.add_argument("--as", dest="username", required=True, metavar="USERNAME", help="提问的账户，例如 ent1")
    p.add_argument(
        "--enterprise", type=positive_int, metavar="ID", help="工作人员账户：按该企业（编号）的数据回答"
    )


@command(
    "ask",
    help="智能助手：以某个账户的身份提问",
    description="以账户 USERNAME 的身份向智能助手提问，输出答复、识别的意图和依据（积分批次与模型版本，"
    "或政策文件与条款）。权限与页面相同：企业账户只能得到本企业的数据。问答不写入问答记录。",
    arguments=_add_ask,
)
def cmd_ask(args: argparse.Namespace) -> int:
    from services.assistant import actor_for_username, ask

    with open_session() as session:
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
