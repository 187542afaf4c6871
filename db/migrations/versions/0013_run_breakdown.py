"""A run's breakdowns packed once per run (issue 21): ``runbreakdown`` instead of a JSON text per Score row.

Revision ID: 0013_run_breakdown
Revises: 0012_change_counter
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_run_breakdown"
down_revision: str | Sequence[str] | None = "0012_change_counter"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "runbreakdown",
        sa.Column("run_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["scorerun.id"]),
        sa.PrimaryKeyConstraint("run_id"),
    )


def downgrade() -> None:
    op.drop_table("runbreakdown")
