"""Running one stage for one article inside a Celery task, and deciding how it ended.

Outcomes of a stage body:

* it returns the next stage's name: the article is forwarded there;
* it returns ``None``: the item reached its final state inside the stage;
* :class:`RetryableError`: retried with exponential backoff and jitter, then dead-lettered
  with its reason;
* :class:`PermanentError`: dead-lettered with its reason at once;
* the store or Redis unreachable: retried without limit (nothing is wrong with the item);
* anything else is a bug: logged with its traceback and dead-lettered as ``internal_error``.

A *chained* stage (``SLUICE_CHAIN_STAGES``) runs inside the task of the stage before
it, right after it, instead of being queued: it ends the same ways, except that a retry or
an unreachable service hands the article to the chained stage's own queue, where its own
task retries it.

Every delivery is counted (:class:`workers.attempts.Attempts`): an item whose deliveries
keep ending abnormally (worker killed, hard time limit) is dead-lettered after
``SLUICE_MAX_ATTEMPTS`` instead of looping.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Mapping

import redis
from celery import Task
from celery.exceptions import Reject, SoftTimeLimitExceeded
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.exc import OperationalError as DatabaseError

from shared.article import Article
from shared.errors import PermanentError, RetryableError
from shared.failures import record_failure
from shared.metrics.host_outcomes import count_fetch_outcome
from shared.redis_state import get_redis
from shared.settings import get_settings
from workers.attempts import Attempts
from workers.item_failed import ItemFailed
from workers.routing import send_to
from workers.stages.dedup import DedupIndex, claimed_identities, item_key

__all__ = [
    "INFRASTRUCTURE_ERRORS",
    "ItemFailed",
    "backoff",
    "dead_letter",
    "label",
    "run_stage",
]

log = logging.getLogger(__name__)

StageBody = Callable[[Article], str | None]
# Stages run inside the task before them, by name (workers.tasks.chained_bodies).
Chain = Mapping[str, StageBody]

# Failures of the services around the item, not of the item: always worth another try.
INFRASTRUCTURE_ERRORS = (DatabaseError, redis.ConnectionError, redis.TimeoutError, BrokerError)


@functools.cache
def _dedup_index() -> DedupIndex:
    return DedupIndex(get_redis())


def label(article: Article) -> str:
    """How an article appears in logs and Flower: ids only, never its URL or text."""
    return f"job={article.job_id} item={article.item_id} id={article.id or '-'}"


def backoff(retries: int, retry_after: float | None = None) -> float:
    """Seconds before try ``retries + 1``: exponential, with jitter, at least ``retry_after``."""
    settings = get_settings()
    delay = min(settings.fetch_retry_backoff_max, settings.fetch_retry_backoff * 2**retries)
    delay *= random.uniform(0.5, 1.5)
    return max(delay, retry_after or 0.0)


def dead_letter(
    article: Article, payload: dict, stage: str, reason: str, error: str, attempts: int = 1
) -> ItemFailed:
    """Record the item's failure (final state ``failed``) and free what it had claimed.

    Returns the :class:`ItemFailed` that :func:`run_stage` raises once the delivery is done
    with, so that Celery records the task as failed.
    """
    log.info("%s failed at %s: %s", label(article), stage, reason)
    record_failure(
        article.job_id,
        article.item_id,
        stage,
        reason,
        error,
        payload,
        attempts,
        article_id=article.id or None,
    )
    count_fetch_outcome(article, stage, reason)
    index = _dedup_index()
    for identity in claimed_identities(article):
        index.release(identity, item_key(article))
    return ItemFailed(reason, stage, label(article))


def _retry(task: Task, countdown: float, **options: object) -> Exception:
    """The exception that ends this delivery with a retry in ``countdown`` seconds.

    When the retry cannot be published (the broker is down), Celery would reject the
    delivery without requeueing it, losing the item. Here it is handed back instead (or,
    failing that too, left unacknowledged until the visibility timeout restores it).
    Callers raise it ``from None``: the ``task-retried`` event carries the traceback, and
    the error being retried may name the URL.
    """
    try:
        return task.retry(countdown=countdown, throw=False, **options)
    except Reject as rejected:
        return Reject(rejected.reason, requeue=True)


def _execute(
    task: Task,
    article: Article,
    payload: dict,
    stage: str,
    body: StageBody,
    attempts: Attempts | None,
    chain: Chain,
) -> ItemFailed | None:
    """Run ``body`` and end it as the module describes; ``attempts`` is ``None`` for a
    chained stage, which has no delivery of its own to retry. Returns the failure of an item
    it dead-lettered."""
    started = time.perf_counter()
    try:
        next_stage = body(article)
    except (RetryableError, *INFRASTRUCTURE_ERRORS) as exc:
        if attempts is None:
            log.info("%s: chained %s handed to its queue: %s", label(article), stage, exc)
            send_to(stage, payload, label(article))
            return None
        if not isinstance(exc, RetryableError):
            raise
        tries = task.request.retries + 1
        if task.request.retries < get_settings().fetch_max_retries:
            attempts.retrying()
            raise _retry(task, backoff(task.request.retries, exc.retry_after)) from None
        return dead_letter(
            article, payload, stage, exc.reason, f"gave up after {tries} tries: {exc}", tries
        )
    except PermanentError as exc:
        return dead_letter(article, payload, stage, exc.reason, exc.detail)
    except SoftTimeLimitExceeded:
        return dead_letter(article, payload, stage, "time_limit", "soft time limit exceeded")
    except Exception as exc:
        log.exception("%s crashed in %s", label(article), stage)
        return dead_letter(
            article, payload, stage, "internal_error", f"{type(exc).__name__}: {exc}"
        )
    if next_stage is None:
        return None
    article.timings[stage] = round(time.perf_counter() - started, 4)
    chained = chain.get(next_stage)
    if chained is None:
        send_to(next_stage, article.to_dict(), label(article))
        return None
    return _execute(task, article, article.to_dict(), next_stage, chained, None, chain)


def run_stage(
    task: Task, payload: dict, stage: str, body: StageBody, chain: Chain | None = None
) -> None:
    """Run ``body`` on the article in ``payload`` as the ``stage`` task, at least once, and
    then the stages of ``chain`` it leads to.

    An item that ends ``failed`` is recorded first; then :class:`ItemFailed` is raised, the
    one way a task fails on purpose: Celery acknowledges it and does not retry it.
    """
    article = Article.from_dict(payload)
    attempts = Attempts(article.job_id, article.item_id, stage)
    try:
        started = attempts.start()
        if started > get_settings().max_attempts:
            error = attempts.last_error() or "the worker died or the task was killed"
            reason = "time_limit" if error.startswith("time_limit") else "too_many_attempts"
            failed = dead_letter(
                article,
                payload,
                stage,
                reason,
                f"{started - 1} deliveries ended abnormally; last: {error}",
                started - 1,
            )
        else:
            failed = _execute(task, article, payload, stage, body, attempts, chain or {})
        attempts.done()
    except INFRASTRUCTURE_ERRORS as exc:
        log.warning("%s: %s unavailable, retrying: %s", label(article), stage, exc)
        attempts.retrying()
        raise _retry(task, backoff(min(task.request.retries, 5)), max_retries=None) from None
    if failed is not None:
        raise failed
