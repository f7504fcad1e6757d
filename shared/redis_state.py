"""The Redis client for shared state (dedup index, URL claims), one per process."""

from __future__ import annotations

import os

import redis

from sluice.shared.settings import get_settings

__all__ = ["KEY_PREFIX", "as_text", "get_redis"]

KEY_PREFIX = "sluice:"

_clients: dict[tuple[int, str], redis.Redis] = {}


def get_redis(url: str | None = None) -> redis.Redis:
    """A client for ``url`` (default: ``SLUICE_REDIS_URL``), created once per process."""
    url = url or get_settings().redis_url
    key = (os.getpid(), url)
    client = _clients.get(key)
    if client is None:
        client = redis.Redis.from_url(url, socket_timeout=30, health_check_interval=30)
        _clients[key] = client
    return client


def as_text(value: bytes | str) -> str:
    """A Redis reply as text. sluice's clients never decode replies, so they are bytes, but
    redis-py types them ``bytes | str``."""
    return value.decode() if isinstance(value, bytes) else value
