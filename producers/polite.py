"""Fetching feeds and sitemaps in the producer as politely as the workers fetch pages.

:class:`PoliteFetcher` has the one method the expansion uses, ``get``, and sends each
request (robots.txt, the document, every redirect hop) only when robots.txt allows it and
the host's cluster-wide budget (:class:`workers.fetching.politeness.HostBudget`) lets it
go: the producer waits for the host's gate itself, as it is not a worker slot. A 429 or 503
slows the host down for everyone, workers included. The gate is the same one the crawl
frontier schedules pages by, so a sitemap fetched while its site is being crawled still
keeps the site's interval between request starts.
"""

from __future__ import annotations

import time

import redis

from sluice.shared.errors import PermanentError, RetryableError
from sluice.shared.hosts import host_of
from sluice.shared.reasons import Reason
from sluice.shared.settings import Settings
from sluice.workers.fetching.client import FetchedPage, Fetcher, NotModified, Redirect
from sluice.workers.fetching.politeness import HostBudget
from sluice.workers.fetching.robots import RobotsCache

__all__ = ["PoliteFetcher"]

_SLOWING = ("http_429", "http_503")


class PoliteFetcher:
    """``get(url, content_types)`` behind robots.txt and the host budget."""

    def __init__(self, fetcher: Fetcher, client: redis.Redis, settings: Settings) -> None:
        self.fetcher = fetcher
        self.settings = settings
        self.budget = HostBudget.from_settings(client, settings)
        self.robots = RobotsCache(client, fetcher, settings)

    def close(self) -> None:
        self.fetcher.close()

    def _turn(self, host: str, crawl_delay: float) -> None:
        while wait := self.budget.start(host, crawl_delay):
            time.sleep(wait)

    def _crawl_delay(self, url: str) -> float:
        if not self.settings.robots_obey:
            return 0.0
        robots = self.robots.cached(url)
        if robots is None:
            self._turn(host_of(url), 0.0)
            try:
                robots = self.robots.fetch(url)
            finally:
                self.budget.finished(host_of(url))
        self.robots.check(robots, url)
        return min(robots.crawl_delay(self.robots.agent), self.settings.fetch_crawl_delay_max)

    def _hop(self, url: str, content_types: tuple[str, ...] | None) -> FetchedPage | Redirect:
        result = self.hop(url, content_types)
        if isinstance(result, NotModified):  # pragma: no cover - nothing was conditional
            raise PermanentError(Reason.http(304), "not modified, but nothing was conditional")
        return result

    def hop(
        self,
        url: str,
        content_types: tuple[str, ...] | None = None,
        headers: dict[str, str] | None = None,
    ) -> FetchedPage | Redirect | NotModified:
        """One polite request, not following a redirect; ``headers`` may make it conditional
        (a registered feed's ETag and Last-Modified), and a 304 is then :class:`NotModified`."""
        host = host_of(url)
        delay = self._crawl_delay(url)
        self._turn(host, delay)
        try:
            result = self.fetcher.hop(url, content_types, headers=headers)
        except RetryableError as exc:
            if exc.reason in _SLOWING:
                retry_after = exc.retry_after
                if retry_after is not None:
                    retry_after = min(retry_after, self.settings.fetch_retry_after_max)
                self.budget.slow_down(host, retry_after)
            else:
                self.budget.finished(host, delay, normal=exc.reason.startswith("http_"))
            raise
        except PermanentError:
            self.budget.finished(host, delay)
            raise
        self.budget.finished(host, delay, answered=result.answered)
        return result

    def get(self, url: str, content_types: tuple[str, ...] | None = None) -> FetchedPage:
        """Download ``url`` one polite hop at a time, following redirects."""
        for _ in range(self.settings.fetch_max_redirects + 1):
            result = self._hop(url, content_types)
            if isinstance(result, FetchedPage):
                return result
            url = result.location
        raise PermanentError(
            Reason.TOO_MANY_REDIRECTS, f"more than {self.settings.fetch_max_redirects}"
        )
