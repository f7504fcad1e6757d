"""Placeholder: does a URL look like an article's, by its shape alone?

Used by watched section pages (:mod:`workers.feeds.section`) until the branch ``page-kind``
gives :func:`workers.crawl.page_kind.url_looks_like_article`, which replaces this module.
An article's URL carries a slug of several words, a long numeric id, or a date followed
by a name; a hub's is a short name (``/world``), a tag, author, section or pagination
page, or a date alone (a calendar page).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

__all__ = ["url_looks_like_article"]

# Path segments that name hubs: the segment after one of them is a hub's name.
_HUB_WORDS = frozenset(
    "tag tags topic topics author authors category categories section sections page search "  # noqa: SIM905
    "archive archives feed rss login account subscribe newsletter about contact privacy "
    "terms help".split()
)
_EXTENSION = re.compile(r"\.(?:s?html?|php|aspx?)$", re.I)
_LONG_ID = re.compile(r"\d{4,}")
_DATE = re.compile(r"/(?:19|20)\d\d/(?:0?[1-9]|1[0-2])/")
_PAGINATION = frozenset({"page", "p", "offset", "start"})


def url_looks_like_article(url: str) -> bool:
    """Whether ``url``'s shape is an article's (a guess: hubs may still slip through)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    segments = [s for s in parts.path.lower().split("/") if s]
    if not segments or segments[-1] in _HUB_WORDS:
        return False
    if len(segments) >= 2 and segments[-2] in _HUB_WORDS:
        return False  # /tag/NAME, /section/NAME, /page/2
    if any(key.lower() in _PAGINATION for key, _ in parse_qsl(parts.query)):
        return False
    stem = _EXTENSION.sub("", segments[-1])
    if stem.isdigit():
        return len(stem) >= 5  # /news/12345678; /2026/03/31 is a calendar day
    words = [w for w in re.split(r"[-_]+", stem) if w]
    if len(words) >= 3 or (_LONG_ID.search(stem) and len(words) >= 2):
        return True
    return bool(_DATE.search(parts.path) and not stem.isdigit() and len(segments) >= 3)
