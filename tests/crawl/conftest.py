"""Site crawls on real workers: each test crawls the generated site of :mod:`tests.crawl.site`
with its own Redis database, store and workers (the fault tests' :class:`FaultRun`), so
a worker can be killed or Redis restarted mid-crawl."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sluice.shared.db.schema import items
from sluice.shared.states import FINAL_STATES
from tests.crawl.site import CrawlSite
from tests.faults.conftest import FAULT_ENV, FaultRun
from tests.support.services import RedisProvider
from tests.support.web import WebServer

# The site's own shape: front, 4 sections of 4 pages of 10 articles, 5 calendar months
# (the pattern cap of the crawls below).
CALENDAR_CAP = 5
# Requests a killed fetch worker may have had in flight (its fetch concurrency, FAULT_ENV),
# made again once their leases run out: the only pages a crawl may fetch twice.
IN_FLIGHT = int(FAULT_ENV["SLUICE_FETCH_CONCURRENCY"]) * 2


class CrawlRun(FaultRun):
    """One crawl case: its site, Redis database, store and workers."""

    def __init__(self, *args: Any, site: CrawlSite, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site = site

    def crawl(self, *options: str) -> str:
        """Start a crawl of the site's front page with ``options``; returns the job id."""
        result = self.cluster.sluice(
            "submit",
            "--crawl",
            self.site.front,
            "--depth",
            "6",
            "--max-per-pattern",
            str(CALENDAR_CAP),
            *options,
        )
        assert result.returncode == 0, result.stderr
        self.job_id = result.stdout.split()[0]
        return self.job_id

    def pending(self) -> int:
        return sum(n for state, n in self.states().items() if state not in FINAL_STATES)

    def wait_done(self, timeout: float = 240) -> dict[str, int]:
        """Wait until every item of the crawl is final (nothing more can be found then: an
        item's found URLs are recorded before it moves on); returns the states."""
        deadline = time.monotonic() + timeout
        while self.pending() or not self.states():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.states()} after {timeout}s\n{self.cluster.logs()}")
            time.sleep(0.5)
        return self.states()

    def status(self) -> dict[str, Any]:
        result = self.cluster.sluice("status", self.job_id, "--json")
        assert result.returncode == 0, result.stderr
        return dict(json.loads(result.stdout))

    def items(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(items).where(items.c.job_id == self.job_id))
            return [dict(row._mapping) for row in rows]

    def fetched_twice(self) -> dict[str, int]:
        return {path: n for path, n in self.site.fetches().items() if n > 1}


@pytest.fixture
def crawl_site() -> Iterator[CrawlSite]:
    site = CrawlSite()
    yield site
    site.close()


@pytest.fixture
def crawl_run(
    redis_provider: RedisProvider, web: WebServer, tmp_path: Path, crawl_site: CrawlSite
) -> Iterator[CrawlRun]:
    redis_url = redis_provider.acquire()
    run = CrawlRun(redis_url, f"sqlite:///{tmp_path / 'crawl.db'}", tmp_path, web, site=crawl_site)
    yield run
    run.stop()
    redis_provider.release(redis_url)
