"""``rebuild_index``: the store is the source of truth, so a lost Redis loses no dedup history,
and an article processed again after a rebuild is still itself."""

from __future__ import annotations

import uuid

import pytest
import redis

from sluice.shared.article import Article
from sluice.shared.fingerprints import NearDupLayout
from sluice.shared.identity import article_id_for_url
from sluice.shared.jobs import ItemSpec, create_job, new_job_id
from sluice.workers.dedup.index import DedupIndex
from sluice.workers.dedup.rebuild import rebuild_index
from sluice.workers.stages.dedup import dedup
from sluice.workers.stages.store import store
from tests.dedup.texts import article_text, near_copies


@pytest.fixture
def index(redis_client: redis.Redis, database_url: str) -> DedupIndex:
    return DedupIndex(redis_client)


@pytest.fixture
def seed() -> int:
    """Texts of this test only: the store is shared by the session's tests."""
    return uuid.uuid4().int % 10**12


def _article(job: str, item: int, url: str, text: str, **extra: object) -> Article:
    return Article(
        job, item, id=article_id_for_url(url), url=url, canonical_url=url, text=text, **extra
    )


def _ingest(index: DedupIndex, pages: list[tuple[str, str]]) -> list[Article]:
    """Submit ``pages`` (url, text) as one job and run them through dedup and store."""
    job = new_job_id()
    create_job(job, [ItemSpec("url", url) for url, _ in pages])
    done = []
    for item, (url, text) in enumerate(pages):
        article = dedup(_article(job, item, url, text), index)
        store(article)
        done.append(article)
    return done


def _lose_redis(client: redis.Redis) -> None:
    for key in client.scan_iter("sluice:*"):
        client.delete(key)


def _pages(seed: int) -> list[tuple[str, str]]:
    text = article_text(seed)
    site = f"https://s{seed}.example"
    return [
        (f"{site}/story", text),
        (f"{site}/wire/story", near_copies(text)[0]),
        (f"{site}/copy/story", text),
        (f"{site}/other", article_text(seed + 1)),
    ]


def test_rebuild_restores_exact_and_near_history(
    index: DedupIndex, redis_client: redis.Redis, database_url: str, seed: int
) -> None:
    pages = _pages(seed)
    original, near, exact, other = _ingest(index, pages)
    assert (near.duplicate_of, exact.duplicate_of, other.duplicate_of) == (
        original.id,
        original.id,
        None,
    )
    assert near.similarity < 1.0 and exact.similarity == 1.0

    _lose_redis(redis_client)
    report = rebuild_index(index, database_url)
    assert report.originals >= 2 and report.duplicates >= 2
    assert report.claims_restored >= 4

    # Every URL submitted again is a duplicate of the stored original (not a new article).
    job = new_job_id()
    for item, (url, text) in enumerate(pages):
        again = dedup(_article(job, item, url, text), index)
        assert again.duplicate_of == (other.id if url.endswith("/other") else original.id)
    # New copies at new URLs find the stored original through the rebuilt indexes.
    text = pages[0][1]
    fresh = dedup(_article(job, 10, f"https://new{seed}.example/a", near_copies(text)[1]), index)
    assert fresh.duplicate_of == original.id and 0.6 <= fresh.similarity < 1.0
    copy = dedup(_article(job, 11, f"https://new{seed}.example/b", text), index)
    assert (copy.duplicate_of, copy.similarity) == (original.id, 1.0)


def test_reprocessed_original_is_itself_after_a_rebuild(
    index: DedupIndex, redis_client: redis.Redis, database_url: str, seed: int
) -> None:
    original, *_ = _ingest(index, _pages(seed))
    _lose_redis(redis_client)
    rebuild_index(index, database_url)

    url, text = original.url or "", original.text
    # The item that stored it, redelivered: recognised as the owner.
    assert dedup(_article(original.job_id, 0, url, text), index).duplicate_of is None
    # Re-fetched by a new job, text lightly changed: itself, not a duplicate of itself.
    refetched = dedup(_article(new_job_id(), 0, url, near_copies(text)[1], refetch=True), index)
    assert refetched.duplicate_of is None and refetched.id == original.id


def test_without_a_rebuild_the_history_is_lost(
    index: DedupIndex, redis_client: redis.Redis, seed: int
) -> None:
    # The counterpart of the tests above: it is the rebuild that brings the history back.
    text = _pages(seed)[0][1]
    _ingest(index, _pages(seed))
    _lose_redis(redis_client)
    copy = dedup(_article("j", 0, f"https://new{seed}.example/a", near_copies(text)[1]), index)
    assert copy.duplicate_of is None


def test_rebuild_is_idempotent_and_never_overwrites_a_live_claim(
    index: DedupIndex, redis_client: redis.Redis, database_url: str, seed: int
) -> None:
    original, *_ = _ingest(index, _pages(seed))
    _lose_redis(redis_client)
    # A re-fetch of the original is in flight when the rebuild runs.
    assert index.claim(original.url or "", "live:0", original.id, takeover=True).is_original
    first = rebuild_index(index, database_url)
    second = rebuild_index(index, database_url)
    assert second.claims_restored == 0
    assert second.claims_kept == first.claims_restored + first.claims_kept
    assert second.originals == first.originals
    assert index.claim(original.url or "", "live:0", original.id).is_original  # still its own


def test_rebuild_with_clear_moves_the_index_to_a_new_layout(
    redis_client: redis.Redis, database_url: str, seed: int
) -> None:
    original, *_ = _ingest(DedupIndex(redis_client), _pages(seed))
    other = DedupIndex(redis_client, layout=NearDupLayout(shingle_words=3, bands=12, rows=4))
    report = rebuild_index(other, database_url, clear=True)
    assert report.cleared_keys > 0
    text = original.text
    copy = dedup(_article("j", 0, f"https://new{seed}.example/a", near_copies(text)[0]), other)
    assert copy.duplicate_of == original.id
