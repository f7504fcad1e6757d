"""The store carries the id of the cluster it belongs to, as its Redis does (one row).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster",
        sa.Column("slot", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("cluster_id", sa.String(64), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("slot = 1", name="ck_cluster_one_row"),
    )


def downgrade() -> None:
    op.drop_table("cluster")
