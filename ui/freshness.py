"""The database's version, read once per page load: caches of shared state key on it, so a write made
through another server process shows on the next page load here (services.memo)."""

from __future__ import annotations

from db.session import session_scope
from services.memo import data_version as _data_version
from services.memo import published_version as _published_version


def data_version() -> tuple[int, str]:
    """The newest data-changing audit event, (id, hash): moved by every write but not by logins or
    exports, and by a restore even to the same id (services.memo.data_version)."""
    with session_scope() as session:
        return _data_version(session)


def published_version() -> tuple:
    """What the published lists show can have changed (services.memo.published_version): not moved by
    logins or other audited reads, as :func:`data_version` is."""
    with session_scope() as session:
        return _published_version(session)
