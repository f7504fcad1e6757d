"""Raw pages, kept zstd-compressed in the store and keyed by the SHA-256 of their bytes.

Queue messages carry only the key; extract reads the page back, and a page can be
re-extracted later without fetching it again. Saving the same bytes twice is a no-op.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import zstandard
from sqlalchemy import select

from sluice.shared.article import Article
from sluice.shared.db.engine import insert_for, read_scope, session_scope
from sluice.shared.db.schema import pages
from sluice.shared.identity import article_id, canonicalize_url

__all__ = ["Page", "article_for_page", "load_page", "page_id", "save_page", "save_pages"]

_LEVEL = 3


@dataclass(frozen=True, slots=True)
class Page:
    id: str
    body: bytes
    url: str | None = None
    content_type: str | None = None
    encoding: str | None = None


def page_id(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def save_page(
    body: bytes,
    url: str | None = None,
    content_type: str | None = None,
    encoding: str | None = None,
) -> str:
    """Store ``body`` (if not already there) and return its id."""
    pid = page_id(body)
    row = {
        "id": pid,
        "url": url,
        "content_type": content_type,
        "encoding": encoding,
        "size": len(body),
        "body": zstandard.ZstdCompressor(level=_LEVEL).compress(body),
    }
    with session_scope() as conn:
        conn.execute(insert_for(conn, pages).values(**row).on_conflict_do_nothing())
    return pid


def save_pages(
    batch: Sequence[tuple[bytes, str | None, str | None, str | None]],
    chunk: int = 200,
    *,
    fetched_at: Sequence[datetime | None] | None = None,
) -> list[str]:
    """Store many ``(body, url, content_type, encoding)`` pages, ``chunk`` per transaction;
    returns their ids in order. The bulk form of :func:`save_page`. ``fetched_at`` gives
    when each page was captured (a WARC record's date; ``None``: now)."""
    compressor = zstandard.ZstdCompressor(level=_LEVEL)
    ids = [page_id(body) for body, *_ in batch]
    for start in range(0, len(batch), chunk):
        rows: dict[str, dict[str, object]] = {}
        for n, (pid, (body, url, content_type, encoding)) in enumerate(
            zip(ids[start : start + chunk], batch[start : start + chunk], strict=True),
            start,
        ):
            rows[pid] = {
                "id": pid,
                "url": url,
                "content_type": content_type,
                "encoding": encoding,
                "size": len(body),
                "body": compressor.compress(body),
            }
            if fetched_at is not None:
                rows[pid]["fetched_at"] = fetched_at[n] or datetime.now(UTC)
        with session_scope() as conn:
            conn.execute(insert_for(conn, pages).on_conflict_do_nothing(), list(rows.values()))
    return ids


def load_page(pid: str) -> Page | None:
    with read_scope() as conn:
        row = conn.execute(select(pages).where(pages.c.id == pid)).first()
    if row is None:
        return None
    body = zstandard.ZstdDecompressor().decompress(row.body, max_output_size=row.size)
    return Page(pid, body, row.url, row.content_type, row.encoding)


def article_for_page(
    job_id: str, item_id: int, url: str | None, page_id: str, languages: Sequence[str] = ()
) -> Article:
    """The item of a page already in the store, sent to extract without a fetch: its
    identity comes from ``url`` when that is a valid URL, else from its text later."""
    article = Article(
        job_id=job_id, item_id=item_id, url=url, page_id=page_id, languages=list(languages)
    )
    if url:
        try:
            article.canonical_url = canonicalize_url(url)
            article.id = article_id(article.canonical_url)
        except ValueError:
            article.canonical_url = None
    return article
