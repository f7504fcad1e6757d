"""Sending recorded items to their first stage, in batches the queues have room for.

Items are recorded (state ``recorded``) before this runs. Each batch is sent and then marked
``queued`` in one statement, so at any moment the store tells which items have a message:
an interrupted submission leaves its unsent items ``recorded``, for ``sluice submit
--resume`` to send, never silently dropped. A message sent just before an interruption but
not yet marked is sent again on resume, which the stages tolerate (at least once).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass

from sluice.shared.article import Article
from sluice.shared.jobs import mark_enqueued
from sluice.shared.redis_state import get_redis
from sluice.shared.settings import get_settings
from sluice.workers.backpressure import Backpressure
from sluice.workers.fetching.frontier import FRONTIER_STAGE, arrival_of, enter
from sluice.workers.pipeline import STAGES
from sluice.workers.routing import publish

__all__ = ["EnqueueProgress", "ProgressCallback", "enqueue_articles"]


@dataclass(frozen=True, slots=True)
class EnqueueProgress:
    """Where a submission stands: reported after each batch and on each look while paused."""

    job_id: str
    stage: str  # the queue the items enter
    recorded: int  # items of this submission recorded in the store
    enqueued: int  # of which the messages are sent
    paused_on: str | None = None  # while paused: the fullest stage queue ...
    depth: int = 0  # ... and its depth
    high_water: int = 0
    low_water: int = 0

    @property
    def paused(self) -> bool:
        return self.paused_on is not None


ProgressCallback = Callable[[EnqueueProgress], None]


def enqueue_articles(
    job_id: str,
    stage: str,
    articles: Iterable[Article],
    total: int,
    progress: ProgressCallback | None = None,
) -> int:
    """Send ``articles`` (``total`` of them, already recorded) to ``stage``; returns how many.

    Pauses while the queues are full (see :class:`~workers.backpressure.Backpressure`).
    """
    settings = get_settings()
    high, low = settings.queue_high_water, settings.queue_low_water

    def report(enqueued: int, paused_on: str | None = None, depth: int = 0) -> None:
        if progress is not None:
            progress(EnqueueProgress(job_id, stage, total, enqueued, paused_on, depth, high, low))

    sent = 0
    gate = Backpressure(
        get_redis(),
        stage,
        high=high,
        low=low,
        watched=STAGES,
        poll=settings.queue_poll_seconds,
        on_wait=lambda full, depth: report(sent, full, depth),
    )
    pending = iter(articles)
    report(0)
    while sent < total:
        with gate.admit(min(settings.submit_batch_size, total - sent)) as room:
            batch = list(itertools.islice(pending, room))
            _send_batch(stage, batch)
            # Marked only once the whole batch is out: an interruption before this leaves
            # the batch ``recorded`` (sent again on resume, at least once), never lost.
            mark_enqueued(job_id, [article.item_id for article in batch])
            sent += len(batch)
        report(sent)
        if len(batch) < room:
            break  # fewer articles than announced
    return sent


def _send_batch(stage: str, batch: list[Article]) -> None:
    """Send ``batch`` to ``stage`` in as few Redis round trips as kombu allows; fetch items
    go into the crawl frontier, in one script call."""
    if stage == FRONTIER_STAGE:
        enter(arrival_of(article.to_dict()) for article in batch)
        return
    from sluice.workers.celery import app

    with app.producer_or_acquire() as producer:
        # kombu >= 5.7 pipelines a batch's publishes (and drops them all if interrupted
        # before the flush); older versions send each message at once.
        make_batch = getattr(producer, "batch", None)
        # max_size counts Redis commands (several per message): flush only at the end.
        grouped = make_batch(max_size=16 * len(batch) + 16) if make_batch else nullcontext()
        with grouped:
            for article in batch:
                publish(stage, article.to_dict(), article.label, producer=producer)
