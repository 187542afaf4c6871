"""服务目录 edits guard against a lost update (two officers, two tabs): ``serviceitem.version``, claimed by
each save like ``submission.version`` (services.optimistic). Existing items start at version 1.

Revision ID: 0020_service_item_version
Revises: 0019_audit_data_change_index
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_service_item_version"
down_revision: str | Sequence[str] | None = "0019_audit_data_change_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("serviceitem", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("serviceitem") as batch:
        batch.drop_column("version")
