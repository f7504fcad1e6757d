"""Finding a site's feeds and sitemaps: what ``sluice feeds discover`` looks at.

A home page names its feeds in ``<link rel="alternate">`` elements (robots.txt's sitemaps
are read by :func:`workers.feeds.reader.robots_sitemaps`); and many sites serve feeds at a
handful of usual paths. These functions read documents already fetched; fetching them is
the caller's, through the guarded fetcher like any page.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html

__all__ = [
    "FEED_TYPES",
    "USUAL_FEED_PATHS",
    "USUAL_SITEMAP_PATHS",
    "Discovered",
    "feeds_in_html",
    "site_root",
    "usual_places",
]

#: Media types of ``<link rel="alternate">`` that name a feed.
FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/rdf+xml": "rdf",
    "application/feed+json": "json",
    "application/json": "json",
}
USUAL_FEED_PATHS = ("/feed", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml")
USUAL_SITEMAP_PATHS = ("/sitemap.xml", "/sitemap_index.xml", "/news-sitemap.xml")


@dataclass(frozen=True, slots=True)
class Discovered:
    """A feed or sitemap found on a site: its URL, its kind, and where it was found."""

    url: str
    kind: str  # rss, atom, rdf, json, sitemap
    found_in: str  # "html", "robots.txt", or "usual path"
    title: str = ""


def site_root(url: str) -> str:
    """``scheme://host[:port]/`` of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def feeds_in_html(body: bytes, base_url: str) -> list[Discovered]:
    """The feeds an HTML page names in ``<link rel="alternate" type="…">``, each once."""
    try:
        document = lxml.html.document_fromstring(body)
    except (ValueError, lxml.etree.ParserError):
        return []
    base = document.xpath("string(//base/@href)") or base_url
    found: dict[str, Discovered] = {}
    for link in document.iter("link"):
        rel = {word.lower() for word in (link.get("rel") or "").split()}
        kind = FEED_TYPES.get((link.get("type") or "").split(";")[0].strip().lower())
        href = (link.get("href") or "").strip()
        if "alternate" in rel and kind and href:
            url = urljoin(urljoin(base_url, base), href)
            if urlsplit(url).scheme in ("http", "https") and url not in found:
                found[url] = Discovered(url, kind, "html", (link.get("title") or "")[:500])
    return list(found.values())


def usual_places(site: str) -> list[tuple[str, str]]:
    """(URL, kind) of the usual feed and sitemap paths of ``site``, to try when a page and
    its robots.txt name none."""
    root = site_root(site)
    feeds = [(urljoin(root, path), "feed") for path in USUAL_FEED_PATHS]
    return feeds + [(urljoin(root, path), "sitemap") for path in USUAL_SITEMAP_PATHS]
