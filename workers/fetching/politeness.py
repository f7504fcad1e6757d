"""One request budget per host, shared by every fetch worker of the cluster, kept in Redis.

Each host has a gate (``next``: the earliest moment its next request may start), changed
in one Lua script per decision, on Redis's own clock, so workers on many machines never
disagree. The crawl frontier (:mod:`workers.fetching.frontier`) lets one item per host be in
flight and makes the host due when its gate opens; the budget decides when that is:

* a request starting moves the gate one interval on (:meth:`HostBudget.start` tells a
  task released a little early how long to wait for the gate, to the microsecond), and
  when it ends the gate is pushed to one interval after the moment it was actually sent
  (a thread that woke late does not shorten the next gap), so requests to a host are sent
  at most ``rate`` times a second: the rate counts request *starts*, and a host that
  answers in 6 ms is asked 20 times a second at rate 20, not once every 56 ms;
* the frontier never has two requests to a host in flight: a slow server is sent one
  request at a time, the next when the last has ended;
* a robots.txt ``Crawl-delay`` and a slowdown after 429/503 are kept more strictly: the
  gate is pushed to one interval after the last answer *began* to arrive (the server has
  seen the request by then; after an error with no answer, after its end), so those gaps
  hold as the server sees them however long a request took to get there;
* 429 and 503 close the gate for ``Retry-After`` (or a doubled interval) and widen the
  interval; each later answer narrows it again;
* a request with no answer at all (no first byte in time, refused, reset) closes the gate
  for a back-off (``SLUICE_FETCH_HOST_BACKOFF``, doubled at each failure in a row up to
  ``SLUICE_FETCH_HOST_BACKOFF_MAX``), and the host is no longer known to answer (``ok``):
  the pump probes it before its next URL may take a fetch thread
  (:mod:`workers.fetching.probes`).

The gate's reason (``why``: rate, crawl-delay, slow-down, retry-after, back-off) is kept
for ``sluice status`` (:mod:`workers.fetching.waits`).

The interval is ``1 / SLUICE_FETCH_HOST_RATE``, raised to the robots.txt ``Crawl-delay``
(capped), and to the current slowdown after 429/503.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import redis

from sluice.shared.redis_state import KEY_PREFIX
from sluice.workers.fetching.frontier import turn_keys

if TYPE_CHECKING:
    from sluice.shared.settings import Settings

__all__ = ["HostBudget"]

# KEYS[1] host hash {next, slow, began, took, why, ok, fails}. ARGV[1] interval ms, ARGV[2]
# host state TTL s, ARGV[3] hold ms: a gate opening within that long is booked now, ARGV[4]
# what the interval is ('rate' or 'crawl-delay', kept in 'why' for status). Returns {1, µs to wait}
# when the request is booked (it starts when the gate opens, which moves one interval on),
# else {0, µs until the gate opens}.
_START = """
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local now = math.floor(now_us / 1000)
local h = redis.call('HMGET', KEYS[1], 'next', 'slow')
local nxt = tonumber(h[1]) or 0
redis.call('EXPIRE', KEYS[1], ARGV[2])
if nxt - now > tonumber(ARGV[3]) then return {0, nxt * 1000 - now_us} end
local at = math.max(now, nxt)
local interval = math.max(tonumber(ARGV[1]), tonumber(h[2]) or 0)
local why = ARGV[4]
if interval > tonumber(ARGV[1]) then why = 'slow-down' end
redis.call('HSET', KEYS[1], 'next', at + interval, 'began', at, 'why', why)
return {1, math.max(0, at * 1000 - now_us)}
"""

# Appended to the two scripts that end a request: with KEYS[2..5] (the frontier's busy hash,
# due set, the host's queue and the pumps' wake list) and ARGV[5] the host, the host's turn
# in the crawl frontier (workers.fetching.frontier) ends in the same call, and the host is
# due again at its gate. The producer's requests, which hold no turn, pass no such keys.
_FREE_TURN = """
local function free_turn(now)
  if #KEYS < 5 then return end
  if redis.call('HDEL', KEYS[2], ARGV[5]) == 1 and redis.call('ZCARD', KEYS[4]) > 0 then
    local gate = tonumber(redis.call('HGET', KEYS[1], 'next')) or 0
    redis.call('ZADD', KEYS[3], 'NX', math.max(gate, now), ARGV[5])
    redis.call('LPUSH', KEYS[5], '1')
    redis.call('LTRIM', KEYS[5], 0, 0)
  end
end
"""

# KEYS[1] host hash. ARGV[1] base interval ms, ARGV[2] Retry-After ms (-1: none),
# ARGV[3] longest slowdown ms, ARGV[4] host state TTL s. Returns the gate's delay in ms.
_SLOW_DOWN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'next', 'slow')
local nxt = tonumber(h[1]) or 0
local base = math.max(tonumber(ARGV[1]), 1)
local slow = tonumber(h[2]) or 0
slow = math.min(math.max(slow * 2, base * 2), tonumber(ARGV[3]))
local pause = slow
if tonumber(ARGV[2]) >= 0 then pause = tonumber(ARGV[2]) end
local opens = math.max(nxt, now + pause)
local why = 'slow-down'
if tonumber(ARGV[2]) >= 0 then why = 'retry-after' end
redis.call('HSET', KEYS[1], 'next', opens, 'slow', slow, 'why', why)
redis.call('EXPIRE', KEYS[1], ARGV[4])
free_turn(now)
return opens - now
"""

# KEYS[1] host hash. ARGV[1] interval ms, ARGV[2] "1" to narrow a slowdown by a quarter,
# ARGV[3] host state TTL s, ARGV[4] ms since the answer began (0: count from now), ARGV[6]
# what the interval is ('rate' or 'crawl-delay'), ARGV[7] µs since the request was sent
# (-1: unknown). Called when a request has ended: at the plain rate the gate reopens one
# interval after the request was sent (no earlier than its booked start moved it to); under
# a robots.txt Crawl-delay or a slowdown, one interval after the answer began. The usual
# request time ('took', a moving average) is updated. An answer other than 429/503
# marks the host as answering ('ok') and ends its run of failures. Returns the slowdown
# left in ms.
_FINISHED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'next', 'slow', 'began', 'took')
local nxt = tonumber(h[1]) or 0
local slow = tonumber(h[2]) or 0
local began = tonumber(h[3])
if began and now >= began and now - began < 120000 then
  local took = tonumber(h[4]) or (now - began)
  redis.call('HSET', KEYS[1], 'took', math.floor(0.7 * took + 0.3 * (now - began)))
end
if ARGV[2] == '1' and slow > 0 then
  slow = math.floor(slow * 3 / 4)
  if slow <= tonumber(ARGV[1]) or slow < 50 then slow = 0 end
  if slow == 0 then
    redis.call('HDEL', KEYS[1], 'slow')
  else
    redis.call('HSET', KEYS[1], 'slow', slow)
  end
end
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'ok', now)
  redis.call('HDEL', KEYS[1], 'fails')
end
local answered = now - math.max(0, tonumber(ARGV[4]) or 0)
local interval = tonumber(ARGV[1])
local why = ARGV[6]
local opens = 0
if slow > interval then
  opens = answered + slow
  why = 'slow-down'
elseif why == 'crawl-delay' then
  opens = answered + interval
elseif tonumber(ARGV[7]) >= 0 then
  local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
  opens = math.ceil((now_us - tonumber(ARGV[7])) / 1000) + interval
end
if opens > nxt then
  redis.call('HSET', KEYS[1], 'next', opens, 'why', why)
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
free_turn(now)
return slow
"""

# KEYS[1] host hash. ARGV[1] first back-off ms, ARGV[2] longest back-off ms, ARGV[3] host
# state TTL s, ARGV[4] interval ms. A request got no answer (timed out, refused, reset before
# any byte): the host is no longer known to answer, and its gate closes for a back-off that
# doubles with each failure in a row. Returns the back-off in ms.
_FAILED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nxt = tonumber(redis.call('HGET', KEYS[1], 'next')) or 0
local fails = redis.call('HINCRBY', KEYS[1], 'fails', 1)
local pause = math.min(tonumber(ARGV[1]) * 2 ^ math.min(fails - 1, 30), tonumber(ARGV[2]))
pause = math.max(pause, tonumber(ARGV[4]))
local opens = math.max(nxt, now + pause)
redis.call('HSET', KEYS[1], 'next', opens, 'why', 'back-off')
redis.call('HDEL', KEYS[1], 'ok')
redis.call('EXPIRE', KEYS[1], ARGV[3])
free_turn(now)
return pause
"""

_HOST_TTL = 7 * 86400


class HostBudget:
    """The cluster-wide per-host request budget. ``rate`` is requests per second (0: none);
    ``ends_turns``: the requests run on crawl-frontier turns, which end with them."""

    def __init__(
        self,
        client: redis.Redis,
        rate: float,
        *,
        slowdown_max: float = 120.0,
        backoff: float = 2.0,
        backoff_max: float = 600.0,
        prefix: str = KEY_PREFIX,
        ends_turns: bool = False,
    ) -> None:
        self.client = client
        # A fetch worker's requests run on a turn of the crawl frontier: ending one frees the
        # host there, in the same script, so its next URL is released without a round trip.
        self.ends_turns = ends_turns
        self.base_ms = round(1000 / rate) if rate > 0 else 0
        self.slowdown_max_ms = int(slowdown_max * 1000)
        self.backoff_ms = int(backoff * 1000)
        self.backoff_max_ms = int(backoff_max * 1000)
        self.prefix = prefix
        self._start = client.register_script(_START)
        self._slow_down = client.register_script(_FREE_TURN + _SLOW_DOWN)
        self._finished = client.register_script(_FREE_TURN + _FINISHED)
        self._failed = client.register_script(_FREE_TURN + _FAILED)

    @classmethod
    def from_settings(
        cls, client: redis.Redis, settings: Settings, *, ends_turns: bool = False
    ) -> HostBudget:
        """The budget the settings configure: rate, slow-down and back-off, the same for
        every fetcher, prober and producer that shares a host's budget."""
        return cls(
            client,
            settings.fetch_host_rate,
            slowdown_max=settings.fetch_slowdown_max,
            backoff=settings.fetch_host_backoff,
            backoff_max=settings.fetch_host_backoff_max,
            ends_turns=ends_turns,
        )

    def _host_key(self, host: str) -> str:
        return f"{self.prefix}polite:{host}"

    def _keys(self, host: str, turn: bool) -> tuple[list[str], list[str]]:
        """The keys (and the host argument) of a script ending a request; with ``turn``,
        those of the frontier too, so the host's turn ends with it."""
        keys = [self._host_key(host)]
        if not turn:
            return keys, [host]
        return keys + turn_keys(host, self.prefix), [host]

    def interval(self, crawl_delay: float = 0.0) -> int:
        """The gap in ms between two requests to a host with this ``Crawl-delay``."""
        return max(self.base_ms, int(crawl_delay * 1000))

    def start(self, host: str, crawl_delay: float = 0.0) -> float:
        """May a request to ``host`` start now? 0.0: yes (the gate moves one interval on);
        else the seconds until the gate opens."""
        booked, wait = self.book(host, crawl_delay)
        return 0.0 if booked else wait

    def book(self, host: str, crawl_delay: float = 0.0, hold: float = 0.0) -> tuple[bool, float]:
        """Book the next request to ``host`` if its gate opens within ``hold`` seconds:
        ``(True, seconds to wait before starting it)``; else ``(False, seconds until the
        gate opens)``. A booking waits once, to the microsecond, without asking again."""
        booked, wait_us = self._start(
            keys=[self._host_key(host)],
            args=[
                self.interval(crawl_delay),
                _HOST_TTL,
                int(hold * 1000),
                self._interval_kind(crawl_delay),
            ],
        )
        return bool(booked), max(0, int(wait_us)) / 1_000_000

    def slow_down(self, host: str, retry_after: float | None = None) -> float:
        """``host`` answered 429 or 503: pause it and widen its interval. Returns the pause."""
        keys, host_arg = self._keys(host, self.ends_turns)
        opens_in = self._slow_down(
            keys=keys,
            args=[
                self.base_ms,
                -1 if retry_after is None else int(retry_after * 1000),
                self.slowdown_max_ms,
                _HOST_TTL,
                *host_arg,
            ],
        )
        return int(opens_in) / 1000

    def finished(
        self,
        host: str,
        crawl_delay: float = 0.0,
        *,
        normal: bool = True,
        answered: float = 0.0,
        sent: float = 0.0,
    ) -> float:
        """A request to ``host`` has ended. At the plain rate the next may start one interval
        after this one was sent (``sent``, a ``time.monotonic()``; 0.0: unknown, so after
        its booked start); under a ``Crawl-delay`` or a slowdown, one interval after its
        answer began to arrive (``answered``; 0.0: unknown, so from now).

        A server has seen a request once it answers, however long the request took to reach
        it: a gap counted from then holds as the server sees it, and the time spent reading
        the body is not added to it. ``normal`` (an answer other than 429/503) narrows a
        slowdown by a quarter. Returns what is left of the slowdown (s).
        """
        now = time.monotonic()
        since_ms = max(0, int((now - answered) * 1000)) if answered else 0
        sent_us = max(0, int((now - sent) * 1_000_000)) if sent else -1
        keys, host_arg = self._keys(host, self.ends_turns)
        left = self._finished(
            keys=keys,
            args=[
                self.interval(crawl_delay),
                "1" if normal else "0",
                _HOST_TTL,
                since_ms,
                *host_arg,
                self._interval_kind(crawl_delay),
                sent_us,
            ],
        )
        return int(left) / 1000

    def failed(self, host: str, crawl_delay: float = 0.0) -> float:
        """A request to ``host`` got no answer at all (timed out before its first byte,
        refused, reset): close its gate for a back-off, doubled at each failure in a row
        and capped, and forget that it answers. Returns the back-off (s)."""
        keys, host_arg = self._keys(host, self.ends_turns)
        pause = self._failed(
            keys=keys,
            args=[
                self.backoff_ms,
                self.backoff_max_ms,
                _HOST_TTL,
                self.interval(crawl_delay),
                *host_arg,
            ],
        )
        return int(pause) / 1000

    def answers(self, host: str) -> bool:
        """Has ``host`` answered its last request (not failed since)?"""
        return bool(self.client.hexists(self._host_key(host), "ok"))

    def _interval_kind(self, crawl_delay: float) -> str:
        return "crawl-delay" if int(crawl_delay * 1000) > self.base_ms else "rate"

    def slowdown(self, host: str) -> float:
        """The current slowdown interval of ``host`` in seconds (0 when none)."""
        value = self.client.hget(self._host_key(host), "slow")
        return int(value) / 1000 if value else 0.0
