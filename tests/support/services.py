"""Real Redis and real databases for the tests, isolated per test session.

Redis: ``SLUICE_TEST_REDIS_URL`` if set, else the server on 127.0.0.1:6379, else an
embedded Valkey server. Each caller gets a database number of its own, claimed with a
lock key, so concurrent test runs on one machine do not steal each other's tasks.

Databases: a temporary SQLite file always; PostgreSQL when ``SLUICE_TEST_DATABASE_URL``
is set, as a freshly created database that is dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shared.embedded_redis import EmbeddedRedis, redis_answers
from tests.support.redis_reservations import release, reserve

__all__ = ["RedisProvider", "postgres_database"]

_RESERVE_SECONDS = 3 * 3600


class RedisProvider:
    """Hands out Redis database URLs, each empty and reserved for one user."""

    def __init__(self) -> None:
        self._embedded: EmbeddedRedis | None = None
        base = os.environ.get("SLUICE_TEST_REDIS_URL")
        if not base:
            base = "redis://127.0.0.1:6379"
            if not redis_answers(base + "/0"):
                self._embedded = EmbeddedRedis()
                base = self._embedded.url.rsplit("/", 1)[0]
        self.base = base.rstrip("/")
        if self.base.rsplit("/", 1)[-1].isdigit():
            self.base = self.base.rsplit("/", 1)[0]
        self._held: dict[str, redis.Redis] = {}
        self._token = uuid.uuid4().hex

    def acquire(self) -> str:
        reserved = reserve(self.base, self._token, _RESERVE_SECONDS)
        if reserved is None:
            raise RuntimeError("no free Redis database (1-15) for the tests")
        client, db = reserved
        url = f"{self.base}/{db}"
        self._held[url] = client
        return url

    def release(self, url: str) -> None:
        """Empty ``url``'s database and give it back before the session ends."""
        client = self._held.pop(url, None)
        if client is not None:
            release(client, self._token)

    def close(self) -> None:
        for url in list(self._held):
            self.release(url)
        if self._embedded is not None:
            self._embedded.stop()


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database next to ``admin_url``'s; dropped on exit."""
    name = f"sluice_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        from shared.db.engine import _engines

        for key in [k for k in _engines if k[1] == url]:
            _engines.pop(key).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
