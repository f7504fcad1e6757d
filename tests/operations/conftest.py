"""Fixtures of the operations tests: a producer's environment on the session's Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from sluice.shared.queues import queue_keys
from sluice.workers.fetching.frontier import Frontier
from sluice.workers.pipeline import STAGES
from tests.support.binding import bind_store


def _clear_queues(client: redis.Redis) -> None:
    """Every stage's queue, and the crawl frontier (where fetch items wait)."""
    for stage in STAGES:
        client.delete(*queue_keys(stage))
    Frontier(client).clear()


@pytest.fixture
def queues(redis_url: str) -> Iterator[redis.Redis]:
    """The session's Redis with every stage queue and the frontier emptied before and after
    the test."""
    client = redis.Redis.from_url(redis_url)
    _clear_queues(client)
    yield client
    _clear_queues(client)
    client.close()


@pytest.fixture
def producer_env(redis_url: str, sqlite_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment of a ``sluice submit`` subprocess: small water marks, the session's store."""
    return {
        **os.environ,
        "SLUICE_REDIS_URL": redis_url,
        "SLUICE_DATABASE_URL": sqlite_url,
        "SLUICE_DATA_DIR": str(tmp_path),
        "SLUICE_QUEUE_HIGH_WATER": "500",
        "SLUICE_QUEUE_LOW_WATER": "250",
        # 250 messages drain in a tenth of a second here: look often enough not to idle.
        "SLUICE_QUEUE_POLL_SECONDS": "0.01",
    }


@pytest.fixture
def own_store_env(redis_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment of a ``sluice`` subprocess on the session's Redis and a store of its own
    (a fresh SQLite file, migrated), so what it counts is this test's alone."""
    database_url = f"sqlite:///{tmp_path / 'sluice.db'}"
    bind_store(database_url)  # migrated, and of the session Redis's cluster
    return {
        **os.environ,
        "SLUICE_REDIS_URL": redis_url,
        "SLUICE_DATABASE_URL": database_url,
        "SLUICE_DATA_DIR": str(tmp_path),
    }
