"""Backpressure: a producer sends only as many messages as the pipeline's queues have room for.

Two marks with hysteresis. A producer pauses once any stage's queue holds ``high`` messages
(its own entry queue, or a queue further down that the workers are filling faster than
they drain it) and resumes only when every watched queue is down to ``low``, so it sends in
bursts of at least ``high - low`` rather than trickling one message per look at the queue.

The fetch stage's depth is its queue plus the crawl frontier (:mod:`workers.fetching.frontier`):
every URL waiting for its host's turn, back in line after robots.txt or a redirect, waiting
to retry, or in flight. So a submission of a million URLs holds about one high-water mark of
them in Redis; the rest stay ``recorded`` in the store until there is room.

The entry queue is never pushed past ``high`` by producers: under a short Redis lock per
entry queue a producer reads the depth, sends at most the headroom, and only then lets the
next producer look. Retries of the other stages are outside this bound.

A producer may be given a deadline for the whole of its waiting (:func:`room_deadline`,
which ``sluice submit --timeout`` sets): past it, a wait for room ends with
:class:`RoomTimeout`, the items not yet sent still ``recorded`` for ``--resume``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import redis
from redis.exceptions import LockError

from sluice.shared.queues import queue_depths as broker_depths
from sluice.shared.redis_state import KEY_PREFIX
from sluice.shared.settings import get_settings
from sluice.workers.fetching.frontier import FRONTIER_STAGE, Frontier
from sluice.workers.pipeline import STAGES

__all__ = ["Backpressure", "RoomTimeout", "WaitCallback", "queue_depths", "room_deadline"]

#: Called on every look at the queues while paused, with the fullest queue and its depth.
WaitCallback = Callable[[str, int], None]

# Longest a worker thread waits for another producer's lock on the entry queue (s).
_MOMENT = 0.5

_deadline: ContextVar[float | None] = ContextVar("room_deadline", default=None)


class RoomTimeout(Exception):
    """The queues had no room before the producer's deadline."""

    def __init__(self, stage: str, depth: int, high: int) -> None:
        super().__init__(f"the {stage} queue was still at {depth:,} (high-water {high:,})")
        self.stage = stage
        self.depth = depth
        self.high = high


@contextmanager
def room_deadline(seconds: float | None) -> Iterator[None]:
    """Within the block, waiting for room ends with :class:`RoomTimeout` once ``seconds``
    have passed since the block began (``None``: wait as long as it takes)."""
    token = _deadline.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def queue_depths(client: redis.Redis, stages: Sequence[str]) -> dict[str, int]:
    """Each stage's depth; fetch's includes every item in the crawl frontier."""
    depths = broker_depths(client, stages)
    if FRONTIER_STAGE in depths:
        depths[FRONTIER_STAGE] += Frontier(client).size()
    return depths


class Backpressure:
    """Admits batches of messages for the ``entry`` stage's queue while the queues have room."""

    def __init__(
        self,
        client: redis.Redis,
        entry: str,
        *,
        high: int,
        low: int,
        watched: Sequence[str],
        poll: float = 0.25,
        on_wait: WaitCallback | None = None,
        lock_timeout: float = 60.0,
    ) -> None:
        if high and not 0 <= low < high:
            raise ValueError(f"low-water mark {low} must be below the high-water mark {high}")
        self.client = client
        self.entry = entry
        self.high = high
        self.low = low
        self.watched = tuple(dict.fromkeys((entry, *watched)))
        self.poll = poll
        self.on_wait = on_wait
        self.lock_timeout = lock_timeout
        self.paused = False

    @classmethod
    def into_frontier(cls, client: redis.Redis) -> Backpressure:
        """The gate of work a worker adds to the frontier (feed entries, URLs a stage
        found): the settings' marks, every stage watched."""
        settings = get_settings()
        return cls(
            client,
            FRONTIER_STAGE,
            high=settings.queue_high_water,
            low=settings.queue_low_water,
            watched=STAGES,
        )

    @contextmanager
    def admit(self, wanted: int) -> Iterator[int]:
        """Wait for room, then yield how many messages (1 to ``wanted``) may be sent now.

        The caller sends them inside the ``with`` block; other producers of the same entry
        queue wait until it ends.
        """
        if not self.high:
            yield wanted
            return
        while True:
            self._wait_for_room()
            lock = self.client.lock(
                f"{KEY_PREFIX}submit-lock:{self.entry}", timeout=self.lock_timeout
            )
            lock.acquire()
            try:
                depth = queue_depths(self.client, [self.entry])[self.entry]
                room = self.high - depth
                if room > 0:
                    admitted = min(room, wanted)
                    yield admitted
                    # Filled to the mark: next time wait for the low-water mark first.
                    self.paused = depth + admitted >= self.high
                    return
            finally:
                # A batch slower than lock_timeout lost the lock already: nothing to undo.
                with contextlib.suppress(LockError):
                    lock.release()
            self.paused = True  # another producer took the room while this one waited

    @contextmanager
    def admit_now(self, wanted: int) -> Iterator[int]:
        """Yield how many messages (0 to ``wanted``) may be sent now, never waiting for room:
        for a worker thread, which must not stall (a feed poll's new entries). 0 while any
        watched queue is at the high-water mark, or another producer holds the entry queue's
        lock for longer than a moment; what is not sent waits in the store."""
        if not self.high:
            yield wanted
            return
        depths = queue_depths(self.client, self.watched)
        if any(depth >= self.high for depth in depths.values()):
            yield 0
            return
        lock = self.client.lock(f"{KEY_PREFIX}submit-lock:{self.entry}", timeout=self.lock_timeout)
        if not lock.acquire(blocking_timeout=_MOMENT):
            yield 0
            return
        try:
            depth = queue_depths(self.client, [self.entry])[self.entry]
            yield max(0, min(self.high - depth, wanted))
        finally:
            with contextlib.suppress(LockError):
                lock.release()

    def _wait_for_room(self) -> None:
        """Return once no watched queue is full (or, after a pause, all are down to ``low``)."""
        while True:
            depths = queue_depths(self.client, self.watched)
            if self.paused:
                self.paused = any(depth > self.low for depth in depths.values())
            else:
                self.paused = any(depth >= self.high for depth in depths.values())
            if not self.paused:
                return
            fullest = max(depths, key=lambda stage: depths[stage])
            if self.on_wait is not None:
                self.on_wait(fullest, depths[fullest])
            deadline = _deadline.get()
            if deadline is not None and time.monotonic() >= deadline:
                raise RoomTimeout(fullest, depths[fullest], self.high)
            time.sleep(self.poll)
