"""The names ``benchmarks/politeness.py`` imports, on the tests' harness (``tests/support``).

The other benchmarks use ``tests.support`` directly; this stays until politeness does too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.cluster import Cluster
from tests.support.services import BENCHMARK_DATABASES, fresh_store, redis_database

__all__ = ["WorkerGroup", "fresh_store", "isolated_redis"]


@contextmanager
def isolated_redis(redis_url: str | None, data_dir: Path) -> Iterator[str]:
    """An empty Redis database reserved for the run (``data_dir`` is not needed any more)."""
    with redis_database(redis_url, BENCHMARK_DATABASES) as url:
        yield url


class WorkerGroup(Cluster):
    """``sluice worker`` processes with ``env``, logging into ``log_dir``."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        super().__init__(env["SLUICE_REDIS_URL"], env["SLUICE_DATABASE_URL"], log_dir, env)

    def start(self, *args: str) -> None:
        self.start_worker(*args)

    def log_tail(self) -> str:
        return self.logs()
