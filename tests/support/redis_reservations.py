"""Reserving one of a Redis server's databases 1-15 for one user at a time.

Test sessions and benchmarks each take a database of their own, so that runs sharing a
server never take each other's tasks or data. The reservation is a key in the database that
names its holder (host, process, token). A holder that died without releasing it (killed,
or its machine cut off) leaves the key behind; a later reservation on the same host sees
that the process is gone and takes the database over instead of waiting for the key to
expire.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable

import redis

__all__ = ["LOCK_KEY", "release", "reserve"]

LOCK_KEY = "sluice-test:lock"

# Take the key over only if it still names the dead holder that was seen.
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""


def _holder(token: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{token}"


def _abandoned(value: bytes) -> bool:
    """True when ``value`` names a process on this host that no longer runs."""
    host, _, rest = value.decode("utf-8", "replace").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def reserve(
    base: str, token: str, seconds: int, databases: Iterable[int] = range(1, 16)
) -> tuple[redis.Redis, int] | None:
    """Reserve the first free database of ``databases`` on the server at ``base`` (a URL
    without a database number) and empty it; ``None`` when every one is held."""
    holder = _holder(token)
    for db in databases:
        client = redis.Redis.from_url(f"{base}/{db}")
        held = bool(client.set(LOCK_KEY, holder, nx=True, ex=seconds))
        if not held:
            current = client.get(LOCK_KEY)
            if current is not None and _abandoned(current):
                held = bool(client.eval(_TAKE_OVER, 1, LOCK_KEY, current, holder, seconds))
        if held:
            for key in client.scan_iter(count=1000):
                if key != LOCK_KEY.encode():
                    client.delete(key)
            return client, db
        client.close()
    return None


def release(client: redis.Redis, token: str) -> None:
    """Empty the database and give it back, if ``token`` still holds it."""
    if client.get(LOCK_KEY) == _holder(token).encode():
        client.flushdb()
    client.close()
