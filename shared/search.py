"""Search over stored articles with the store's own full-text index, ranked, with a snippet.

PostgreSQL ranks with ``ts_rank_cd`` over the ``search`` tsvector (GIN) and cuts the
snippet with ``ts_headline``; SQLite ranks with FTS5's ``bm25`` (a title match weighs ten
times a text match) and cuts it with ``snippet``. Both come from migration 0004 and are kept
current as the store stage writes articles. A query is words and ``"quoted phrases"``, all
required (PostgreSQL also takes ``or`` and ``-word``, as ``websearch_to_tsquery`` does).
Entity filters (``LABEL:TEXT``, the text matched without regard to case, the label with
the labels of its kind in other pipelines, :mod:`shared.entity_labels`) use the index on
``entities (label, lower(text))``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from sluice.shared.db.engine import read_scope
from sluice.shared.entity_labels import matching_labels

__all__ = ["HIGHLIGHT", "Hit", "SearchQuery", "fts5_query", "search"]

HIGHLIGHT = ("\ue000", "\ue001")  # around each match in a snippet (private-use characters)
_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Hit:
    """One article found: ``rank`` is higher for better matches on both stores."""

    id: str
    title: str | None
    url: str | None
    site: str | None
    published: str | None
    rank: float
    snippet: str

    def highlights(self) -> list[tuple[int, int]]:
        """``(start, end)`` of each match in the snippet, once the markers are removed."""
        spans, out, start = [], 0, 0
        for char in self.snippet:
            if char == HIGHLIGHT[0]:
                start = out
            elif char == HIGHLIGHT[1]:
                spans.append((start, out))
            else:
                out += 1
        return spans

    @property
    def plain_snippet(self) -> str:
        return self.snippet.replace(HIGHLIGHT[0], "").replace(HIGHLIGHT[1], "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "site": self.site,
            "published": self.published,
            "rank": self.rank,
            "snippet": self.plain_snippet,
            "highlights": self.highlights(),
        }


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What to look for: ``entities`` are ``(label, text)`` pairs, all required."""

    query: str
    entities: tuple[tuple[str, str], ...] = ()
    site: str | None = None
    since: str | None = None
    limit: int = 20
    language: str | None = None  # ISO 639-1: only articles in this language


def fts5_query(query: str) -> str:
    """``query`` as an FTS5 expression that cannot be a syntax error: each word and each
    quoted phrase becomes a quoted string, all of them required."""
    parts = []
    for phrase, word in _TOKEN.findall(query):
        words = _WORD.findall(phrase or word)
        if words:
            parts.append('"' + " ".join(words) + '"')
    return " ".join(parts)


def _filters(q: SearchQuery, params: dict[str, Any]) -> str:
    clauses = []
    if q.site:
        params["site"] = q.site.lower()
        params["site_a"] = f"%://{q.site.lower()}/%"
        params["site_b"] = f"%://www.{q.site.lower()}/%"
        clauses.append(
            "(lower(a.sitename) = :site OR a.canonical_url LIKE :site_a"
            " OR a.canonical_url LIKE :site_b)"
        )
    if q.since:
        params["since"] = q.since
        clauses.append("a.date >= :since")
    if q.language:
        params["language"] = q.language.lower()
        clauses.append("a.language = :language")
    for n, (label, value) in enumerate(q.entities):
        params[f"entity{n}"] = value.lower()
        names = []
        for m, same in enumerate(matching_labels(label)):
            params[f"label{n}_{m}"] = same
            names.append(f":label{n}_{m}")
        clauses.append(
            f"a.id IN (SELECT article_id FROM entities WHERE label IN ({', '.join(names)})"
            f" AND lower(text) = :entity{n})"
        )
    return "".join(f" AND {clause}" for clause in clauses)


def _sqlite(conn: Connection, q: SearchQuery) -> list[Hit]:
    expression = fts5_query(q.query)
    if not expression:
        return []
    params: dict[str, Any] = {"q": expression, "n": q.limit, "a": HIGHLIGHT[0], "b": HIGHLIGHT[1]}
    sql = (
        "SELECT a.id, a.title, a.url, a.sitename, a.date,"
        " -bm25(articles_fts, 10.0, 1.0) AS rank,"
        " snippet(articles_fts, 1, :a, :b, '…', 24) AS snippet"
        " FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid"
        " WHERE articles_fts MATCH :q" + _filters(q, params) + " ORDER BY rank DESC LIMIT :n"
    )
    return [Hit(*row) for row in conn.execute(text(sql), params)]


def _postgresql(conn: Connection, q: SearchQuery) -> list[Hit]:
    params: dict[str, Any] = {"q": q.query, "n": q.limit}
    params["options"] = (
        f"StartSel={HIGHLIGHT[0]}, StopSel={HIGHLIGHT[1]}, MaxWords=30, MinWords=12, "
        "MaxFragments=1, FragmentDelimiter=…"
    )
    # Ranked and cut to the limit first: the headline is made for those rows only.
    sql = (
        "WITH q AS (SELECT websearch_to_tsquery('simple', :q) AS query),"
        " top AS (SELECT a.id, ts_rank_cd(a.search, q.query) AS rank FROM articles a, q"
        " WHERE a.search @@ q.query" + _filters(q, params) + " ORDER BY rank DESC LIMIT :n)"
        " SELECT a.id, a.title, a.url, a.sitename, a.date, top.rank,"
        " ts_headline('simple', left(a.text, 200000), q.query, :options) AS snippet"
        " FROM top JOIN articles a ON a.id = top.id, q ORDER BY top.rank DESC, a.id"
    )
    return [Hit(*row) for row in conn.execute(text(sql), params)]


def search(q: SearchQuery, database_url: str | None = None) -> list[Hit]:
    """The best ``q.limit`` articles for ``q``, best first."""
    with read_scope(database_url) as conn:
        if conn.dialect.name == "postgresql":
            return _postgresql(conn, q)
        return _sqlite(conn, q)
