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
from shared.pages import save_page
from workers.routing import send_to

__all__ = ["submit_html", "submit_text", "submit_urls"]


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
    article = Article(job_id=job_id, item_id=first, url=url)
    if url:
        try:
            article.canonical_url = canonicalize_url(url)
            article.id = article_id_for_url(article.canonical_url)
        except ValueError:
            article.canonical_url = None
    article.page_id = save_page(body, url, "text/html", "utf-8" if isinstance(html, str) else None)
    send_to("extract", article.to_dict(), _label(article))
    return job_id
