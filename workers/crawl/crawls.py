"""The crawl settings of a job, read once per worker process: a job's settings never change
after it is created, and a job without them is no site crawl."""

from __future__ import annotations

import functools

from sluice.shared.jobs import job_crawl
from sluice.workers.crawl.scope import CrawlScope

__all__ = ["crawl_of"]


@functools.lru_cache(maxsize=1024)
def crawl_of(job_id: str) -> CrawlScope | None:
    """``job_id``'s crawl settings, or None when it is not a site crawl."""
    data = job_crawl(job_id)
    return CrawlScope.from_dict(data) if data else None
