"""A job keeps what its submission asked of every item: the ``--language`` filter and
``--refetch``, so that items which wait in the store as ``recorded`` (a crawl's found work
over the high-water mark, an interrupted submission's rest) carry them when they are sent
later, as the items sent at once did.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("languages", sa.JSON))
        batch.add_column(sa.Column("refetch", sa.Boolean))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("refetch")
        batch.drop_column("languages")
