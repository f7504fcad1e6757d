"""Every article keeps where its language came from (declared or detected), and why it has
no entities when it was not tagged (no pipeline for its language).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("language_source", sa.String(16)))
        batch.add_column(sa.Column("entities_skipped", sa.String(40)))
    op.create_index("ix_articles_language", "articles", ["language"])


def downgrade() -> None:
    op.drop_index("ix_articles_language", table_name="articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("entities_skipped")
        batch.drop_column("language_source")
