"""Hostile searches: huge and repeated-term queries, FTS syntax in the query, and queries
that run too long, stopped by the store itself (on the PostgreSQL server too, even once
the client was killed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from sqlalchemy import text

from sluice.shared.article import Article
from sluice.shared.db.engine import get_engine, read_scope
from sluice.shared.db.statement_limit import StatementTimeout, statement_limit
from sluice.shared.jobs import ItemSpec, create_job
from sluice.shared.search import (
    QueryTooLarge,
    SearchQuery,
    check_query,
    fts5_query,
    search,
    websearch_query,
)
from sluice.workers.stages.store import store
from tests.support.cluster import run_sluice

FILLER = "The afternoon session covered routine matters and the minutes were approved. " * 4


def _stored(database_url: str, title: str, body: str) -> Article:
    job = uuid.uuid4().hex[:12]
    create_job(job, [ItemSpec("url", None)])
    article = Article(job_id=job, item_id=0, id=uuid.uuid4().hex, title=title, text=body)
    store(article, database_url)
    return article


def test_a_thousand_repeated_words_are_a_usage_error_at_once(database_url: str) -> None:
    env = {**os.environ, "SLUICE_DATABASE_URL": database_url}
    started = time.monotonic()
    words = run_sluice(env, "articles", "search", " ".join(["ferry"] * 1000), "--json")
    chars = run_sluice(env, "articles", "search", "x" * 5000)
    assert time.monotonic() - started < 60  # two CLI starts; the search itself never ran
    assert words.returncode == 2 and '"error": "query_too_large"' in words.stderr
    assert "at most 32" in words.stderr and words.stdout == ""
    assert chars.returncode == 2 and "5,000 characters; at most 1,000" in chars.stderr
    with pytest.raises(QueryTooLarge):
        search(SearchQuery("a " * 33), database_url)


def test_repeated_words_up_to_the_cap_are_looked_for_once(database_url: str) -> None:
    word = "zq" + uuid.uuid4().hex[:8]
    article = _stored(database_url, "Harbour", f"{FILLER} The {word} left port.")
    query = " ".join([word] * 32)
    check_query(query, 32, 1000)  # at the cap: allowed
    assert fts5_query(query) == f'"{word}"' and websearch_query(query) == word
    assert websearch_query('a -b a "c d" -b "c d"') == 'a -b "c d"'
    assert websearch_query("a or b a") == "a or b a"  # "or" binds: a repeat may matter
    assert [h.id for h in search(SearchQuery(query), database_url)] == [article.id]


def test_fts_syntax_in_a_query_is_read_as_words(database_url: str) -> None:
    word = "zq" + uuid.uuid4().hex[:8]
    article = _stored(database_url, "Ferry news", f"{FILLER} The {word} crossed at dawn.")

    def ids(query: str) -> list[str]:
        return [h.id for h in search(SearchQuery(query), database_url)]

    # An unbalanced quote opens no phrase: its words are required one by one.
    assert ids(f'"{word} crossed') == [article.id]
    assert fts5_query(f'"{word} crossed') == f'"{word}" "crossed"'
    # NEAR, a column filter and a prefix star are FTS5 operators: here they are words, so
    # "text:" does not pick a column and "zq…*" does not match by prefix.
    assert fts5_query(f"NEAR({word} dawn, 2)") == f'"NEAR {word}" "dawn" "2"'
    assert ids(f"NEAR({word} dawn)") == []  # "near" is not in the article
    assert fts5_query(f"text:{word}") == f'"text {word}"'
    assert ids(f"title:{word}") == []  # "title" is not a word of it
    assert ids(f"{word[:6]}*") == []
    assert ids(f"{word}* ^dawn") == [article.id]
    assert ids(f"{word}\x00dawn") == [article.id]  # a NUL, which PostgreSQL refuses


def test_a_long_statement_is_stopped_by_the_store(database_url: str) -> None:
    slow = (
        "SELECT pg_sleep(30)"
        if database_url.startswith("postgresql")
        else "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
    )
    started = time.monotonic()
    with (
        pytest.raises(StatementTimeout),
        read_scope(database_url) as conn,
        statement_limit(conn, 0.5),
    ):
        conn.execute(text(slow))
    assert time.monotonic() - started < 10
    with read_scope(database_url) as conn:  # the connection is fine afterwards
        assert conn.execute(text("SELECT 1")).scalar() == 1


_KILLED_CLIENT = textwrap.dedent(
    """
    import sys
    from sqlalchemy import text
    from sluice.shared.db.engine import read_scope
    from sluice.shared.db.statement_limit import statement_limit

    with read_scope(sys.argv[1]) as conn, statement_limit(conn, 120):
        print("running", flush=True)
        conn.execute(text("SELECT pg_sleep(100) /* {mark} */"))
    """
)


def test_a_killed_clients_query_ends_on_the_server(postgresql_url: str) -> None:
    mark = uuid.uuid4().hex
    client = subprocess.Popen(
        [sys.executable, "-c", _KILLED_CLIENT.replace("{mark}", mark), postgresql_url],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert client.stdout is not None and client.stdout.readline() == "running\n"

    def running() -> int:
        with get_engine(postgresql_url).connect() as conn:
            query = (
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE query LIKE :m AND pid <> pg_backend_pid()"
            )
            return int(conn.execute(text(query), {"m": f"%{mark}%"}).scalar_one())

    deadline = time.monotonic() + 30
    while not running():
        assert time.monotonic() < deadline, "the query never started"
        time.sleep(0.05)
    client.send_signal(signal.SIGKILL)
    client.wait()
    killed = time.monotonic()
    while running():
        # Far below both pg_sleep's 100 s and the 120 s bound: the server checks its
        # client every second (client_connection_check_interval).
        assert time.monotonic() - killed < 20, "the query outlived its client"
        time.sleep(0.1)
    print(f"query ended {time.monotonic() - killed:.2f} s after its client was killed")
