"""Submitting work: URLs, raw texts and raw HTML become items of a job, then queue messages.

Every item is recorded in the store *before* its message is sent (as ``recorded``, then
``queued`` once sent), so nothing submitted can vanish without a trace: ``sluice status
JOB`` always accounts for it. Messages go out in batches sized to the room left in the
queues (:mod:`producers.enqueue`), so a very large submission keeps Redis memory bounded.
While a submission runs it holds a lease on its job (:mod:`producers.lease`), which tells an
interrupted submission (``sluice submit --resume``) from one still under way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence

from sluice.producers.enqueue import ProgressCallback, enqueue_articles
from sluice.producers.lease import submission_lease
from sluice.shared.article import Article
from sluice.shared.db import upgrade_database
from sluice.shared.identity import article_id, canonicalize_url
from sluice.shared.jobs import ItemSpec, JobOptions, create_job, new_job_id
from sluice.shared.language import settle_language
from sluice.shared.pages import article_for_page, save_page, save_pages
from sluice.shared.redis_state import get_redis
from sluice.shared.states import State

__all__ = ["database_ready", "submit_html", "submit_pages", "submit_text", "submit_urls"]


@functools.cache
def database_ready() -> None:
    """Bring the store to the newest migration, once per process."""
    upgrade_database()


def _submit(
    job_id: str | None,
    specs: Sequence[ItemSpec],
    stage: str,
    articles: Callable[[int], Iterable[Article]],
    *,
    description: str | None = None,
    progress: ProgressCallback | None = None,
    options: JobOptions | None = None,
) -> str:
    """Record ``specs`` in the job, then send ``articles(first item id)`` to ``stage``.

    ``options`` are kept with a new job, for its items sent later from the store."""
    database_ready()
    job_id = job_id or new_job_id()
    with submission_lease(get_redis(), job_id):
        first = create_job(job_id, specs, description, state=State.RECORDED, options=options)
        enqueue_articles(job_id, stage, articles(first), len(specs), progress)
    return job_id


def submit_urls(
    urls: Iterable[str],
    *,
    job_id: str | None = None,
    refetch: bool = False,
    description: str | None = None,
    progress: ProgressCallback | None = None,
    languages: Sequence[str] = (),
) -> str:
    """Queue each URL for fetching; returns the job id.

    ``refetch`` fetches again URLs that sluice has seen before, instead of recording them
    as duplicates of the stored article. All items are recorded first; then their messages
    go out as the queues have room, with ``progress`` called after each batch and on each
    look at the queues while paused.
    """
    job_id = job_id or new_job_id()
    url_list = [u.strip() for u in urls if u and u.strip()]

    def articles(first: int) -> Iterable[Article]:
        return (
            Article(
                job_id=job_id,
                item_id=first + offset,
                url=url,
                refetch=refetch,
                languages=list(languages),
            )
            for offset, url in enumerate(url_list)
        )

    specs = [ItemSpec("url", u) for u in url_list]
    options = JobOptions(tuple(languages), refetch)
    return _submit(
        job_id,
        specs,
        "fetch",
        articles,
        description=description,
        progress=progress,
        options=options,
    )


def submit_text(
    text: str,
    *,
    title: str | None = None,
    url: str | None = None,
    job_id: str | None = None,
) -> str:
    """Queue a raw text (it skips fetch and extract and enters at dedup); returns the job id."""
    job_id = job_id or new_job_id()

    def articles(first: int) -> list[Article]:
        article = Article(job_id=job_id, item_id=first, url=url, title=title, text=text.strip())
        if url:
            try:
                article.canonical_url = canonicalize_url(url)
            except ValueError:
                article.canonical_url = None
        article.id = article_id(article.canonical_url, article.text)
        return [settle_language(article)]

    return _submit(job_id, [ItemSpec("text", url or title)], "dedup", articles, description=title)


def submit_html(
    html: bytes | str,
    *,
    url: str | None = None,
    job_id: str | None = None,
    languages: Sequence[str] = (),
) -> str:
    """Queue a page's HTML for extraction (no fetch); returns the job id.

    The page goes into the store and the message carries only its key.
    """
    job_id = job_id or new_job_id()
    body = html.encode("utf-8") if isinstance(html, str) else html

    def articles(first: int) -> list[Article]:
        encoding = "utf-8" if isinstance(html, str) else None
        page = save_page(body, url, "text/html", encoding)
        return [article_for_page(job_id, first, url, page, languages)]

    options = JobOptions(tuple(languages))
    return _submit(job_id, [ItemSpec("html", url)], "extract", articles, options=options)


def submit_pages(
    pages: Iterable[tuple[bytes, str | None]],
    *,
    job_id: str | None = None,
    description: str | None = None,
    progress: ProgressCallback | None = None,
) -> str:
    """Queue many pages' HTML, given as ``(body, url)`` pairs, for extraction; returns the job id.

    The bulk form of :func:`submit_html`: all items are recorded in one transaction, the
    pages are saved in a few batched transactions, and only then are the messages sent, as
    the queues have room (``progress`` as for :func:`submit_urls`).
    """
    job_id = job_id or new_job_id()
    page_list = list(pages)

    def articles(first: int) -> Iterable[Article]:
        # Saved now, before any message goes out (and outside the queues' send lock).
        page_ids = save_pages([(body, url, "text/html", None) for body, url in page_list])
        return (
            article_for_page(job_id, first + offset, url, page_id)
            for offset, ((_, url), page_id) in enumerate(zip(page_list, page_ids, strict=True))
        )

    specs = [ItemSpec("html", url) for _, url in page_list]
    return _submit(job_id, specs, "extract", articles, description=description, progress=progress)
