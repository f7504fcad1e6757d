"""What a page says about itself: ``<title>``, meta tags, headings, JSON-LD and ``<time>``.

Read once per page into :class:`PageSignals`, plain strings only, so the title, author and
date rules work on data and can be tested without HTML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import html as lxml_html
from lxml.etree import ParserError

__all__ = ["PageSignals", "read_signals", "repair_mojibake"]

_SPACE = re.compile(r"\s+")
# Types of JSON-LD objects that describe the article itself.
_ARTICLE_TYPES = re.compile(
    r"(article|posting|blog|report|review|recipe|howto|webpage|creativework|newsletter)$", re.I
)
_MAX_TEXT = 400
# What UTF-8 read as Latin-1 or Windows-1252 looks like: "â€™", "â\x80\x99", "Ã©", "Â®".
_MOJIBAKE = re.compile("[âÃÂ][\x80-\xbf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]")
# Headlines outside <h1>: microdata, and the class names blog engines give them.
_HEADLINE_XPATH = (
    './/body//*[@itemprop="headline"][not(self::meta)]'
    ' | .//body//*[self::h2 or self::h3 or self::div or self::span][contains(concat(" ",'
    ' normalize-space(@class), " "), " entry-title ") or contains(concat(" ",'
    ' normalize-space(@class), " "), " post-title ") or contains(concat(" ",'
    ' normalize-space(@class), " "), " article-title ")]'
)
# "© 2025 Harbour News. All rights reserved": the holder is the site's name.
_COPYRIGHT = re.compile(
    r"(?:©|\(c\)|copyright)\s*(?:\d{4}(?:\s*[-–]\s*\d{4})?)?\s*,?\s*([^.|,;©\d]{2,50}?)"
    r"(?=\s*(?:[.|,;]|all rights|\d|$))",
    re.I,
)
# Elements that start a new line inside a heading (a kicker above it, a subtitle below).
_LINE_BREAKS = frozenset({"br", "div", "p", "small"})
_BEFORE_HEADLINE = 300  # characters of visible text before the headline, and after it:
_BYLINE_WINDOW = 1200


def _squash(text: str | None) -> str:
    return _SPACE.sub(" ", repair_mojibake(text or "")).strip()


def repair_mojibake(text: str) -> str:
    """``text`` as it was meant, when it is UTF-8 that was once read as Latin-1 or
    Windows-1252 (``â€™`` for ``’``, ``Ã©`` for ``é``); else unchanged."""
    if not _MOJIBAKE.search(text):
        return text
    for encoding in ("cp1252", "latin-1"):
        try:
            return text.encode(encoding).decode("utf-8")
        except UnicodeError:
            continue
    return text


@dataclass
class PageSignals:
    """The page's own statements about its title, author, site and dates."""

    title: str = ""  # <title>
    meta: dict[str, list[str]] = field(default_factory=dict)  # name/property -> contents
    h1: list[str] = field(default_factory=list)  # then other elements marked as headline
    # Those of h1 set in two lines or more: "Klatch Coffee<br>Inside its tech stack".
    stacked_h1: list[str] = field(default_factory=list)
    site_names: list[str] = field(default_factory=list)
    # From JSON-LD objects of an article type, in page order.
    headlines: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)  # of type Person, or untyped
    organization_authors: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    # <time datetime> and itemprop="datePublished" values in the body, in page order.
    times: list[str] = field(default_factory=list)
    # <time pubdate>: the element HTML5 drafts defined as the article's publication date.
    marked_published: list[str] = field(default_factory=list)
    item_published: list[str] = field(default_factory=list)
    item_authors: list[str] = field(default_factory=list)
    # The visible text around the first <h1>: where a reader finds the byline and the date.
    byline_text: str = ""
    byline_headline_at: int = 0  # where the headline starts in it

    def first_meta(self, *names: str) -> str | None:
        """The first non-empty content of the first of ``names`` the page has."""
        for name in names:
            for value in self.meta.get(name, []):
                if value:
                    return value
        return None


def _json_ld_objects(data: Any) -> Iterator[dict[str, Any]]:
    """Every object of a JSON-LD document, ``@graph`` members and nested objects included."""
    if isinstance(data, list):
        for item in data:
            yield from _json_ld_objects(item)
    elif isinstance(data, dict):
        yield data
        for key, value in data.items():
            if key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement", "hasPart"):
                yield from _json_ld_objects(value)


def _types(obj: dict[str, Any]) -> list[str]:
    kind = obj.get("@type") or []
    return [str(t) for t in (kind if isinstance(kind, list) else [kind])]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value else []


def _names(value: Any) -> list[str]:
    """Names in a JSON-LD ``author``/``publisher`` value: a string, an object or a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str):
            return [name]
        if isinstance(name, list):
            return [str(n) for n in name if isinstance(n, str)]
        given, family = value.get("givenName"), value.get("familyName")
        if isinstance(given, str) and isinstance(family, str):
            return [f"{given} {family}"]
    return []


def _read_json_ld(tree: Any, signals: PageSignals) -> None:
    for script in tree.iterfind(".//script[@type]"):
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        try:
            data = json.loads(script.text or "", strict=False)
        except ValueError:
            continue
        for obj in _json_ld_objects(data):
            types = _types(obj)
            if any(t in ("WebSite", "Organization", "NewsMediaOrganization") for t in types):
                signals.site_names.extend(n for n in _names(obj) if isinstance(n, str))
                continue
            if not any(_ARTICLE_TYPES.search(t) for t in types):
                continue
            headline = obj.get("headline")
            if isinstance(headline, str) and _squash(headline):
                signals.headlines.append(_squash(headline))
            for author in _listed(obj.get("author")):
                names = signals.authors
                if isinstance(author, dict) and "Person" not in _types(author) and _types(author):
                    names = signals.organization_authors
                names.extend(_squash(n) for n in _names(author))
            signals.site_names.extend(_squash(n) for n in _names(obj.get("publisher")))
            for key in ("datePublished", "dateCreated"):
                if isinstance(obj.get(key), str):
                    signals.published.append(obj[key].strip())
            if isinstance(obj.get("dateModified"), str):
                signals.modified.append(obj["dateModified"].strip())


def _read_head(tree: Any, signals: PageSignals) -> None:
    title = tree.find(".//title")
    if title is not None:
        signals.title = _squash(title.text_content())
    for meta in tree.iterfind(".//meta[@content]"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop")
        if key:
            content = _squash(meta.get("content"))[:_MAX_TEXT]
            signals.meta.setdefault(key.strip().lower(), []).append(content)
    for key in ("og:site_name", "application-name", "apple-mobile-web-app-title"):
        signals.site_names.extend(v for v in signals.meta.get(key, []) if v)


def _lines(heading: Any) -> list[str]:
    """The non-empty lines of ``heading``: its text cut at each ``<br>`` and around each
    block element in it."""
    lines, line = [], [heading.text or ""]
    for child in heading:
        if isinstance(child.tag, str) and child.tag in _LINE_BREAKS:
            lines.append(" ".join(line))
            if child.tag != "br":  # a block is a line of its own
                lines.append(" ".join(child.itertext()))
            line = []
        elif isinstance(child.tag, str):
            line.append(" ".join(child.itertext()))
        line.append(child.tail or "")
    lines.append(" ".join(line))
    return [text for text in (_squash(t) for t in lines) if text]


def _read_body(tree: Any, signals: PageSignals) -> None:
    for heading in tree.iter("h1"):
        text = _squash(" ".join(heading.itertext()))
        if text:
            signals.h1.append(text)
            if len(_lines(heading)) > 1:
                signals.stacked_h1.append(text)
    for element in tree.xpath(_HEADLINE_XPATH):
        text = _squash(" ".join(element.itertext()))
        if text and element.tag != "h1" and text not in signals.h1:
            signals.h1.append(text)
    for element in tree.iterfind(".//time[@datetime]"):
        signals.times.append(element.get("datetime").strip())
    for element in tree.iterfind(".//time[@pubdate]"):
        value = element.get("datetime") or element.text_content()
        if value and value.strip():
            signals.marked_published.append(value.strip())
    for element in tree.xpath('.//*[@itemprop="datePublished"]'):
        value = element.get("datetime") or element.get("content") or element.text_content()
        if value and value.strip():
            signals.item_published.append(value.strip())
    for element in tree.xpath('.//*[@itemprop="author"]'):
        if element.tag == "meta":
            continue  # already among the meta tags
        named = element.xpath('.//*[@itemprop="name"]')
        name = named[0].get("content") or named[0].text_content() if named else None
        name = _squash(name or element.text_content())
        if name and len(name) < 100:
            signals.item_authors.append(name)


def _read_byline_text(tree: Any, signals: PageSignals) -> None:
    body = tree.find(".//body")
    if body is None:
        return
    for element in body.xpath(".//script|.//style|.//noscript|.//template"):
        element.drop_tree()
    text = _squash(" ".join(body.itertext()))
    signals.site_names.extend(holder.strip() for holder in _COPYRIGHT.findall(text))
    headline = text.find(signals.h1[0]) if signals.h1 else -1
    start = max(0, headline - _BEFORE_HEADLINE) if headline >= 0 else 0
    signals.byline_text = text[start : start + _BYLINE_WINDOW]
    signals.byline_headline_at = max(headline, 0) - start


def read_signals(html: str) -> PageSignals:
    """The signals of ``html`` (empty ones when it does not parse)."""
    signals = PageSignals()
    try:
        tree = lxml_html.document_fromstring(html)
    except (ParserError, ValueError):
        return signals
    _read_head(tree, signals)
    _read_json_ld(tree, signals)
    _read_body(tree, signals)
    _read_byline_text(tree, signals)  # last: it drops the scripts
    return signals
