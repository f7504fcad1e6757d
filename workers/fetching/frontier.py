"""The crawl frontier: every URL waiting for its host's turn, per host, in Redis.

A URL to fetch is an *item* (``<job>:<item>``) with its article dict. It waits in its
host's queue (first in, first out within a priority; higher priority first), never as a
countdown message in a worker's memory. Hosts with waiting items and none in flight sit in
one set ordered by *due time*: the host budget's gate
(:class:`workers.fetching.politeness.HostBudget`), one interval after its last request
was sent, later after 429/503 or under a robots.txt ``Crawl-delay``.

* :meth:`Frontier.release` (the pump, :mod:`workers.fetching.pump`) leases the head item of
  each host due now, earliest due first, so thousands of hosts are served in turn and a big
  host never starves a small one; at most one item per host is in flight.
* :meth:`Frontier.begin` checks a fetch task's lease token (a stale redelivery is dropped);
  :meth:`Frontier.finish` drops the lease and reschedules the host, the item either done or
  back in line (robots.txt fetched first, a redirect to another host, a retry).
* A lease not finished by its deadline (the worker was killed) is reclaimed by the next
  release: the item goes back to its place in its host's queue.
* A producer's request (a feed, a sitemap, a remote archive) holds its host's turn too:
  :meth:`Frontier.hold` takes it when nothing is in flight there (and, refused, makes the
  producer the host's next in line), :meth:`Frontier.let_go`
  ends it (a hold not let go by its deadline is reclaimed like a lease), so no two requests
  to one host are ever in flight at once.

Every change is one Lua script (``lua/``), atomic and on Redis's clock; the frontier is
durable with Redis's AOF like everything else in it.

Items enter through one door, :func:`enter`: submissions, resumed jobs, feed entries, feed
polls, lost items sent again, fetch messages that came without a turn, and the URLs a stage
found (:mod:`workers.found_work`). The frontier owns its Redis keys: other modules reach
them through this one (:func:`turn_keys` for a script that ends a host's turn).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import redis

from sluice.shared.hosts import host_of
from sluice.shared.redis_state import KEY_PREFIX, get_redis

__all__ = [
    "FRONTIER_STAGE",
    "MAX_PRIORITY",
    "PROBE_FIELD",
    "RETRIES_FIELD",
    "TOKEN_FIELD",
    "Arrival",
    "Frontier",
    "FrontierStats",
    "Lease",
    "arrival_of",
    "enter",
    "turn_keys",
]

#: The stage whose items wait in the frontier.
FRONTIER_STAGE = "fetch"
#: The payload field of a released fetch task that carries its lease token.
TOKEN_FIELD = "frontier_token"
#: The payload field counting a fetch item's retries after transient errors.
RETRIES_FIELD = "fetch_retries"
#: The payload field of a fetch task whose host did not answer its probe: reason and detail.
PROBE_FIELD = "probe_failed"
#: Highest priority a producer may give (0, the default, is lowest).
MAX_PRIORITY = 9

_LUA = files(__package__) / "lua"
# A producer refused a host's turn is served before the host's next item for this long
# (it asks again every tenth of a second or so): long enough to be there when the turn
# ends, short enough that a producer gone away holds nothing up.
_WANT_MS = 1000


@functools.cache
def _script(name: str) -> str:
    return (
        (_LUA / "helpers.lua").read_text("utf-8") + "\n" + (_LUA / f"{name}.lua").read_text("utf-8")
    )


def _key(prefix: str, name: str) -> str:
    return f"{prefix}fr:{name}"


def turn_keys(host: str, prefix: str = KEY_PREFIX) -> list[str]:
    """The keys a script ending ``host``'s turn in its own call must touch, in this order:
    the hosts in flight (hash), the due hosts (sorted set), ``host``'s queue (sorted set)
    and the list the pumps block on (:class:`workers.fetching.politeness.HostBudget`)."""
    return [
        _key(prefix, "busy"),
        _key(prefix, "due"),
        _key(prefix, f"q:{host}"),
        _key(prefix, "wake"),
    ]


@dataclass(frozen=True, slots=True)
class Arrival:
    """An item entering the frontier: its key, the URL whose host it waits for, its payload
    (what the fetch task gets) and its priority (0 to :data:`MAX_PRIORITY`)."""

    item: str
    url: str
    payload: dict[str, Any]
    priority: int = 0


def arrival_of(payload: dict[str, Any], priority: int = 0) -> Arrival:
    """The arrival of a fetch item (an article dict), keyed ``<job>:<item>``."""
    item = f"{payload.get('job_id')}:{payload.get('item_id')}"
    return Arrival(item, str(payload.get("url") or ""), payload, priority)


def enter(arrivals: Iterable[Arrival], client: redis.Redis | None = None) -> int:
    """The one way into the frontier: every producer of fetch work calls this. Adds
    ``arrivals`` in one script call; returns how many were new (an item already in the
    frontier stays as it is, so an at-least-once sender may send it twice)."""
    entries = [(a.item, a.url, a.payload, a.priority) for a in arrivals]
    if not entries:
        return 0
    return Frontier(client or get_redis()).add(entries)


@dataclass(frozen=True, slots=True)
class Lease:
    """A released item: its key, lease token, payload, ms until its host's gate opens, and
    the host whose turn it holds."""

    item: str
    token: str
    payload: dict[str, Any]
    gate_ms: int
    host: str = ""


@dataclass(frozen=True, slots=True)
class FrontierStats:
    """What waits: items in all (waiting, delayed, in flight), hosts with waiting items,
    hosts due now, leases in flight, the oldest item's age, and the busiest hosts."""

    items: int
    hosts: int
    due_now: int
    in_flight: int
    delayed: int
    oldest_wait: float | None
    top_hosts: list[tuple[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "hosts": self.hosts,
            "due_now": self.due_now,
            "in_flight": self.in_flight,
            "delayed": self.delayed,
            "oldest_wait_seconds": self.oldest_wait,
            "top_hosts": [{"host": h, "waiting": n} for h, n in self.top_hosts],
        }


class Frontier:
    """Per-host queues of items waiting to be fetched, in the Redis of ``client``."""

    def __init__(self, client: redis.Redis, *, prefix: str = KEY_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self._add = client.register_script(_script("add"))
        self._release = client.register_script(_script("release"))
        self._begin = client.register_script(_script("begin"))
        self._finish = client.register_script(_script("finish"))
        self._hold = client.register_script(_script("hold"))
        self._let_go = client.register_script(_script("let_go"))

    def _key(self, name: str) -> str:
        return _key(self.prefix, name)

    def add(self, items: Iterable[tuple[str, str, dict[str, Any], int]]) -> int:
        """Add ``(item, url, payload, priority)`` entries; returns how many were new (an item
        already in the frontier stays as it is). Product code enters items by
        :func:`enter`."""
        args: list[Any] = [self.prefix]
        for item, url, payload, priority in items:
            level = max(0, min(MAX_PRIORITY, int(priority)))
            args += [item, host_of(url), level, json.dumps(payload, separators=(",", ":"))]
        if len(args) == 1:
            return 0
        return int(self._add(keys=[], args=args))

    def release(self, lookahead_ms: int, lease_ms: int, room: int) -> tuple[list[Lease], float]:
        """Lease the next item of up to ``room`` hosts due within ``lookahead_ms``; reclaims
        expired leases first. Returns the leases and the seconds until more may be due (or
        -1 when nothing waits)."""
        out = self._release(keys=[], args=[self.prefix, lookahead_ms, lease_ms, max(0, room)])
        leases = [
            Lease(
                _text(out[i]),
                _text(out[i + 1]),
                json.loads(out[i + 2]),
                int(out[i + 3]),
                _text(out[i + 4]),
            )
            for i in range(2, len(out), 5)
        ]
        wait = int(out[1])
        return leases, (wait / 1000 if wait >= 0 else -1.0)

    def begin(self, item: str, token: str, lease_ms: int) -> bool:
        """A fetch task starts on ``item``: renew its lease. False: a stale delivery."""
        return bool(self._begin(keys=[], args=[self.prefix, item, token, lease_ms]))

    def finish(
        self,
        item: str,
        token: str,
        *,
        again: dict[str, Any] | None = None,
        url: str | None = None,
        delay: float = 0.0,
        free_only: bool = False,
    ) -> bool:
        """End ``item``'s turn: done, or (``again``: its new payload) back in line in the
        queue of ``url``'s host after ``delay`` seconds. ``free_only`` frees the host but
        keeps the lease until a later call. False: the lease was not this token's any more
        (reclaimed), and nothing changed."""
        if free_only:
            args: list[Any] = [self.prefix, item, token, "free"]
        elif again is None:
            args = [self.prefix, item, token, "done"]
        else:
            payload = json.dumps(again, separators=(",", ":"))
            args = [self.prefix, item, token, "again", host_of(url), payload, int(delay * 1000)]
        return bool(self._finish(keys=[], args=args))

    def hold(self, host: str, token: str, hold_ms: int) -> bool:
        """Take ``host``'s turn for a producer's request (``token``: its holder), as a
        released item holds it, for ``hold_ms`` at most; taken again by the same token, the
        hold is renewed. False: an item or another holder is in flight at ``host``; its
        next item then waits while the producer asks again, so the producer goes next."""
        return bool(self._hold(keys=[], args=[self.prefix, host, token, hold_ms, _WANT_MS]))

    def let_go(self, host: str, token: str) -> None:
        """End ``token``'s hold of ``host``'s turn (if its request has not ended it): the
        host is free, due at its gate."""
        self._let_go(keys=[], args=[self.prefix, host, token])

    def wait_for_work(self, timeout: float) -> None:
        """Block up to ``timeout`` seconds, or until a host may have become due."""
        if timeout > 0:
            self.client.blpop([self._key("wake")], timeout=max(0.001, timeout))

    def size(self) -> int:
        """Items in the frontier: waiting, delayed or in flight."""
        return int(self.client.hlen(self._key("items")))

    def stats(self, top: int = 10) -> FrontierStats:
        """What the frontier holds now (two round trips)."""
        seconds, micros = self.client.time()
        now_ms = seconds * 1000 + micros // 1000
        with self.client.pipeline(transaction=False) as pipe:
            pipe.hlen(self._key("items"))
            pipe.zcard(self._key("sizes"))
            pipe.zcard(self._key("leases"))
            pipe.zcard(self._key("delayed"))
            pipe.zrange(self._key("arrive"), 0, 0, withscores=True)
            pipe.zrevrange(self._key("sizes"), 0, max(0, top - 1), withscores=True)
            pipe.zcount(self._key("due"), "-inf", now_ms)
            items, hosts, in_flight, delayed, oldest, busiest, due = pipe.execute()
        return FrontierStats(
            items=int(items),
            hosts=int(hosts),
            due_now=int(due),
            in_flight=int(in_flight),
            delayed=int(delayed),
            oldest_wait=round((now_ms - oldest[0][1]) / 1000, 1) if oldest else None,
            top_hosts=[(_text(h), int(n)) for h, n in busiest[:top]] if top else [],
        )

    def later_hosts(
        self, now_ms: int, scan: int
    ) -> tuple[dict[str, float], dict[str, float], bool]:
        """Hosts not due before ``now_ms``: each idle host's due time, each host's latest
        retry (an item put back after a delay), and whether fewer than ``scan`` of either
        were found (so none was left out)."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(
                self._key("due"), f"({now_ms}", "+inf", start=0, num=scan, withscores=True
            )
            pipe.zrangebyscore(
                self._key("delayed"), f"({now_ms}", "+inf", start=0, num=scan, withscores=True
            )
            due, delayed = pipe.execute()
        until = {_text(host): float(at) for host, at in due}
        retry: dict[str, float] = {}
        if delayed:
            metas = self.client.hmget(self._key("meta"), [item for item, _ in delayed])
            for (_, ready), meta in zip(delayed, metas, strict=True):
                if meta:
                    host = _text(meta).split("\n", 1)[0]
                    retry[host] = max(retry.get(host, 0.0), float(ready))
        return until, retry, len(due) < scan and len(delayed) < scan

    def holds(self, item: str) -> bool:
        """Is ``item`` in the frontier (waiting, delayed or in flight)?"""
        return bool(self.client.hexists(self._key("items"), item))

    def payloads(self, items: Sequence[str]) -> list[dict[str, Any] | None]:
        """The payloads of ``items`` (``None`` for one not in the frontier), in one call."""
        if not items:
            return []
        found = self.client.hmget(self._key("items"), list(items))
        return [json.loads(value) if value is not None else None for value in found]

    def is_delayed(self, item: str) -> bool:
        """Is ``item`` back in line waiting out a delay (a retry)?"""
        return self.client.zscore(self._key("delayed"), item) is not None

    def clear(self) -> None:
        """Forget everything in the frontier (for tests, which start from empty)."""
        for key in self.client.scan_iter(self._key("*"), count=1000):
            self.client.delete(key)

    def waiting_items(self, host: str) -> Sequence[str]:
        """The items waiting in ``host``'s queue, next first (for tests and inspection)."""
        return [_text(m) for m in self.client.zrange(self._key(f"q:{host}"), 0, -1)]


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
