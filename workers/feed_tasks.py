"""The ``workers.feed_poll`` task: one poll of one claimed feed (:mod:`producers.feed_poll`).

A redelivered or late task whose claim has lapsed does nothing, so at-least-once delivery
never polls a feed twice in one interval. The store or Redis unreachable is retried.
"""

from __future__ import annotations

import logging

from celery import Task

from sluice.shared.settings import get_settings
from sluice.workers.celery import app
from sluice.workers.feed_scheduler import POLL_TASK
from sluice.workers.running import INFRASTRUCTURE_ERRORS, backoff

__all__ = ["poll"]

log = logging.getLogger(__name__)


@app.task(  # type: ignore[untyped-decorator]  # Celery ships no types
    name=POLL_TASK,
    bind=True,
    soft_time_limit=get_settings().fetch_time_limit * 2,
    time_limit=get_settings().fetch_time_limit * 2 + 30,
)
def poll(self: Task, feed_id: int, token: str) -> str:
    """Poll feed ``feed_id`` under its claim ``token``; returns the outcome (for Flower)."""
    from sluice.producers.feed_poll import poll_feed

    try:
        result = poll_feed(int(feed_id), str(token))
    except INFRASTRUCTURE_ERRORS as exc:
        log.warning("feed %s: poll retried, a service is unavailable: %s", feed_id, exc)
        raise self.retry(countdown=backoff(min(self.request.retries, 5)), max_retries=5) from None
    if result is None:
        return "stale"
    log.info("feed %d polled: %s, %d new", result.feed_id, result.outcome, result.new)
    return f"{result.outcome} new={result.new}"
