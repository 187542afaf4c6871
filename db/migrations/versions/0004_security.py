"""Security (issue 11): server-side sessions, login throttling, image thumbnails, audit hash chain.

* ``usersession`` — one row per login (sha256 of the cookie's session id), revocable;
* ``loginthrottle`` — failed logins per typed user name and per client address;
* ``attachment.thumbnail`` — the thumbnail made once at upload;
* ``auditevent.prev_hash`` / ``hash`` — the chain (existing rows are chained here, in id order), and on
  SQLite a trigger refusing an INSERT that reuses an existing id (``REPLACE INTO`` deletes the old row
  without firing DELETE triggers). PostgreSQL has no REPLACE; ``ON CONFLICT DO UPDATE`` fires the UPDATE
  trigger that already refuses.

Revision ID: 0004_security
Revises: 0003_model_classes
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision: str = "0004_security"
down_revision: str | Sequence[str] | None = "0003_model_classes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_MESSAGE = "auditevent is append-only"


def _chain_existing_rows() -> None:
    """Hash the events written before this migration (the UPDATE trigger is lifted meanwhile)."""
    from core import audit_chain

    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, at, actor, actor_role, action, entity, entity_id, before, after, reason "
        "FROM auditevent ORDER BY id")).mappings().all()
    if not rows:
        return
    import json

    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE auditevent DISABLE TRIGGER auditevent_no_update")
    else:
        op.execute("DROP TRIGGER IF EXISTS auditevent_no_update")
    prev = audit_chain.GENESIS
    for row in rows:
        event = dict(row)
        for name in ("before", "after"):
            if isinstance(event[name], str):
                event[name] = json.loads(event[name])
        digest = audit_chain.event_hash(event, prev)
        bind.execute(sa.text("UPDATE auditevent SET prev_hash = :p, hash = :h WHERE id = :id"),
                     {"p": prev, "h": digest, "id": event["id"]})
        prev = digest
    if postgres:
        op.execute("ALTER TABLE auditevent ENABLE TRIGGER auditevent_no_update")
    else:
        op.execute(f"CREATE TRIGGER auditevent_no_update BEFORE UPDATE ON auditevent "
                   f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END")


def upgrade() -> None:
    op.create_table(
        "usersession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_reason", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("client_address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_usersession_token_hash"), "usersession", ["token_hash"], unique=True)
    op.create_index(op.f("ix_usersession_user_id"), "usersession", ["user_id"], unique=False)
    op.create_table(
        "loginthrottle",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("blocked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("attachment") as batch:
        batch.add_column(sa.Column("thumbnail", sa.LargeBinary(), nullable=True))
    # Plain ADD COLUMN (no batch): a batch rebuild of auditevent would drop its triggers on SQLite.
    op.add_column("auditevent", sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column("auditevent", sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    _chain_existing_rows()
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER auditevent_no_replace BEFORE INSERT ON auditevent "
            "WHEN EXISTS (SELECT 1 FROM auditevent WHERE id = NEW.id) "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS auditevent_no_replace")
    op.drop_column("auditevent", "hash")
    op.drop_column("auditevent", "prev_hash")
    with op.batch_alter_table("attachment") as batch:
        batch.drop_column("thumbnail")
    op.drop_table("loginthrottle")
    op.drop_index(op.f("ix_usersession_user_id"), table_name="usersession")
    op.drop_index(op.f("ix_usersession_token_hash"), table_name="usersession")
    op.drop_table("usersession")
