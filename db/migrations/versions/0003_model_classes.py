"""Score stores a subtotal per declared class of its run's model (``subtotals`` JSON, keyed by class code).

Existing rows were all computed under models of the default shape: their technology / growth / bonus /
deduction columns become ``{"technology": …, "growth": …, "bonus": …, "deduction": …}`` (the default
bonus class is capped at the model's bonus cap, so the stored capped bonus is its subtotal and
``verify_run`` stays identical). technology / growth become nullable: a model without those classes
leaves them empty.

Revision ID: 0003_model_classes
Revises: 0002_import_flow
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_model_classes"
down_revision: str | Sequence[str] | None = "0002_import_flow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = ("technology", "growth", "bonus", "deduction")


def upgrade() -> None:
    with op.batch_alter_table("score") as batch:
        batch.add_column(sa.Column("subtotals", sa.JSON(), nullable=True))
        batch.alter_column("technology", existing_type=sa.Float(), nullable=True)
        batch.alter_column("growth", existing_type=sa.Float(), nullable=True)
    if op.get_bind().dialect.name == "postgresql":
        pairs = ", ".join(f"'{k}', {k}" for k in _KEYS)
        op.execute(f"UPDATE score SET subtotals = json_build_object({pairs}) WHERE subtotals IS NULL")
    else:
        pairs = ", ".join(f"'{k}', {k}" for k in _KEYS)
        op.execute(f"UPDATE score SET subtotals = json_object({pairs}) WHERE subtotals IS NULL")


def downgrade() -> None:
    op.execute("UPDATE score SET technology = 0 WHERE technology IS NULL")
    op.execute("UPDATE score SET growth = 0 WHERE growth IS NULL")
    with op.batch_alter_table("score") as batch:
        batch.alter_column("growth", existing_type=sa.Float(), nullable=False)
        batch.alter_column("technology", existing_type=sa.Float(), nullable=False)
        batch.drop_column("subtotals")
