"""The audit chain's anchor (issue 23): ``auditchainhead`` and the guards that make a deletion visible.

* ``auditchainhead`` — one row (id 1): how many events the chain has and the newest event's hash,
  filled here from the existing events and kept by every append (db/models.py, under a lock on the row).
  ``verify-audit`` compares the chain with it, so a TRUNCATE or a deleted tail is reported.
* Triggers: the row cannot be deleted nor its ``count`` lowered (both stores); on PostgreSQL neither
  ``auditevent`` nor ``auditchainhead`` can be truncated (a statement trigger: TRUNCATE fires no row
  triggers), and the role running the migration gives up UPDATE, DELETE and TRUNCATE on ``auditevent``
  and DELETE and TRUNCATE on ``auditchainhead`` (an owner can revoke its own privileges; a superuser
  ignores them, the triggers still hold for it).

Revision ID: 0008_audit_anchor
Revises: 0007_scenarios
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - sqlmodel.sql.sqltypes.AutoString
from alembic import op

revision: str = "0008_audit_anchor"
down_revision: str | Sequence[str] | None = "0007_scenarios"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_MESSAGE = "auditevent is append-only"
GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "auditchainhead",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    bind = op.get_bind()
    count = bind.execute(sa.text("SELECT count(*) FROM auditevent")).scalar_one()
    last = bind.execute(sa.text("SELECT hash FROM auditevent ORDER BY id DESC LIMIT 1")).scalar()
    bind.execute(sa.text("INSERT INTO auditchainhead (id, count, hash) VALUES (1, :c, :h)"),
                 {"c": int(count), "h": last or GENESIS})
    if bind.dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION auditchainhead_guard() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND NEW.count >= OLD.count AND NEW.id = OLD.id THEN
                    RETURN NEW;
                END IF;
                RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}';
            END
            $$
            """
        )
        op.execute("CREATE TRIGGER auditchainhead_guard BEFORE UPDATE OR DELETE ON auditchainhead "
                   "FOR EACH ROW EXECUTE FUNCTION auditchainhead_guard()")
        op.execute("CREATE TRIGGER auditchainhead_no_truncate BEFORE TRUNCATE ON auditchainhead "
                   "FOR EACH STATEMENT EXECUTE FUNCTION auditevent_append_only()")
        op.execute("CREATE TRIGGER auditevent_no_truncate BEFORE TRUNCATE ON auditevent "
                   "FOR EACH STATEMENT EXECUTE FUNCTION auditevent_append_only()")
        op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON auditevent FROM PUBLIC, CURRENT_USER")
        op.execute("REVOKE DELETE, TRUNCATE ON auditchainhead FROM PUBLIC, CURRENT_USER")
    else:
        op.execute("CREATE TRIGGER auditchainhead_no_delete BEFORE DELETE ON auditchainhead "
                   f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END")
        op.execute("CREATE TRIGGER auditchainhead_no_lower BEFORE UPDATE ON auditchainhead "
                   "WHEN NEW.count < OLD.count OR NEW.id <> OLD.id "
                   f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END")
        op.execute("CREATE TRIGGER auditchainhead_no_replace BEFORE INSERT ON auditchainhead "
                   "WHEN EXISTS (SELECT 1 FROM auditchainhead WHERE id = NEW.id) "
                   f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("GRANT UPDATE, DELETE, TRUNCATE ON auditevent TO CURRENT_USER")
        op.execute("GRANT DELETE, TRUNCATE ON auditchainhead TO CURRENT_USER")
        op.execute("DROP TRIGGER IF EXISTS auditevent_no_truncate ON auditevent")
        op.execute("DROP TRIGGER IF EXISTS auditchainhead_no_truncate ON auditchainhead")
        op.execute("DROP TRIGGER IF EXISTS auditchainhead_guard ON auditchainhead")
        op.execute("DROP FUNCTION IF EXISTS auditchainhead_guard()")
    else:
        for name in ("no_delete", "no_lower", "no_replace"):
            op.execute(f"DROP TRIGGER IF EXISTS auditchainhead_{name}")
    op.drop_table("auditchainhead")
