"""Near duplicates through real ``sluice worker`` processes: one original per story, copies
recorded with their similarity and untagged, shown by ``sluice articles show`` and counted by
``sluice status``; and after Redis is lost, ``sluice dedup rebuild`` brings the history back."""

from __future__ import annotations

import json
import uuid

import pytest
import redis

from tests.dedup.pages import page
from tests.dedup.texts import article_text, light_variants
from tests.integration.conftest import Store
from tests.support.cluster import Cluster
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration


def _submit(workers: Cluster, *args: str) -> tuple[str, dict]:
    result = workers.sluice("submit", *args, "--wait", "--timeout", "120")
    assert result.returncode == 0, result.stdout + result.stderr + workers.logs()
    job_id = result.stdout.split()[0]
    status = json.loads(workers.sluice("status", job_id, "--json").stdout)
    return job_id, status


def _serve(web: WebServer, prefix: str, name: str, body: bytes) -> str:
    return web.route(f"{prefix}/{name}.html", Response(body=body))


@pytest.fixture
def story() -> tuple[str, str]:
    """A text of this test only (the store is shared by the session), and a URL prefix."""
    seed = uuid.uuid4().int % 10**12
    return article_text(seed), f"/{uuid.uuid4().hex[:8]}"


def test_variants_on_many_sites_become_one_original_and_its_duplicates(
    workers: Cluster, store: Store, web: WebServer, story: tuple[str, str]
) -> None:
    text, prefix = story
    texts = [text, *light_variants(text)[:7]]
    urls = [
        _serve(web, prefix, f"site{n}", page(t, ("ledger", "wire")[n % 2], f"Story, take {n}"))
        for n, t in enumerate(texts)
    ]
    job_id, status = _submit(workers, *urls)

    assert status["states"] == {"stored": 1, "duplicate": 7}
    assert status["duplicates"]["total"] == 7
    assert status["duplicates"]["near"] >= 5  # the others differ only in case or spacing
    items = store.items(job_id)
    (original,) = [i for i in items if i["state"] == "stored"]
    for item in items:
        if item["state"] == "duplicate":
            copy = store.article(item["article_id"])
            assert copy["duplicate_of"] == item["duplicate_of"] == original["article_id"]
            assert 0.6 <= copy["similarity"] <= 1.0
            assert store.entities(copy["id"]) == []  # duplicates skip tagging

    shown = json.loads(workers.sluice("articles", "show", original["article_id"], "--json").stdout)
    assert len(shown["duplicates"]) == 7
    assert all(0.6 <= d["similarity"] <= 1.0 for d in shown["duplicates"])
    table = workers.sluice("articles", "show", original["article_id"]).stdout
    assert "duplicates (7)" in table
    assert "exact, " in workers.sluice("status", job_id).stdout  # duplicates: exact, near


def test_rebuild_after_losing_redis_keeps_every_decision(
    workers: Cluster, store: Store, web: WebServer, story: tuple[str, str]
) -> None:
    text, prefix = story
    variants = light_variants(text)
    first = _serve(web, prefix, "first", page(text, "ledger"))
    copy = _serve(web, prefix, "copy", page(variants[0], "wire"))
    job_id, status = _submit(workers, first, copy)
    assert status["states"] == {"stored": 1, "duplicate": 1}
    # Both are fetched at once, so either page may reach dedup first and be the original.
    (original,) = [i for i in store.items(job_id) if i["state"] == "stored"]
    original_id, original_url = original["article_id"], original["source"]

    client = redis.Redis.from_url(workers.redis_url)
    for key in client.scan_iter("sluice:*"):
        client.delete(key)
    client.close()
    rebuilt = workers.sluice("dedup", "rebuild", "--json")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["originals"] >= 1

    # Both pages again, and a new copy elsewhere: all recorded against the stored original.
    later = _serve(web, prefix, "later", page(variants[1], "ledger"))
    job_id, status = _submit(workers, first, copy, later)
    assert status["states"] == {"duplicate": 3}
    assert {i["duplicate_of"] for i in store.items(job_id)} == {original_id}
    late_copy = store.article(store.items(job_id)[2]["article_id"])
    assert late_copy["duplicate_of"] == original_id and late_copy["similarity"] < 1.0

    # Re-fetching the original processes it again as itself, not as a duplicate of itself.
    job_id, status = _submit(workers, "--refetch", original_url)
    assert status["states"] == {"stored": 1}
    assert store.article(original_id)["duplicate_of"] is None
