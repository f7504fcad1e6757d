"""Crawler traps: URLs that would make a site endless, told from their shape alone.

* Session ids (``PHPSESSID``, ``jsessionid``, ``sid`` …) are taken out of a link before
  anything else (:func:`crawl_url`), so one page with a new session id per visit is one URL.
* ``repeated_path``: a path segment that appears three times or more (``/a/b/a/b/a/``),
  the mark of relative links that pile up.
* ``deep_path``: more than :data:`MAX_SEGMENTS` path segments.
* A URL's *pattern* (:func:`pattern_of`), for calendar-like paths and query strings: its
  host, its path with each all-digit or date segment made ``0`` (only when there are two
  such segments, or a date), and its query reduced to its parameter names. So
  ``/calendar/2026/12`` and ``/calendar/1999/01`` share a pattern, as do all
  ``/search?q=…``; ``/article/12345`` has none, and ``/2026/12/07/some-slug`` one of its
  own. The seen set (:mod:`workers.crawl.seen`) counts the URLs of each pattern and drops
  those past the crawl's ``max_per_pattern`` (``pattern_cap``): a calendar or an endless
  query-string space stops there, while articles are not touched.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["MAX_SEGMENTS", "SESSION_PARAMETERS", "crawl_url", "pattern_of", "trap_of"]

MAX_SEGMENTS = 16
#: Query parameters that carry a session, dropped from every crawled link (lower case).
SESSION_PARAMETERS = frozenset(
    {
        "phpsessid",
        "jsessionid",
        "aspsessionid",
        "asp.net_sessionid",
        "cfid",
        "cftoken",
        "sid",
        "sessionid",
        "session_id",
        "sessid",
        "zenid",
        "osCsid".lower(),
    }
)
_PATH_SESSION = re.compile(r";(jsessionid|phpsessid|sid)=[^/?#]*", re.I)
_NUMBER = re.compile(r"\d+")
_DATE = re.compile(r"\d{4}-\d{1,2}(-\d{1,2})?")


def crawl_url(url: str) -> str:
    """``url`` without its session ids (query parameters, or ``;jsessionid=`` in the path)."""
    parts = urlsplit(url)
    path = _PATH_SESSION.sub("", parts.path)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if k.lower() not in SESSION_PARAMETERS]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    if path == parts.path and query == parts.query:
        return url
    return urlunsplit((parts.scheme, parts.netloc, path, query, parts.fragment))


def trap_of(url: str) -> str | None:
    """``repeated_path`` or ``deep_path`` when ``url``'s path has the shape of a trap."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if len(segments) > MAX_SEGMENTS:
        return "deep_path"
    if segments and Counter(segments).most_common(1)[0][1] >= 3:
        return "repeated_path"
    return None


def pattern_of(url: str) -> str | None:
    """``url``'s pattern (see the module's docstring), or None for a URL that is neither
    calendar-like nor has a query."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    numbers = sum(1 for s in segments if _NUMBER.fullmatch(s))
    dated = any(_DATE.fullmatch(s) for s in segments)
    calendar = numbers >= 2 or dated
    if not calendar and not parts.query:
        return None
    if calendar:
        segments = ["0" if _NUMBER.fullmatch(s) or _DATE.fullmatch(s) else s for s in segments]
    names = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return f"{(parts.hostname or '').lower()}{'/'.join(segments)}?{'&'.join(names)}"
