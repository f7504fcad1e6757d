"""Feeds kept in the store: the feeds table, the entries each has seen, and the feed an
article came from.

Revision ID: 0005
Revises: 0002 (re-chained after 0004 when the branches merge)
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("detail", sa.Text),
        sa.Column("title", sa.Text),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("every", sa.Float),
        sa.Column("interval", sa.Float, nullable=False),
        sa.Column("next_poll_at", sa.Float, nullable=False),
        sa.Column("claim", sa.String(32)),
        sa.Column("claimed_until", sa.Float),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("body_hash", sa.String(64)),
        sa.Column("polls", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("last_poll_at", sa.Float),
        sa.Column("last_outcome", sa.String(64)),
        sa.Column("last_new", sa.Integer),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("url", name="uq_feed_url"),
    )
    op.create_index("ix_feeds_due", "feeds", ["state", "next_poll_at"])
    op.create_table(
        "feed_entries",
        sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id"), primary_key=True),
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("seen_at", sa.Float, nullable=False),
    )
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("feed_id", sa.Integer))
        batch.add_column(sa.Column("entry_guid", sa.Text))
        batch.add_column(sa.Column("entry_title", sa.Text))
        batch.add_column(sa.Column("entry_published", sa.String(40)))
    op.create_index("ix_articles_feed_id", "articles", ["feed_id"])


def downgrade() -> None:
    op.drop_index("ix_articles_feed_id", "articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("entry_published")
        batch.drop_column("entry_title")
        batch.drop_column("entry_guid")
        batch.drop_column("feed_id")
    op.drop_table("feed_entries")
    op.drop_index("ix_feeds_due", "feeds")
    op.drop_table("feeds")
