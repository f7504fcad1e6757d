"""Search over stored articles with the store's own full-text index, ranked, with a snippet.

PostgreSQL ranks with ``ts_rank_cd`` over the ``search`` tsvector (GIN) and cuts the
snippet with ``ts_headline``; SQLite ranks with FTS5's ``bm25`` (a title match weighs ten
times a text match) and cuts it with ``snippet``. Both come from migration 0004 and are kept
current as the store stage writes articles. A query is words and ``"quoted phrases"``, all
required (PostgreSQL also takes ``or`` and ``-word``, as ``websearch_to_tsquery`` does).
Entity filters (``LABEL:TEXT``, the text matched without regard to case, the label with
the labels of its kind in other pipelines, :mod:`shared.entity_labels`) use the index on
``entities (label, lower(text))``.

A query cannot hurt the store: it may hold at most ``SLUICE_SEARCH_MAX_TERMS`` words and
``SLUICE_SEARCH_MAX_CHARS`` characters (:class:`QueryTooLarge` beyond), a word repeated is
looked for once, and the search runs under ``SLUICE_SEARCH_TIMEOUT``
(:mod:`shared.db.statement_limit`), on the server for PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from sluice.shared.db.engine import read_scope
from sluice.shared.db.statement_limit import StatementTimeout, statement_limit
from sluice.shared.entity_labels import matching_labels

__all__ = [
    "HIGHLIGHT",
    "Hit",
    "QueryTooLarge",
    "SearchQuery",
    "StatementTimeout",
    "check_query",
    "fts5_query",
    "search",
    "websearch_query",
]

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


class QueryTooLarge(ValueError):
    """A query with more words or characters than the settings allow."""


def check_query(query: str, max_terms: int, max_chars: int) -> None:
    """Raise :class:`QueryTooLarge` if ``query`` is longer than ``max_chars`` characters or
    holds more than ``max_terms`` words (repeated ones counted each time; 0: no bound)."""
    terms = len(_WORD.findall(query[: 100 * max_chars] if max_chars else query))
    if max_terms and terms > max_terms:
        raise QueryTooLarge(f"the query has {terms:,} words; at most {max_terms:,}")
    if max_chars and len(query) > max_chars:
        raise QueryTooLarge(f"the query has {len(query):,} characters; at most {max_chars:,}")


def fts5_query(query: str) -> str:
    """``query`` as an FTS5 expression that cannot be a syntax error: each word and each
    quoted phrase becomes a quoted string, all of them required, each once. FTS5's own
    syntax (``NEAR``, ``col:``, ``*``, ``^``, ``AND``/``OR``/``NOT``) is read as words, and a
    NUL character separates them like a space."""
    parts: dict[str, None] = {}
    for phrase, word in _TOKEN.findall(query.replace("\x00", " ")):
        words = _WORD.findall(phrase or word)
        if words:
            parts['"' + " ".join(words) + '"'] = None
    return " ".join(parts)


def websearch_query(query: str) -> str:
    """``query`` for ``websearch_to_tsquery`` with each repeated word or phrase once (a
    query of one word 32 times costs PostgreSQL's ranking 32 times). Left as it is when it
    holds ``or``, where a repeat can change the meaning. A NUL character, which no
    PostgreSQL string may hold, separates words like a space."""
    query = query.replace("\x00", " ")
    tokens = [match.group() for match in _TOKEN.finditer(query)]
    if any(token.lower() == "or" for token in tokens):
        return query
    return " ".join(dict.fromkeys(tokens))


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
    params: dict[str, Any] = {"q": websearch_query(q.query), "n": q.limit}
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


def search(
    q: SearchQuery, database_url: str | None = None, *, timeout: float | None = None
) -> list[Hit]:
    """The best ``q.limit`` articles for ``q``, best first.

    Raises :class:`QueryTooLarge` for a query over the settings' bounds, and
    :class:`StatementTimeout` if it ran longer than ``timeout`` seconds (default:
    ``SLUICE_SEARCH_TIMEOUT``; 0: no bound).
    """
    from sluice.shared.settings import get_settings

    settings = get_settings()
    check_query(q.query, settings.search_max_terms, settings.search_max_chars)
    seconds = settings.search_timeout if timeout is None else timeout
    with read_scope(database_url) as conn, statement_limit(conn, seconds):
        if conn.dialect.name == "postgresql":
            return _postgresql(conn, q)
        return _sqlite(conn, q)
