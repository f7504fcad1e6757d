"""A worker serves only the cluster of its store: checked once, before its pool starts.

Plain ``celery -A sluice.workers worker`` is checked as ``sluice worker`` is, at
``worker_init`` in the main process, so with a Redis client of its own that is closed
before the pool forks (:mod:`shared.cluster_binding`), never through Celery's broker
connection. A Redis that does not answer yet is waited for, as Celery itself waits for its
broker at start.
"""

from __future__ import annotations

import logging
import sys
import time

import redis

from sluice.shared.cluster_binding import cluster_problem
from sluice.shared.cluster_id import EXIT_CLUSTER
from sluice.shared.settings import Settings

__all__ = ["refuse_foreign_cluster"]

log = logging.getLogger(__name__)

_RETRY_SECONDS = 2.0


def refuse_foreign_cluster(settings: Settings) -> None:
    """Exit (status 10, one line on stderr) unless Redis and the store are one cluster."""
    store_url = settings.effective_database_url
    while True:
        try:
            problem = cluster_problem(settings.redis_url, store_url)
            break
        except redis.RedisError as exc:
            log.warning("cannot check the cluster yet, Redis does not answer: %s", exc)
            time.sleep(_RETRY_SECONDS)
    if problem is None:
        return
    print(f"sluice worker: {problem}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_CLUSTER)
