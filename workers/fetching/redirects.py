"""Where an item's redirect chain has got to, so each hop can wait for its own host's budget.

A fetch sends one request per run. When the answer is a redirect, the next URL and the hop
count are remembered here and the fetch is re-queued; its next run starts from that URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis

from sluice.shared.redis_state import KEY_PREFIX

__all__ = ["Hop", "RedirectMemo"]

_TTL = 3600


@dataclass(frozen=True, slots=True)
class Hop:
    """The URL to request next for an item that started at ``start``, after ``count`` hops."""

    start: str
    url: str
    count: int


class RedirectMemo:
    """Per-item redirect progress in Redis (an hour at most)."""

    def __init__(self, client: redis.Redis, prefix: str = KEY_PREFIX) -> None:
        self.client = client
        self.prefix = prefix

    def _key(self, holder: str) -> str:
        return f"{self.prefix}hops:{holder}"

    def current(self, holder: str, start: str) -> Hop:
        """Where ``holder``'s fetch of ``start`` goes next (``start`` itself at first)."""
        raw = self.client.get(self._key(holder))
        if raw:
            data = json.loads(raw)
            if data.get("start") == start:
                return Hop(start, data["url"], int(data["count"]))
        return Hop(start, start, 0)

    def advance(self, holder: str, hop: Hop, location: str) -> Hop:
        nxt = Hop(hop.start, location, hop.count + 1)
        payload = json.dumps({"start": nxt.start, "url": nxt.url, "count": nxt.count})
        self.client.set(self._key(holder), payload, ex=_TTL)
        return nxt

    def forget(self, holder: str) -> None:
        self.client.delete(self._key(holder))
