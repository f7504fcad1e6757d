"""What a fetched page shows about its kind, read in one lxml pass into plain numbers.

:func:`read_page_signals` counts what tells a hub from an article: what the page declares
(``og:type``, JSON-LD ``@type``), how much of its text is running prose and how much is
link text, how many teasers it repeats (``<article>`` elements, headings that are links,
links to article-shaped URLs of its own site) and whether it is one page of several
(``rel="next"``). :mod:`.page_kind` weighs them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html

from sluice.workers.crawl.url_shape import url_looks_like_article

__all__ = ["PageSignals", "read_page_signals"]

# JSON-LD types that describe one article, and types that describe a list of things.
_ARTICLE_TYPES = frozenset(
    "Article NewsArticle BlogPosting Blog TechArticle"  # noqa: SIM905
    " ScholarlyArticle Report Review AnalysisNewsArticle OpinionNewsArticle ReportageNewsArticle"
    " BackgroundNewsArticle ReviewNewsArticle LiveBlogPosting SocialMediaPosting"
    " DiscussionForumPosting Recipe HowTo MedicalWebPage FAQPage QAPage".split()
)
_LIST_TYPES = frozenset(
    "CollectionPage ItemList SearchResultsPage OfferCatalog ProductCollection"  # noqa: SIM905
    " ProductGroup ProfilePage".split()
)
_SKIPPED = ("script", "style", "noscript", "template", "svg", "iframe")
_PARAGRAPH = 120  # characters of prose in a <p> that make it a paragraph, not a caption
_TEASER_ANCHOR = 25  # characters of a link's text that make it a headline, not a menu entry


@dataclass(frozen=True, slots=True)
class PageSignals:
    """Counts read from one page. Character counts are of non-space characters."""

    og_type: str = ""
    ld_article: bool = False  # a JSON-LD object of an article type, not inside a list
    ld_list: bool = False  # a JSON-LD CollectionPage, ItemList, SearchResultsPage…
    published: bool = False  # article:published_time, or a datePublished in the body
    text: int = 0  # characters of visible body text
    link_text: int = 0  # of which inside links
    prose: int = 0  # characters of paragraphs of at least _PARAGRAPH, outside links
    longest_paragraph: int = 0
    articles: int = 0  # <article> elements
    teasers: int = 0  # headings that hold a link, and long-anchored links
    article_links: int = 0  # distinct same-site links with an article's URL shape
    paginated: bool = False  # rel="next" or rel="prev"

    @property
    def link_density(self) -> float:
        """Share of the visible text that is link text (0 for a page without text)."""
        return min(self.link_text / self.text, 1.0) if self.text else 0.0


def _chars(text: str | None) -> int:
    return sum(map(len, text.split())) if text else 0


def _json_ld(tree: Any) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every JSON-LD object, and whether it sits inside a list's elements."""

    def walk(data: Any, listed: bool) -> Iterator[tuple[dict[str, Any], bool]]:
        if isinstance(data, list):
            for item in data:
                yield from walk(item, listed)
        elif isinstance(data, dict):
            yield data, listed
            for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement", "hasPart"):
                if key in data:
                    yield from walk(data[key], listed or key in ("itemListElement", "hasPart"))

    for script in tree.iterfind(".//script[@type]"):
        if "ld+json" in (script.get("type") or "").lower():
            try:
                yield from walk(json.loads(script.text or "", strict=False), False)
            except ValueError:
                continue


def _types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type") or []
    return {str(t).rsplit("/", 1)[-1] for t in (kind if isinstance(kind, list) else [kind])}


def _head(tree: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"og_type": "", "ld_article": False, "ld_list": False}
    for meta in tree.iterfind(".//meta[@content]"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        if key == "og:type" and not found["og_type"]:
            found["og_type"] = meta.get("content").strip().lower()
        elif key == "article:published_time" and meta.get("content").strip():
            found["published"] = True
    for obj, listed in _json_ld(tree):
        types = _types(obj)
        if types & _LIST_TYPES:
            found["ld_list"] = True
        elif not listed and types & _ARTICLE_TYPES:
            found["ld_article"] = True
    for link in tree.iterfind(".//link[@rel]"):
        if link.get("rel").strip().lower() in ("next", "prev", "previous"):
            found["paginated"] = True
    return found


def _links(body: Any, url: str) -> tuple[int, int, int]:
    """(link text, teasers, article links): characters inside links, links that read as
    headlines, and distinct same-site links whose URL has an article's shape."""
    host = urlsplit(url).hostname or ""
    link_text = teasers = 0
    seen: set[str] = set()
    for anchor in body.iter("a"):
        chars = _chars(anchor.text_content())
        link_text += chars
        teasers += chars >= _TEASER_ANCHOR
        if (anchor.get("rel") or "").strip().lower() in ("next", "prev"):
            continue
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        try:
            target = urljoin(url, href).split("#", 1)[0]
            if urlsplit(target).hostname != host or target in seen:
                continue
        except ValueError:
            continue
        seen.add(target)
    article_links = sum(url_looks_like_article(target) for target in seen if target != url)
    return link_text, teasers, article_links


def read_page_signals(html: str, url: str) -> PageSignals:
    """The counts of ``html`` (fetched from ``url``); an empty or unparseable page gives
    zeros, which read as a hub."""
    try:
        tree = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return PageSignals()
    head = _head(tree)
    etree.strip_elements(tree, *_SKIPPED, with_tail=False)
    body = tree.find("body")
    if body is None:
        body = tree
    link_text, teasers, article_links = _links(body, url)
    prose = longest = 0
    for paragraph in body.iter("p"):
        inside = sum(_chars(a.text_content()) for a in paragraph.iter("a"))
        chars = _chars(paragraph.text_content()) - inside
        if chars >= _PARAGRAPH:
            prose += chars
            longest = max(longest, chars)
    headings = sum(1 for h in body.iter("h2", "h3", "h4") if h.find(".//a") is not None)
    paginated = head.pop("paginated", False) or bool(body.xpath('.//a[@rel="next" or @rel="prev"]'))
    published = head.pop("published", False) or bool(body.xpath('.//*[@itemprop="datePublished"]'))
    return PageSignals(
        **head,
        published=published,
        text=_chars(body.text_content()),
        link_text=link_text,
        prose=prose,
        longest_paragraph=longest,
        articles=sum(1 for _ in body.iter("article")),
        teasers=max(teasers, headings),
        article_links=article_links,
        paginated=paginated,
    )
