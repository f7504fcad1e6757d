"""A feed's pace (the typical gap between its entries) and when it last had new entries,
so a quiet poll that its pace expected does not slow the feed's schedule down.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("pace", sa.Float))
        batch.add_column(sa.Column("last_entry_at", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("last_entry_at")
        batch.drop_column("pace")
