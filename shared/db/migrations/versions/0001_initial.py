"""Initial schema: jobs, items, articles, entities, pages.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("description", sa.Text),
    )
    op.create_table(
        "items",
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id"), primary_key=True),
        sa.Column("item_id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("detail", sa.Text),
        sa.Column("article_id", sa.String(32)),
        sa.Column("duplicate_of", sa.String(32)),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("ix_items_job_state", "items", ["job_id", "state"])
    op.create_table(
        "articles",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("canonical_url", sa.Text),
        sa.Column("title", sa.Text),
        sa.Column("author", sa.Text),
        sa.Column("date", sa.String(32)),
        sa.Column("sitename", sa.Text),
        sa.Column("language", sa.String(16)),
        sa.Column("description", sa.Text),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("duplicate_of", sa.String(32)),
        sa.Column("similarity", sa.Float),
        sa.Column("page_id", sa.String(64)),
        sa.Column("entities_truncated", sa.Boolean, nullable=False),
        sa.Column("timings", sa.JSON, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("ix_articles_duplicate_of", "articles", ["duplicate_of"])
    op.create_index("ix_articles_job", "articles", ["job_id"])
    op.create_table(
        "entities",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("article_id", sa.String(32), sa.ForeignKey("articles.id"), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("start_char", sa.Integer, nullable=False),
        sa.Column("end_char", sa.Integer, nullable=False),
        sa.UniqueConstraint("article_id", "start_char", "end_char", "label", name="uq_entity_span"),
    )
    op.create_index("ix_entities_article_id", "entities", ["article_id"])
    op.create_table(
        "pages",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("url", sa.Text),
        sa.Column("content_type", sa.String(128)),
        sa.Column("encoding", sa.String(32)),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column(
            "fetched_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )


def downgrade() -> None:
    op.drop_table("pages")
    op.drop_table("entities")
    op.drop_table("articles")
    op.drop_table("items")
    op.drop_table("jobs")
