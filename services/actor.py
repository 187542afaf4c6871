"""Who is calling a use case, and the role checks every service repeats itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from services.errors import PermissionDenied

if TYPE_CHECKING:
    from sqlmodel import Session

    from db.models import Enterprise

STAFF_ROLES = ("officer", "admin", "system")


@dataclass(frozen=True)
class Actor:
    username: str
    role: str  # enterprise / officer / admin / bank / system
    user_id: int | None = None
    enterprise_id: int | None = None
    bank_name: str | None = None  # a bank user's institution (role bank; also a bank API token's)
    # sha256 of the browser session's id when the actor comes from a login (services.auth.resume_session):
    # every write checks that this session is still live (require_live), whatever is already on screen.
    session_ref: str | None = field(default=None, compare=False, repr=False)

    @classmethod
    def system(cls) -> Actor:
        """The command line and the demo seed act as this."""
        return cls(username="system", role="system")

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


def require_role(actor: Actor, *roles: str) -> None:
    """Raise unless the actor has one of ``roles`` (``system`` passes every staff check)."""
    if actor.role in roles or (actor.role == "system" and set(roles) & set(STAFF_ROLES)):
        return
    raise PermissionDenied("您没有执行此操作的权限。")


def require_staff(actor: Actor) -> None:
    require_role(actor, "officer", "admin")


def require_bank(actor: Actor) -> str:
    """The institution of a bank actor (a bank user or an API token); PermissionDenied otherwise."""
    if actor.role == "bank" and actor.bank_name:
        return actor.bank_name
    raise PermissionDenied("只有合作银行账户可以执行此操作。")


def require_enterprise_access(actor: Actor, enterprise_id: int) -> None:
    """Staff see every enterprise; an enterprise user only its own."""
    if actor.is_staff:
        return
    if (
        actor.role == "enterprise"
        and actor.enterprise_id is not None
        and actor.enterprise_id == enterprise_id
    ):
        return
    raise PermissionDenied("您只能查看或修改本企业的数据。")


def accessible_enterprise(session: Session, actor: Actor, enterprise_id: int) -> Enterprise:
    """The enterprise ``enterprise_id``, for an actor who may see it (:func:`require_enterprise_access`);
    NotFound when there is none."""
    from db.models import Enterprise
    from services.errors import NotFound

    require_enterprise_access(actor, enterprise_id)
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound("企业不存在。")
    return enterprise


def enterprise_scope(actor: Actor, enterprise_id: int | None) -> int | None:
    """The enterprise a listing may cover: an enterprise user's own (asking for another is refused), or
    what staff chose (None: every enterprise)."""
    if actor.role == "enterprise":
        if actor.enterprise_id is None:
            raise PermissionDenied("您的账号未关联企业。")
        require_enterprise_access(actor, actor.enterprise_id if enterprise_id is None else enterprise_id)
        return actor.enterprise_id
    require_staff(actor)
    return enterprise_id


REVOKED = "登录已失效（已退出、密码已修改、账户被停用或管理员结束了会话），本次操作未执行，请重新登录。"


def require_live(session: Session, actor: Actor) -> None:
    """Raise PermissionDenied unless the actor may still act now: its login session is live (not revoked,
    not expired) and its account active with the same role and enterprise. Called by every write
    (services.audit.record), so a dialog or a button callback rendered before a deactivation, a role
    change or a logout elsewhere cannot write afterwards. Actors built by code without a login (the CLI's
    system actor, tests) are checked by account only, when the account exists. Checked once per
    transaction."""
    if actor.role == "system":
        return
    from sqlalchemy import select

    from db.models import User, UserSession, utcnow

    transaction = session.get_transaction()
    checked = session.info.setdefault("live_actors", {})
    key = (actor.username, actor.role, actor.enterprise_id, actor.session_ref)
    if transaction is not None and checked.get(key) is transaction:
        return
    if actor.session_ref is not None:
        row = session.execute(
            select(
                User.active,
                User.role,
                User.enterprise_id,
                User.username,
                UserSession.revoked_at,
                UserSession.expires_at,
            )
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.token_hash == actor.session_ref)
        ).first()
        now = utcnow()
        expires = row.expires_at if row is not None else None
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=now.tzinfo)
        live = (
            row is not None
            and row.active
            and row.revoked_at is None
            and expires > now
            and row.role == actor.role
            and row.enterprise_id == actor.enterprise_id
            and row.username == actor.username
        )
    else:
        row = session.execute(
            select(User.active, User.role, User.enterprise_id).where(User.username == actor.username)
        ).first()
        live = row is None or (
            row.active
            and row.role == actor.role
            and (actor.role != "enterprise" or row.enterprise_id == actor.enterprise_id)
        )
    if not live:
        session.rollback()  # nothing of this use case may be committed by a caller that catches the error
        raise PermissionDenied(REVOKED)
    if transaction is not None:
        checked[key] = session.get_transaction()
