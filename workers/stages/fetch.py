"""Fetch stage: download a page over HTTP(S) within firm limits and keep it in the store.

A page of a site crawl gives the links the crawl follows here, where its bytes are, and a
hub ends ``followed`` (``crawl_hub``) without going to extract
(:mod:`workers.crawl.crawled_page`). One that redirects out of the crawl's scope is not
followed there: it ends ``skipped`` (``redirect_out_of_scope``). Work a crawl found (an item with
``found_by``) that robots.txt disallows ends ``skipped`` (``robots_disallowed``), one of the
crawl's bounds, not a failure; a submitted URL robots.txt disallows still fails.

The HTTP client and its limits live in :mod:`workers.fetching.client`; the address guard in
:mod:`workers.fetching.addresses`. :func:`fetch` downloads at once (following redirects);
:func:`fetch_politely` is what the pipeline runs: robots.txt, the host's request budget
shared by the cluster, conditional re-fetches, one request per call
(:mod:`workers.fetching.crawler`).
"""

from __future__ import annotations

import functools

from sluice.shared.article import Article
from sluice.shared.errors import PermanentError
from sluice.shared.identity import article_id, canonicalize_url
from sluice.shared.metrics.host_outcomes import count_fetch_outcome
from sluice.shared.outcomes import Defer, Final, Forward, Outcome
from sluice.shared.pages import save_page
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import get_redis
from sluice.shared.settings import get_settings
from sluice.shared.states import State
from sluice.workers.crawl import stats
from sluice.workers.crawl.crawled_page import crawled_page
from sluice.workers.crawl.crawls import crawl_of
from sluice.workers.fetching.client import FetchedPage, Fetcher
from sluice.workers.fetching.crawler import REDIRECTED, Crawler, Deferred, Unchanged
from sluice.workers.fetching.urls import check_url
from sluice.workers.stages.dedup import dedup_index

__all__ = [
    "MAX_URL_LENGTH",
    "Crawler",
    "Deferred",
    "FetchedPage",
    "Fetcher",
    "Unchanged",
    "fetch",
    "fetch_politely",
    "identify",
    "run",
]


# Longer URLs are refused before any request: servers and proxies commonly reject them, and
# they are a favourite of crawler traps.
MAX_URL_LENGTH = 2048


def identify(article: Article) -> Article:
    """Set the canonical URL and the article id from the submitted URL, before fetching."""
    if not article.url:
        raise PermanentError(Reason.NO_URL, "nothing to fetch")
    if len(article.url) > MAX_URL_LENGTH:
        raise PermanentError(Reason.URL_TOO_LONG, f"{len(article.url)} characters")
    check_url(article.url)  # before canonicalizing: javascript: is a scheme, not a bad URL
    try:
        canonical = canonicalize_url(article.url)
    except ValueError as exc:
        raise PermanentError(Reason.INVALID_URL, str(exc)[:300]) from exc
    article.canonical_url = canonical
    article.id = article.id or article_id(canonical)
    return article


def _keep(article: Article, page: FetchedPage) -> Article:
    """Record where the page really is and keep its bytes; the id stays the submitted URL's."""
    try:
        article.canonical_url = canonicalize_url(page.url)
    except ValueError as exc:
        raise PermanentError(Reason.INVALID_URL, str(exc)[:300]) from exc
    article.page_id = save_page(page.body, page.url, page.content_type, page.encoding)
    return article


def fetch(article: Article, fetcher: Fetcher) -> Article:
    """Download ``article.url`` and keep the raw page; the canonical URL becomes the final one
    after redirects, while the id stays that of the submitted URL."""
    identify(article)
    return _keep(article, fetcher.get(article.url))  # type: ignore[arg-type]


def fetch_politely(article: Article, crawler: Crawler) -> Article | Deferred | Unchanged:
    """One polite step of fetching ``article.url``.

    Returns the article with its page kept, :class:`Deferred` (back into the frontier: a
    redirect or robots.txt took this turn, or the host's gate is not open), or
    :class:`Unchanged` (a re-fetch answered 304).
    """
    visit = _visit(article, crawler)
    if isinstance(visit, Deferred | Unchanged):
        return visit
    return _keep(article, visit)


def _visit(article: Article, crawler: Crawler) -> FetchedPage | Deferred | Unchanged:
    identify(article)
    return crawler.visit(
        article.url,  # type: ignore[arg-type]
        article.item_key,
        conditional=article.refetch,
    )


@functools.cache
def _crawler() -> Crawler:
    settings = get_settings()
    return Crawler(Fetcher(settings), get_redis(), settings)


def _off_crawl(article: Article, url: str) -> bool:
    """Whether ``url`` (where ``article``'s page redirects) is out of its site crawl's scope;
    False for a job that is no site crawl."""
    crawl = crawl_of(article.job_id)
    return crawl is not None and crawl.why_out(url) is not None


def run(article: Article) -> Outcome:
    """The fetch stage: claim the page for this item, then one polite step of fetching it."""
    identify(article)
    claim = dedup_index().claim(
        article.canonical_url or "", article.item_key, article.id, takeover=article.refetch
    )
    if not claim.is_original:
        return Final(State.DUPLICATE, Reason.ALREADY_SUBMITTED, duplicate_of=claim.article_id)
    try:
        visit = _visit(article, _crawler())
    except PermanentError as exc:
        if exc.reason != Reason.ROBOTS_DISALLOWED or article.found_by is None:
            raise
        stats.add(get_redis(), article.job_id, {Reason.ROBOTS_DISALLOWED.value: 1})
        return Final(State.SKIPPED, Reason.ROBOTS_DISALLOWED, exc.detail)
    if isinstance(visit, Deferred):
        if visit.why == REDIRECTED and _off_crawl(article, visit.url):
            return Final(State.SKIPPED, Reason.REDIRECT_OUT_OF_SCOPE, visit.url[:500])
        return Defer(visit.wait, visit.url)
    if isinstance(visit, Unchanged):
        count_fetch_outcome(article, "fetch", Reason.NOT_MODIFIED)
        return Final(State.UNCHANGED, Reason.NOT_MODIFIED)
    count_fetch_outcome(article, "fetch", Reason.FETCHED)
    _keep(article, visit)
    crawl = crawl_of(article.job_id)
    return Forward() if crawl is None else crawled_page(article, visit, crawl)
