"""Scenarios (issue 9): when an enterprise gave or withdrew its consent to bank recommendations.

``enterprise.bank_consent`` existed already; ``bank_consent_at`` keeps the time of the last change
(NULL: never changed since the account was created). Batch mode for SQLite.

Revision ID: 0007_scenarios
Revises: 0006_search
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - sqlmodel.sql.sqltypes.UTCDateTime
from alembic import op

revision: str = "0007_scenarios"
down_revision: str | Sequence[str] | None = "0006_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("enterprise") as batch:
        batch.add_column(sa.Column("bank_consent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enterprise") as batch:
        batch.drop_column("bank_consent_at")
