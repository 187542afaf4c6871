"""Who is calling a use case, and the role checks every service repeats itself."""

from __future__ import annotations

from dataclasses import dataclass

from services.errors import PermissionDenied

STAFF_ROLES = ("officer", "admin", "system")


@dataclass(frozen=True)
class Actor:
    username: str
    role: str  # enterprise / officer / admin / system
    user_id: int | None = None
    enterprise_id: int | None = None

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


def require_enterprise_access(actor: Actor, enterprise_id: int) -> None:
    """Staff see every enterprise; an enterprise user only its own."""
    if actor.is_staff:
        return
    if actor.role == "enterprise" and actor.enterprise_id is not None and actor.enterprise_id == enterprise_id:
        return
    raise PermissionDenied("您只能查看或修改本企业的数据。")
