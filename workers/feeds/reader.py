"""The one reader of feeds, sitemaps and robots.txt: bytes in, entries out.

Submission (``submit --feed/--sitemap``), polling and discovery all read through here, with
one policy for each question:

- **Content types.** The body decides, not the ``Content-Type``: a document that sniffs as
  RSS, Atom, RDF, JSON Feed or a sitemap (XML, plain text, gzipped) is read whatever type it
  was served with, or none. An HTML page where a feed was expected is ``feed_is_html``
  (naming the feeds it links to); anything else is ``not_a_feed`` or ``not_a_sitemap``.
  A feed given as a sitemap is read, as search engines read it; a sitemap given as a
  feed is ``not_a_feed``.
- **Entities.** Accepted safely everywhere (:mod:`workers.feeds.xml_stream`): an internal
  entity whose value is plain text is substituted once; nested, external and undeclared
  ones read as nothing, DTDs are never loaded, and an entity bomb is refused
  (``bad_feed``/``bad_sitemap``) before it expands.
- **Links.** An Atom entry's article is its ``rel="alternate"`` link (or a link with no
  ``rel``), never an enclosure; an RSS item's is its ``<link>``, else a permalink ``<guid>``;
  a JSON Feed item's its ``url``, else ``external_url``. Relative links are resolved against
  ``xml:base`` and the document's URL.
- **Damage.** XML is read as a stream: a truncated or malformed document yields the entries
  completed before the damage, and :attr:`Document.damage` says what happened and how many
  were read. Stray ``&`` and HTML entity names (``&nbsp;``) are read as text. A document
  with damage and no entry is ``bad_feed``/``bad_sitemap``.
"""

from __future__ import annotations

import calendar
import gzip
import io
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from lxml import etree

from sluice.shared.errors import PermanentError
from sluice.shared.feeds import entry_key
from sluice.shared.identity import canonicalize_url
from sluice.shared.reasons import Reason
from sluice.workers.feeds.site_hints import feeds_in_html
from sluice.workers.feeds.xml_stream import Streamed, stream_entries

__all__ = [
    "Document",
    "Entry",
    "read_document",
    "read_feed",
    "read_sitemap",
    "robots_sitemaps",
    "sniff",
    "unzipped",
]

_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"
_FEED_ROOTS = frozenset({"rss", "feed", "RDF", "channel"})
_SITEMAP_ROOTS = frozenset({"urlset", "sitemapindex"})
_ITEM_TAGS = ("item", "entry")
_MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit, uncompressed
_MAX_TEXT = 1000
_BOM_AND_SPACE = b"\xef\xbb\xbf \t\r\n"
_URL_LINE = re.compile(rb"^[ \t]*https?://\S+[ \t]*\r?$", re.M)
_ROBOTS_SITEMAP = re.compile(r"^\s*site-?map\s*:\s*(\S+)", re.I)


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
    """A read document: its entries in document order, its channel (feedparser's ``feed``,
    for the publisher's polling hints), the child sitemaps of a sitemap index, its format
    (``rss``, ``atom``, ``json``, ``sitemap`` …), and what damage cut its reading short."""

    entries: list[Entry]
    channel: Mapping[str, object] = field(default_factory=dict)
    children: list[str] = field(default_factory=list)
    format: str = ""
    damage: str | None = None


def _head(body: bytes) -> bytes:
    return body.lstrip(_BOM_AND_SPACE)[:8192]


def sniff(body: bytes) -> str:
    """What ``body`` is, by its first bytes: ``html``, ``feed``, ``json``, ``sitemap``
    (XML), ``text`` (a line that is a URL alone), ``xml`` (another XML document) or
    ``unknown``."""
    try:
        head = _head(unzipped(body))
    except PermanentError:
        return "unknown"
    lower = head.lower()
    if lower.startswith((b"<!doctype html", b"<html")):
        return "html"
    if head.startswith(b"{"):
        return "json"
    if head.startswith(b"<"):
        root = _root_name(head)
        if root in _FEED_ROOTS:
            return "feed"
        if root in _SITEMAP_ROOTS:
            return "sitemap"
        return "html" if root.lower() in ("html", "head", "body") else "xml"
    if _URL_LINE.search(lower):  # a URL on a line of its own, comments or blanks before it
        return "text"
    return "unknown"


def _root_name(head: bytes) -> str:
    """The local name of the first element in ``head`` (past declarations and comments)."""
    for match in re.finditer(rb"<([A-Za-z_][\w.:-]*)", head):
        return match.group(1).decode("ascii", "replace").rpartition(":")[2]
    return ""


def unzipped(body: bytes, reason: Reason = Reason.BAD_SITEMAP) -> bytes:
    """``body``, gunzipped when it is gzip (at most the sitemap protocol's 50 MB); a broken
    or oversized one is ``reason``."""
    if body[:2] != b"\x1f\x8b":
        return body
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as handle:
            body = handle.read(_MAX_SITEMAP_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise PermanentError(reason, f"broken gzip: {exc}") from exc
    if len(body) > _MAX_SITEMAP_BYTES:
        raise PermanentError(reason, f"over {_MAX_SITEMAP_BYTES} bytes uncompressed")
    return body


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


def _web_link(base: str, link: object) -> str | None:
    """``link`` made absolute against ``base``, when it is an http(s) URL."""
    if not isinstance(link, str) or not link.strip():
        return None
    link = link.strip()
    if link[:8].lower().startswith(("http://", "https://")) and " " not in link:
        return link  # already absolute: most sitemaps' every URL, so no urljoin
    url = urljoin(base, link)
    return url if urlsplit(url).scheme in ("http", "https") else None


def _unparseable(reason: Reason, seen: Streamed) -> PermanentError:
    """The error for a document damaged before its first entry."""
    if "entity" in (seen.damage or "").lower():
        return PermanentError(reason, f"its entities cannot be read safely: {seen.damage}")
    return PermanentError(reason, f"unparseable: {seen.damage}")


# --- feeds -------------------------------------------------------------------------------------


def _article_link(item: Any, base: str) -> str | None:
    """The entry's article: its first alternate link, else its permalink guid."""
    for link in item.get("links") or []:
        if (link.get("rel") or "alternate") == "alternate":
            url = _web_link(base, link.get("href"))
            if url:
                return url
    if item.get("guidislink"):
        return _web_link(base, item.get("id"))
    return None


def _xml_feed(body: bytes, base_url: str, kind: Reason) -> Document:
    seen = stream_entries(body, _ITEM_TAGS)
    if seen.root is None or (seen.damage is not None and not seen.entries):
        raise _unparseable(kind, seen)
    if seen.damage is not None:
        done = set(map(id, seen.entries))
        for item in [e for e in seen.root.iter("{*}item", "{*}entry") if id(e) not in done]:
            item.getparent().remove(item)  # the one cut in the middle
    clean = etree.tostring(seen.root, encoding="utf-8", xml_declaration=True)
    parsed = feedparser.parse(
        clean, response_headers={"content-location": base_url, "content-type": "application/xml"}
    )
    entries = []
    for item in parsed.entries:
        link = _article_link(item, base_url)
        if not link:
            continue
        stamp = item.get("published_parsed") or item.get("updated_parsed")
        published = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None
        entries.append(Entry(link, _text(item.get("id")), _text(item.get("title")), published))
    damage = seen.damage_note(body, "entries") if seen.damage else None
    return Document(entries, dict(parsed.feed), [], parsed.version or "xml", damage)


def _json_feed(body: bytes, base_url: str) -> Document:
    try:
        data: Any = json.loads(body.lstrip(_BOM_AND_SPACE))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PermanentError(Reason.BAD_FEED, f"not JSON Feed: {exc}"[:300]) from exc
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise PermanentError(Reason.NOT_A_FEED, "JSON, but not JSON Feed: no items list")
    entries = []
    for item in data["items"]:
        if not isinstance(item, dict):
            continue
        link = _web_link(base_url, item.get("url")) or _web_link(base_url, item.get("external_url"))
        if link:
            published = _date(str(item.get("date_published") or item.get("date_modified") or ""))
            entries.append(Entry(link, _text(item.get("id")), _text(item.get("title")), published))
    return Document(entries, {"title": _text(data.get("title")) or ""}, [], "json")


def _refuse_html(body: bytes, base_url: str) -> None:
    named = feeds_in_html(body, base_url)
    found = ", ".join(d.url for d in named[:5]) or "none"
    raise PermanentError(Reason.FEED_IS_HTML, f"an HTML page; the feeds it names: {found}")


def read_feed(body: bytes, base_url: str) -> Document:
    """The entries of an RSS, Atom, RDF or JSON Feed document (plain or gzipped)."""
    body = unzipped(body, Reason.BAD_FEED)
    kind = sniff(body)
    if kind == "html":
        _refuse_html(body, base_url)
    if kind == "json":
        return _json_feed(body, base_url)
    if kind == "sitemap":
        raise PermanentError(Reason.NOT_A_FEED, "a sitemap, not a feed: give it as a sitemap")
    if kind != "feed":
        raise PermanentError(Reason.NOT_A_FEED, f"not RSS, Atom, RDF or JSON Feed ({kind})")
    return _xml_feed(body, base_url, Reason.BAD_FEED)


# --- sitemaps ----------------------------------------------------------------------------------


def _sitemap_fields(element: Any) -> tuple[str, str | None, str | None, str | None]:
    """``(loc, lastmod, news title, news publication date)`` of a ``<url>``/``<sitemap>``."""
    loc, lastmod, title, published = "", None, None, None
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = child.tag.rpartition("}")[2]
        if name == "loc":
            loc = (child.text or "").strip()
        elif name == "lastmod":
            lastmod = child.text
        elif child.tag == f"{_NEWS_NS}news":
            title = child.findtext(f"{_NEWS_NS}title")
            published = child.findtext(f"{_NEWS_NS}publication_date")
    return loc, lastmod, title, published


def _text_sitemap(body: bytes, base_url: str) -> Document:
    lines = (line.strip() for line in body.decode("utf-8", "replace").splitlines())
    links = (_web_link(base_url, line) for line in lines if line.lower().startswith("http"))
    return Document([Entry(link) for link in links if link], format="text")


def _xml_sitemap(body: bytes, base_url: str) -> Document:
    seen = stream_entries(body, ("url", "sitemap"), _sitemap_fields)
    if seen.root is None or (seen.damage is not None and not seen.entries):
        raise _unparseable(Reason.BAD_SITEMAP, seen)
    damage = seen.damage_note(body, "URLs") if seen.damage else None
    if etree.QName(seen.root).localname == "sitemapindex":
        children = [_web_link(base_url, loc) for loc, *_ in seen.entries]
        return Document([], {}, [c for c in children if c], "sitemapindex", damage)
    entries = []
    for loc, lastmod, title, published in seen.entries:
        link = _web_link(base_url, loc)
        if link:
            entries.append(Entry(link, None, _text(title), _date(published) or _date(lastmod)))
    return Document(entries, {}, [], "sitemap", damage)


def read_sitemap(body: bytes, base_url: str) -> Document:
    """The URLs of a sitemap (XML or text, plain or gzipped; a news sitemap's titles and
    dates too), the children of a sitemap index, or the entries of a feed given as one."""
    body = unzipped(body)
    kind = sniff(body)
    if kind == "sitemap":
        return _xml_sitemap(body.lstrip(_BOM_AND_SPACE), base_url)
    if kind == "text":
        return _text_sitemap(body.lstrip(_BOM_AND_SPACE), base_url)
    if kind == "feed":
        return _xml_feed(body, base_url, Reason.BAD_SITEMAP)
    if kind == "json":
        return _json_feed(body, base_url)
    what = "an HTML page" if kind == "html" else f"not a sitemap ({kind})"
    raise PermanentError(Reason.NOT_A_SITEMAP, what)


def read_document(kind: str, body: bytes, base_url: str) -> Document:
    """A document read as ``kind`` (``feed`` or ``sitemap``)."""
    if kind == "sitemap":
        return read_sitemap(body, base_url)
    return read_feed(body, base_url)


# --- robots.txt --------------------------------------------------------------------------------


def robots_sitemaps(body: bytes, robots_url: str) -> list[str]:
    """The sitemaps a robots.txt names in ``Sitemap:`` or ``Site-map:`` lines (any case),
    absolute and each once; read whatever type it was served as."""
    text = body.lstrip(b"\xef\xbb\xbf").decode("utf-8", "replace")
    found: dict[str, None] = {}
    for line in text.splitlines():
        match = _ROBOTS_SITEMAP.match(line)
        url = _web_link(robots_url, match.group(1)) if match else None
        if url:
            found.setdefault(url)
    return list(found)
