"""A run's subsidy lines are found through ``ix_score_subsidy`` (run_id, only rows with a subsidy):
榜单与扶持's 资金拨付 and the big screen read them on every page load, and the (run_id, enterprise_id)
index made that a walk over every Score row of the run — 100,000 rows for about 20 lines, 0.15 s.
The index holds the subsidised rows only, so writing a run's scores barely notices it.

Revision ID: 0017_score_subsidy_index
Revises: 0016_score_reference_checks
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_score_subsidy_index"
down_revision: str | Sequence[str] | None = "0016_score_reference_checks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_score_subsidy",
        "score",
        ["run_id"],
        unique=False,
        sqlite_where=sa.text("subsidy > 0"),
        postgresql_where=sa.text("subsidy > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_score_subsidy", table_name="score")
