"""One polite step of fetching a URL for an item: robots.txt, the host's budget, one request.

:meth:`Crawler.visit` sends at most one request per call. It runs when the crawl frontier
gave the item its host's turn (:mod:`workers.fetching.frontier`), at most a moment before
the host's gate opens: it waits out that moment (``_LONGEST_WAIT`` at most), never longer.
When robots.txt took this turn, after a redirect, or when the gate is further away than
that, it answers :class:`Deferred`: the item goes back into the frontier, in the queue of
the host of ``url``. Otherwise it ends in a page, :class:`Unchanged` (a 304 to a
conditional re-fetch), or a :mod:`shared.errors` error with its reason code.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import redis

from sluice.shared.errors import PermanentError, RetryableError
from sluice.shared.hosts import host_of
from sluice.shared.identity import url_key
from sluice.shared.settings import Settings
from sluice.workers.fetching.client import FetchedPage, Fetcher, NotModified, Redirect, check_url
from sluice.workers.fetching.politeness import HostBudget
from sluice.workers.fetching.redirects import RedirectMemo, next_hop
from sluice.workers.fetching.robots import Robots, RobotsCache
from sluice.workers.fetching.validators import ValidatorStore

__all__ = ["REDIRECTED", "Crawler", "Deferred", "Unchanged", "Visit"]

_SLOWING_STATUS = ("http_429", "http_503")
# Timeouts and failed connections: the host backs off, and is probed before its next turn.
_SILENT = ("timeout", "connection_error")
_SILENT_ROBOTS = tuple(f"unreachable ({reason})" for reason in _SILENT)

# A task released ahead of its host's gate waits this long at most; longer: back in line.
_LONGEST_WAIT = 0.25


@dataclass(frozen=True, slots=True)
class Deferred:
    """Not now: call again for ``url`` (the next request's, whose host's queue the item
    rejoins) in ``wait`` seconds; ``why`` is for logs and tests."""

    wait: float
    why: str
    url: str


#: :attr:`Deferred.why` of a redirect: ``url`` is the next hop.
REDIRECTED = "redirected"


@dataclass(frozen=True, slots=True)
class Unchanged:
    """The server answered 304: the page at ``url`` has not changed since the last fetch."""

    url: str


Visit = FetchedPage | Deferred | Unchanged


class Crawler:
    """Robots, budget, validators and redirect progress around a :class:`Fetcher`."""

    def __init__(self, fetcher: Fetcher, client: redis.Redis, settings: Settings) -> None:
        self.fetcher = fetcher
        self.settings = settings
        self.budget = HostBudget.from_settings(client, settings, ends_turns=True)
        self.robots = RobotsCache(client, fetcher, settings)
        self.validators = ValidatorStore(client, settings.fetch_validators_ttl)
        self.redirects = RedirectMemo(client)
        # A task released ahead of its gate by the frontier's lookahead books the gate's
        # opening and waits for it once; a longer wait is asked about again after it.
        self._hold = settings.frontier_lookahead

    def _retry_after(self, value: float | None) -> float | None:
        return None if value is None else min(value, self.settings.fetch_retry_after_max)

    def _robots(self, url: str, holder: str) -> Robots | Deferred:
        """The cached verdict for ``url``'s origin, or fetch it (then come back for the page)."""
        robots = self.robots.cached(url)
        if robots is not None:
            return robots
        if not self.robots.claim(url, holder):
            return Deferred(random.uniform(0.2, 0.6), "robots.txt being fetched elsewhere", url)
        try:
            wait = self._turn(host_of(url))
            if wait:
                return Deferred(wait, "host budget (robots.txt)", url)
            robots = None
            sent = time.monotonic()
            try:
                robots = self.robots.fetch(url)
            finally:
                if robots is not None and robots.detail.endswith(_SILENT_ROBOTS):
                    self.budget.failed(host_of(url))
                else:
                    self.budget.finished(host_of(url), sent=sent)
        finally:
            self.robots.release(url)
        self.robots.check(robots, url)
        # That was this turn's request; the page waits for the host's next turn, first in line.
        return Deferred(0.0, "robots.txt fetched", url)

    def _turn(self, host: str, crawl_delay: float = 0.0) -> float:
        """Start a request to ``host`` once its gate opens, waiting a moment at most;
        returns 0.0 to go, or the seconds the gate is still away."""
        booked, wait = self.budget.book(host, crawl_delay, hold=self._hold)
        if booked:
            time.sleep(wait)
            return 0.0
        while wait <= _LONGEST_WAIT:
            time.sleep(wait)
            if not (wait := self.budget.start(host, crawl_delay)):
                return 0.0
        return wait

    def _crawl_delay(self, robots: Robots | None) -> float:
        if robots is None:
            return 0.0
        return min(robots.crawl_delay(self.robots.agent), self.settings.fetch_crawl_delay_max)

    def request(
        self,
        url: str,
        holder: str,
        *,
        headers: dict[str, str] | None = None,
        content_types: tuple[str, ...] | None = None,
    ) -> FetchedPage | Redirect | NotModified | Deferred:
        """One polite request to ``url`` for ``holder``, not following a redirect.

        :class:`Deferred` when robots.txt took this turn or the host's gate is not open;
        a 429 or 503 slows the host down for everyone, its ``Retry-After`` capped by
        ``SLUICE_FETCH_RETRY_AFTER_MAX``.
        """
        check_url(url)  # before robots.txt or the budget: an ftp URL asks nothing of either
        host = host_of(url)
        robots: Robots | None = None
        if self.settings.robots_obey:
            found = self._robots(url, holder)
            if isinstance(found, Deferred):
                return found
            robots = found
            self.robots.check(robots, url)
        delay = self._crawl_delay(robots)
        wait = self._turn(host, delay)
        if wait:
            return Deferred(wait, "host budget", url)
        sent = time.monotonic()
        try:
            result = self.fetcher.hop(url, content_types, headers=headers)
        except RetryableError as exc:
            retry_after = self._retry_after(exc.retry_after)
            if exc.reason in _SLOWING_STATUS:
                self.budget.slow_down(host, retry_after)
            elif exc.reason in _SILENT:
                self.budget.failed(host, delay)
            else:
                normal = exc.reason.startswith("http_")
                self.budget.finished(host, delay, normal=normal, sent=sent)
            raise RetryableError(exc.reason, exc.detail, retry_after) from exc
        except PermanentError as exc:
            normal = exc.reason != "blocked_address"
            self.budget.finished(host, delay, normal=normal, sent=sent)
            raise
        self.budget.finished(host, delay, answered=result.answered, sent=sent)
        return result

    def visit(self, url: str, holder: str, *, conditional: bool = False) -> Visit:
        """Take the next step of fetching ``url`` for ``holder`` (``"<job>:<item>"``).

        With ``conditional``, the validators of an earlier fetch are sent, and a 304
        answers :class:`Unchanged`.
        """
        hop = self.redirects.current(holder, url)
        headers = self.validators.conditional_headers(url_key(hop.url)) if conditional else {}
        try:
            result = self.request(hop.url, holder, headers=headers)
        except PermanentError:
            self.redirects.forget(holder)
            raise
        if isinstance(result, Deferred):
            return result
        if isinstance(result, Redirect):
            try:
                location = next_hop(result, hop.count, self.settings.fetch_max_redirects)
            except PermanentError:
                self.redirects.forget(holder)
                raise
            self.redirects.advance(holder, hop, location)
            # The next hop waits for its host's turn, in the frontier.
            return Deferred(0.0, REDIRECTED, result.location)
        self.redirects.forget(holder)
        if isinstance(result, NotModified):
            return Unchanged(result.url)
        if conditional or result.headers:
            self.validators.save(url_key(result.url), result.headers)
        return result
