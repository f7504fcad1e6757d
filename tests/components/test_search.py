"""Search over what the store stage stored, on SQLite (FTS5) and PostgreSQL (tsvector)."""

from __future__ import annotations

import json
import os
import uuid

from sluice.shared.article import Article, Entity
from sluice.shared.jobs import ItemSpec, create_job
from sluice.shared.search import SearchQuery, fts5_query, search
from sluice.workers.stages.store import store
from tests.support.cluster import run_sluice

FILLER = "The afternoon session covered routine matters and the minutes were approved. " * 8


def _store(database_url: str, word: str, title: str, body: str, **fields: object) -> Article:
    job = uuid.uuid4().hex[:12]
    create_job(job, [ItemSpec("url", None)])
    article = Article(job_id=job, item_id=0, id=uuid.uuid4().hex, title=title, text=body)
    for name, value in fields.items():
        setattr(article, name, value)
    store(article, database_url)
    return article


def test_results_are_ranked_with_a_snippet_and_follow_updates(database_url: str) -> None:
    word = "zq" + uuid.uuid4().hex[:8]  # a word no other test stored
    in_title = _store(database_url, word, f"The {word} report", f"{FILLER} The {word} grew.")
    in_text = _store(database_url, word, "Council news", f"{FILLER} One mention of {word} here.")
    _store(database_url, word, "Other news", FILLER)

    hits = search(SearchQuery(word), database_url)
    assert [h.id for h in hits] == [in_title.id, in_text.id]
    assert hits[0].rank > hits[1].rank
    (start, end), *_ = hits[1].highlights()
    assert hits[1].plain_snippet[start:end] == word
    assert "One mention of" in hits[1].plain_snippet

    # The store stage rewrites the article: the index follows, old words gone.
    in_text.text = f"{FILLER} Rewritten without the word."
    store(in_text, database_url)
    assert [h.id for h in search(SearchQuery(word), database_url)] == [in_title.id]
    assert [h.id for h in search(SearchQuery(f'"rewritten without" {word}'), database_url)] == []


def test_entity_site_and_date_filters(database_url: str) -> None:
    word = "zq" + uuid.uuid4().hex[:8]
    body = f"Telegram said {word} on Monday. {FILLER}"
    tagged = _store(
        database_url,
        word,
        "A",
        body,
        entities=[Entity("Telegram", "ORG", 0, 8)],
        sitename="Euro Canals News",
        canonical_url="https://eurocanals.test/a",
        date="2026-11-20",
    )
    _store(database_url, word, "B", body, sitename="Lowland Ledger", date="2026-10-01")

    def ids(**options: object) -> list[str]:
        return [h.id for h in search(SearchQuery(word, **options), database_url)]  # type: ignore[arg-type]

    assert len(ids()) == 2
    assert ids(entities=(("org", "telegram"),)) == [tagged.id]
    assert ids(entities=(("PERSON", "Telegram"),)) == []
    assert ids(site="eurocanals.test") == ids(site="euro canals news") == [tagged.id]
    assert ids(since="2026-11-01") == [tagged.id]


def test_hostile_queries_are_no_syntax_errors(database_url: str) -> None:
    assert fts5_query('AND "a b" NOT "unclosed (x* don\'t') == (
        '"AND" "a b" "NOT" "unclosed" "x" "don t"'
    )
    for query in ('"', "AND", "(", "-", "*", "NEAR(a b)", "a:b", "'; DROP TABLE articles"):
        search(SearchQuery(query), database_url)  # no exception


def test_sluice_articles_search_json(database_url: str) -> None:
    word = "zq" + uuid.uuid4().hex[:8]
    article = _store(
        database_url,
        word,
        "Title",
        f"{FILLER} About {word}.",
        entities=[Entity("Title", "ORG", 0, 5)],
    )
    env = {**os.environ, "SLUICE_DATABASE_URL": database_url}
    result = run_sluice(env, "articles", "search", word, "--entity", "ORG:Title", "--json")
    assert result.returncode == 0, result.stderr
    (hit,) = json.loads(result.stdout)
    assert hit["id"] == article.id and word in hit["snippet"] and hit["highlights"]
    shown = run_sluice(env, "articles", "search", word)
    assert shown.returncode == 0 and article.id[:8] in shown.stdout
    bad = run_sluice(env, "articles", "search", word, "--entity", "Title")
    assert bad.returncode == 2
