"""Import batches keep the dry run's details (skipped rows, column mapping, unit conversions, name
mismatches, list mode, counts of new/changed/unchanged values, undo record) in one JSON column.

Revision ID: 0002_import_flow
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_import_flow"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("importbatch") as batch:
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("importbatch") as batch:
        batch.drop_column("details")
