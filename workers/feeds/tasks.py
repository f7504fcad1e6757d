"""The ``workers.feed_poll`` task: one poll of one claimed feed (:mod:`workers.feeds.polling`).

The poll runs on its host's turn in the crawl frontier (:mod:`workers.feeds.scheduler` put
it there): the task checks the turn's lease, polls, and ends the turn, which makes the host
due again at its gate. A redelivered or late task whose lease or claim has lapsed does
nothing, so at-least-once delivery never polls a feed twice in one interval. When the store
or Redis is unreachable, the host is freed and the turn's lease left to lapse: the
frontier gives the poll out again after ``SLUICE_FETCH_LEASE``.
"""

from __future__ import annotations

import contextlib
import functools
import logging

from celery.exceptions import SoftTimeLimitExceeded

from sluice.shared.redis_state import get_redis
from sluice.shared.settings import get_settings
from sluice.workers.celery import app
from sluice.workers.feeds.scheduler import POLL_TASK, poll_item
from sluice.workers.fetching.frontier import Frontier
from sluice.workers.fetching.pump import lease_ms
from sluice.workers.running import INFRASTRUCTURE_ERRORS

__all__ = ["poll"]

log = logging.getLogger(__name__)


@functools.cache
def _frontier() -> Frontier:
    return Frontier(get_redis())


def _poll(feed_id: int, claim: str) -> str:
    from sluice.workers.feeds.polling import poll_feed

    result = poll_feed(feed_id, claim)
    if result is None:
        return "stale"
    log.info("feed %d polled: %s, %d new", result.feed_id, result.outcome, result.new)
    return f"{result.outcome} new={result.new}"


# A poll must end before its turn's lease lapses, or the frontier would give it out again
# while it still runs (and the feed's claim would let the second poll through).
_LIMIT = get_settings().fetch_lease


@app.task(  # type: ignore[untyped-decorator]  # Celery ships no types
    name=POLL_TASK,
    soft_time_limit=_LIMIT * 0.8,
    time_limit=_LIMIT * 0.9,
)
def poll(feed_id: int, claim: str, turn: str | None = None) -> str:
    """Poll feed ``feed_id`` under its ``claim``, on the frontier turn leased as ``turn``;
    returns the outcome (for Flower). A poll sent by an older scheduler, with no turn, polls
    under its claim alone."""
    feed_id, item = int(feed_id), poll_item(int(feed_id), str(claim))
    if turn is None:
        return _poll(feed_id, str(claim))
    frontier = _frontier()
    if not frontier.begin(item, str(turn), lease_ms()):
        log.info("feed %d: stale poll delivery dropped", feed_id)
        return "stale"
    try:
        outcome = _poll(feed_id, str(claim))
    except SoftTimeLimitExceeded:
        # Its claim is left to lapse: the feed is polled again after SLUICE_FEED_POLL_LEASE.
        log.warning("feed %d: poll cut short at %.0f s", feed_id, _LIMIT * 0.8)
        frontier.finish(item, str(turn))
        return "cut_short"
    except INFRASTRUCTURE_ERRORS as exc:
        # The host is freed for its other URLs; the poll's lease is kept, so it lapses and
        # the frontier gives the poll out again, in its place (a Celery countdown would
        # hold it in this worker's memory instead).
        log.warning(
            "feed %d: poll given out again later, a service is unavailable: %s", feed_id, exc
        )
        with contextlib.suppress(*INFRASTRUCTURE_ERRORS):
            frontier.finish(item, str(turn), free_only=True)
        return "retried"
    frontier.finish(item, str(turn))
    return outcome
