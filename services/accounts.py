"""Accounts: the password policy, password changes and 用户管理 (the admin's user management).

A new password is checked once here (`password_problems`: length in characters, bcrypt's 72-byte limit,
not the user name, not a published or top-leaked password); admins create accounts one by one or in bulk
for enterprises (one-time passwords, an .xlsx to hand out), reset passwords, lift login delays, deactivate,
change roles and end sessions. Signing in, throttling and sessions are `services.auth`; every change here
revokes the sessions it must and is audited. One use case = one transaction: each public function commits.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session
from sqlmodel import select as sm_select

from db.models import ROLES, Enterprise, User, utcnow
from services.actor import Actor, require_live, require_role
from services.audit import Recorder
from services.auth import (
    MAX_PASSWORD_BYTES,
    MIN_PASSWORD_CHARS,
    account_waits,
    clear_throttle,
    find_user,
    hash_password,
    password_too_long_message,
    revoke_sessions,
    verify_password,
)
from services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

# every account action checks its actor live itself, before it revokes any sessions (the actor's own too)
_record_account = Recorder("user", check_actor=False)

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{2,63}$")


# ------------------------------------------------------------------ passwords
# Passwords that are published (the demo password is in the README) or top the leaked-password lists:
# refused whatever their case. The demo seed hashes Demo@2025 itself (demo/seeding.py); no person may choose it.
KNOWN_PASSWORDS = frozenset(
    p.casefold()
    for p in (
        "Demo@2025",
        "Demo2025",
        "Demo@2024",
        "Demo@2026",
        "demo123456",
        "Password1",
        "Password123",
        "Passw0rd",
        "P@ssw0rd",
        "P@ssword1",
        "Password@123",
        "Admin123",
        "Admin@123",
        "Admin@2025",
        "admin123456",
        "Abc123456",
        "Abc@123456",
        "Aa123456",
        "Aa12345678",
        "Qwerty123",
        "qwerty12345",
        "1qaz2wsx",
        "1qaz2wsx3edc",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "a123456789",
        "abc1234567",
        "123456789a",
        "1234567890a",
        "woaini1314",
        "woaini520",
        "iloveyou1",
        "Welcome1",
        "Welcome123",
        "Changeme1",
        "Test123456",
    )
)


def password_problems(password: str, *, username: str = "", old: str | None = None) -> list[str]:
    """Chinese messages for every rule ``password`` breaks (empty when acceptable).

    The one policy for every password a person sets (create, forced change after a reset, change): at
    least :data:`MIN_PASSWORD_CHARS` characters, letters and digits, not a published or common password,
    not the user name (nor containing it), not the old one.
    """
    problems: list[str] = []
    if password.strip().casefold() in KNOWN_PASSWORDS:
        problems.append("该密码是公开的演示密码或常见弱密码，请另设一个。")
    if len(password) < MIN_PASSWORD_CHARS:
        problems.append(f"密码至少 {MIN_PASSWORD_CHARS} 个字符。")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        problems.append(password_too_long_message())
    if password != password.strip():
        problems.append("密码首尾不能有空格。")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        problems.append("密码须同时包含字母和数字。")
    name = username.strip().casefold()
    if name and password.strip().casefold() == name:
        problems.append("密码不能与用户名相同。")
    elif len(name) >= 3 and name in password.casefold():
        problems.append("密码不能包含用户名。")
    if old is not None and password == old:
        problems.append("新密码不能与原密码相同。")
    return problems


def check_new_password(password: str, *, username: str, old: str | None = None, field: str = "new") -> None:
    """Raise ValidationFailed (all problems listed) unless ``password`` meets :func:`password_problems`."""
    problems = password_problems(password, username=username, old=old)
    if problems:
        raise ValidationFailed(problems[0], [{"field": field, "problem": p} for p in problems])


def change_password(
    session: Session, *, actor: Actor, old: str, new: str, confirm: str | None = None
) -> None:
    """Change the actor's own password after checking the old one; clears the forced-change flag and
    revokes every session of the user (the caller starts a fresh one for the browser in use)."""
    if actor.role == "system" or not actor.username:
        raise PermissionDenied("系统账户不能修改密码。")
    require_live(session, actor)
    user = find_user(session, actor.username)
    if user is None:
        raise NotFound("用户不存在。")
    if user.id != actor.user_id and actor.user_id is not None:
        raise PermissionDenied("只能修改自己的密码。")
    if confirm is not None and confirm != new:
        raise ValidationFailed("两次输入的新密码不一致。")
    if not verify_password(old.strip(), user.password_hash):
        raise ValidationFailed("原密码不正确。")
    check_new_password(new, username=user.username, old=old)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    session.add(user)
    revoked = revoke_sessions(session, user_id=user.id, reason="password_change")
    _record_account(session, actor, "change_password", user.id, after={"sessions_revoked": revoked})
    session.commit()


def one_time_password(username: str = "") -> str:
    """12 characters from an alphabet without look-alikes; always has a letter and a digit, and meets
    :func:`password_problems` (drawn again in the rare case it contains ``username``)."""
    letters = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ"
    digits = "23456789"
    while True:
        body = [secrets.choice(letters + digits) for _ in range(10)]
        password = "".join(body) + secrets.choice(letters) + secrets.choice(digits)
        if not password_problems(password, username=username):
            return password


# ------------------------------------------------------------------ 用户管理 (admin)
def _check_new_account(
    session: Session, username: str, role: str, enterprise_id: int | None, bank_name: str | None = None
) -> str:
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise ValidationFailed("用户名须为 3–64 位小写字母、数字或 . _ -，并以字母或数字开头。")
    if role not in ROLES:
        raise ValidationFailed(f"角色必须是 {'/'.join(ROLES)} 之一。")
    if role == "enterprise":
        if enterprise_id is None:
            raise ValidationFailed("企业账户必须关联一家企业。")
        if session.get(Enterprise, enterprise_id) is None:
            raise NotFound("关联的企业不存在。")
    elif enterprise_id is not None:
        raise ValidationFailed("只有企业账户可以关联企业。")
    if role == "bank" and not (bank_name or "").strip():
        raise ValidationFailed("合作银行账户必须填写所属银行（机构名称）。")
    if role != "bank" and bank_name:
        raise ValidationFailed("只有合作银行账户可以填写所属银行。")
    if bank_name and len(bank_name.strip()) > 100:
        raise ValidationFailed("银行名称不能超过 100 字。")
    if find_user(session, username) is not None:
        raise Conflict(f"用户名 {username} 已存在。")
    return username


def create_user(
    session: Session,
    *,
    actor: Actor,
    username: str,
    role: str,
    enterprise_id: int | None = None,
    password: str | None = None,
    display_name: str | None = None,
    bank_name: str | None = None,
) -> tuple[User, str | None]:
    """Create an account (admin or system only). Returns (user, one-time password or None).

    Without ``password`` a one-time password is generated and the user must change it at first
    login; an admin-chosen password is treated the same way. Only ``system`` (CLI, seed) may set a
    permanent password.
    """
    require_role(actor, "admin")
    require_live(session, actor)
    username = _check_new_account(session, username, role, enterprise_id, bank_name)
    bank_name = bank_name.strip() if bank_name else None
    one_time: str | None = None
    if password is None:
        one_time = password = one_time_password(username=username)
    else:
        check_new_password(password, username=username, field="password")
    user = User(
        username=username,
        display_name=(display_name or username).strip()[:100],
        password_hash=hash_password(password),
        role=role,
        enterprise_id=enterprise_id,
        bank_name=bank_name,
        must_change_password=actor.role != "system" or one_time is not None,
    )
    _record_account.add(
        session,
        actor,
        "create_user",
        user,
        after={
            "username": username,
            "role": role,
            "enterprise_id": enterprise_id,
            **({"bank": bank_name} if bank_name else {}),
        },
    )
    session.commit()
    return user, one_time


@dataclass(frozen=True)
class NewAccount:
    username: str
    display_name: str
    role: str
    enterprise_id: int | None
    credit_code: str | None
    password: str


def _suggest_username(credit_code: str, taken: set[str]) -> str:
    base = "e" + credit_code.lower()[-8:]
    name, k = base, 2
    while name in taken:
        name, k = f"{base}-{k}", k + 1
    return name


def create_enterprise_accounts(
    session: Session, *, actor: Actor, enterprise_ids: list[int]
) -> list[NewAccount]:
    """Admin: one account per selected enterprise (user name from its credit code), each with a
    one-time password, in one transaction. Enterprises that already have an account are refused."""
    require_role(actor, "admin")
    require_live(session, actor)
    ids = list(dict.fromkeys(int(i) for i in enterprise_ids))
    if not ids:
        raise ValidationFailed("请至少选择一家企业。")
    if len(ids) > 5000:
        raise ValidationFailed("一次最多为 5000 家企业开通账户，请分批操作。")
    enterprises = {e.id: e for e in session.exec(sm_select(Enterprise).where(Enterprise.id.in_(ids))).all()}
    missing = [i for i in ids if i not in enterprises]
    if missing:
        raise NotFound(f"企业不存在：编号 {missing[:5]}")
    existing = session.execute(
        select(User.enterprise_id, User.username).where(User.enterprise_id.in_(ids))
    ).all()
    if existing:
        names = "、".join(f"{enterprises[e].name}（{u}）" for e, u in existing[:5])
        raise Conflict(f"以下企业已有账户：{names}。请取消选择，或对其使用“重置密码”。")
    taken = set(session.execute(select(User.username)).scalars())
    created: list[NewAccount] = []
    for eid in ids:
        ent = enterprises[eid]
        username = _suggest_username(ent.credit_code, taken)
        taken.add(username)
        password = one_time_password(username=username)
        user = User(
            username=username,
            display_name=ent.name[:100],
            password_hash=hash_password(password),
            role="enterprise",
            enterprise_id=eid,
            must_change_password=True,
        )
        _record_account.add(
            session,
            actor,
            "create_user",
            user,
            after={"username": username, "role": "enterprise", "enterprise_id": eid, "bulk": True},
        )
        created.append(NewAccount(username, user.display_name, "enterprise", eid, ent.credit_code, password))
    session.commit()
    return created


def _admin_target(session: Session, actor: Actor, username: str) -> User:
    require_role(actor, "admin")
    require_live(session, actor)  # before the action revokes sessions (possibly the admin's own)
    user = find_user(session, (username or "").strip().lower())
    if user is None:
        raise NotFound("用户不存在。")
    return user


def reset_password(session: Session, *, actor: Actor, username: str) -> str:
    """Admin: give a user a new one-time password, lift throttling, end its sessions. Returns the password."""
    user = _admin_target(session, actor, username)
    one_time = one_time_password(username=user.username)
    user.password_hash = hash_password(one_time)
    user.must_change_password = True
    session.add(user)
    clear_throttle(session, user.username)
    revoked = revoke_sessions(session, user_id=user.id, reason="password_reset")
    _record_account(session, actor, "reset_password", user.id, after={"sessions_revoked": revoked})
    session.commit()
    return one_time


def unlock_user(session: Session, *, actor: Actor, username: str) -> None:
    """Admin: lift every login delay on an account now (and address waits, see :func:`clear_throttle`)."""
    user = _admin_target(session, actor, username)
    now = utcnow()
    until = account_waits(session, now).get(user.username)
    cleared = clear_throttle(session, user.username)
    _record_account(
        session,
        actor,
        "unlock_user",
        user.id,
        before={"blocked_until": until.isoformat() if until else None},
        after={"counters_cleared": cleared},
    )
    session.commit()


def _active_admins(session: Session) -> int:
    from sqlalchemy import func

    return session.execute(
        select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True))
    ).scalar_one()


def set_active(
    session: Session, *, actor: Actor, username: str, active: bool, reason: str | None = None
) -> None:
    """Admin: deactivate (ends every session at once) or reactivate an account; the last active admin
    cannot be deactivated."""
    user = _admin_target(session, actor, username)
    if user.active == active:
        raise Conflict("该账户已是停用状态。" if not active else "该账户已是启用状态。")
    if not active and user.role == "admin" and _active_admins(session) <= 1:
        raise Conflict("不能停用最后一个系统管理员账户。")
    user.active = active
    session.add(user)
    revoked = 0 if active else revoke_sessions(session, user_id=user.id, reason="deactivated")
    _record_account(
        session,
        actor,
        "reactivate_user" if active else "deactivate_user",
        user.id,
        before={"active": not active},
        after={"active": active, "sessions_revoked": revoked},
        reason=(reason or "").strip() or None,
    )
    session.commit()


def change_role(
    session: Session, *, actor: Actor, username: str, role: str, enterprise_id: int | None = None
) -> None:
    """Admin: switch an account between officer and admin (an enterprise account stays bound to its
    enterprise; a staff account cannot become one). The last active admin keeps the admin role.
    The user's sessions end, so the new role applies from the next login."""
    user = _admin_target(session, actor, username)
    if role not in ROLES:
        raise ValidationFailed(f"角色必须是 {'/'.join(ROLES)} 之一。")
    if role == user.role:
        raise Conflict("角色未变化。")
    if "enterprise" in (role, user.role):
        raise ValidationFailed("企业账户与工作人员账户不能互相转换，请另建账户。")
    if "bank" in (role, user.role):
        raise ValidationFailed("合作银行账户与工作人员账户不能互相转换，请另建账户。")
    if user.role == "admin" and user.active and _active_admins(session) <= 1:
        raise Conflict("不能取消最后一个系统管理员的管理员角色。")
    before = user.role
    user.role = role
    session.add(user)
    revoked = revoke_sessions(session, user_id=user.id, reason="role_change")
    _record_account(
        session,
        actor,
        "change_role",
        user.id,
        before={"role": before},
        after={"role": role, "sessions_revoked": revoked},
    )
    session.commit()


def end_user_sessions(session: Session, *, actor: Actor, username: str) -> int:
    """Admin: sign a user out everywhere now."""
    user = _admin_target(session, actor, username)
    revoked = revoke_sessions(session, user_id=user.id, reason="admin")
    _record_account(session, actor, "end_sessions", user.id, after={"sessions_revoked": revoked})
    session.commit()
    return revoked


USER_COLUMNS = [
    "username",
    "display_name",
    "role",
    "enterprise_id",
    "enterprise_name",
    "credit_code",
    "bank_name",
    "active",
    "must_change_password",
    "throttled_until",
    "created_at",
]


def list_users(session: Session, *, actor: Actor, search: str | None = None, now: datetime | None = None):
    """Accounts for 用户管理 (admin), with the login delay each is under now."""
    import pandas as pd

    require_role(actor, "admin")
    now = now or utcnow()
    stmt = (
        select(
            User.username,
            User.display_name,
            User.role,
            User.enterprise_id,
            Enterprise.name,
            Enterprise.credit_code,
            User.bank_name,
            User.active,
            User.must_change_password,
            User.created_at,
        )
        .outerjoin(Enterprise, Enterprise.id == User.enterprise_id)
        .order_by(User.role, User.username)
    )
    if search and search.strip():
        term = f"%{search.strip()}%"
        stmt = stmt.where(
            User.username.ilike(term) | User.display_name.ilike(term) | Enterprise.name.ilike(term)
        )
    frame = pd.DataFrame(
        [tuple(r) for r in session.execute(stmt).all()],
        columns=[c for c in USER_COLUMNS if c != "throttled_until"],
    )
    waits = account_waits(session, now)
    frame["throttled_until"] = pd.Series(
        [waits.get(u) for u in frame["username"]], index=frame.index, dtype=object
    )
    frame = frame[USER_COLUMNS]
    return frame


def enterprises_without_account(
    session: Session, *, actor: Actor, search: str | None = None, limit: int = 200
):
    """Enterprises no account is bound to yet (admin; for bulk account creation), by name."""
    import pandas as pd

    require_role(actor, "admin")
    has_account = select(User.enterprise_id).where(User.enterprise_id.is_not(None))
    stmt = (
        select(Enterprise.id, Enterprise.credit_code, Enterprise.name)
        .where(Enterprise.id.not_in(has_account))
        .order_by(Enterprise.name)
        .limit(limit)
    )
    if search and search.strip():
        term = search.strip()
        stmt = stmt.where(
            Enterprise.name.ilike(f"%{term}%") | Enterprise.credit_code.like(f"%{term.upper()}%")
        )
    return pd.DataFrame(
        [tuple(r) for r in session.execute(stmt).all()], columns=["id", "credit_code", "name"]
    )


def accounts_xlsx(created: list[NewAccount]) -> bytes:
    """The one export of new accounts and their one-time passwords (through the one sanitiser)."""
    import pandas as pd

    from core.spreadsheet import write_xlsx

    frame = pd.DataFrame(
        [
            {
                "企业名称": a.display_name,
                "统一社会信用代码": a.credit_code or "",
                "用户名": a.username,
                "一次性密码": a.password,
            }
            for a in created
        ]
    )
    return write_xlsx(
        {
            "新开通账户": frame,
            "说明": ["一次性密码仅用于首次登录，登录后须立即修改。", "请将本文件安全交付各企业后删除。"],
        }
    )
