"""Site crawls on real workers: each test crawls a small generated news site
(:class:`tests.support.news_site.NewsSite`, the benchmark's) with its own Redis database,
store and workers (the fault tests' :class:`FaultRun`), so a worker can be killed or Redis
restarted mid-crawl, and checks what was fetched and stored against the site's truth."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from sluice.shared.db.schema import items
from sluice.shared.states import FINAL_STATES
from tests.faults.conftest import FAULT_ENV, FaultRun
from tests.support.news_site import ARTICLE, HUB, NewsSite, page_key
from tests.support.services import RedisProvider
from tests.support.web import WebServer

# About 100 pages: 87 articles and 14 hubs (front, 3 sections of 2 pages, 3 tags of 2 or 3).
SITE_PAGES = 100
# The crawls' pattern cap: the calendar trap's days fetched, and the robots.txt-disallowed
# sign-in links (``/account/login?next=PATH``, one per page) admitted.
CALENDAR_CAP = 5
# Requests a killed fetch worker may have had in flight (its fetch concurrency, FAULT_ENV),
# made again once their leases run out: the only pages a crawl may fetch twice.
IN_FLIGHT = int(FAULT_ENV["SLUICE_FETCH_CONCURRENCY"]) * 2
# No spaCy pipeline: articles are stored without entities (no_model_for_language), so the
# crawl is what a case spends its time on, and a restarted worker loads no model.
CRAWL_ENV = {"SLUICE_SPACY_MODELS": ""}


class CrawlRun(FaultRun):
    """One crawl case: its site, Redis database, store and workers."""

    def __init__(
        self, *args: Any, site: NewsSite, extra_env: dict[str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, extra_env={**CRAWL_ENV, **(extra_env or {})}, **kwargs)
        self.site = site

    def crawl(self, *options: str) -> str:
        """Start a crawl of the site's front page with ``options``; returns the job id."""
        result = self.cluster.sluice(
            "submit",
            "--crawl",
            self.site.url("/"),
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
        """Pages requested more than once (by page: a session id or ``utm_`` taken off)."""
        return {key: n for key, n in self.site.fetches().items() if n > 1}

    def sources(self, state: str) -> set[str]:
        """The pages (by page key: a session id or ``utm_`` taken off) of the crawl's items
        in ``state``."""
        keys = set()
        for item in self.items():
            if item["state"] == state:
                parts = urlsplit(item["source"])
                keys.add(page_key(parts.path + (f"?{parts.query}" if parts.query else "")))
        return keys

    def fetched(self, kind: str) -> set[str]:
        """The pages of ``kind`` (``article``, ``hub``, ``trap`` …) the site was asked for."""
        return {key for key in self.site.fetches() if self.site.map.kind_of(key) == kind}


def truth_of(site: NewsSite, kind: str) -> set[str]:
    """The site's pages of ``kind`` (article or hub), by page key."""
    return {key for key, k in site.map.truth().items() if k == kind}


def whole_crawl(site: NewsSite) -> dict[str, int]:
    """The states of a whole crawl of ``site``: its articles stored, its hubs and the calendar
    trap's capped days followed, the capped sign-in links skipped (robots.txt)."""
    return {
        "stored": len(truth_of(site, ARTICLE)),
        "followed": len(truth_of(site, HUB)) + CALENDAR_CAP,
        "skipped": CALENDAR_CAP,
    }


@pytest.fixture
def crawl_site() -> Iterator[NewsSite]:
    with NewsSite(SITE_PAGES) as site:
        yield site


@pytest.fixture
def crawl_run(
    redis_provider: RedisProvider, web: WebServer, tmp_path: Path, crawl_site: NewsSite
) -> Iterator[CrawlRun]:
    redis_url = redis_provider.acquire()
    run = CrawlRun(redis_url, f"sqlite:///{tmp_path / 'crawl.db'}", tmp_path, web, site=crawl_site)
    yield run
    run.stop()
    redis_provider.release(redis_url)
