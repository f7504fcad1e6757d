"""Ten processes decide at the same moment on ten variants of one article: exactly one
becomes the original and the nine others point at it, round after round."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier

import redis

from sluice.shared.article import Article
from sluice.shared.identity import article_id_for_url
from sluice.workers.dedup.index import DedupIndex
from sluice.workers.stages.dedup import dedup
from tests.dedup.texts import article_text, light_variants
from tests.support.racing import race

RACERS = 10
ROUNDS = 20


def _variant(round_: int, racer: int) -> str:
    text = article_text(round_)
    return text if racer == 0 else light_variants(text)[racer - 1]


def _race(url: str, racer: int, barrier: Barrier, results: multiprocessing.Queue) -> None:
    """One worker process with its own client; every round starts at the same moment."""
    client = redis.Redis.from_url(url)
    index = DedupIndex(client)
    for round_ in range(ROUNDS):
        page = f"https://site{racer}.example/round{round_}.html"
        article = Article(
            "race",
            round_ * RACERS + racer,
            id=article_id_for_url(page),
            url=page,
            canonical_url=page,
            text=_variant(round_, racer),
        )
        barrier.wait(timeout=120)
        dedup(article, index)
        results.put((round_, article.id, article.duplicate_of, article.similarity))
    client.close()


def test_racing_processes_on_variants_make_exactly_one_original(
    redis_client: redis.Redis, redis_url: str
) -> None:
    assert len(light_variants(article_text(0))) >= RACERS - 1
    outcomes = race(_race, [(redis_url, racer) for racer in range(RACERS)], RACERS * ROUNDS)

    winners = set()
    for round_ in range(ROUNDS):
        decided = [(aid, dup, sim) for r, aid, dup, sim in outcomes if r == round_]
        assert len(decided) == RACERS
        originals = [aid for aid, dup, _ in decided if dup is None]
        assert len(originals) == 1, f"round {round_}: {decided}"
        for aid, dup, similarity in decided:
            if aid != originals[0]:
                assert dup == originals[0], f"round {round_}: {decided}"
                assert 0.6 <= similarity <= 1.0
        winners.add(originals[0])
    assert len(winners) == ROUNDS  # every round's article is its own story
