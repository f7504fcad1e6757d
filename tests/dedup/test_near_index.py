"""Near duplicates in the shared Redis index: one decision per article, recorded with its
similarity, copies pointing at the original, and an article re-processed is itself."""

from __future__ import annotations

import pytest
import redis

from sluice.shared.article import Article
from sluice.shared.errors import PermanentError
from sluice.shared.fingerprints import NearDupLayout
from sluice.shared.identity import article_id_for_url, normalize_text
from sluice.workers.dedup.index import DedupIndex
from sluice.workers.stages.dedup import dedup
from tests.dedup.texts import article_text, near_copies

LAYOUT = NearDupLayout()


@pytest.fixture
def index(redis_client: redis.Redis) -> DedupIndex:
    return DedupIndex(redis_client, layout=LAYOUT)


def _article(job: str, item: int, url: str, text: str, **extra: object) -> Article:
    return Article(
        job, item, id=article_id_for_url(url), url=url, canonical_url=url, text=text, **extra
    )


def _band_bytes(index: DedupIndex) -> int:
    client = index.client
    # SCAN may return a key twice while Redis rehashes (the fixture has just deleted keys).
    keys = set(client.scan_iter(f"{index.prefix}bands:*"))
    return sum(client.strlen(key) for key in keys)


def test_every_near_copy_is_recorded_against_the_original(index: DedupIndex) -> None:
    text = article_text(1)
    original = dedup(_article("j", 0, "https://a.example/story", text), index)
    assert original.duplicate_of is None
    for n, copy in enumerate(near_copies(text), start=1):
        article = dedup(_article("j", n, f"https://mirror{n}.example/x", copy), index)
        assert article.duplicate_of == original.id, copy[:40]
        if normalize_text(copy) == normalize_text(text):  # only case and spacing differ
            assert article.similarity == 1.0
        else:
            assert LAYOUT.threshold <= article.similarity < 1.0


def test_unrelated_articles_stay_originals(index: DedupIndex) -> None:
    for seed in range(30):
        article = dedup(_article("j", seed, f"https://a.example/{seed}", article_text(seed)), index)
        assert article.duplicate_of is None


def test_exact_copy_has_similarity_one(index: DedupIndex) -> None:
    text = article_text(2)
    original = dedup(_article("j", 0, "https://a.example/1", text), index)
    copy = dedup(_article("j", 1, "https://b.example/1", "  " + text.upper()), index)
    assert (copy.duplicate_of, copy.similarity) == (original.id, 1.0)


def test_a_copy_of_a_copy_points_at_the_original(index: DedupIndex) -> None:
    text = article_text(3)
    original = dedup(_article("j", 0, "https://a.example/1", text), index)
    first, second = near_copies(text)[:2]
    copy = dedup(_article("j", 1, "https://b.example/1", first), index)
    # Closer to the copy than to the original, yet the copy is not in the near index.
    copy_of_copy = dedup(_article("j", 2, "https://c.example/1", first + "\n\nMore."), index)
    assert copy.duplicate_of == copy_of_copy.duplicate_of == original.id
    again = dedup(_article("j2", 0, "https://b.example/1", second), index)
    assert again.duplicate_of == original.id  # a re-submission of the copy's URL


def test_an_article_processed_again_is_itself(index: DedupIndex) -> None:
    text = article_text(4)
    url = "https://a.example/1"
    for _ in range(3):  # redelivered task: the same item
        assert dedup(_article("j", 0, url, text), index).duplicate_of is None
        assert _band_bytes(index) == 16 * LAYOUT.bands  # no second set of band records
    # Re-fetched later with an edited text: still itself, not a near duplicate of itself.
    edited = near_copies(text)[1]
    refetched = dedup(_article("j2", 0, url, edited, refetch=True), index)
    assert refetched.duplicate_of is None
    # ... and a copy at another URL still finds it.
    copy = dedup(_article("j3", 0, "https://b.example/1", near_copies(text)[0]), index)
    assert copy.duplicate_of == article_id_for_url(url)


def test_a_near_copy_processed_again_gets_the_same_answer(index: DedupIndex) -> None:
    text = article_text(5)
    original = dedup(_article("j", 0, "https://a.example/1", text), index)
    answers = {
        (a.duplicate_of, a.similarity)
        for a in (
            dedup(_article("j", 1, "https://b.example/1", near_copies(text)[2]), index)
            for _ in range(3)
        )
    }
    assert len(answers) == 1 and next(iter(answers))[0] == original.id


def test_ids_that_are_not_hex_digests_come_back_intact(index: DedupIndex) -> None:
    text = article_text(6)
    first = Article("j", 0, id="text-j-0", text=text)
    copy = Article("j", 1, id="text-j-1", text=near_copies(text)[0])
    dedup(first, index)
    assert dedup(copy, index).duplicate_of == "text-j-0"


def test_crowded_buckets_still_find_the_right_original(redis_client: redis.Redis) -> None:
    # Two buckets per kind: hundreds of band records share each key.
    index = DedupIndex(redis_client, layout=LAYOUT, bucket_bits=1)
    ids = {}
    for seed in range(150):
        url = f"https://a.example/{seed}"
        ids[seed] = dedup(_article("j", seed, url, article_text(seed)), index).id
    for seed in range(0, 150, 10):
        copy = dedup(
            _article("k", seed, f"https://b.example/{seed}", near_copies(article_text(seed))[4]),
            index,
        )
        assert copy.duplicate_of == ids[seed]


def test_near_detection_can_be_switched_off(redis_client: redis.Redis) -> None:
    index = DedupIndex(redis_client, layout=LAYOUT, near=False)
    text = article_text(7)
    dedup(_article("j", 0, "https://a.example/1", text), index)
    assert (
        dedup(_article("j", 1, "https://b.example/1", near_copies(text)[0]), index).duplicate_of
        is None
    )
    assert dedup(_article("j", 2, "https://c.example/1", text), index).similarity == 1.0


def test_a_worker_with_another_layout_refuses_to_decide(redis_client: redis.Redis) -> None:
    dedup(
        _article("j", 0, "https://a.example/1", article_text(8)),
        DedupIndex(redis_client, layout=LAYOUT),
    )
    other = DedupIndex(redis_client, layout=NearDupLayout(shingle_words=3))
    with pytest.raises(PermanentError) as raised:
        dedup(_article("j", 1, "https://b.example/1", article_text(9)), other)
    assert raised.value.reason == "dedup_layout"
    assert "sluice dedup rebuild --clear" in raised.value.detail
    # Another threshold is the same layout: only decisions change.
    dedup(
        _article("j", 2, "https://c.example/1", article_text(10)),
        DedupIndex(redis_client, layout=NearDupLayout(threshold=0.8)),
    )


def test_clear_removes_every_index_key(redis_client: redis.Redis, index: DedupIndex) -> None:
    redis_client.set("sluice:other-state", "kept")
    for seed in range(5):
        dedup(_article("j", seed, f"https://a.example/{seed}", article_text(seed)), index)
    assert index.clear() > 0
    assert {k.decode() for k in redis_client.scan_iter("sluice:*")} == {"sluice:other-state"}
