"""An archive's ingestion counts the bytes it skipped over damage to reach the next record.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ingestions") as batch:
        batch.add_column(
            sa.Column("bytes_skipped", sa.BigInteger, nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("ingestions") as batch:
        batch.drop_column("bytes_skipped")
