"""ETag and Last-Modified per URL, so a re-fetch can ask "has it changed?" (RFC 9110 §13)."""

from __future__ import annotations

import redis
from redis.typing import EncodableT, FieldT

from sluice.shared.redis_state import KEY_PREFIX, as_text

__all__ = ["ValidatorStore"]


class ValidatorStore:
    """Validators of fetched pages in Redis, keyed by canonical URL, kept for ``ttl`` seconds."""

    def __init__(self, client: redis.Redis, ttl: int, prefix: str = KEY_PREFIX) -> None:
        self.client = client
        self.ttl = ttl
        self.prefix = prefix

    def _key(self, canonical_url: str) -> str:
        return f"{self.prefix}validators:{canonical_url}"

    def save(self, canonical_url: str, headers: dict[str, str]) -> None:
        """Keep the ``etag`` and ``last-modified`` of a 200 (forget them if it had none)."""
        values: dict[FieldT, EncodableT] = {
            k: v for k, v in headers.items() if k in ("etag", "last-modified") and v
        }
        key = self._key(canonical_url)
        pipe = self.client.pipeline()
        pipe.delete(key)
        if values:
            pipe.hset(key, mapping=values)
            pipe.expire(key, self.ttl)
        pipe.execute()

    def conditional_headers(self, canonical_url: str) -> dict[str, str]:
        """``If-None-Match`` / ``If-Modified-Since`` for a request to ``canonical_url``."""
        etag, modified = self.client.hmget(self._key(canonical_url), "etag", "last-modified")
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = as_text(etag)
        if modified:
            headers["If-Modified-Since"] = as_text(modified)
        return headers
