"""Stored articles as rows of a stable, versioned schema, read in pages of constant size.

Schema ``sluice-article/2`` (every row carries it in ``schema``). Its fields keep their
names and meanings for as long as the version stays; a change to either makes version 2:

==================  ======================================================================
``schema``          ``"sluice-article/2"``
``id``              the article's stable id (from its canonical URL, else its text)
``url``             the URL it was submitted or archived under (may be null)
``canonical_url``   that URL canonicalized (may be null)
``title``           the headline, without the site's name (may be null)
``author``          people's names, ``"; "`` between them (may be null)
``published``       publication date, ISO 8601: ``YYYY-MM-DD``, or with the time and the
                    offset the page gives (``2026-02-03T23:30:00-05:00``); its first ten
                    characters are the page's own calendar day (may be null)
``site``            the site's name as extracted (may be null)
``language``        declared (by the page) or else detected language, ISO 639-1
``description``     the page's description (may be null)
``text``            the main text
``job``             the job that stored it last
``duplicate_of``    the original's id when this is a duplicate, else null
``similarity``      similarity to that original (1.0: exact), else null
``stored_at``       when it was first stored, ISO 8601 UTC
``entities``        with ``--entities``: a list of ``{text, label, start, end}`` (character
                    offsets into ``text``); without it the field is absent
==================  ======================================================================

Rows come in ``id`` order, read by keyset (``id > last``) in pages of :data:`PAGE_SIZE`, so
memory does not grow with the number of rows and the export needs no long transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select

from sluice.shared.article import DESCRIPTION_FIELDS
from sluice.shared.db.engine import read_scope
from sluice.shared.db.schema import articles, entities, items
from sluice.shared.export_names import SCHEMA
from sluice.shared.states import State

__all__ = ["FIELDS", "PAGE_SIZE", "SCHEMA", "ExportFilter", "export_rows"]

# The stored fields exported, in order: an article's own description between its id and text.
_EXPORTED = ("id", *DESCRIPTION_FIELDS, "text", "job_id", "duplicate_of", "similarity")
# Where the schema's name for a field is not the article's.
_SCHEMA_NAMES = {"date": "published", "sitename": "site", "job_id": "job"}
FIELDS = ("schema", *(_SCHEMA_NAMES.get(name, name) for name in _EXPORTED), "stored_at")
PAGE_SIZE = 1000

_COLUMNS = (*(articles.c[name] for name in _EXPORTED), articles.c.created_at)


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Which articles: ``duplicates`` is ``include``, ``exclude`` or ``only``; ``since`` and
    ``until`` bound the publication date (``YYYY-MM-DD``, inclusive: the page's own calendar
    day, whatever the offset)."""

    job: str | None = None
    since: str | None = None
    until: str | None = None
    language: str | None = None
    site: str | None = None
    duplicates: str = "include"

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.job:
            # The articles the job's own items reached, as `sluice articles list --job`.
            reached = select(items.c.article_id).where(
                items.c.job_id == self.job,
                items.c.state.in_([State.STORED.value, State.DUPLICATE.value]),
            )
            query = query.where(articles.c.id.in_(reached))
        if self.since:
            query = query.where(articles.c.date >= self.since)
        if self.until:
            # A date with a time after it ("2026-01-31T10:00") still belongs to that day.
            query = query.where(articles.c.date < self.until + "~")
        if self.language:
            query = query.where(func.lower(articles.c.language) == self.language.lower())
        if self.site:
            site = self.site.lower()
            query = query.where(
                or_(
                    func.lower(articles.c.sitename) == site,
                    articles.c.canonical_url.like(f"%://{site}/%"),
                    articles.c.canonical_url.like(f"%://www.{site}/%"),
                )
            )
        if self.duplicates == "exclude":
            query = query.where(articles.c.duplicate_of.is_(None))
        elif self.duplicates == "only":
            query = query.where(articles.c.duplicate_of.is_not(None))
        return query


def _row(values: Any) -> dict[str, Any]:
    stored = values.created_at
    row: dict[str, Any] = {"schema": SCHEMA}
    row.update((_SCHEMA_NAMES.get(name, name), getattr(values, name)) for name in _EXPORTED)
    row["stored_at"] = stored.isoformat() if stored is not None else None
    return row


def _entities(conn: Any, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    rows = conn.execute(
        select(
            entities.c.article_id,
            entities.c.text,
            entities.c.label,
            entities.c.start_char,
            entities.c.end_char,
        )
        .where(entities.c.article_id.in_(ids))
        .order_by(entities.c.article_id, entities.c.start_char, entities.c.end_char)
    )
    for article_id, text, label, start, end in rows:
        found[article_id].append({"text": text, "label": label, "start": start, "end": end})
    return found


def export_pages(
    where: ExportFilter, *, with_entities: bool = False, page_size: int = PAGE_SIZE
) -> Iterator[list[dict[str, Any]]]:
    """The matching articles as schema rows, a page (list) at a time, in ``id`` order."""
    last: str | None = None
    while True:
        query = where.apply(select(*_COLUMNS)).order_by(articles.c.id).limit(page_size)
        if last is not None:
            query = query.where(articles.c.id > last)
        with read_scope() as conn:
            page = [_row(values) for values in conn.execute(query)]
            if with_entities and page:
                found = _entities(conn, [row["id"] for row in page])
                for row in page:
                    row["entities"] = found[row["id"]]
        if not page:
            return
        yield page
        if len(page) < page_size:
            return
        last = page[-1]["id"]


def export_rows(where: ExportFilter, *, with_entities: bool = False) -> Iterator[dict[str, Any]]:
    """The matching articles as schema rows, one at a time."""
    for page in export_pages(where, with_entities=with_entities):
        yield from page
