"""Reading stored articles back, as dicts keyed by :class:`shared.article.Article` field names.

An article is stored once, under the job that first stored it. A job's articles are the
ones its own items reached: a page submitted again by a later job is listed under that job
too, as a duplicate of the stored article, and stays listed under the first one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Select, and_, case, func, literal, or_, select

from sluice.shared.db.engine import read_scope
from sluice.shared.db.schema import articles, entities, items
from sluice.shared.states import State

__all__ = [
    "duplicate_counts",
    "get_article",
    "iter_articles",
    "job_articles",
    "language_counts",
    "list_articles",
]

_SUMMARY = (
    articles.c.id,
    articles.c.job_id,
    articles.c.url,
    articles.c.canonical_url,
    articles.c.title,
    articles.c.date,
    articles.c.sitename,
    articles.c.language,
    articles.c.language_source,
    articles.c.entities_skipped,
    articles.c.duplicate_of,
    articles.c.similarity,
)


_ENDED_WITH_ARTICLE = [State.STORED.value, State.DUPLICATE.value]


def job_articles(job_id: str) -> Select[Any]:
    """The summary of every article ``job_id``'s items reached, one row per article, as that
    job sees it: its ``duplicate_of`` is the one its first item there recorded, so an article
    another job stored first is this job's duplicate of it (``similarity`` 1.0)."""
    firsts = (
        select(items.c.article_id, func.min(items.c.item_id).label("item_id"))
        .where(
            items.c.job_id == job_id,
            items.c.state.in_(_ENDED_WITH_ARTICLE),
            items.c.article_id.is_not(None),
        )
        .group_by(items.c.article_id)
        .subquery("firsts")
    )
    own = items.alias("own")
    similarity = case(
        (own.c.duplicate_of.is_(None), None),
        (own.c.duplicate_of == articles.c.duplicate_of, articles.c.similarity),
        else_=1.0,
    )
    return select(
        articles.c.id,
        literal(job_id).label("job_id"),
        *(c for c in _SUMMARY if c.name not in ("id", "job_id", "duplicate_of", "similarity")),
        own.c.duplicate_of.label("duplicate_of"),
        similarity.label("similarity"),
    ).select_from(
        firsts.join(own, and_(own.c.job_id == job_id, own.c.item_id == firsts.c.item_id)).join(
            articles, articles.c.id == firsts.c.article_id
        )
    )


def list_articles(
    job_id: str | None = None, limit: int | None = 100, after: str | None = None
) -> list[dict[str, Any]]:
    """Stored articles (duplicates included), newest first: ``limit`` of them (``None``: all)
    after the article ``after`` in that order (a cursor: pass the last id of a page). With
    ``job_id``, the articles that job's items reached (:func:`job_articles`)."""
    query = job_articles(job_id) if job_id else select(*_SUMMARY)
    query = query.order_by(articles.c.created_at.desc(), articles.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    if after:
        then = select(articles.c.created_at).where(articles.c.id == after).scalar_subquery()
        query = query.where(
            or_(
                articles.c.created_at < then,
                and_(articles.c.created_at == then, articles.c.id < after),
            )
        )
    with read_scope() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def iter_articles(
    job_id: str | None = None, limit: int | None = None, page_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """Like :func:`list_articles`, but every one (or ``limit``), read a page at a time."""
    after, left = None, limit
    while left is None or left > 0:
        size = page_size if left is None else min(page_size, left)
        page = list_articles(job_id, size, after)
        yield from page
        if len(page) < size:
            return
        after = page[-1]["id"]
        left = None if left is None else left - len(page)


def _entities(conn: Connection, article_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(entities.c.text, entities.c.label, entities.c.start_char, entities.c.end_char)
        .where(entities.c.article_id == article_id)
        .order_by(entities.c.start_char, entities.c.end_char)
    )
    return [{"text": t, "label": lab, "start": s, "end": e} for t, lab, s, e in rows]


def get_article(id_or_url: str) -> dict[str, Any] | None:
    """One article by id or URL, with its entities and the ids of its duplicates."""
    from sluice.shared.identity import canonicalize_url  # courlan: only this query needs it

    candidates = [id_or_url]
    with contextlib.suppress(ValueError):
        candidates.append(canonicalize_url(id_or_url))
    with read_scope() as conn:
        row = conn.execute(
            select(articles)
            .where(
                or_(
                    articles.c.id == id_or_url,
                    articles.c.url.in_(candidates),
                    articles.c.canonical_url.in_(candidates),
                )
            )
            .limit(1)
        ).first()
        if row is None:
            return None
        article = dict(row._mapping)
        article["entities"] = _entities(conn, article["id"])
        article["duplicates"] = [
            dict(r._mapping)
            for r in conn.execute(
                select(articles.c.id, articles.c.url, articles.c.similarity)
                .where(articles.c.duplicate_of == article["id"], articles.c.id != article["id"])
                .order_by(articles.c.similarity.desc(), articles.c.id)
            )
        ]
    for key in ("created_at", "updated_at"):
        if article.get(key) is not None:
            article[key] = article[key].isoformat()
    return article


def duplicate_counts(job_id: str | None = None) -> dict[str, int]:
    """Stored duplicates (of one job as :func:`list_articles` lists them, or of all): exact
    ones (similarity 1.0) and near ones."""
    rows = job_articles(job_id).subquery() if job_id else articles
    exact = case((rows.c.similarity >= 1.0, 1), else_=0)
    query = select(func.count(), func.coalesce(func.sum(exact), 0)).where(
        rows.c.duplicate_of.is_not(None)
    )
    with read_scope() as conn:
        total, exact_count = conn.execute(query).one()
    return {"total": int(total), "exact": int(exact_count), "near": int(total - exact_count)}


def language_counts(job_id: str | None = None) -> dict[str, dict[str, int]]:
    """Stored articles that are not duplicates (of one job, or of all), per language
    (``languages``), and those stored without entities, per reason (``entities_skipped``)."""
    query = (
        select(articles.c.language, articles.c.entities_skipped, func.count())
        .where(articles.c.duplicate_of.is_(None))
        .group_by(articles.c.language, articles.c.entities_skipped)
    )
    if job_id:
        query = query.where(articles.c.job_id == job_id)
    languages: dict[str, int] = {}
    skipped: dict[str, int] = {}
    with read_scope() as conn:
        for language, reason, count in conn.execute(query):
            key = language or "unknown"
            languages[key] = languages.get(key, 0) + int(count)
            if reason:
                skipped[reason] = skipped.get(reason, 0) + int(count)
    return {"languages": languages, "entities_skipped": skipped}
