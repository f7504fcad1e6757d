"""What a URL's shape says about its page, before it is fetched.

Article URLs name one thing: a slug of several words (``/harbour-plan-approved-by-council``),
often under a date (``/2026/03/04/…``) or beside a numeric id (``…-41763068.html``). Hub URLs
name a place: the site's root, a listing segment (``/tag/…``, ``/category/…``), a page number
(``/page/2``, ``?page=2``) or a bare date (``/2026/03/``, a calendar). A link seen on a
section page is followed as an article only when its shape says so.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, unquote, urlsplit

__all__ = ["url_looks_like_article", "url_looks_like_hub"]

# Path segments that name a listing: what follows them is a tag, a topic or a page number,
# not an article (``/tag/harbour``, ``/page/3``).
_LISTING_SEGMENTS = frozenset(
    "tag tags category categories topic topics section sections author authors"  # noqa: SIM905
    " archive archives page collections collection c cat browse hub label labels"
    " search feed feeds list lists shop store products directory catalog catalogue"
    " subject series".split()
)
# Path segments under which a page of a two-word slug is one post (``/blog/harbour-plans``).
_POST_SEGMENTS = frozenset(
    "article articles blog blogs post posts news"  # noqa: SIM905
    " story stories p notes entry entries read report reports".split()
)
_NOT_A_PAGE = re.compile(
    r"\.(?:jpe?g|png|gif|webp|avif|svg|ico|bmp|pdf|zip|gz|tgz|rar|mp[34]|m4a|mov|avi|webm"
    r"|css|js|mjs|json|xml|rss|atom|txt|csv|ics|woff2?|ttf|otf|eot|exe|dmg|apk)$",
    re.I,
)
_PAGE_SUFFIX = re.compile(r"\.(?:s?html?|php\d?|aspx?|jsp|cfm)$", re.I)
_YEAR, _MONTH, _DAY = r"(?:19|20)\d\d", r"(?:0?[1-9]|1[0-2])", r"(?:0?[1-9]|[12]\d|3[01])"
_DATED = re.compile(rf"/{_YEAR}[/-]{_MONTH}(?:[/-]{_DAY})?(?:/|-)")
_CALENDAR = re.compile(rf"^(?:/[^/]+)*?/{_YEAR}(?:/{_MONTH}(?:/{_DAY})?)?/?$")
# Query parameters of listings: page numbers, sorting, filtering, searching.
_LISTING_QUERY = re.compile(
    r"(?:^|&)(?:page|paged|pg|pagenum|start|offset|sort|sortby|order|orderby|filter|facet"
    r"|s|q|query|search|tag|category|cat)=",
    re.I,
)
_WORD = re.compile(r"[^\W\d_]{2,}")
_NUMERIC_ID = re.compile(r"\d{5,}")
_PAGE_NUMBER = re.compile(r"^(?:page|p)?[-_]?\d{1,4}$")
_INDEX_FILE = re.compile(r"^(?:index|default|home)(?:\.\w+)?$")
_SEPARATORS = re.compile(r"[-_+.]")
_SLUG_WORDS = 3  # words in a last segment that make it an article's slug on their own


def _words(segment: str) -> int:
    """Words of two or more letters in a path segment (``harbour-plan_v2`` has two)."""
    return len(_WORD.findall(segment))


def _slug_parts(segment: str) -> int:
    """Hyphen- or underscore-separated parts of a segment (``top-crms-2026`` has three)."""
    return len([part for part in _SEPARATORS.split(segment) if part])


def _segments(path: str) -> list[str]:
    """The path's segments, lower-cased, without a file suffix or a trailing index file
    (``/pub/harbour-plan/index.html`` is ``["pub", "harbour-plan"]``)."""
    segments = [s for s in unquote(path).lower().split("/") if s]
    if segments and _INDEX_FILE.match(segments[-1]):
        segments.pop()
    if segments:
        segments[-1] = _PAGE_SUFFIX.sub("", segments[-1])
    return segments


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:  # an unbalanced IPv6 bracket, say: not a page to judge
        return None


def url_looks_like_hub(url: str) -> bool:
    """The URL names a listing: a root, a page number, a bare date, a listing query, a
    listing segment (``/tag/harbour``, ``/news/``) or a page of one. False says little: many
    hub URLs carry no such mark."""
    parts = _split(url)
    if parts is None:
        return False
    segments = _segments(parts.path)
    if not segments or _LISTING_QUERY.search(parts.query):
        return True
    if _CALENDAR.match("/" + "/".join(segments)) or _PAGE_NUMBER.match(segments[-1]):
        return True
    if segments[-1] in _LISTING_SEGMENTS or segments[-1] in _POST_SEGMENTS:
        return True
    # /tag/harbour, /category/news: a listing segment and at most its name after it.
    listing = [i for i, s in enumerate(segments) if s in _LISTING_SEGMENTS]
    return bool(listing) and listing[-1] >= len(segments) - 2


def url_looks_like_article(url: str) -> bool:
    """The URL has an article's shape: a slug of three words (or three parts, two of them
    words), a date with a slug, a numeric id with a named segment, or a two-word slug under
    ``/blog/``, ``/news/``, ``/article/``…; and no
    hub's mark (:func:`url_looks_like_hub`) nor a file type that is not a page."""
    parts = _split(url)
    if parts is None or _NOT_A_PAGE.search(parts.path) or url_looks_like_hub(url):
        return False
    segments = _segments(parts.path)
    last = segments[-1]
    words = _words(last)
    if words >= _SLUG_WORDS or (words >= 2 and _slug_parts(last) >= _SLUG_WORDS):
        return True
    if words and _DATED.search("/" + "/".join(segments) + "/"):
        return True
    if _NUMERIC_ID.search(parts.path) and (words or any(_words(s) >= 2 for s in segments)):
        return True
    return words >= 2 and len(segments) >= 2 and segments[-2] in _POST_SEGMENTS
