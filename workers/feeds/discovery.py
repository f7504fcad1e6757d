"""``sluice feeds discover``: a site's feeds and sitemaps, fetched politely.

The page given is read for ``<link rel="alternate">`` feeds (or is a feed itself), the
site's robots.txt (served as any type) for ``Sitemap:`` or ``Site-map:`` lines; when
neither names a feed, the usual feed paths are tried, and when none names a sitemap, the
usual sitemap paths. A candidate from a usual
path counts only when it parses as what it should be. When no feed is found at all, the
page (when it is HTML) and the sections its navigation links to are proposed as section
pages to watch (kind ``section``, :mod:`workers.feeds.section_hints`), read from the page
already fetched: no request more. Every request goes through the
getter (:class:`producers.turn_fetcher.TurnFetcher`: the host's turn, robots.txt and the
host budget).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin

from sluice.shared.errors import SluiceError
from sluice.workers.feeds.reader import read_document, robots_sitemaps, sniff
from sluice.workers.feeds.section_hints import sections_in_html
from sluice.workers.feeds.site_hints import Discovered, feeds_in_html, site_root, usual_places
from sluice.workers.fetching.client import ANY_CONTENT_TYPE, FetchedPage, Getter

__all__ = ["Discovery", "discover_site"]

# Kinds of what is found that are not feeds.
_NOT_FEEDS = ("sitemap", "section")


@dataclass
class Discovery:
    """What was found, and the documents that could not be read (URL, reason)."""

    found: list[Discovered] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def _try(getter: Getter, url: str, kind: str, out: Discovery) -> bool:
    """Whether ``url`` holds a readable feed or sitemap (``kind``)."""
    try:
        page = getter.get(url, content_types=ANY_CONTENT_TYPE)
        document = read_document(kind, page.body, page.url)
    except SluiceError:
        return False
    if kind == "feed" and not document.entries:
        return False
    out.found.append(Discovered(page.url, kind, "usual path"))
    return True


def discover_site(url: str, getter: Getter) -> Discovery:
    """The feeds and sitemaps of the site of ``url``."""
    out = Discovery()
    html_page: FetchedPage | None = None
    try:
        page = getter.get(url, content_types=ANY_CONTENT_TYPE)
    except SluiceError as exc:
        out.problems.append((url, str(exc.reason)))
    else:
        if sniff(page.body) == "html":
            out.found.extend(feeds_in_html(page.body, page.url))
            html_page = page
        else:
            out.found.append(Discovered(page.url, "feed", "given"))
    robots = urljoin(site_root(url), "/robots.txt")
    try:
        body = getter.get(robots, content_types=ANY_CONTENT_TYPE).body
        out.found.extend(
            Discovered(u, "sitemap", "robots.txt") for u in robots_sitemaps(body, robots)
        )
    except SluiceError as exc:
        out.problems.append((robots, str(exc.reason)))
    has_feed = any(d.kind not in _NOT_FEEDS for d in out.found)
    has_sitemap = any(d.kind == "sitemap" for d in out.found)
    for candidate, kind in usual_places(url):
        if (kind == "feed" and not has_feed) or (kind == "sitemap" and not has_sitemap):
            _try(getter, candidate, kind, out)
    if html_page is not None and not any(d.kind not in _NOT_FEEDS for d in out.found):
        out.found.extend(sections_in_html(html_page.body, html_page.url))
    unique: dict[str, Discovered] = {}
    for found in out.found:
        unique.setdefault(found.url, found)
    out.found = list(unique.values())
    return out
