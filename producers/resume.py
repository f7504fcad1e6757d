"""Finishing an interrupted submission: send the items it recorded but never enqueued.

A URL item carries all it needs in the store (its URL), so it is sent to fetch now; a WARC
record's item names its page, kept in the store, so it is sent to extract, and the job's
archives left half read are read on from their kept offsets. A text
or HTML item's content travelled only in its message (a text) or cannot be told apart from
other versions of its page, so it cannot be rebuilt: it ends ``failed`` with reason
``not_enqueued`` rather than staying pending for ever. Every item sent carries what the job
was submitted with (:func:`shared.jobs.job_options`: ``--language``, ``--refetch``), as the
items sent at once did, and the archives read on leave out what its URL and date filters
did. Refused while a producer still holds the job's lease, since that
producer is about to send those very items.
"""

from __future__ import annotations

from dataclasses import dataclass

from sluice.producers.enqueue import ProgressCallback, enqueue_articles
from sluice.producers.filters import RecordFilter
from sluice.producers.lease import submission_lease
from sluice.producers.warc import IngestCallback, resume_ingestions
from sluice.shared.article import Article
from sluice.shared.jobs import finish_item, job_options, list_items
from sluice.shared.pages import article_for_page
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import get_redis
from sluice.shared.states import State
from sluice.workers.crawl.waiting import sending

__all__ = ["Resumed", "resume_job"]


@dataclass(frozen=True, slots=True)
class Resumed:
    """What ``resume_job`` did: URL items sent, and items that could only be failed."""

    job_id: str
    enqueued: int
    failed: int
    archives: int = 0  # archives read on from their kept offsets


def resume_job(
    job_id: str,
    *,
    refetch: bool = False,
    progress: ProgressCallback | None = None,
    ingest_progress: IngestCallback | None = None,
) -> Resumed:
    """Send ``job_id``'s items left ``recorded`` by an interrupted submission.

    They go with the job's kept languages and ``--refetch``; ``refetch`` here refetches
    its URLs even if the job was submitted without it. Raises
    :class:`~shared.errors.RetryableError` while another producer is submitting to the job.
    """
    client = get_redis()
    # The fetch workers' sender of found work (workers.crawl.waiting) holds this job's
    # lock while it sends: never both at once, so no item goes twice.
    with submission_lease(client, job_id, exclusive=True), sending(client, job_id):
        options = job_options(job_id)
        languages = list(options.languages)
        unsent = list_items(job_id, [State.RECORDED.value])
        urls = [item for item in unsent if item["kind"] == "url" and item["source"]]
        pages = [item for item in unsent if item["kind"] != "url" and item["page_id"]]
        lost = [
            item
            for item in unsent
            if not (item["kind"] == "url" and item["source"]) and not item["page_id"]
        ]
        for item in lost:
            finish_item(
                job_id,
                item["item_id"],
                State.FAILED,
                reason=Reason.NOT_ENQUEUED,
                detail="its submission was interrupted before it was queued and its "
                f"{item['kind']} was not kept: submit it again",
            )
        articles = (
            Article(
                job_id=job_id,
                item_id=item["item_id"],
                url=item["source"],
                refetch=refetch or options.refetch,
                found_by=item["found_by"],
                depth=item["depth"] or 0,
                languages=languages,
            )
            for item in urls
        )
        sent = enqueue_articles(job_id, "fetch", articles, len(urls), progress)
        in_hand = [
            article_for_page(job_id, item["item_id"], item["source"], item["page_id"], languages)
            for item in pages
        ]
        sent += enqueue_articles(job_id, "extract", in_hand, len(in_hand), progress)
        archives = resume_ingestions(
            job_id,
            progress=ingest_progress,
            enqueue_progress=progress,
            languages=languages,
            record_filter=RecordFilter.from_dict(options.record_filter),
        )
    return Resumed(job_id, sent, len(lost), archives)
