"""A worker's node name, leased in Redis: one live process per name in the whole cluster.

The lease is one key, ``sluice:node:NAME``, holding its holder's token
(:mod:`shared.lease_holders`) and expiring after a time to live that Redis itself keeps, so
no machine's clock is compared with another's. A worker takes it before it starts (``SET
NX``), a thread of its own renews it (:class:`NameKeeper`) and it is given up at a clean
exit. A lease whose holder is a process of this machine that has ended is taken over at
once; one held from another machine frees the name only when it expires.

Only plain redis-py clients touch it, never Celery's or kombu's connections: the worker's
pool processes are forked from the process that takes it, and must inherit no broker
connection with a command in flight.
"""

from __future__ import annotations

import logging
import os
import threading

import redis

from sluice.shared.lease_holders import Holder, ended_here, holder_token
from sluice.shared.redis_state import KEY_PREFIX, as_text

__all__ = ["NameKeeper", "NodeNameLease"]

log = logging.getLogger(__name__)

_KEY = f"{KEY_PREFIX}node:"
_ATTEMPTS = 5  # takes raced by others before giving up (each race means the name moved)

# The holder's own lease, or none (it lapsed while Redis was away), is held for another
# time to live; a lease someone else took meanwhile is left to them.
_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
# A lease changes hands only if it is still the one found ended.
_REPLACE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class NodeNameLease:
    """The lease on node name ``name`` as process ``token`` (default: this one) holds it,
    for ``ttl`` seconds from each take or renewal."""

    def __init__(
        self, client: redis.Redis, name: str, ttl: float, token: str | None = None
    ) -> None:
        self.client = client
        self.name = name
        self.key = _KEY + name
        self.ttl_ms = max(1, int(ttl * 1000))
        self.token = token or holder_token()
        self._renew = client.register_script(_RENEW)
        self._replace = client.register_script(_REPLACE)
        self._release = client.register_script(_RELEASE)

    def holder(self) -> str | None:
        """The token of the live process other than this one that holds the name, if any."""
        current = self.client.get(self.key)
        if current is None:
            return None
        token = as_text(current)
        return None if token == self.token or ended_here(token) else token

    def take(self) -> str | None:
        """Hold the name. Returns None when this process holds it now, else the token of
        the live process that does."""
        for _ in range(_ATTEMPTS):
            if self.client.set(self.key, self.token, nx=True, px=self.ttl_ms):
                return None
            current = self.client.get(self.key)
            if current is None:  # it lapsed or was given up a moment ago
                continue
            token = as_text(current)
            if token == self.token:
                self.renew()
                return None
            if not ended_here(token):
                return token
            if self._replace(keys=[self.key], args=[token, self.token, self.ttl_ms]):
                log.info(
                    "node name %s: its holder (%s) has ended; taken over", self.name, _who(token)
                )
                return None
        raise redis.RedisError(f"node name {self.name} changed hands {_ATTEMPTS} times while taken")

    def renew(self) -> bool:
        """Hold the name for another time to live; False when another process took it while
        this one could not renew (Redis away for longer than the time to live)."""
        return bool(self._renew(keys=[self.key], args=[self.token, self.ttl_ms]))

    def release(self) -> None:
        """Give the name up, if this process still holds it."""
        self._release(keys=[self.key], args=[self.token])


def _who(token: str) -> str:
    holder = Holder.parse(token)
    return str(holder) if holder else token


class NameKeeper(threading.Thread):
    """A worker's thread that renews its node-name lease every quarter of its time to live,
    and gives it up at :meth:`release`. Its lease should have a Redis client of its own."""

    def __init__(self, lease: NodeNameLease) -> None:
        super().__init__(name="sluice-node-name", daemon=True)
        self.lease = lease
        self.pid = os.getpid()
        self._stopping = threading.Event()

    def run(self) -> None:
        beat = self.lease.ttl_ms / 4000
        lost = False
        while not self._stopping.wait(beat):
            try:
                held = self.lease.renew()
            except redis.RedisError as exc:
                log.warning("node name %s: lease not renewed: %s", self.lease.name, exc)
                continue
            if not held and not lost:
                log.error(
                    "node name %s was taken by %s while this worker could not renew it: "
                    "two workers answer to it now; stop one",
                    self.lease.name,
                    _who(as_text(self.lease.client.get(self.lease.key) or b"?")),
                )
            lost = not held

    def release(self) -> None:
        """Stop renewing and give the name up (in the process that took it only: a forked
        child holds nothing)."""
        if os.getpid() != self.pid:
            return
        self._stopping.set()
        try:
            self.lease.release()
        except redis.RedisError as exc:  # it lapses on its own
            log.warning("node name %s: lease not given up: %s", self.lease.name, exc)
