"""Store stage: an idempotent upsert of an article, its entities and its item's final state.

All three are written in one transaction, so a crash before the commit leaves nothing and a
crash after it leaves everything: running the stage again for the same article leaves one
article row and one set of entity rows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, delete, func, insert

from sluice.shared import clock as cluster_clock
from sluice.shared.article import STORED_FIELDS, UPDATABLE_FIELDS, Article
from sluice.shared.db.engine import insert_for, session_scope
from sluice.shared.db.schema import articles, entities
from sluice.shared.jobs import finish_item
from sluice.shared.metrics.feed_polls import observe_entry_lag
from sluice.shared.outcomes import Final, Outcome
from sluice.shared.states import State

__all__ = ["run", "store", "upsert_article"]


def _row(article: Article) -> dict[str, object]:
    return {name: getattr(article, name) for name in STORED_FIELDS}


def upsert_article(conn: Connection, article: Article) -> None:
    """Insert or replace ``article`` and its entities inside the caller's transaction; an
    article already stored keeps its job and feed entry (``PROVENANCE_FIELDS``): a later
    job's item that reaches it is that job's duplicate item (see shared.queries)."""
    row = _row(article)
    stmt = insert_for(conn, articles).values(**row)
    stmt = stmt.on_conflict_do_update(
        index_elements=[articles.c.id],
        set_={name: stmt.excluded[name] for name in UPDATABLE_FIELDS} | {"updated_at": func.now()},
    )
    conn.execute(stmt)
    conn.execute(delete(entities).where(entities.c.article_id == article.id))
    if article.entities:
        conn.execute(
            insert(entities),
            [
                {
                    "article_id": article.id,
                    "text": e.text,
                    "label": e.label,
                    "start_char": e.start,
                    "end_char": e.end,
                }
                for e in article.entities
            ],
        )


def store(article: Article, database_url: str | None = None) -> State:
    """Persist ``article`` and give its item the final state it reached (returned)."""
    final = State.DUPLICATE if article.is_duplicate else State.STORED
    with session_scope(database_url) as conn:
        upsert_article(conn, article)
        finish_item(
            article.job_id,
            article.item_id,
            final,
            detail=article.decoding_note,
            article_id=article.id,
            duplicate_of=article.duplicate_of,
            conn=conn,
        )
    return final


def _entry_lag(article: Article) -> float | None:
    """Seconds since the published date of the feed entry ``article`` came from, if any."""
    if article.feed_id is None or not article.entry_published:
        return None
    try:
        published = datetime.fromisoformat(article.entry_published)
    except ValueError:
        return None
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return cluster_clock.now() - published.timestamp()  # every worker's lags on one clock


def run(article: Article) -> Outcome:
    """The store stage: the article and its item's final state, in one transaction (and,
    for a feed's new entry stored, its lag after publication, counted)."""
    final = store(article)
    lag = _entry_lag(article)
    if lag is not None and final == State.STORED:
        observe_entry_lag(lag)
    return Final(final, recorded=True)
