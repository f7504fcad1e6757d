"""Finding a site's section pages, which ``sluice feeds discover`` proposes to watch (``feeds
add --html``) when the site names no feed.

A section is what a site's navigation links to: ``/world``, ``/politics``,
``/section/business/``, ``/news/science``. The front page itself is one too. Candidates are
links on the page's host found in its ``<nav>``, ``<header>`` or an element whose role,
id or class says navigation or menu (every link of the page when it has none), whose path
is one to three short words, with no query, that do not look like an article, a tag or
author page, pagination, or the site's furniture (login, about, contact, privacy …).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from sluice.shared.identity import url_key
from sluice.workers.crawl.scope import CrawlScope
from sluice.workers.crawl.url_shape import url_looks_like_article
from sluice.workers.feeds.site_hints import Discovered

__all__ = ["MAX_SECTIONS", "looks_like_section", "sections_in_html"]

#: The most section pages proposed for one site.
MAX_SECTIONS = 30
_WORD = re.compile(r"^[a-z][a-z0-9_-]{0,39}(?:\.s?html?)?$")
# A word list reads best as words.
_NOT_SECTIONS = frozenset(
    "tag tags author authors page search login logout signin register account accounts "  # noqa: SIM905
    "subscribe subscription newsletter newsletters about contact privacy terms help faq "
    "cookies legal jobs careers advertise shop store feed rss atom sitemap archive archives "
    "events weather corrections".split()
)
_NAVIGATION = (
    "//nav//a | //header//a | //*[@role='navigation']//a | //*[contains(@id, 'nav') or "
    "contains(@class, 'nav') or contains(@id, 'menu') or contains(@class, 'menu')]//a"
)


def looks_like_section(url: str, scope: CrawlScope) -> bool:
    """Whether ``url`` (within ``scope``) has a section page's shape."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.query or not scope.in_scope(url):
        return False
    segments = [s for s in parts.path.lower().split("/") if s]
    if not 1 <= len(segments) <= 3 or any(not _WORD.match(s) for s in segments):
        return False
    if any(s.split(".")[0] in _NOT_SECTIONS for s in segments):
        return False
    return not url_looks_like_article(url)


def sections_in_html(body: bytes, page_url: str) -> list[Discovered]:
    """The page itself and the section pages its navigation links to, each once, at most
    :data:`MAX_SECTIONS`."""
    try:
        document = lxml.html.document_fromstring(body)
    except (ValueError, etree.ParserError):
        return []
    base = urljoin(page_url, document.xpath("string(//base/@href)") or page_url)
    anchors = document.xpath(_NAVIGATION) or list(document.iter("a"))
    scope = CrawlScope((page_url,), "host")
    found = {url_key(page_url): Discovered(page_url, "section", "given")}
    for anchor in anchors:
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        url = urljoin(base, href).split("#", 1)[0]
        key = url_key(url)
        if key not in found and looks_like_section(url, scope):
            title = " ".join(anchor.text_content().split())[:200]
            found[key] = Discovered(url, "section", "navigation", title)
            if len(found) >= MAX_SECTIONS:
                break
    return list(found.values())
