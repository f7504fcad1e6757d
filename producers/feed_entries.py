"""Reading a polled feed or sitemap into its entries: link, guid, title, publication date.

RSS, Atom and RDF go through feedparser; JSON Feed is read as JSON; sitemaps and news
sitemaps (``lastmod``, ``news:publication_date``, ``news:title``) with lxml, entities and
network off. A document that declares entities is refused before parsing (an entity bomb
ends as ``bad_feed``/``bad_sitemap``), and an HTML page where a feed was expected is
``feed_is_html``, naming the feeds the page links to. Each entry has its seen-entry keys
(:meth:`Entry.seen_keys`): its canonical link, and its guid when it has one.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
from lxml import etree

from sluice.producers.discovery import feeds_in_html
from sluice.producers.feeds import unzipped
from sluice.shared.errors import PermanentError
from sluice.shared.feeds import entry_key
from sluice.shared.identity import canonicalize_url
from sluice.shared.reasons import Reason

__all__ = [
    "Document",
    "Entry",
    "looks_like_html",
    "read_document",
    "read_feed",
    "read_sitemap",
    "refuse_html",
]

_NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"
_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
)
_MAX_TEXT = 1000


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a feed or one URL of a sitemap."""

    link: str
    guid: str | None = None
    title: str | None = None
    published: datetime | None = None

    def seen_keys(self) -> list[str]:
        """Its seen-entry keys: the canonical link's, and the guid's when it has one."""
        try:
            link = canonicalize_url(self.link)
        except ValueError:
            link = self.link
        keys = [entry_key("link", link)]
        if self.guid:
            keys.append(entry_key("guid", self.guid))
        return keys


@dataclass(frozen=True, slots=True)
class Document:
    """A polled document: its entries in document order, its channel (feedparser's ``feed``,
    for the publisher's polling hints), and the child sitemaps of a sitemap index."""

    entries: list[Entry]
    channel: Mapping[str, object] = field(default_factory=dict)
    children: list[str] = field(default_factory=list)


def looks_like_html(body: bytes, content_type: str) -> bool:
    """An HTML page, by its type or its first bytes."""
    if content_type.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml"):
        return True
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _refuse_entities(body: bytes, reason: Reason) -> None:
    if b"<!ENTITY" in body[:65536] or b"<!entity" in body[:65536]:
        raise PermanentError(reason, "the document declares entities: refused")


def refuse_html(body: bytes, content_type: str, base_url: str) -> None:
    """Raise ``feed_is_html`` for an HTML page, naming the feeds it links to."""
    if looks_like_html(body, content_type):
        named = feeds_in_html(body, base_url)
        found = ", ".join(d.url for d in named[:5]) or "none"
        raise PermanentError(Reason.FEED_IS_HTML, f"an HTML page; the feeds it names: {found}")


def _text(value: object) -> str | None:
    text = str(value or "").strip()
    return text[:_MAX_TEXT] or None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_feed(body: bytes, base_url: str, content_type: str = "") -> Document:
    """The entries of an RSS, Atom, RDF or JSON Feed document."""
    refuse_html(body, content_type, base_url)
    if body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        return _json_feed(body, base_url)
    _refuse_entities(body, Reason.BAD_FEED)
    parsed = feedparser.parse(body)
    if parsed.bozo and not parsed.entries:
        raise PermanentError(
            Reason.BAD_FEED, str(parsed.get("bozo_exception", "unparseable feed"))[:300]
        )
    if not parsed.version and not parsed.entries:
        raise PermanentError(Reason.BAD_FEED, "not RSS, Atom, RDF or JSON Feed")
    entries = []
    for item in parsed.entries:
        link = item.get("link")
        if not link:
            continue
        stamp = item.get("published_parsed") or item.get("updated_parsed")
        published = (
            datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp is not None else None
        )
        entries.append(
            Entry(
                urljoin(base_url, link), _text(item.get("id")), _text(item.get("title")), published
            )
        )
    return Document(entries, dict(parsed.feed))


def _json_feed(body: bytes, base_url: str) -> Document:
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PermanentError(Reason.BAD_FEED, f"not JSON Feed: {exc}"[:300]) from exc
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise PermanentError(Reason.BAD_FEED, "not JSON Feed: no items list")
    entries = []
    for item in data["items"]:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url")
        if isinstance(link, str) and link:
            entries.append(
                Entry(
                    urljoin(base_url, link),
                    _text(item.get("id")),
                    _text(item.get("title")),
                    _date(str(item.get("date_published") or "")),
                )
            )
    return Document(entries, {"title": _text(data.get("title")) or ""})


def read_sitemap(body: bytes, base_url: str, content_type: str = "") -> Document:
    """The URLs of a sitemap or news sitemap, or the children of a sitemap index."""
    body = unzipped(body)
    refuse_html(body, content_type, base_url)
    body = body.removeprefix(b"\xef\xbb\xbf")
    if not body.lstrip().startswith(b"<"):
        lines = [line.strip() for line in body.decode("utf-8", "replace").splitlines()]
        return Document([Entry(line) for line in lines if line.startswith(("http://", "https://"))])
    _refuse_entities(body, Reason.BAD_SITEMAP)
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise PermanentError(Reason.BAD_SITEMAP, str(exc)[:300]) from exc
    if etree.QName(root).localname == "sitemapindex":
        children = [
            urljoin(base_url, (el.text or "").strip())
            for el in root.iter(f"{_SITEMAP_NS}loc", "loc")
            if (el.text or "").strip()
        ]
        return Document([], {}, children)
    entries = []
    for url in root.iter(f"{_SITEMAP_NS}url", "url"):
        loc = (url.findtext(f"{_SITEMAP_NS}loc") or url.findtext("loc") or "").strip()
        if not loc:
            continue
        news = url.find(f"{_NEWS_NS}news")
        title = published = None
        if news is not None:
            title = _text(news.findtext(f"{_NEWS_NS}title"))
            published = _date(news.findtext(f"{_NEWS_NS}publication_date"))
        lastmod = url.findtext(f"{_SITEMAP_NS}lastmod") or url.findtext("lastmod")
        entries.append(Entry(urljoin(base_url, loc), None, title, published or _date(lastmod)))
    return Document(entries)


def read_document(kind: str, body: bytes, base_url: str, content_type: str = "") -> Document:
    """A polled document of ``kind`` (``feed`` or ``sitemap``)."""
    if kind == "sitemap":
        return read_sitemap(body, base_url, content_type)
    return read_feed(body, base_url, content_type)
