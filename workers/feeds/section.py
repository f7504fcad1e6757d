"""A watched section page (``sluice feeds add --html``) read as a feed: its entries are the
links that stay on the page's host and look like articles.

A front or section page lists its newest stories among navigation, tag, author and
pagination links. Only links within the page's scope (its host, as a ``--scope host`` site
crawl: :class:`workers.crawl.scope.CrawlScope`) whose URL has an article's shape
(:func:`workers.crawl.url_shape.url_looks_like_article`) are entries; the page itself
is not. Which of them are new is the poll's question (:mod:`workers.feeds.polling`), as for
any feed. A feed or sitemap given as a section page is ``not_a_section_page``: it should be
registered as what it is.
"""

from __future__ import annotations

from sluice.shared.errors import PermanentError
from sluice.shared.identity import url_key
from sluice.shared.reasons import Reason
from sluice.workers.crawl.links import links_in
from sluice.workers.crawl.scope import CrawlScope
from sluice.workers.crawl.url_shape import url_looks_like_article
from sluice.workers.feeds.reader import Document, Entry, sniff, unzipped

__all__ = ["article_links", "read_section"]

_NOT_PAGES = {"feed": "a feed", "sitemap": "a sitemap", "json": "JSON", "text": "a URL list"}


def article_links(html: str, page_url: str) -> list[str]:
    """The links of the page ``html`` (at ``page_url``) on its own host that look like
    articles, in document order, each once (by canonical URL), the page itself left out."""
    scope = CrawlScope((page_url,), "host")
    seen = {url_key(page_url)}
    found: list[str] = []
    for link in links_in(html, page_url):
        key = url_key(link)
        if key in seen or not scope.in_scope(link) or not url_looks_like_article(link):
            continue
        seen.add(key)
        found.append(link)
    return found


def read_section(body: bytes, page_url: str) -> Document:
    """The section page ``body`` (fetched from ``page_url``, after redirects) as a document
    whose entries are its article links; a feed, sitemap or URL list is refused."""
    body = unzipped(body, Reason.NOT_A_SECTION_PAGE)
    what = _NOT_PAGES.get(sniff(body))
    if what is not None:
        raise PermanentError(
            Reason.NOT_A_SECTION_PAGE,
            f"{what}, not an HTML page: register it without --html",
        )
    html = body.decode("utf-8", "replace")
    return Document([Entry(link) for link in article_links(html, page_url)], format="html")
