"""Redirects: the one loop that follows them, and where an item's chain has got to.

Every fetch follows redirects the same way: :func:`next_hop` decides where a chain goes
after a :class:`Redirect` (``too_many_redirects`` past ``SLUICE_FETCH_MAX_REDIRECTS``), and
:func:`follow` is the one loop over it, for whatever sends the requests (the bare client,
robots.txt, a producer's polite request, a remote archive). A fetch task or a feed poll
sends one request per turn instead: it keeps its chain's progress (here,
:class:`RedirectMemo`, for a page; in its payload, for a poll) and asks :func:`next_hop`
at each redirect.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import redis

from sluice.shared.errors import PermanentError
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import KEY_PREFIX

__all__ = ["Hop", "Redirect", "RedirectMemo", "follow", "next_hop"]

Answer = TypeVar("Answer")


@dataclass(frozen=True, slots=True)
class Redirect:
    """A hop that points elsewhere: ``location`` is absolute."""

    url: str
    status: int
    location: str
    answered: float = 0.0  # time.monotonic() when the answer began (0.0: unknown)


def next_hop(redirect: Redirect, count: int, limit: int) -> str:
    """Where a chain that has already made ``count`` redirects goes after ``redirect``;
    ``too_many_redirects`` once it would make more than ``limit``."""
    if count >= limit:
        raise PermanentError(Reason.TOO_MANY_REDIRECTS, f"more than {limit}")
    return redirect.location


def follow(request: Callable[[str], Answer | Redirect], url: str, limit: int) -> Answer:
    """Call ``request`` on ``url`` and on each location it is redirected to, at most
    ``limit`` redirects; returns the first answer that is not a redirect."""
    count = 0
    while True:
        answer = request(url)
        if not isinstance(answer, Redirect):
            return answer
        url = next_hop(answer, count, limit)
        count += 1


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
