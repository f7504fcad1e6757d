"""What the dedup index keys on: an article's identities, and its id packed into bytes."""

from __future__ import annotations

import contextlib
import hashlib

from sluice.shared.article import Article
from sluice.shared.identity import canonicalize_url, text_fingerprint

__all__ = ["claimed_identities", "digest", "identity_of", "packed_id"]


def identity_of(article: Article) -> str:
    """What makes two submissions the same article: its canonical URL, else its text."""
    if article.canonical_url:
        return article.canonical_url
    return "text:" + text_fingerprint(article.text)


def claimed_identities(article: Article) -> set[str]:
    """Every identity this item may have claimed: the submitted and the final URL, or its text."""
    identities: set[str] = set()
    if article.canonical_url:
        identities.add(article.canonical_url)
    if article.url:
        with contextlib.suppress(ValueError):
            identities.add(canonicalize_url(article.url))
    if not identities and article.text:
        identities.add(identity_of(article))
    return identities


def digest(value: str) -> bytes:
    return hashlib.blake2b(value.encode("utf-8"), digest_size=12).digest()


def packed_id(article_id: str) -> tuple[bytes, bytes]:
    """12 bytes for ``article_id``, and the text to keep beside them ('' when they unpack)."""
    if len(article_id) == 24:
        with contextlib.suppress(ValueError):
            packed = bytes.fromhex(article_id)
            if packed.hex() == article_id:
                return packed, b""
    return digest("id:" + article_id), article_id.encode("utf-8")
