"""Starting a site crawl: its seeds become the job's first items, and its settings are kept
with the job so that every worker follows the crawl's links by the same rules.

The seeds are put in the job's seen set (:mod:`workers.crawl.seen`) before they are sent,
so a page that links back to the front page does not fetch it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from sluice.producers.enqueue import ProgressCallback, enqueue_articles
from sluice.producers.lease import submission_lease
from sluice.producers.submit import database_ready
from sluice.shared.article import Article
from sluice.shared.identity import canonicalize_url
from sluice.shared.jobs import ItemSpec, JobOptions, create_job, new_job_id
from sluice.shared.redis_state import get_redis
from sluice.shared.states import State
from sluice.workers.crawl import seen
from sluice.workers.crawl.figures import note_crawl
from sluice.workers.crawl.scope import CrawlScope
from sluice.workers.crawl.traps import crawl_url

__all__ = ["SUBMITTED", "submit_crawl"]

#: The finder the seen set keeps for a crawl's seeds: no item of the job.
SUBMITTED = -1


def submit_crawl(
    crawl: CrawlScope,
    *,
    job_id: str | None = None,
    progress: ProgressCallback | None = None,
    languages: Sequence[str] = (),
) -> str:
    """Start the site crawl ``crawl`` as a new job; returns its id.

    ``languages`` (``--language``) are kept with the job: the pages the crawl finds carry
    them, whether they go out at once or wait in the store for room."""
    database_ready()
    job_id = job_id or new_job_id()
    seeds = list(dict.fromkeys(crawl_url(seed.strip()) for seed in crawl.seeds))
    client = get_redis()
    note_crawl(client, job_id)
    with submission_lease(client, job_id):
        first = create_job(
            job_id,
            [ItemSpec("url", seed, depth=0) for seed in seeds],
            f"crawl of {', '.join(seeds)}"[:500],
            state=State.RECORDED,
            crawl=crawl.to_dict(),
            options=JobOptions(tuple(languages)),
        )
        canonical = [canonicalize_url(seed) for seed in seeds]
        seen.claim(  # found by no item: a page linking to a seed finds it known
            client,
            job_id,
            SUBMITTED,
            [seen.Claim(url, urlsplit(url).hostname or "") for url in dict.fromkeys(canonical)],
            buckets=seen.buckets_for(crawl.max_pages),
        )
        articles = (
            Article(job_id, first + n, url=seed, depth=0, languages=list(languages))
            for n, seed in enumerate(seeds)
        )
        enqueue_articles(job_id, "fetch", articles, len(seeds), progress)
    return job_id
