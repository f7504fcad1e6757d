"""Tables of the store. Alembic migrations in ``shared/db/migrations`` create them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
)

__all__ = [
    "articles",
    "cluster",
    "entities",
    "failures",
    "feed_entries",
    "feeds",
    "ingestions",
    "items",
    "jobs",
    "metadata",
    "pages",
]

metadata = MetaData()

# The cluster this store belongs to: one row, the same id its Redis carries
# (shared.cluster_binding).
cluster = Table(
    "cluster",
    metadata,
    Column("slot", Integer, primary_key=True, autoincrement=False),
    Column("cluster_id", String(64), nullable=False),
    Column("bound_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("slot = 1", name="ck_cluster_one_row"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("total", Integer, nullable=False, default=0),
    Column("description", Text),
    # A site crawl's settings (workers.crawl.scope.CrawlScope.to_dict); NULL for other jobs.
    Column("crawl", JSON),
    # What the submission that started the job asked of every item (``--language`` codes,
    # ``--refetch``), for items sent later from the store; NULL: nothing asked.
    Column("languages", JSON),
    Column("refetch", Boolean),
    # Its URL and date filters (--domain, --url-pattern, --since, --until), for archives an
    # interrupted submission reads on (producers.filters.RecordFilter.to_dict); NULL: none.
    Column("record_filter", JSON),
)

# One row per submitted item: its progress and, once final, how it ended.
items = Table(
    "items",
    metadata,
    Column("job_id", String(32), ForeignKey("jobs.id"), primary_key=True),
    Column("item_id", Integer, primary_key=True),
    Column("kind", String(8), nullable=False),  # url | text | html
    Column("source", Text),  # the URL as submitted, or a title for texts
    Column("state", String(16), nullable=False),
    Column("reason", String(64)),
    Column("detail", Text),
    Column("article_id", String(32)),
    Column("duplicate_of", String(32)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Pages in the store already (WARC records): an interrupted submission can still send it.
    Column("page_id", String(64)),
    # A feed entry's guid, title and date, kept while it waits for room in the frontier.
    Column("entry", JSON),
    # Work a stage created (shared.outcomes.NewUrl): the item of this job that found it, and
    # its depth; both NULL for a submitted item.
    Column("found_by", Integer),
    Column("depth", Integer),
    Index("ix_items_job_state", "job_id", "state"),
    # A crawl page's task run twice finds its links again: what it recorded is read by finder.
    Index("ix_items_found_by", "job_id", "found_by"),
)

articles = Table(
    "articles",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("job_id", String(32), nullable=False),
    Column("url", Text),
    Column("canonical_url", Text),
    Column("title", Text),
    Column("author", Text),
    Column("date", String(32)),
    Column("sitename", Text),
    Column("language", String(16)),
    Column("language_source", String(16)),  # "declared" or "detected"
    Column("description", Text),
    Column("text", Text, nullable=False),
    Column("duplicate_of", String(32), index=True),
    Column("similarity", Float),
    Column("page_id", String(64)),
    Column("entities_truncated", Boolean, nullable=False, default=False),
    Column("entities_skipped", String(40)),  # why it was not tagged (a Reason), if it was not
    Column("timings", JSON, nullable=False, default=dict),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # An article that came from a registered feed: the feed and what its entry said.
    Column("feed_id", Integer, index=True),
    Column("entry_guid", Text),
    Column("entry_title", Text),
    Column("entry_published", String(40)),
    Index("ix_articles_job", "job_id"),
    Index("ix_articles_language", "language"),
)

entities = Table(
    "entities",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("article_id", String(32), ForeignKey("articles.id"), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("label", String(32), nullable=False),
    Column("start_char", Integer, nullable=False),
    Column("end_char", Integer, nullable=False),
    UniqueConstraint("article_id", "start_char", "end_char", "label", name="uq_entity_span"),
)

# Raw pages as fetched, zstd-compressed and keyed by the SHA-256 of their bytes, so queue
# messages carry only the key and a page can be re-extracted without fetching it again.
pages = Table(
    "pages",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("url", Text),
    Column("content_type", String(128)),
    Column("encoding", String(32)),
    Column("size", Integer, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("fetched_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The dead-letter store: one row per failed item (the latest failure), with what is needed
# to understand it and to try again (``sluice failures list|retry``).
failures = Table(
    "failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(32), nullable=False),
    Column("item_id", Integer, nullable=False),
    Column("stage", String(16), nullable=False),
    Column("reason", String(64), nullable=False, index=True),
    Column("error", Text),
    Column("payload", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("retried_at", DateTime(timezone=True)),
    UniqueConstraint("job_id", "item_id", name="uq_failure_item"),
)

# One row per archive (WARC/ARC) a job reads: how far it got, so an interrupted ingestion
# resumes at ``offset`` (the first record not yet recorded as an item) and never twice.
ingestions = Table(
    "ingestions",
    metadata,
    Column("job_id", String(32), ForeignKey("jobs.id"), primary_key=True),
    Column("source", Text, primary_key=True),
    Column("offset", BigInteger, nullable=False, default=0),
    Column("records", BigInteger, nullable=False, default=0),
    Column("items", BigInteger, nullable=False, default=0),
    Column("skipped", JSON, nullable=False, default=dict),
    # Bytes given up on (damage, a lying length) to reach the next record that can be read.
    Column("bytes_skipped", BigInteger, nullable=False, default=0, server_default="0"),
    Column("done", Boolean, nullable=False, default=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Feeds and sitemaps registered once and polled on their own schedule (shared.feeds). Times
# of the schedule are seconds since the epoch: the scheduler compares them with one clock.
feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False),
    Column("kind", String(8), nullable=False),  # feed | sitemap | section
    Column("state", String(16), nullable=False),  # active | paused | disabled
    Column("reason", String(64)),  # why it is disabled
    Column("detail", Text),
    Column("title", Text),
    Column("job_id", String(32), nullable=False),  # the job its new entries become items of
    Column("every", Float),  # a fixed interval the producer asked for (s), or learned
    Column("interval", Float, nullable=False),
    Column("next_poll_at", Float, nullable=False),
    Column("claim", String(32)),  # the token of the poll that holds it ...
    Column("claimed_until", Float),  # ... until then
    Column("etag", Text),
    Column("last_modified", Text),
    Column("body_hash", String(64)),
    Column("polls", Integer, nullable=False, default=0),
    Column("failures", Integer, nullable=False, default=0),  # consecutive
    Column("entries", Integer, nullable=False, default=0),  # new entries found in all
    Column("last_poll_at", Float),
    Column("last_outcome", String(64)),
    Column("last_new", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("pace", Float),  # typical gap between its entries (s), when they have dates
    Column("last_entry_at", Float),  # the last poll that found new entries
    # Registered "new entries only": the next successful poll marks what is listed as seen
    # and makes no items of it (then this is cleared).
    Column("skip_listed", Boolean, nullable=False, server_default=false()),
    UniqueConstraint("url", name="uq_feed_url"),
    Index("ix_feeds_due", "state", "next_poll_at"),
)

# Entries of a feed already made items: one row per key (a hash of the entry's canonical
# link, and one of its guid), so an entry is new only when none of its keys is here.
feed_entries = Table(
    "feed_entries",
    metadata,
    Column("feed_id", Integer, ForeignKey("feeds.id"), primary_key=True),
    Column("key", String(32), primary_key=True),
    Column("seen_at", Float, nullable=False),
)
