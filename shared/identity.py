"""Stable identities: canonical URLs, article ids and text fingerprints.

An article's id comes from its canonical URL, or from its normalized text when it has none,
so the same article always gets the same id, on any worker, in any run.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import urlsplit, urlunsplit

from courlan import normalize_url

__all__ = [
    "article_id",
    "article_id_for_text",
    "article_id_for_url",
    "canonicalize_url",
    "normalize_text",
    "text_fingerprint",
    "url_key",
]

_WHITESPACE = re.compile(r"\s+")


def canonicalize_url(url: str) -> str:
    """Normalize ``url`` so that trivially different spellings of one page compare equal.

    Lower-cases scheme and host, drops default ports, the fragment and tracking parameters
    (``utm_*``, ``fbclid``, …), and sorts the query (courlan does the parameter work).
    Raises ``ValueError`` for something that is not an absolute URL.
    """
    url = url.strip()
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not an absolute URL: {url!r}")
    if not parts.hostname or any(c.isspace() for c in parts.netloc):
        raise ValueError(f"no valid host in {url!r}")
    parts.port  # noqa: B018 -- raises ValueError for a non-numeric or out-of-range port
    normalized = normalize_url(url)
    parts = urlsplit(normalized)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def url_key(url: str) -> str:
    """What ``url`` is compared by: its canonical URL, or itself when it has none."""
    try:
        return canonicalize_url(url)
    except ValueError:
        return url


def _digest(data: str) -> str:
    return hashlib.blake2b(data.encode("utf-8"), digest_size=12).hexdigest()


def article_id_for_url(canonical_url: str) -> str:
    """The article id of a page, from its canonical URL."""
    return _digest("url:" + canonical_url)


def normalize_text(text: str) -> str:
    """Text as compared for exact duplicates: NFKC, case-folded, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _WHITESPACE.sub(" ", text).strip()


def text_fingerprint(text: str) -> str:
    """A hash of the normalized text: equal for texts that differ only in case and spacing."""
    return _digest("text:" + normalize_text(text))


def article_id_for_text(text: str) -> str:
    """The article id of a URL-less text, from its content."""
    return _digest("text:" + normalize_text(text))


def article_id(canonical_url: str | None, text: str = "") -> str:
    """The id of an article: from its canonical URL when it has one, else from its text."""
    return article_id_for_url(canonical_url) if canonical_url else article_id_for_text(text)
