"""The newest audit event that changed data, found through ``ix_auditevent_data_change`` (its id, only
events other than accesses: logins, exports, backups). ``services.memo.data_version`` keys every cache
of shared state on it; keyed on the chain's head, each login emptied them all.

Revision ID: 0019_audit_data_change_index
Revises: 0018_value_reference_checks
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_audit_data_change_index"
down_revision: str | Sequence[str] | None = "0018_value_reference_checks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# core.audit_chain.ACCESS_ACTIONS when this migration was written (a migration does not follow the code)
DATA_CHANGE_EVENTS = (
    "action NOT IN ('login', 'throttle_account', 'search.export', 'bank_whitelist.export', "
    "'bank_portal.export', 'database.backup')"
)


def upgrade() -> None:
    op.create_index(
        "ix_auditevent_data_change",
        "auditevent",
        ["id"],
        unique=False,
        sqlite_where=sa.text(DATA_CHANGE_EVENTS),
        postgresql_where=sa.text(DATA_CHANGE_EVENTS),
    )


def downgrade() -> None:
    op.drop_index("ix_auditevent_data_change", table_name="auditevent")
