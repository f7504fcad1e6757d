"""The one lease of every item past its fetch: one sorted set in Redis, on Redis's clock.

Member ``job:item``, score its deadline in milliseconds by Redis ``TIME``
(:mod:`shared.clock`). The lease is granted when a message for a stage after fetch is
published (:func:`workers.routing.publish`), renewed by whoever holds the item (the worker
whose pool runs or has reserved its task) and by the reconciler while its message is still
queued, and dropped once the item is final. An item whose lease expired is the
reconciler's (:mod:`workers.recovery.reconciler`). Items still in the crawl frontier have
the frontier's own lease instead (:mod:`workers.fetching.frontier`).
"""

from __future__ import annotations

from collections.abc import Iterable

import redis

from sluice.shared.clock import clock_for
from sluice.shared.redis_state import KEY_PREFIX, as_text

__all__ = ["LEASES", "ItemLeases", "lease_key"]

LEASES = f"{KEY_PREFIX}item-leases"


def lease_key(job_id: object, item_id: object) -> str:
    """The lease member of one item."""
    return f"{job_id}:{item_id}"


class ItemLeases:
    """The leases, ``length`` seconds long, in ``client``'s Redis."""

    def __init__(self, client: redis.Redis, length: float) -> None:
        self.client = client
        self.length = length
        self.clock = clock_for(client)

    def now_ms(self) -> int:
        return int(self.clock.now() * 1000)

    def renew(self, keys: Iterable[str], length: float | None = None) -> None:
        """Each of ``keys`` is alive for another ``length`` (default: the lease) seconds."""
        deadline = self.now_ms() + int((self.length if length is None else length) * 1000)
        mapping: dict[str, float] = {key: deadline for key in keys}
        if mapping:
            self.client.zadd(LEASES, mapping)

    def adopt(self, keys: Iterable[str]) -> int:
        """Give a lease that has already expired to each of ``keys`` that has none (an item
        the store says is in transit, whose lease Redis lost); returns how many were new."""
        mapping: dict[str, float] = {key: 0 for key in keys}
        if not mapping:
            return 0
        added: int = self.client.zadd(LEASES, mapping, nx=True)  # type: ignore[assignment]
        return added

    def drop(self, keys: Iterable[str]) -> None:
        members = list(keys)
        if members:
            self.client.zrem(LEASES, *members)

    def expired(self, limit: int = 500) -> dict[str, int]:
        """Up to ``limit`` leases past their deadline: member -> deadline (ms)."""
        rows: list[tuple[bytes, float]] = self.client.zrangebyscore(  # type: ignore[assignment]
            LEASES, "-inf", self.now_ms(), start=0, num=limit, withscores=True
        )
        return {as_text(member): int(score) for member, score in rows}

    def deadline(self, key: str) -> int | None:
        score = self.client.zscore(LEASES, key)
        return None if score is None else int(score)

    def count(self) -> int:
        return int(self.client.zcard(LEASES))
