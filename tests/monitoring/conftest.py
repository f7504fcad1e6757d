"""Fixtures of the monitoring tests: real workers on a Redis database and a store of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from shared.db import upgrade_database
from tests.support.cluster import Cluster
from tests.support.services import RedisProvider
from workers.routing import STAGES

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
    data_dir: Path = tmp_path_factory.mktemp("monitoring")
    database_url = f"sqlite:///{data_dir / 'sluice.db'}"
    upgrade_database(database_url)
    cluster = Cluster(redis_provider.acquire(), database_url, data_dir, extra_env=FAST)
    for stage in STAGES:
        cluster.start_worker("--stages", stage)
    try:
        cluster.wait_ready()
        yield cluster
    finally:
        cluster.stop()


def unique_text(words: int = 300) -> str:
    """A plain-text article no other test submits (its id comes from its text)."""
    token = uuid.uuid4().hex
    sentence = "The river council in Ghent met on Tuesday to discuss the new lock gates. "
    body = (sentence * (words // 13 + 1)).strip()
    return f"Bulletin {token}. {body}"


@pytest.fixture
def workers(pipeline: Cluster) -> Cluster:
    """The package's workers with the dedup index emptied, so tests do not see each other."""
    client = redis.Redis.from_url(pipeline.redis_url)
    for key in client.scan_iter("sluice:*", count=1000):
        client.delete(key)
    client.close()
    return pipeline
