"""The frontier's pump: a thread in each fetch worker that turns due hosts into fetch tasks.

It repeatedly calls :meth:`~workers.fetching.frontier.Frontier.release` (one Lua call, so
several pumps, one per fetch worker, never release an item twice) and publishes each
leased item as an ordinary fetch task, or a feed's poll as its ``workers.feed_poll`` task.
Hosts are released a little ahead of their gate (``SLUICE_FRONTIER_LOOKAHEAD``) to cover
the trip through the queue; the task waits out the rest at the gate. The fetch queue is
kept to about two tasks per slot of this worker, so it only ever holds work that is due.
When nothing is due the pump blocks on Redis until the earliest due time or until a
finished fetch wakes it (a wait of a moment, for a host due soon, is slept in the thread:
Redis ends blocking timeouts only at its next tick), so it never spins.

An item whose host is not known to answer goes to the worker's prober first
(:mod:`workers.fetching.probes`), so a silent host never holds a fetch thread; the probes
in flight do not count against the queue's room. About once a second it also sends the
found work that waits in the store for room (:mod:`workers.crawl.waiting`).
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from sluice.shared.article import label_of
from sluice.shared.errors import RetryableError
from sluice.shared.queues import queue_depths
from sluice.shared.redis_state import get_redis
from sluice.shared.settings import get_settings
from sluice.workers.crawl.waiting import send_all_waiting
from sluice.workers.fetching.frontier import (
    FRONTIER_STAGE,
    PROBE_FIELD,
    TOKEN_FIELD,
    Frontier,
    Lease,
)
from sluice.workers.fetching.probes import Prober

__all__ = ["Pump", "lease_ms"]

log = logging.getLogger(__name__)

# Longest the pump blocks between looks at the frontier, whatever it was told.
_MAX_WAIT = 1.0
# Shorter waits are slept in the pump; longer ones block on Redis, woken by any finished fetch.
_PRECISE = 0.2
# Seconds between looks at the jobs whose found work waits in the store (workers.crawl.waiting).
_TOP_UP_EVERY = 1.0


def lease_ms() -> int:
    """How long a released item may stay unfinished before it is given out again: one
    request's total timeout plus a margin for the queue and the stages around it."""
    settings = get_settings()
    return int(settings.fetch_lease * 1000)


class Pump(threading.Thread):
    """Releases due hosts' items as fetch tasks until :meth:`stop`."""

    def __init__(self, slots: int) -> None:
        super().__init__(name="sluice-frontier-pump", daemon=True)
        settings = get_settings()
        self.client = get_redis()
        self.frontier = Frontier(self.client)
        self.ahead = max(1, 2 * slots)
        self.lookahead_ms = int(settings.frontier_lookahead * 1000)
        self._stopping = threading.Event()
        self.prober: Prober | None = None
        if settings.fetch_probes > 0:
            self.prober = Prober(self.client, settings, self.send)
            self.prober.start()

    def stop(self) -> None:
        self._stopping.set()
        if self.prober is not None:
            self.prober.stop()

    def run(self) -> None:
        log.info("frontier pump started (up to %d fetch tasks queued)", self.ahead)
        next_top_up = 0.0
        while not self._stopping.is_set():
            try:
                self.step()
                if time.monotonic() >= next_top_up:
                    # Work a stage found beyond the high-water mark, sent as room frees.
                    next_top_up = time.monotonic() + _TOP_UP_EVERY
                    send_all_waiting()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("frontier pump: Redis unavailable: %s", exc)
                self._stopping.wait(1.0)
            except Exception:  # a bug must not stop the crawl: log it and go on
                log.exception("frontier pump failed")
                self._stopping.wait(1.0)

    def step(self) -> int:
        """One look: release what is due and publish it, or wait. Returns tasks published."""
        from sluice.workers.feeds.scheduler import POLL_FIELD, send_poll

        room = self.ahead - queue_depths(self.client, [FRONTIER_STAGE])[FRONTIER_STAGE]
        if self.prober is not None:
            room = min(room, self.prober.room())
        if room <= 0:
            self._stopping.wait(0.02)
            return 0
        leases, wait = self.frontier.release(self.lookahead_ms, lease_ms(), room)
        polls = [lease for lease in leases if POLL_FIELD in lease.payload]
        for lease in polls:  # a feed's poll (workers.feeds.scheduler)
            send_poll(lease.payload, lease.token)
        fetches = [lease for lease in leases if POLL_FIELD not in lease.payload]
        if self.prober is not None and fetches:
            known = self.prober.answers([lease.host for lease in fetches])
            for lease, answers in zip(fetches, known, strict=True):
                if answers or not lease.host:
                    self.send(lease)
                else:
                    self.prober.submit(lease)
        else:
            for lease in fetches:
                self.send(lease)
        if leases:
            return len(leases)
        if wait < 0:
            wait = _MAX_WAIT
        pause = min(_MAX_WAIT, max(0.0, wait - self.lookahead_ms / 1000))
        if pause < _PRECISE:
            # Redis ends a blocking call's timeout only at its next cron tick (tens of ms
            # late): a host due within moments is waited for here, to the millisecond.
            self._stopping.wait(pause)
        else:
            self.frontier.wait_for_work(pause)
        return 0

    @staticmethod
    def send(lease: Lease, silence: RetryableError | None = None) -> None:
        """Publish ``lease``'s item as its fetch task (with what its probe found, if the
        host did not answer)."""
        from sluice.workers.routing import publish

        payload = dict(lease.payload, **{TOKEN_FIELD: lease.token})
        if silence is not None:
            payload[PROBE_FIELD] = {"reason": str(silence.reason), "detail": silence.detail}
        publish(
            FRONTIER_STAGE,
            payload,
            label_of(payload.get("job_id"), payload.get("item_id"), payload.get("id")),
            released=True,
        )
