"""Submitting work: URLs, raw texts and raw HTML become items of a job, then queue messages.

Every item is recorded as ``queued`` in the store *before* its message is sent, so nothing
submitted can vanish without a trace: ``sluice status JOB`` always accounts for it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from shared.article import Article
from shared.db import upgrade_database
from shared.identity import article_id_for_text, article_id_for_url, canonicalize_url
from shared.jobs import ItemSpec, create_job, new_job_id
from shared.pages import save_page, save_pages
from workers.routing import send_to

__all__ = ["submit_html", "submit_pages", "submit_text", "submit_urls"]


@functools.cache
def _database_ready() -> None:
    upgrade_database()


def _label(article: Article) -> str:
    return f"job={article.job_id} item={article.item_id}"


def submit_urls(
    urls: Iterable[str],
    *,
    job_id: str | None = None,
    refetch: bool = False,
    description: str | None = None,
) -> str:
    """Queue each URL for fetching; returns the job id.

    ``refetch`` fetches again URLs that sluice has seen before, instead of recording them
    as duplicates of the stored article.
    """
    _database_ready()
    job_id = job_id or new_job_id()
    url_list = [u.strip() for u in urls if u and u.strip()]
    first = create_job(job_id, [ItemSpec("url", u) for u in url_list], description)
    for offset, url in enumerate(url_list):
        article = Article(job_id=job_id, item_id=first + offset, url=url, refetch=refetch)
        send_to("fetch", article.to_dict(), _label(article))
    return job_id


def submit_text(
    text: str,
    *,
    title: str | None = None,
    url: str | None = None,
    job_id: str | None = None,
) -> str:
    """Queue a raw text (it skips fetch and extract and enters at dedup); returns the job id."""
    _database_ready()
    job_id = job_id or new_job_id()
    first = create_job(job_id, [ItemSpec("text", url or title)], title)
    article = Article(job_id=job_id, item_id=first, url=url, title=title, text=text.strip())
    if url:
        try:
            article.canonical_url = canonicalize_url(url)
        except ValueError:
            article.canonical_url = None
    article.id = (
        article_id_for_url(article.canonical_url)
        if article.canonical_url
        else article_id_for_text(article.text)
    )
    send_to("dedup", article.to_dict(), _label(article))
    return job_id


def _html_article(job_id: str, item_id: int, url: str | None) -> Article:
    """An item whose page is already in hand: its identity comes from ``url`` when valid."""
    article = Article(job_id=job_id, item_id=item_id, url=url)
    if url:
        try:
            article.canonical_url = canonicalize_url(url)
            article.id = article_id_for_url(article.canonical_url)
        except ValueError:
            article.canonical_url = None
    return article


def submit_html(
    html: bytes | str,
    *,
    url: str | None = None,
    job_id: str | None = None,
) -> str:
    """Queue a page's HTML for extraction (no fetch); returns the job id.

    The page goes into the store and the message carries only its key.
    """
    _database_ready()
    job_id = job_id or new_job_id()
    body = html.encode("utf-8") if isinstance(html, str) else html
    first = create_job(job_id, [ItemSpec("html", url)])
    article = _html_article(job_id, first, url)
    article.page_id = save_page(body, url, "text/html", "utf-8" if isinstance(html, str) else None)
    send_to("extract", article.to_dict(), _label(article))
    return job_id


def submit_pages(
    pages: Iterable[tuple[bytes, str | None]],
    *,
    job_id: str | None = None,
    description: str | None = None,
) -> str:
    """Queue many pages' HTML, given as ``(body, url)`` pairs, for extraction; returns the job id.

    The bulk form of :func:`submit_html`: all items are recorded in one transaction, the
    pages are saved in a few batched transactions, and only then are the messages sent.
    """
    _database_ready()
    job_id = job_id or new_job_id()
    page_list = list(pages)
    first = create_job(job_id, [ItemSpec("html", url) for _, url in page_list], description)
    page_ids = save_pages([(body, url, "text/html", None) for body, url in page_list])
    for offset, ((_, url), page_id) in enumerate(zip(page_list, page_ids, strict=True)):
        article = _html_article(job_id, first + offset, url)
        article.page_id = page_id
        send_to("extract", article.to_dict(), _label(article))
    return job_id
