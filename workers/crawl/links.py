"""The links of an HTML page: absolute http(s) URLs, in document order, each once."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from lxml import etree, html

__all__ = ["links_in"]

_SCHEMES = ("http", "https")


def links_in(html_text: str, base_url: str) -> list[str]:
    """The absolute http(s) links of ``html_text`` (``<a href>`` and ``<area href>``), in
    document order, without repeats and without their fragment; a ``<base href>`` changes
    what relative links resolve against. ``javascript:``, ``mailto:`` and the like are
    dropped, as is anything unparseable."""
    if not html_text.strip():
        return []
    try:
        root = html.document_fromstring(html_text)
    except (etree.ParserError, ValueError):
        return []
    base = base_url
    for element in root.iter("base"):
        href = (element.get("href") or "").strip()
        if href:
            base = urljoin(base_url, href)
            break
    seen: set[str] = set()
    links: list[str] = []
    for element in root.iter("a", "area"):
        url = _absolute(element.get("href"), base)
        if url is not None and url not in seen:
            seen.add(url)
            links.append(url)
    return links


def _absolute(href: str | None, base: str) -> str | None:
    if not href:
        return None
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    try:
        url = urljoin(base, href)
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in _SCHEMES or not parts.hostname:
        return None
    return parts._replace(fragment="").geturl()
