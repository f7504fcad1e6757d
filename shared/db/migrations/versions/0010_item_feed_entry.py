"""A feed entry's item keeps its entry (guid, title, date) while it waits in the store for
room in the crawl frontier, so it enters the frontier later as it would have at once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("entry", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("entry")
