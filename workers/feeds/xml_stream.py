"""Reading an XML document as a stream of its entries, up to its first damage.

:func:`stream_entries` hands back every completed element of the names asked for (an RSS
``item``, a sitemap ``url`` …) that came before the document broke, and says where and how
it broke, so a truncated or malformed feed or sitemap still yields what it held. libxml2
never expands an entity here: an internal entity whose value is plain text is substituted
once (nested, external and undeclared ones read as nothing), and an entity bomb stops the
parse at libxml2's amplification limit. When the plain parse trips, stray ``&`` and HTML
entity names (``&nbsp;``, common in hand-made feeds) are escaped and the reading that got
further is kept.
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

__all__ = ["Streamed", "stream_entries"]

_PIECE = 64 * 1024  # bytes fed to the parser at a time
_SMALL_PIECE = 512  # the same, reading a damaged document again: little is lost before it
_PROLOG = 65536  # where a DTD and its declarations are looked for
_MAX_VALUE = 1000  # longest entity value substituted
_XML_ENTITIES = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})
# A CDATA section (kept as it is), or an ``&`` and the reference that may follow it.
_AMPERSAND = re.compile(
    rb"(<!\[CDATA\[.*?\]\]>)|&(#\d+;|#x[0-9a-fA-F]+;|([A-Za-z][\w.-]*);)?", re.S
)
_DECLARED = re.compile(rb"<!ENTITY\s+([A-Za-z_][\w.-]*)")
_DECLARED_VALUE = re.compile(rb"<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(?:\"([^\"]*)\"|'([^']*)')\s*>")


@dataclass
class Streamed:
    """What a streamed parse saw: the root (``None`` if broken before any entry), the
    completed entries (elements, or what ``reduce`` made of them), the first damage."""

    root: Any = None
    entries: list[Any] = field(default_factory=list)
    damage: str | None = None

    def damage_note(self, body: bytes, what: str) -> str:
        """``truncated: 49 URLs read before the damage (…)``, or ``malformed: …`` when the
        document ends with its root's closing tag but broke before it."""
        name = etree.QName(self.root).localname if self.root is not None else ""
        cut = "malformed" if name and f"</{name}".encode() in body[-1024:] else "truncated"
        return f"{cut}: {len(self.entries)} {what} read before the damage ({self.damage})"[:500]


def _declared_values(body: bytes) -> dict[str, str]:
    """The internal entities ``body`` declares whose value is plain text (no markup, no
    further reference, at most 1,000 characters): the only ones ever substituted."""
    values = {}
    for match in _DECLARED_VALUE.finditer(body[:_PROLOG]):
        value = match.group(2) or match.group(3) or b""
        if len(value) <= _MAX_VALUE and b"&" not in value and b"<" not in value:
            values[match.group(1).decode("ascii")] = value.decode("utf-8", "replace")
    return values


def _substitute(element: Any, values: Mapping[str, str]) -> None:
    """Replace the entity references inside ``element`` by their plain-text values."""
    for entity in list(element.iter(etree.Entity)):
        text = values.get(entity.name, "") + (entity.tail or "")
        previous, parent = entity.getprevious(), entity.getparent()
        if previous is not None:
            previous.tail = (previous.tail or "") + text
        else:
            parent.text = (parent.text or "") + text
        parent.remove(entity)


def _repaired(body: bytes) -> bytes:
    """``body`` with stray ``&`` and undeclared HTML entity names escaped (CDATA untouched)."""
    declared = set(_DECLARED.findall(body[:_PROLOG]))

    def fix(match: re.Match[bytes]) -> bytes:
        if match.group(1) is not None:
            return match.group(0)
        if match.group(2) is None:
            return b"&amp;"
        name = match.group(3)
        if name is None or name in _XML_ENTITIES or name in declared:
            return match.group(0)
        point = html.entities.name2codepoint.get(name.decode("ascii", "replace"))
        return b"&#%d;" % point if point is not None else b"&amp;" + match.group(2)

    return _AMPERSAND.sub(fix, body)


class _Collector:
    """Takes the completed entries of a parse's events into a :class:`Streamed`."""

    def __init__(self, body: bytes, reduce: Callable[[Any], Any] | None) -> None:
        self.seen = Streamed()
        self.values = _declared_values(body) if b"<!DOCTYPE" in body[:_PROLOG] else None
        self.reduce = reduce

    def take(self, events: Iterable[tuple[str, Any]]) -> None:
        for _event, element in events:
            if self.seen.root is None:
                self.seen.root = element.getroottree().getroot()
            if self.values is not None:
                _substitute(element, self.values)
            if self.reduce is None:
                self.seen.entries.append(element)
                continue
            self.seen.entries.append(self.reduce(element))
            element.clear()  # keep the tree small: drop what was read
            while element.getprevious() is not None:
                del element.getparent()[0]


def _stream(
    body: bytes, tags: Iterable[str], reduce: Callable[[Any], Any] | None, piece: int
) -> Streamed:
    collector = _Collector(body, reduce)
    parser = etree.XMLPullParser(
        events=("end",),
        tag=[f"{{*}}{tag}" for tag in tags],
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        for start in range(0, len(body), piece):
            parser.feed(body[start : start + piece])
            collector.take(parser.read_events())
        collector.seen.root = parser.close()
        collector.take(parser.read_events())
    except etree.XMLSyntaxError as exc:
        collector.seen.damage = str(exc)[:300]
    return collector.seen


def stream_entries(
    body: bytes, tags: Iterable[str], reduce: Callable[[Any], Any] | None = None
) -> Streamed:
    """The completed elements of ``body`` whose local name is in ``tags``, in document order,
    up to the first damage. With ``reduce`` each is replaced by what it returns and dropped
    from the tree (a 50,000-URL sitemap stays small); without, the elements stay in the
    tree under :attr:`Streamed.root`."""
    tags = tuple(tags)
    seen = _stream(body, tags, reduce, _PIECE)
    if seen.damage is None:
        return seen
    # What the damaged piece completed is not trusted: read again in small pieces.
    seen = _stream(body, tags, reduce, _SMALL_PIECE)
    fixed = _repaired(body)
    if fixed == body:
        return seen
    again = _stream(fixed, tags, reduce, _SMALL_PIECE)
    return again if len(again.entries) >= len(seen.entries) else seen
