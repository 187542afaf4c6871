"""Change counters shared by every server process (issue 21 · 3): ``changecounter``.

One row per topic (``enterprise_names``: renames of enterprises), bumped in the transaction of the change.
A server's cache of derived data that a write through another server can make stale (the search index
over names) keys on the counter instead of on a number only the writing process knows.

Revision ID: 0012_change_counter
Revises: 0011_subsidy_payment
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - sqlmodel.sql.sqltypes.AutoString
from alembic import op

revision: str = "0012_change_counter"
down_revision: str | Sequence[str] | None = "0011_subsidy_payment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "changecounter",
        sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("topic"),
    )


def downgrade() -> None:
    op.drop_table("changecounter")
