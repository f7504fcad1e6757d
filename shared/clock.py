"""The cluster's clocks: every time that one process writes and another compares is read
from one of them, never from a machine's own ``time.time()``.

* :func:`now`, Redis's ``TIME``: feed due times, feed claims and their lapse, the
  submission lease, item leases (and, in Lua, the crawl frontier's
  turns and leases). A machine whose clock is ten minutes off reads the same time as the
  others.
* :func:`database_now`, the store's ``now()``: the age of items, whose ``updated_at`` the
  store itself writes (``func.now()``). On SQLite that is the clock of the one machine the
  file lives on.

``TIME`` costs a round trip (about 0.2 ms on loopback; a cached reading about 1 µs), and
some callers are hot (one call per task received), so a :class:`ClusterClock` reads it once
and then adds ``time.monotonic()``'s progress to it. It
reads ``TIME`` again every :data:`RESYNC_SECONDS`, and at once when the machine's wall clock
and its monotonic clock part by more than a second (a suspended machine, a clock stepped).
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from sqlalchemy import func, select

from sluice.shared.db.engine import read_scope
from sluice.shared.redis_state import get_redis

__all__ = ["RESYNC_SECONDS", "ClusterClock", "clock_for", "database_now", "now"]

#: How long an offset read from Redis's ``TIME`` is trusted before it is read again.
RESYNC_SECONDS = 60.0
_JUMP_SECONDS = 1.0  # wall and monotonic clocks parting by more than this: read TIME again


@dataclass(frozen=True, slots=True)
class _Reading:
    offset: float  # Redis time minus monotonic time
    monotonic: float  # when it was read (monotonic)
    wall: float  # when it was read (this machine's wall clock: only to notice jumps)


class ClusterClock:
    """Redis's ``TIME`` in seconds since the epoch, read once a minute and carried forward
    by this machine's monotonic clock in between."""

    def __init__(self, client: redis.Redis, resync: float = RESYNC_SECONDS) -> None:
        self.client = client
        self.resync = resync
        self._reading: _Reading | None = None
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch, by Redis's clock."""
        reading = self._reading
        mono = time.monotonic()
        if reading is None or self._stale(reading, mono):
            reading = self.sync()
            mono = time.monotonic()
        return mono + reading.offset

    def sync(self) -> _Reading:
        """Read Redis's ``TIME`` now. The offset is taken at the middle of the round trip,
        of the shorter of two (the first may include connecting): off by at most half of it.
        """
        with self._lock:
            trips = []  # (round trip, offset)
            for _ in range(2):
                before = time.monotonic()
                seconds, micros = self.client.time()
                after = time.monotonic()
                offset = int(seconds) + int(micros) / 1e6 - (before + after) / 2
                trips.append((after - before, offset))
            reading = _Reading(min(trips)[1], time.monotonic(), time.time())
            self._reading = reading
        return reading

    def _stale(self, reading: _Reading, mono: float) -> bool:
        elapsed = mono - reading.monotonic
        if elapsed >= self.resync or elapsed < 0:
            return True
        return abs((time.time() - reading.wall) - elapsed) > _JUMP_SECONDS


_clocks: weakref.WeakKeyDictionary[redis.Redis, ClusterClock] = weakref.WeakKeyDictionary()
_clocks_lock = threading.Lock()


def clock_for(client: redis.Redis) -> ClusterClock:
    """The one :class:`ClusterClock` of ``client`` in this process."""
    with _clocks_lock:
        clock = _clocks.get(client)
        if clock is None:
            clock = _clocks[client] = ClusterClock(client)
        return clock


def now() -> float:
    """Seconds since the epoch, by the cluster's Redis (``SLUICE_REDIS_URL``)."""
    return clock_for(get_redis()).now()


def database_now() -> datetime:
    """The store's ``now()`` (aware, UTC): compare it with times the store wrote."""
    with read_scope() as conn:
        moment = conn.execute(select(func.now())).scalar_one()
    # SQLite gives naive UTC times, PostgreSQL aware ones.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
