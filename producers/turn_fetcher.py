"""Fetching in a producer on the host's frontier turn, through the workers' one request path.

:class:`TurnFetcher` downloads what a producer reads (feeds and sitemaps being expanded, a
site's documents being discovered, a remote archive): each request, every redirect hop
included, waits for its host's turn (:class:`workers.fetching.holds.HostHold`), then goes
through :meth:`workers.fetching.crawler.Crawler.request` like a page's (robots.txt, the
host's cluster-wide budget, a 429 or 503 slowing the host down for everyone). Where a fetch
worker would hand its item back to the frontier (:class:`Deferred`: the gate is not open yet,
robots.txt took the request), the producer waits in its own process, keeping the turn.
Redirects are followed in the one loop of :mod:`workers.fetching.redirects`.
"""

from __future__ import annotations

import time

import redis

from sluice.shared.hosts import host_of
from sluice.shared.settings import Settings
from sluice.workers.fetching.client import FetchedPage, Fetcher, Redirect, downloaded
from sluice.workers.fetching.crawler import Crawler, Deferred
from sluice.workers.fetching.frontier import Frontier
from sluice.workers.fetching.holds import HostHold
from sluice.workers.fetching.politeness import HostBudget
from sluice.workers.fetching.redirects import follow

__all__ = ["TurnFetcher"]


class TurnFetcher:
    """``get(url, content_types)`` on the host's turn, politely, following redirects."""

    def __init__(self, fetcher: Fetcher, client: redis.Redis, settings: Settings) -> None:
        self.settings = settings
        self.fetcher = fetcher
        self.crawler = Crawler(fetcher, client, settings)
        self.frontier = Frontier(client)
        # For a request that is not one Crawler.request (a remote archive's stream): its
        # hold, not the budget, ends the host's turn.
        self.budget = HostBudget.from_settings(client, settings)

    def close(self) -> None:
        self.fetcher.close()

    def hold(self, url: str) -> HostHold:
        """The turn of ``url``'s host, not yet taken."""
        return HostHold(self.frontier, host_of(url), self.settings.fetch_lease)

    def open_gate(self, hold: HostHold) -> None:
        """Wait, keeping ``hold``, until its host's gate lets a request start (and book it)."""
        while wait := self.budget.start(hold.host):
            hold.keep(wait)
            time.sleep(wait)
            hold.take()

    def request(
        self, url: str, content_types: tuple[str, ...] | None = None
    ) -> FetchedPage | Redirect:
        """One polite request to ``url`` on its host's turn, not following a redirect."""
        with self.hold(url) as hold:
            while True:
                answer = self.crawler.request(url, hold.holder, content_types=content_types)
                if not isinstance(answer, Deferred):
                    return downloaded(answer)
                if answer.wait > 0:
                    hold.keep(answer.wait)
                    time.sleep(answer.wait)
                hold.take()  # robots.txt's request ended the turn: take it again

    def get(self, url: str, content_types: tuple[str, ...] | None = None) -> FetchedPage:
        """Download ``url`` one polite request at a time, following redirects."""
        return follow(
            lambda target: self.request(target, content_types),
            url,
            self.settings.fetch_max_redirects,
        )
