"""Reading a producer's list of feeds: OPML, or one URL per line.

OPML is the format feed readers export (``<outline xmlUrl="…">``, nested in folders). It is
parsed with entity resolution, DTDs and network access off, so a hostile file cannot expand
entities or make sluice fetch anything. A plain list takes one URL per line, with blank
lines and ``#`` comments, as ``sluice submit --file`` does. A file that begins with a byte
order mark (UTF-8, UTF-16, UTF-32) is read in the encoding it names, whichever its form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from sluice.shared.byte_order import split_bom
from sluice.shared.errors import PermanentError
from sluice.shared.reasons import Reason

__all__ = ["ListedFeed", "parse_feed_list", "parse_opml"]

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
)


_XML_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")


def _utf8(body: bytes) -> bytes:
    """``body`` as UTF-8 without its byte order mark, when it has one; else as it is. An XML
    declaration's encoding is made to say so."""
    encoding, rest = split_bom(body)
    if encoding is None:
        return body
    try:
        text = rest.decode(encoding)
    except UnicodeDecodeError as exc:
        detail = f"not {encoding} as its byte order mark says: {exc.reason}"
        raise PermanentError(Reason.BAD_FEED_LIST, detail) from exc
    return _XML_ENCODING.sub(r"\1\2utf-8\2", text, count=1).encode("utf-8")


@dataclass(frozen=True, slots=True)
class ListedFeed:
    """One feed of a list: its URL and, from OPML, its title."""

    url: str
    title: str = ""


def parse_opml(body: bytes) -> list[ListedFeed]:
    """The feeds of an OPML document, in document order, each URL once.

    A document that declares entities is refused before parsing: libxml2 keeps entity
    references in text unexpanded when told to, but still expands them in attributes, where
    OPML keeps its URLs.
    """
    if b"<!ENTITY" in body:
        raise PermanentError(Reason.BAD_FEED_LIST, "not OPML: the document declares entities")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise PermanentError(Reason.BAD_FEED_LIST, f"not OPML: {exc}"[:300]) from exc
    if root is None or etree.QName(root).localname != "opml":
        raise PermanentError(Reason.BAD_FEED_LIST, "not OPML: the root element is not <opml>")
    found: dict[str, ListedFeed] = {}
    for outline in root.iter("{*}outline", "outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if url and url not in found:
            found[url] = ListedFeed(url, (outline.get("title") or outline.get("text") or "")[:500])
    return list(found.values())


def parse_feed_list(body: bytes) -> list[ListedFeed]:
    """The feeds of an OPML file or of a plain list of URLs, whichever ``body`` is."""
    body = _utf8(body)
    if body.lstrip()[:1] == b"<":
        return parse_opml(body)
    found: dict[str, ListedFeed] = {}
    for raw in body.decode("utf-8", errors="replace").splitlines():
        line = raw.strip().lstrip("\ufeff")
        if line and not line.startswith("#") and line not in found:
            found[line] = ListedFeed(line)
    return list(found.values())
