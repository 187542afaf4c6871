"""Score rows of a run are found through the (run_id, enterprise_id) unique index: ``ix_score_run_id``
duplicated its first column and cost every run's bulk insert a third index to maintain (issue 21).

Revision ID: 0014_score_run_index
Revises: 0013_run_breakdown
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_score_run_index"
down_revision: str | Sequence[str] | None = "0013_run_breakdown"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_score_run_id", table_name="score")


def downgrade() -> None:
    op.create_index("ix_score_run_id", "score", ["run_id"], unique=False)
