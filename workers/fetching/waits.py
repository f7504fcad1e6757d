"""Why hosts wait: for ``sluice status`` and ``sluice metrics``.

A host with URLs in the crawl frontier waits for its gate (:mod:`workers.fetching.politeness`,
which keeps why the gate is where it is) or for an item's retry delay:

* ``rate``: one interval of ``SLUICE_FETCH_HOST_RATE`` after its last request;
* ``crawl-delay``: its robots.txt asked for a longer gap (capped);
* ``slow-down``: it answered 429/503 and its interval is widened;
* ``retry-after``: it answered 429/503 with ``Retry-After`` (capped);
* ``back-off``: its last request got no answer (timed out, refused, reset);
* ``retry``: an item waits out its own retry delay, the host's gate being open.

An item waiting to retry after its host failed (back-off, slow-down, retry-after) is
counted under the host's failure: that is why it waits.

Hosts due now or with a request in flight are not waiting. At most ``scan`` hosts due later
and ``scan`` delayed items are looked at (the earliest); ``counted`` says how many hosts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from sluice.shared.redis_state import KEY_PREFIX
from sluice.workers.fetching.frontier import Frontier

__all__ = ["WAIT_REASONS", "HostWaits", "host_waits"]

WAIT_REASONS = ("rate", "crawl-delay", "slow-down", "retry-after", "back-off", "retry")
_FAILURES = frozenset({"slow-down", "retry-after", "back-off"})


@dataclass(frozen=True, slots=True)
class HostWaits:
    """Waiting hosts per reason, and the ``longest`` waits (host, reason, seconds left),
    the longest of each reason among them."""

    reasons: dict[str, int]
    longest: list[tuple[str, str, float]]
    counted: int
    complete: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "hosts_by_reason": self.reasons,
            "longest": [
                {"host": host, "reason": reason, "seconds_left": left}
                for host, reason, left in self.longest
            ],
            "hosts_counted": self.counted,
            "complete": self.complete,
        }


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def host_waits(
    client: redis.Redis, *, top: int = 10, scan: int = 10_000, prefix: str = KEY_PREFIX
) -> HostWaits:
    """Why the hosts of the frontier wait now (up to four round trips)."""
    seconds, micros = client.time()
    now = seconds * 1000 + micros // 1000
    until, retry_until, complete = Frontier(client, prefix=prefix).later_hosts(now, scan)
    hosts = sorted(set(until) | set(retry_until))
    with client.pipeline(transaction=False) as pipe:
        for host in hosts:
            pipe.hmget(f"{prefix}polite:{host}", "next", "why")
        gates = pipe.execute()
    reasons = dict.fromkeys(WAIT_REASONS, 0)
    waits: list[tuple[str, str, float]] = []
    for host, (gate_at, why) in zip(hosts, gates, strict=True):
        gate = float(gate_at or 0)
        ready = max(until.get(host, 0.0), retry_until.get(host, 0.0))
        kind = _text(why) if why else ""
        failed = kind in _FAILURES and (gate > now or host in retry_until)
        if failed or (kind and gate > now and gate >= retry_until.get(host, 0.0)):
            reason = kind
        elif host in retry_until:
            reason = "retry"
        else:
            reason = kind or "rate"
        reasons[reason] = reasons.get(reason, 0) + 1
        waits.append((host, reason, round((max(ready, gate) - now) / 1000, 1)))
    waits.sort(key=lambda wait: wait[2], reverse=True)
    return HostWaits(reasons, _longest(waits, top), len(hosts), complete)


def _longest(waits: list[tuple[str, str, float]], top: int) -> list[tuple[str, str, float]]:
    """The ``top`` longest of ``waits`` (longest first), the longest of each reason among
    them, so that 2,000 hosts backing off do not hide the one with a Crawl-delay."""
    chosen: list[tuple[str, str, float]] = []
    for reason in WAIT_REASONS:
        first = next((wait for wait in waits if wait[1] == reason), None)
        if first is not None:
            chosen.append(first)
    for wait in waits:
        if len(chosen) >= top:
            break
        if wait not in chosen:
            chosen.append(wait)
    return sorted(chosen[:top], key=lambda wait: wait[2], reverse=True)
