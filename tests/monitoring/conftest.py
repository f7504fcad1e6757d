"""Fixtures of the monitoring tests: real workers on a Redis database and a store of their own."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator

import pytest
import redis

from sluice.workers.pipeline import STAGES
from tests.support.cluster import Cluster, sqlite_cluster
from tests.support.services import RedisProvider

# Quick retries and no per-host budget, so a small job finishes in seconds.
FAST = {
    "SLUICE_FETCH_MAX_RETRIES": "4",  # more than Celery's own default limit of 3
    "SLUICE_FETCH_RETRY_BACKOFF": "0.05",
    "SLUICE_FETCH_HOST_RATE": "0",
    "SLUICE_WORKER_CONCURRENCY": "1",
    "SLUICE_FETCH_CONCURRENCY": "4",
}


@pytest.fixture(scope="package")
def pipeline(
    redis_provider: RedisProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """One ``sluice worker --stages STAGE`` per stage, as the compose file runs them."""
    with sqlite_cluster(
        redis_provider,
        tmp_path_factory.mktemp("monitoring"),
        [("--stages", stage) for stage in STAGES],
        FAST,
    ) as cluster:
        yield cluster


_WORDS = [
    "river",
    "council",
    "harbour",
    "bridge",
    "lock",
    "gate",
    "ferry",
    "canal",
    "market",
    "mayor",
    "budget",
    "school",
    "station",
    "train",
    "storm",
    "flood",
    "summer",
    "winter",
    "museum",
    "library",
    "festival",
    "harvest",
    "factory",
    "union",
    "strike",
    "court",
    "judge",
    "minister",
    "village",
    "town",
    "valley",
    "mountain",
    "coast",
    "island",
    "port",
    "cargo",
    "ship",
    "crew",
    "engineer",
    "nurse",
    "doctor",
    "teacher",
    "farmer",
    "baker",
    "painter",
    "singer",
    "writer",
    "reporter",
    "editor",
]


def unique_text(words: int = 300) -> str:
    """A plain-text article unlike any other test's, even as a near duplicate."""
    token = uuid.uuid4().hex
    rng = random.Random(token)
    sentences = [
        " ".join(rng.choice(_WORDS) for _ in range(12)).capitalize() + "."
        for _ in range(words // 12 + 1)
    ]
    return f"Bulletin {token}. " + " ".join(sentences)


@pytest.fixture
def workers(pipeline: Cluster) -> Cluster:
    """The package's workers with the dedup index emptied, so tests do not see each other."""
    client = redis.Redis.from_url(pipeline.redis_url)
    for key in client.scan_iter("sluice:*", count=1000):
        client.delete(key)
    client.close()
    return pipeline
