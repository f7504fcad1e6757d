"""workers.stages.dedup against a real Redis: verdicts, idempotence, and a race."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier

import pytest
import redis

from sluice.shared.article import Article
from sluice.shared.identity import article_id_for_url, text_fingerprint
from sluice.workers.dedup.index import DedupIndex
from sluice.workers.dedup.keys import claimed_identities, identity_of
from sluice.workers.stages.dedup import dedup
from tests.support.racing import race

TEXT = "The harbour master said the quay would reopen on Monday.\n\nEngineers checked it."
SAME_TEXT_RESPACED = (
    "the HARBOUR master said  the quay would reopen on monday. engineers checked it.  "
)
OTHER_TEXT = "Fishing boats that sheltered upriver began to return on Sunday."


@pytest.fixture
def index(redis_client: redis.Redis) -> DedupIndex:
    return DedupIndex(redis_client)


def _article(job: str, item: int, url: str | None, text: str = TEXT, **extra: object) -> Article:
    canonical = url
    article_id = article_id_for_url(url) if url else f"text-{job}-{item}"
    return Article(job, item, id=article_id, url=url, canonical_url=canonical, text=text, **extra)


def test_first_article_is_original(index: DedupIndex) -> None:
    article = dedup(_article("j1", 0, "https://a.example/1"), index)
    assert article.duplicate_of is None
    assert article.similarity is None
    assert not article.is_duplicate


def test_same_text_at_another_url_is_a_duplicate(index: DedupIndex) -> None:
    first = dedup(_article("j1", 0, "https://a.example/1"), index)
    copy = dedup(_article("j1", 1, "https://b.example/wire/1", SAME_TEXT_RESPACED), index)
    assert copy.duplicate_of == first.id
    assert copy.similarity == 1.0


def test_different_text_is_another_original(index: DedupIndex) -> None:
    dedup(_article("j1", 0, "https://a.example/1"), index)
    other = dedup(_article("j1", 1, "https://a.example/2", OTHER_TEXT), index)
    assert other.duplicate_of is None


def test_resubmitted_page_is_claimed_by_its_owner(index: DedupIndex) -> None:
    url = "https://a.example/1"
    owner = _article("j1", 0, url)
    assert index.decide(url, text_fingerprint(TEXT), owner.item_key, owner.id).is_original
    again = _article("j2", 0, url)
    decision = index.decide(url, text_fingerprint(TEXT), again.item_key, again.id)
    assert (decision.verdict, decision.article_id) == ("claimed", owner.id)
    assert not decision.is_original
    assert dedup(again, index).duplicate_of == owner.id


def test_claim_without_text(index: DedupIndex) -> None:
    url = "https://a.example/1"
    first = index.claim(url, "j1:0", "id-1")
    second = index.claim(url, "j2:0", "id-2")
    assert (first.verdict, first.article_id) == ("original", "id-1")
    assert (second.verdict, second.article_id) == ("claimed", "id-1")
    assert index.claim(url, "j1:0", "id-1").is_original  # the owner again


def test_resubmitting_a_duplicate_points_at_the_original(index: DedupIndex) -> None:
    first = dedup(_article("j1", 0, "https://a.example/1"), index)
    copy = dedup(_article("j1", 1, "https://b.example/1"), index)
    assert copy.duplicate_of == first.id
    again = dedup(_article("j2", 0, "https://b.example/1"), index)
    assert again.duplicate_of == first.id  # not the copy's own id


def test_the_owner_running_again_is_still_original(index: DedupIndex) -> None:
    # A redelivered task must get the same answer as the first run.
    for _ in range(3):
        article = dedup(_article("j1", 0, "https://a.example/1"), index)
        assert article.duplicate_of is None
    copy_id = article_id_for_url("https://b.example/1")
    for _ in range(3):
        copy = dedup(_article("j1", 1, "https://b.example/1"), index)
        assert copy.duplicate_of == article.id
        assert copy.id == copy_id


def test_refetch_takes_over_the_claim(index: DedupIndex) -> None:
    url = "https://a.example/1"
    first = dedup(_article("j1", 0, url), index)
    refetched = dedup(_article("j2", 0, url, TEXT + " Updated at noon.", refetch=True), index)
    assert refetched.duplicate_of is None
    assert refetched.id == first.id
    # The new owner is j2:0: the old item is now a re-submission like any other.
    later = dedup(_article("j1", 0, url), index)
    assert later.duplicate_of == first.id
    assert index.claim(url, "j2:0", first.id).is_original


def test_refetch_of_unchanged_text_is_original(index: DedupIndex) -> None:
    url = "https://a.example/1"
    dedup(_article("j1", 0, url), index)
    assert dedup(_article("j2", 0, url, refetch=True), index).duplicate_of is None


def test_release_frees_the_claim_for_the_next_submission(index: DedupIndex) -> None:
    url = "https://a.example/1"
    assert index.claim(url, "j1:0", "id-1").is_original
    index.release(url, "j2:0")  # not the owner: no effect
    assert index.claim(url, "j3:0", "id-3").verdict == "claimed"
    index.release(url, "j1:0")
    assert index.claim(url, "j3:0", "id-3").is_original


def test_release_matches_whole_item_keys(index: DedupIndex) -> None:
    url = "https://a.example/1"
    index.claim(url, "j1:10", "id-10")
    index.release(url, "j1:1")  # a prefix of the owner's key, but another item
    decision = index.claim(url, "j1:1", "id-1")
    assert (decision.verdict, decision.article_id) == ("claimed", "id-10")


def test_urlless_texts_are_deduplicated_by_text(index: DedupIndex) -> None:
    first = dedup(_article("j1", 0, None), index)
    assert identity_of(first) == "text:" + text_fingerprint(TEXT)
    again = dedup(_article("j2", 0, None, SAME_TEXT_RESPACED), index)
    assert again.duplicate_of == first.id


def test_claimed_identities() -> None:
    redirected = Article(
        "j", 0, url="https://A.example/1?utm_source=x", canonical_url="https://b.example/final"
    )
    assert claimed_identities(redirected) == {"https://a.example/1", "https://b.example/final"}
    assert claimed_identities(Article("j", 0, url="not a url")) == set()
    assert claimed_identities(Article("j", 0, text=TEXT)) == {"text:" + text_fingerprint(TEXT)}
    assert Article("abc", 7).item_key == "abc:7"


# --- a race between processes ----------------------------------------------------------------

RACERS = 8
ROUNDS = 25


def _round_text(round_: int) -> str:
    """A text of its own for each round: no word in common with any other round's."""
    return " ".join(f"r{round_}w{word}" for word in range(80))


def _race(
    url: str, racer: int, same_url: bool, barrier: Barrier, results: multiprocessing.Queue
) -> None:
    """One worker process: its own client, deciding each round at the same moment as the rest."""
    client = redis.Redis.from_url(url)
    index = DedupIndex(client)
    for round_ in range(ROUNDS):
        page = f"https://site{0 if same_url else racer}.example/{round_}"
        text = _round_text(round_)
        text = text.upper() if racer % 2 else text.replace(" ", "  \n")
        article = Article(
            "race", racer, id=article_id_for_url(page) + f"-{racer}", canonical_url=page, text=text
        )
        barrier.wait(timeout=120)
        dedup(article, index)
        results.put((round_, racer, article.id, article.duplicate_of))
    client.close()


@pytest.mark.parametrize("same_url", [False, True], ids=["same-text", "same-url"])
def test_racing_processes_produce_exactly_one_original(
    redis_client: redis.Redis, redis_url: str, same_url: bool
) -> None:
    racers = [(redis_url, racer, same_url) for racer in range(RACERS)]
    outcomes = race(_race, racers, RACERS * ROUNDS)

    for round_ in range(ROUNDS):
        decided = [(aid, dup) for r, _, aid, dup in outcomes if r == round_]
        originals = [aid for aid, dup in decided if dup is None]
        assert len(decided) == RACERS
        assert len(originals) == 1, f"round {round_}: {decided}"
        assert all(dup == originals[0] for aid, dup in decided if dup is not None)
