"""A job keeps its URL and date filters (``--domain``, ``--url-pattern``, ``--since``,
``--until``), so that ``submit --resume`` leaves out of the archives it reads on what the
interrupted submission would have left out.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("record_filter", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("record_filter")
