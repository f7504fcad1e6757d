"""The feed scheduler: a thread in each fetch worker that turns due feeds into poll tasks.

Once a second it reads the active feeds due now from the store and claims each with one
compare-and-set statement (:func:`shared.feeds.claim`): of several schedulers, in workers on
several machines, exactly one wins a feed's claim, so no feed is polled twice in one
interval. Each claim becomes a ``workers.feed_poll`` task on the fetch queue (Flower shows
it; its argument is the feed id and the claim's token, never the URL). The schedule is in
the store, so a restart forgets nothing; a claim whose poll never finished (the worker was
killed) lapses after ``SLUICE_FEED_POLL_LEASE`` and the feed is claimed again.

Why in the fetch workers: they exist wherever sluice fetches (``sluice up``, the compose
file, Kubernetes), so no new process must be deployed, and polls are fetches.
"""

from __future__ import annotations

import logging
import threading

import redis
from sqlalchemy.exc import OperationalError

from sluice.shared import feeds as registry
from sluice.shared.settings import get_settings

__all__ = ["POLL_TASK", "FeedScheduler", "send_poll"]

log = logging.getLogger(__name__)

#: The Celery task that polls one feed (:mod:`workers.feed_tasks`), on the fetch queue.
POLL_TASK = "workers.feed_poll"
POLL_QUEUE = "fetch"
_TICK = 1.0
_BATCH = 200


def send_poll(feed_id: int, token: str) -> None:
    """Send the poll task of a claimed feed."""
    from sluice.workers.celery import app

    app.send_task(
        POLL_TASK,
        args=[feed_id, token],
        queue=POLL_QUEUE,
        argsrepr=f"(feed={feed_id})",
        kwargsrepr="{}",
    )


class FeedScheduler(threading.Thread):
    """Claims due feeds and sends their polls until :meth:`stop`."""

    def __init__(self) -> None:
        super().__init__(name="sluice-feed-scheduler", daemon=True)
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        log.info("feed scheduler started")
        while not self._stopping.is_set():
            try:
                sent = self.step()
            except (OperationalError, redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("feed scheduler: store or Redis unavailable: %s", exc)
                sent = 0
            except Exception:  # a bug must not stop the schedule: log it and go on
                log.exception("feed scheduler failed")
                sent = 0
            if sent < _BATCH:
                self._stopping.wait(_TICK)

    def step(self) -> int:
        """Claim what is due now and send its polls; returns how many were sent."""
        lease = get_settings().feed_poll_lease
        now = registry.now()
        sent = 0
        for feed_id in registry.due_feeds(now, _BATCH):
            token = registry.claim(feed_id, now, lease)
            if token is not None:
                send_poll(feed_id, token)
                sent += 1
        return sent
