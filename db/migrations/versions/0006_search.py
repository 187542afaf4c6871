"""Search (issue 9): full-pinyin search keys beside the initials, both with every kept reading.

Adds ``enterprise.name_pinyin`` and recomputes ``name_initials`` for existing rows with
``core.search.name_keys`` (readings of polyphonic characters joined by "|"), once, here — searches
read the stored keys and never call pypinyin. Batch mode for SQLite.

Revision ID: 0006_search
Revises: 0005_dynamic_score
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_search"
down_revision: str | Sequence[str] | None = "0005_dynamic_score"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    from core.search import name_keys

    with op.batch_alter_table("enterprise") as batch:
        batch.add_column(sa.Column("name_pinyin", sa.Text(), nullable=True))
    connection = op.get_bind()
    enterprise = sa.table("enterprise", sa.column("id", sa.Integer), sa.column("name", sa.String),
                          sa.column("name_initials", sa.String), sa.column("name_pinyin", sa.Text))
    rows = connection.execute(sa.select(enterprise.c.id, enterprise.c.name)).all()
    update = (sa.update(enterprise).where(enterprise.c.id == sa.bindparam("row_id"))
              .values(name_initials=sa.bindparam("initials"), name_pinyin=sa.bindparam("pinyin")))
    for start in range(0, len(rows), BATCH):
        params = []
        for row_id, name in rows[start:start + BATCH]:
            keys = name_keys(name or "")
            params.append({"row_id": row_id, "initials": keys.initials, "pinyin": keys.pinyin})
        connection.execute(update, params)


def downgrade() -> None:
    with op.batch_alter_table("enterprise") as batch:
        batch.drop_column("name_pinyin")
