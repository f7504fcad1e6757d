"""``sluice feeds discover``: a site's feeds and sitemaps, fetched politely.

The page given is read for ``<link rel="alternate">`` feeds (or is a feed itself), the
site's robots.txt for ``Sitemap:`` lines; when neither names a feed, the usual feed paths
are tried, and when none names a sitemap, the usual sitemap paths. A candidate from a usual
path counts only when it parses as what it should be. Every request goes through the
getter (:class:`producers.polite.PoliteFetcher`: robots.txt and the host budget).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin

from sluice.producers.discovery import (
    Discovered,
    feeds_in_html,
    site_root,
    sitemaps_in_robots,
    usual_places,
)
from sluice.producers.expansion import Getter
from sluice.producers.feed_entries import looks_like_html, read_document
from sluice.producers.feeds import FEED_TYPES, SITEMAP_TYPES
from sluice.shared.errors import SluiceError

__all__ = ["Discovery", "discover_site"]


@dataclass
class Discovery:
    """What was found, and the documents that could not be read (URL, reason)."""

    found: list[Discovered] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def _try(getter: Getter, url: str, kind: str, out: Discovery) -> bool:
    """Whether ``url`` holds a readable feed or sitemap (``kind``)."""
    types = FEED_TYPES if kind == "feed" else SITEMAP_TYPES
    try:
        page = getter.get(url, content_types=types)
        document = read_document(kind, page.body, page.url, page.content_type)
    except SluiceError:
        return False
    if kind == "feed" and not document.entries:
        return False
    out.found.append(Discovered(page.url, kind, "usual path"))
    return True


def discover_site(url: str, getter: Getter) -> Discovery:
    """The feeds and sitemaps of the site of ``url``."""
    out = Discovery()
    try:
        page = getter.get(url, content_types=FEED_TYPES)
    except SluiceError as exc:
        out.problems.append((url, str(exc.reason)))
    else:
        if looks_like_html(page.body, page.content_type):
            out.found.extend(feeds_in_html(page.body, page.url))
        else:
            out.found.append(Discovered(page.url, "feed", "given"))
    robots = urljoin(site_root(url), "/robots.txt")
    try:
        text = getter.get(robots, content_types=("text/plain",)).body
        out.found.extend(sitemaps_in_robots(text.decode("utf-8", "replace"), robots))
    except SluiceError as exc:
        out.problems.append((robots, str(exc.reason)))
    has_feed = any(d.kind != "sitemap" for d in out.found)
    has_sitemap = any(d.kind == "sitemap" for d in out.found)
    for candidate, kind in usual_places(url):
        if (kind == "feed" and not has_feed) or (kind == "sitemap" and not has_sitemap):
            _try(getter, candidate, kind, out)
    unique: dict[str, Discovered] = {}
    for found in out.found:
        unique.setdefault(found.url, found)
    out.found = list(unique.values())
    return out
