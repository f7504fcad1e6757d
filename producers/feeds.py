"""Expanding feeds and sitemaps into the article URLs they list.

RSS and Atom go through feedparser; sitemaps (``urlset`` and ``sitemapindex``, plain or
gzipped) are read with lxml, with entity resolution and network access switched off.
Both are downloaded with the same guarded :class:`workers.fetching.client.Fetcher` as pages.
"""

from __future__ import annotations

import gzip
import io
import zlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
from lxml import etree

from sluice.shared.errors import PermanentError
from sluice.shared.reasons import Reason
from sluice.workers.fetching.client import Fetcher

__all__ = ["EntryLink", "expand_feed", "feed_links", "sitemap_locations", "unzipped"]

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "application/feed+json",
    "text/html",
    "text/plain",
)
SITEMAP_TYPES = (
    "application/xml",
    "text/xml",
    "application/gzip",
    "application/x-gzip",
    "application/octet-stream",
    "text/plain",
)
_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit, uncompressed


def feed_links(body: bytes, base_url: str) -> list[str]:
    """The entry links of an RSS or Atom document, absolute and in feed order."""
    parsed = feedparser.parse(body)
    if parsed.bozo and not parsed.entries:
        raise PermanentError(Reason.BAD_FEED, str(parsed.get("bozo_exception", "unparseable feed")))
    links: list[str] = []
    for entry in parsed.entries:
        link = entry.get("link")
        if link:
            links.append(EntryLink(urljoin(base_url, link), _entry_date(entry)))
    return links


class EntryLink(str):
    """A feed entry's link that also carries the entry's date (for ``--since``/``--until``)."""

    date: datetime | None

    def __new__(cls, url: str, date: datetime | None = None) -> EntryLink:
        link = super().__new__(cls, url)
        link.date = date
        return link


def _entry_date(entry: Any) -> datetime | None:
    """The entry's published (else updated) time, in UTC, if the feed gives one."""
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def expand_feed(url: str, fetcher: Fetcher) -> list[str]:
    """Download the feed at ``url`` and return its entry links."""
    page = fetcher.get(url, content_types=FEED_TYPES)
    return feed_links(page.body, page.url)


def unzipped(body: bytes) -> bytes:
    """A sitemap's bytes, gunzipped when they are gzip (at most the protocol's 50 MB)."""
    if body[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as handle:
                body = handle.read(_MAX_SITEMAP_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise PermanentError(Reason.BAD_SITEMAP, f"broken gzip: {exc}") from exc
        if len(body) > _MAX_SITEMAP_BYTES:
            raise PermanentError(
                Reason.BAD_SITEMAP, f"over {_MAX_SITEMAP_BYTES} bytes uncompressed"
            )
    return body


def sitemap_locations(body: bytes) -> tuple[list[str], list[str]]:
    """``(page URLs, child sitemap URLs)`` listed in a sitemap document."""
    body = unzipped(body)
    body = body.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark hides the '<'
    if not body.lstrip().startswith(b"<"):
        # A text sitemap: one URL per line.
        lines = [line.strip() for line in body.decode("utf-8", "replace").splitlines()]
        return [line for line in lines if line.startswith(("http://", "https://"))], []
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise PermanentError(Reason.BAD_SITEMAP, str(exc)) from exc
    tag = etree.QName(root).localname
    locs = [
        (el.text or "").strip()
        for el in root.iter(f"{_SITEMAP_NS}loc", "loc")
        if (el.text or "").strip()
    ]
    if tag == "sitemapindex":
        return [], locs
    return locs, []
