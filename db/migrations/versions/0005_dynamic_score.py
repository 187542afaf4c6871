"""动态积分: tables DynamicState (per year: change numbers, lease) and DynamicScore (per enterprise · year).

Revision ID: 0005_dynamic_score
Revises: 0004_security
Create Date: 2026-12-01 21:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - sqlmodel.sql.sqltypes.AutoString / UTCDateTime
from alembic import op

revision: str = "0005_dynamic_score"
down_revision: str | Sequence[str] | None = "0004_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dynamicstate",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("change_seq", sa.Integer(), nullable=False),
        sa.Column("computed_seq", sa.Integer(), nullable=False),
        sa.Column("dirty_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("computed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("input_fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("model_version_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_count", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("lease_owner", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("lease_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["model_version_id"], ["modelversion.id"]),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "dynamicscore",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("technology", sa.Float(), nullable=True),
        sa.Column("growth", sa.Float(), nullable=True),
        sa.Column("core", sa.Float(), nullable=False),
        sa.Column("bonus", sa.Float(), nullable=False),
        sa.Column("deduction", sa.Float(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("veto", sa.Boolean(), nullable=False),
        sa.Column("missing_count", sa.Integer(), nullable=False),
        sa.Column("breakdown", sa.JSON(), nullable=True),
        sa.Column("computed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"]),
        sa.ForeignKeyConstraint(["model_version_id"], ["modelversion.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "enterprise_id"),
    )
    op.create_index(op.f("ix_dynamicscore_year"), "dynamicscore", ["year"], unique=False)
    op.create_index(op.f("ix_dynamicscore_enterprise_id"), "dynamicscore", ["enterprise_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dynamicscore_enterprise_id"), table_name="dynamicscore")
    op.drop_index(op.f("ix_dynamicscore_year"), table_name="dynamicscore")
    op.drop_table("dynamicscore")
    op.drop_table("dynamicstate")
