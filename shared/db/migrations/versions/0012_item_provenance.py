"""An item a stage created (a URL it found) keeps its provenance: the item of the same job
that found it, and its depth (steps from a submitted item; NULL for submitted items).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("found_by", sa.Integer))
        batch.add_column(sa.Column("depth", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("depth")
        batch.drop_column("found_by")
