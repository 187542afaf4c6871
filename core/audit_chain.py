"""The audit trail's hash chain: each event's hash covers its content and the previous event's hash.

Changing, deleting, inserting or replacing any event breaks the chain from that event on, which
``manage.py verify-audit`` reports. Pure functions, no database: services/audit.py is the one entry
point (it fills the columns on insert and walks the table to verify); the arithmetic stays here because
migration 0004, which hashed the events already stored, sits below services/ and uses it too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
FIELDS = ("at", "actor", "actor_role", "action", "entity", "entity_id", "before", "after", "reason")

# Events that record an access, not a change of anything a page shows. The data's version
# (services.memo.data_version) passes over them: on a deadline day hundreds of logins would otherwise
# empty every cache keyed on it, each time. Changing this list needs a migration (the partial index
# ix_auditevent_data_change holds the other events).
ACCESS_ACTIONS = (
    "login",
    "throttle_account",
    "search.export",
    "bank_whitelist.export",
    "bank_portal.export",
    "database.backup",
)


def normalise_json(value: Any) -> Any:
    """The value as a JSON column gives it back (str keys, lists, str for odd types): hash that."""
    if value is None:
        return None
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _time(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # stored as UTC; some SQLite paths hand it back naive
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def event_hash(event: Mapping[str, Any], prev_hash: str) -> str:
    """sha256 over the canonical JSON of the event's fields and ``prev_hash``."""
    payload = {name: normalise_json(event.get(name)) for name in FIELDS if name != "at"}
    payload["at"] = _time(event.get("at"))
    payload["entity_id"] = None if event.get("entity_id") is None else str(event.get("entity_id"))
    payload["prev"] = prev_hash
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_id: int | None = None
    problem: str = ""
    head: str = GENESIS
    anchor_problem: str = ""  # the chain holds in itself but does not end where its anchor says

    @property
    def ok(self) -> bool:
        return self.broken_id is None and not self.anchor_problem


def verify(events: Iterable[Mapping[str, Any]]) -> ChainReport:
    """Walk events in id order; stop at the first one whose link or hash does not hold."""
    prev = GENESIS
    count = 0
    for event in events:
        count += 1
        if event.get("prev_hash") != prev:
            return ChainReport(
                count, event["id"], "与前一条记录的链接不一致（前一条记录被删除、替换或在其后插入）", prev
            )
        if event.get("hash") != event_hash(event, prev):
            return ChainReport(count, event["id"], "内容与其哈希不一致（该记录被修改或替换）", prev)
        prev = event["hash"]
    return ChainReport(count, None, "", prev)


def check_anchor(report: ChainReport, anchor: tuple[int, str] | None) -> ChainReport:
    """``report`` compared with the anchor (count, hash) kept beside the chain: a TRUNCATE or a deleted
    tail leaves a chain that holds in itself and is only caught here. ``None``: the anchor is gone."""
    if report.broken_id is not None:
        return report
    if anchor is None:
        problem = "审计日志的锚点记录缺失（锚点被删除或整表被清空）"
    elif report.checked < anchor[0]:
        problem = (
            f"锚点记载 {anchor[0]} 条记录，实际只有 {report.checked} 条："
            f"末尾 {anchor[0] - report.checked} 条记录被删除（或整表被清空）"
        )
    elif report.checked > anchor[0]:
        problem = f"锚点记载 {anchor[0]} 条记录，实际有 {report.checked} 条：末尾有未经应用写入的记录"
    elif report.head != anchor[1]:
        problem = "末条记录的哈希与锚点不一致（末尾的记录被删除、替换或另行写入）"
    else:
        return report
    return replace(report, anchor_problem=problem)
