"""One cluster id for every Redis database and store the tests make.

The harness hands out Redis databases and fresh stores in many combinations (a session's
Redis with a test's own store, one PostgreSQL database under several worker clusters), so
each of them carries the same id, written explicitly, as ``sluice cluster bind`` would. Tests
of the refusal itself write other ids, or none.
"""

from __future__ import annotations

import redis

from sluice.shared.cluster_binding import write_store_id
from sluice.shared.cluster_id import CLUSTER_KEY
from sluice.shared.db import upgrade_database

__all__ = ["TEST_CLUSTER_ID", "bind_for_tests", "bind_redis", "bind_store", "unbind_redis"]

TEST_CLUSTER_ID = "sluice-tests"


def bind_redis(redis_url: str, cluster_id: str = TEST_CLUSTER_ID) -> None:
    """Write ``cluster_id`` into Redis at ``redis_url``."""
    client = redis.Redis.from_url(redis_url)
    try:
        client.set(CLUSTER_KEY, cluster_id)
    finally:
        client.close()


def unbind_redis(redis_url: str) -> None:
    """Take the cluster id out of Redis at ``redis_url``, as on a fresh machine's Redis."""
    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(CLUSTER_KEY)
    finally:
        client.close()


def bind_store(database_url: str, cluster_id: str = TEST_CLUSTER_ID) -> None:
    """Bring the store at ``database_url`` to the newest schema and write ``cluster_id``."""
    upgrade_database(database_url)
    write_store_id(database_url, cluster_id)


def bind_for_tests(redis_url: str, database_url: str, cluster_id: str = TEST_CLUSTER_ID) -> None:
    """Bind a Redis and a store into the tests' cluster (or ``cluster_id``)."""
    bind_redis(redis_url, cluster_id)
    bind_store(database_url, cluster_id)
