"""Banks as users (issue 19): a bank user's institution, loan outcomes, API tokens.

Revision ID: 0010_bank
Revises: 0009_assistant
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - sqlmodel.sql.sqltypes.AutoString / UTCDateTime
from alembic import op

revision: str = "0010_bank"
down_revision: str | Sequence[str] | None = "0009_assistant"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("bank_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
    op.create_table(
        "loanoutcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("product", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("rate", sa.Float(), nullable=True),
        sa.Column("term_months", sa.Integer(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("start_on", sa.Date(), nullable=True),
        sa.Column("end_on", sa.Date(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["scorerun.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_loanoutcome_bank_name", "loanoutcome", ["bank_name"])
    op.create_index("ix_loanoutcome_enterprise_id", "loanoutcome", ["enterprise_id"])
    op.create_index("ix_loanoutcome_recorded_at", "loanoutcome", ["recorded_at"])
    op.create_table(
        "banktoken",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hint", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("last_used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("window_started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("window_calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_banktoken_bank_name", "banktoken", ["bank_name"])
    op.create_index("ix_banktoken_token_hash", "banktoken", ["token_hash"], unique=True)


def downgrade() -> None:
    op.drop_table("banktoken")
    op.drop_table("loanoutcome")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("bank_name")
