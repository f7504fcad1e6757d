"""Fetch stage: download a page over HTTP(S) within firm limits and keep it in the store.

The HTTP client and its limits live in :mod:`workers.fetching.client`; the address guard in
:mod:`workers.fetching.addresses`. :func:`fetch` downloads at once (following redirects);
:func:`fetch_politely` is what the pipeline runs: robots.txt, the host's request budget
shared by the cluster, conditional re-fetches, one request per call
(:mod:`workers.fetching.crawler`).
"""

from __future__ import annotations

from shared.article import Article
from shared.errors import PermanentError
from shared.identity import article_id_for_url, canonicalize_url
from shared.pages import save_page
from workers.fetching.client import FetchedPage, Fetcher
from workers.fetching.crawler import Crawler, Deferred, Unchanged
from workers.fetching.urls import check_url

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
]


# Longer URLs are refused before any request: servers and proxies commonly reject them, and
# they are a favourite of crawler traps.
MAX_URL_LENGTH = 2048


def identify(article: Article) -> Article:
    """Set the canonical URL and the article id from the submitted URL, before fetching."""
    if not article.url:
        raise PermanentError("no_url", "nothing to fetch")
    if len(article.url) > MAX_URL_LENGTH:
        raise PermanentError("url_too_long", f"{len(article.url)} characters")
    check_url(article.url)  # before canonicalizing: javascript: is a scheme, not a bad URL
    try:
        canonical = canonicalize_url(article.url)
    except ValueError as exc:
        raise PermanentError("invalid_url", str(exc)[:300]) from exc
    article.canonical_url = canonical
    article.id = article.id or article_id_for_url(canonical)
    return article


def _keep(article: Article, page: FetchedPage) -> Article:
    """Record where the page really is and keep its bytes; the id stays the submitted URL's."""
    try:
        article.canonical_url = canonicalize_url(page.url)
    except ValueError as exc:
        raise PermanentError("invalid_url", str(exc)[:300]) from exc
    article.page_id = save_page(page.body, page.url, page.content_type, page.encoding)
    return article


def fetch(article: Article, fetcher: Fetcher) -> Article:
    """Download ``article.url`` and keep the raw page; the canonical URL becomes the final one
    after redirects, while the id stays that of the submitted URL."""
    identify(article)
    return _keep(article, fetcher.get(article.url))  # type: ignore[arg-type]


def fetch_politely(article: Article, crawler: Crawler) -> Article | Deferred | Unchanged:
    """One polite step of fetching ``article.url``.

    Returns the article with its page kept, :class:`Deferred` (call again after ``wait``
    seconds: the host is over budget, or a redirect or robots.txt took this turn), or
    :class:`Unchanged` (a re-fetch answered 304).
    """
    identify(article)
    visit = crawler.visit(
        article.url,  # type: ignore[arg-type]
        f"{article.job_id}:{article.item_id}",
        conditional=article.refetch,
    )
    if isinstance(visit, Deferred | Unchanged):
        return visit
    return _keep(article, visit)
