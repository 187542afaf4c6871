"""Subsidies are paid, not just listed (issue 19): the payment state of each subsidy line of a final run.

Revision ID: 0011_subsidy_payment
Revises: 0010_bank
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - sqlmodel.sql.sqltypes.AutoString / UTCDateTime
from alembic import op

revision: str = "0011_subsidy_payment"
down_revision: str | Sequence[str] | None = "0010_bank"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subsidypayment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("confirmed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("confirmed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("voucher", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("handled_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("handled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["scorerun.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "enterprise_id"),
    )
    op.create_index("ix_subsidypayment_run_id", "subsidypayment", ["run_id"])
    op.create_index("ix_subsidypayment_enterprise_id", "subsidypayment", ["enterprise_id"])


def downgrade() -> None:
    op.drop_table("subsidypayment")
