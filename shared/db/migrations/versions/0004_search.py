"""Full-text search over stored articles, an index for entity filters, one for paging.

PostgreSQL: a stored generated ``tsvector`` column (title weighted A, text B; the ``simple``
configuration, which stems no language, as articles come in many) with a GIN index.
SQLite: an FTS5 table over the articles table's title and text (external content, the
``unicode61`` tokenizer without diacritics), kept current by triggers on every insert,
update and delete of an article, so the store stage's upsert updates it in its own
transaction. Both index the first 200,000 characters of a text.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SQLITE = (
    """CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, text, content='articles', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, text)
        VALUES (new.rowid, new.title, substr(new.text, 1, 200000));
    END""",
    """CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text)
        VALUES ('delete', old.rowid, old.title, substr(old.text, 1, 200000));
    END""",
    """CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text)
        VALUES ('delete', old.rowid, old.title, substr(old.text, 1, 200000));
        INSERT INTO articles_fts(rowid, title, text)
        VALUES (new.rowid, new.title, substr(new.text, 1, 200000));
    END""",
    "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
)

_POSTGRESQL = (
    """ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', coalesce(title, '')), 'A')
        || setweight(to_tsvector('simple', left(text, 200000)), 'B')
    ) STORED""",
    "CREATE INDEX ix_articles_search ON articles USING GIN (search)",
)


def upgrade() -> None:
    bind = op.get_bind()
    for statement in _POSTGRESQL if bind.dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)
    op.execute("CREATE INDEX ix_entities_label_text ON entities (label, lower(text))")
    # articles list pages newest first by keyset on (created_at, id).
    op.create_index("ix_articles_created", "articles", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_articles_created", "articles")
    op.execute("DROP INDEX ix_entities_label_text")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_articles_search")
        op.execute("ALTER TABLE articles DROP COLUMN search")
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER articles_fts_{trigger}")
    op.execute("DROP TABLE articles_fts")
