"""The banks' machine interface, independent of the web framework: tokens and the calls.

A token belongs to an institution (``BankToken.bank_name``); the admin creates it (shown once) and
revokes it. Only its sha256 is stored. Every call — answered or refused — is audited. Each token may
make ``BANK_API_RATE_LIMIT`` calls per ``RATE_WINDOW`` (counted in the database, so several server processes
share one limit); a client sending unknown or revoked tokens is slowed down in this process
(``REFUSED_LIMIT`` a window per address) so guessing cannot flood the audit trail.

The handlers return ``(HTTP status, JSON-able body)``; api/routes.py turns them into responses.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core import settings
from core.audit_labels import API_ACTOR_PREFIX
from db.models import BankToken, utcnow
from services import bank_portal, loan_outcomes
from services.actor import Actor, require_role
from services.audit import Recorder
from services.errors import NotFound, ServiceError, ValidationFailed

_record_token = Recorder("BankToken")

TOKEN_PREFIX = "bk_"
RATE_WINDOW = timedelta(seconds=60)
REFUSED_LIMIT = 20
MAX_BANK_NAME = 100


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        from datetime import UTC

        return value.replace(tzinfo=UTC)
    return value


# ------------------------------------------------------------------ tokens (admin, manage.py)
def create_token(session: Session, *, actor: Actor, bank_name: str) -> str:
    """A new token for ``bank_name``; the token itself is returned once and never stored."""
    require_role(actor, "admin")
    bank_name = (bank_name or "").strip()
    if not bank_name:
        raise ValidationFailed("请填写银行名称。")
    if len(bank_name) > MAX_BANK_NAME:
        raise ValidationFailed(f"银行名称不能超过 {MAX_BANK_NAME} 字。")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = BankToken(
        bank_name=bank_name, token_hash=token_hash(token), hint=token[:10], created_by=actor.username
    )
    _record_token.add(session, actor, "bank_token.create", row, after={"bank": bank_name, "hint": row.hint})
    session.commit()
    return token


def revoke_tokens(session: Session, *, actor: Actor, bank_name: str, hint: str | None = None) -> int:
    """Revoke the live tokens of ``bank_name`` (only the one starting with ``hint`` when given)."""
    require_role(actor, "admin")
    stmt = select(BankToken).where(
        BankToken.bank_name == (bank_name or "").strip(), BankToken.revoked_at.is_(None)
    )  # type: ignore[union-attr]
    rows = [r for r in session.execute(stmt).scalars() if not hint or r.hint.startswith(hint[:10])]
    if not rows:
        raise NotFound(f"“{bank_name}”没有可撤销的接口令牌。")
    now = utcnow()
    for row in rows:
        row.revoked_at = now
        row.revoked_by = actor.username
        session.add(row)
        _record_token(
            session, actor, "bank_token.revoke", row.id, after={"bank": row.bank_name, "hint": row.hint}
        )
    session.commit()
    return len(rows)


def list_tokens(session: Session, *, actor: Actor) -> pd.DataFrame:
    require_role(actor, "admin")
    rows = session.execute(select(BankToken).order_by(BankToken.bank_name, BankToken.id)).scalars().all()
    return pd.DataFrame(
        [
            {
                "合作银行": r.bank_name,
                "令牌开头": r.hint,
                "创建人": r.created_by,
                "创建时间": r.created_at,
                "最近使用": r.last_used_at,
                "状态": "已撤销" if r.revoked_at else "有效",
            }
            for r in rows
        ],
        columns=["合作银行", "令牌开头", "创建人", "创建时间", "最近使用", "状态"],
    )


# ------------------------------------------------------------------ calls
@dataclass(frozen=True)
class Caller:
    token_id: int
    actor: Actor


class _RefusedCounter:
    """Refused calls per client address in the current window (this process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, address: str) -> bool:
        now = time.monotonic()
        with self._lock:
            calls = self._calls[address]
            while calls and now - calls[0] > RATE_WINDOW.total_seconds():
                calls.popleft()
            if len(calls) >= REFUSED_LIMIT:
                return False
            calls.append(now)
            return True


_refused = _RefusedCounter()
ANONYMOUS = Actor(username="unknown-token", role="bank")


def _refuse(
    session: Session,
    *,
    path: str,
    address: str,
    status: int,
    message: str,
    hint: str | None = None,
    bank_name: str | None = None,
) -> tuple[int, dict]:
    if _refused.allow(address):
        _record_token(
            session,
            ANONYMOUS,
            "bank_api.refused",
            after={"path": path, "status": status, "address": address, "hint": hint, "bank": bank_name},
        )
        session.commit()  # commits early: a refused call is on record whatever the handler does next
    else:
        status, message = 429, "请求过于频繁，请稍后再试。"
    return status, {"error": message}


def authenticate(
    session: Session, *, authorization: str | None, path: str, address: str
) -> Caller | tuple[int, dict]:
    """The caller of a ``Bearer`` token, or the refusal (status, body): 401 unknown or revoked, 429 over
    the token's rate limit (the call is then audited as refused)."""
    value = (authorization or "").strip()
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return _refuse(
            session,
            path=path,
            address=address,
            status=401,
            message="缺少接口令牌：请在请求头中提供 Authorization: Bearer <令牌>。",
        )
    row = (
        session.execute(select(BankToken).where(BankToken.token_hash == token_hash(token)).with_for_update())
        .scalars()
        .first()
    )
    if row is None or row.revoked_at is not None:
        return _refuse(
            session,
            path=path,
            address=address,
            status=401,
            message="接口令牌无效或已撤销。",
            hint=row.hint if row else None,
            bank_name=row.bank_name if row else None,
        )
    now = utcnow()
    started = _aware(row.window_started_at)
    if started is None or now - started >= RATE_WINDOW:
        row.window_started_at, row.window_calls = now, 0
    row.window_calls += 1
    row.last_used_at = now
    session.add(row)
    actor = Actor(username=f"{API_ACTOR_PREFIX}{row.bank_name}"[:64], role="bank", bank_name=row.bank_name)
    limit = settings.load().bank_api_rate_limit
    if row.window_calls > limit:
        wait = int((RATE_WINDOW - (now - _aware(row.window_started_at))).total_seconds()) + 1
        _record_token(
            session,
            actor,
            "bank_api.refused",
            row.id,
            after={"path": path, "status": 429, "address": address, "hint": row.hint, "bank": row.bank_name},
        )
        session.commit()
        return 429, {
            "error": f"请求过于频繁：每分钟最多 {limit} 次，请 {wait} 秒后再试。",
            "retry_after": wait,
        }
    session.commit()  # the window's count is kept whatever the call does next
    return Caller(token_id=row.id, actor=actor)


def _int_or_none(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"参数 {name} 应为整数。") from None


def _log_call(session: Session, caller: Caller, endpoint: str, outcome: dict) -> None:
    """Audit one answered API call (``bank_api.<endpoint>``) in the caller's transaction."""
    _record_token(session, caller.actor, f"bank_api.{endpoint}", caller.token_id, after=outcome)


def get_whitelist(
    session: Session, *, caller: Caller, run: str | None, address: str
) -> tuple[int, dict | bytes]:
    """GET /api/v1/whitelist: the latest final run's whitelist, or run ``run`` (the body as JSON bytes)."""
    try:
        body, run_id, count = bank_portal.whitelist_json(
            session, actor=caller.actor, run_id=_int_or_none(run, "run")
        )
    except ServiceError as exc:
        status = 404 if isinstance(exc, NotFound) else 400
        _log_call(session, caller, "whitelist", {"status": status, "address": address, "run_id": run})
        session.commit()
        return status, {"error": str(exc)}
    _log_call(
        session, caller, "whitelist", {"status": 200, "address": address, "run_id": run_id, "count": count}
    )
    session.commit()
    return 200, body


def post_outcomes(
    session: Session, *, caller: Caller, body: Any, dry_run: bool, address: str
) -> tuple[int, dict]:
    """POST /api/v1/outcomes: ``{"run": N?, "outcomes": [...]}`` — all rows or none; 422 with the
    per-row problems when any row is wrong."""
    try:
        if not isinstance(body, dict):
            raise ValidationFailed('请求体应为 JSON 对象：{"outcomes": [...]}（见 docs/bank-contracts.md）。')
        run_id = body.get("run")
        if run_id is not None and (isinstance(run_id, bool) or not isinstance(run_id, int)):
            raise ValidationFailed("run 应为整数。")
        check = loan_outcomes.import_outcomes_json(
            session, actor=caller.actor, items=body.get("outcomes"), run_id=run_id, dry_run=dry_run
        )
    except ServiceError as exc:
        status = 404 if isinstance(exc, NotFound) else 400
        _log_call(session, caller, "outcomes", {"status": status, "address": address})
        session.commit()
        return status, {"error": str(exc)}
    status = 200 if not check.problems else 422
    _log_call(
        session,
        caller,
        "outcomes",
        {
            "status": status,
            "address": address,
            "rows": check.rows,
            "dry_run": dry_run,
            "errors": len(check.problems),
            "duplicates": check.duplicates,
        },
    )
    session.commit()
    if check.problems:
        return 422, {
            "error": "报送未写入：有数据行不符合要求，请修改后整批重新报送。",
            "problems": check.problems,
        }
    return 200, {
        "accepted": check.rows,
        "dry_run": dry_run,
        "written": bool(check.committed),
        "duplicates": check.duplicates,
    }
