"""Expanding several feeds and sitemaps at once: what could be read is kept, the rest reported.

Each source that fails (not found, unparseable, a blocked address …) becomes a
:class:`Problem` with its reason, and the other sources go on. A sitemap index is walked
breadth first within three limits, all settings: ``SLUICE_EXPAND_MAX_DEPTH`` (index
nesting), ``SLUICE_EXPAND_MAX_REQUESTS`` (documents fetched per expansion) and
``SLUICE_EXPAND_MAX_URLS`` (page URLs kept). Reaching one is a problem too
(``expand_limit``), never a silent cut. Documents are read by
:mod:`workers.feeds.reader` whatever content type they are served with; one read only in
part (truncated or malformed) gives its entries and a ``partial_document`` problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sluice.shared.errors import SluiceError
from sluice.shared.reasons import Reason
from sluice.shared.settings import Settings
from sluice.workers.feeds.reader import Document, read_feed, read_sitemap
from sluice.workers.fetching.client import ANY_CONTENT_TYPE, Getter

__all__ = ["EntryLink", "Expansion", "Getter", "Problem", "expand_sources"]


class EntryLink(str):
    """A feed entry's link that also carries the entry's date (for ``--since``/``--until``)."""

    date: datetime | None

    def __new__(cls, url: str, date: datetime | None = None) -> EntryLink:
        link = super().__new__(cls, url)
        link.date = date
        return link


@dataclass(frozen=True, slots=True)
class Problem:
    """A source (feed, sitemap or child sitemap) that could not be read in full."""

    kind: str  # feed | sitemap
    source: str
    reason: str
    detail: str


@dataclass
class Expansion:
    urls: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    requests: int = 0


def _limit(expansion: Expansion, kind: str, source: str, detail: str) -> None:
    expansion.problems.append(Problem(kind, source, Reason.EXPAND_LIMIT, detail))


def _links(kind: str, source: str, document: Document, out: Expansion) -> None:
    """Keep ``document``'s entry links, and report it when it was read only in part."""
    out.urls.extend(EntryLink(entry.link, entry.published) for entry in document.entries)
    if document.damage:
        out.problems.append(Problem(kind, source, Reason.PARTIAL_DOCUMENT, document.damage))


def _feed(url: str, fetcher: Getter, out: Expansion) -> None:
    out.requests += 1
    try:
        page = fetcher.get(url, content_types=ANY_CONTENT_TYPE)
        document = read_feed(page.body, page.url)
    except SluiceError as exc:
        out.problems.append(Problem("feed", url, exc.reason, exc.detail))
        return
    _links("feed", url, document, out)


def _sitemap(url: str, fetcher: Getter, settings: Settings, out: Expansion) -> None:
    seen: set[str] = set()
    frontier = [(url, 0)]
    while frontier:
        current, depth = frontier.pop(0)
        if current in seen:
            continue
        seen.add(current)
        if out.requests >= settings.expand_max_requests:
            left = len(frontier) + 1
            _limit(
                out,
                "sitemap",
                current,
                f"SLUICE_EXPAND_MAX_REQUESTS={settings.expand_max_requests} "
                f"reached: {left} sitemaps not fetched",
            )
            return
        out.requests += 1
        try:
            page = fetcher.get(current, content_types=ANY_CONTENT_TYPE)
            document = read_sitemap(page.body, page.url)
        except SluiceError as exc:
            out.problems.append(Problem("sitemap", current, exc.reason, exc.detail))
            continue
        _links("sitemap", current, document, out)
        children = document.children
        if children and depth >= settings.expand_max_depth:
            _limit(
                out,
                "sitemap",
                current,
                f"SLUICE_EXPAND_MAX_DEPTH={settings.expand_max_depth} "
                f"reached: {len(children)} child sitemaps not followed",
            )
            continue
        frontier.extend((child, depth + 1) for child in children)


def expand_sources(
    feeds: list[str], sitemaps: list[str], fetcher: Getter, settings: Settings
) -> Expansion:
    """The page URLs of every feed and sitemap, and a :class:`Problem` for each that failed."""
    out = Expansion()
    for url in feeds:
        _feed(url, fetcher, out)
    for url in sitemaps:
        _sitemap(url, fetcher, settings, out)
    urls = list(dict.fromkeys(out.urls))
    cap = settings.expand_max_urls
    if len(urls) > cap:
        _limit(
            out,
            "sitemap" if sitemaps else "feed",
            (sitemaps or feeds)[0],
            f"SLUICE_EXPAND_MAX_URLS={cap} reached: {len(urls) - cap} URLs not submitted",
        )
        urls = urls[:cap]
    out.urls = urls
    return out
