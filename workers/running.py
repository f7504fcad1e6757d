"""Running one stage for one article inside a Celery task, and turning its outcome into
Celery calls: the only place that does.

A stage function returns an :data:`shared.outcomes.Outcome`:

* :class:`~shared.outcomes.Forward`: the article goes to the next stage of the pipeline
  table (:mod:`workers.pipeline`), after its progress is recorded;
* :class:`~shared.outcomes.Final`: the item's final state is recorded; a ``failed`` item is
  dead-lettered with its reason;
* :class:`~shared.outcomes.Retry`: retried with exponential backoff and jitter, then
  dead-lettered with its reason;
* :class:`~shared.outcomes.Defer`: the fetch item goes back into the crawl frontier.

The URLs a ``Forward`` or ``Final`` carries (``found``: work the stage created) become items
of the job and go into the frontier through its one door, under backpressure, before the
item that found them moves on (:mod:`workers.found_work`).

A fetch task runs on a turn the crawl frontier gave its item (:mod:`workers.fetching.turns`):
the turn's host is freed as soon as the request is over, and the item is forgotten by the
frontier once it is handed on or finished; a retry (with its backoff) or a deferral puts it
back in line in the frontier instead of a countdown message.

A :class:`~shared.errors.SluiceError` raised inside a stage is read as the matching outcome;
the store or Redis unreachable is retried without limit (nothing is wrong with the item); a
soft time limit ends as ``time_limit``; anything else is a bug, logged with its traceback and
dead-lettered as ``internal_error``. Every outcome is counted by stage, kind and reason.

A *chained* stage (``SLUICE_CHAIN_STAGES``) runs inside the task of the stage before it,
right after it, instead of being queued: it ends the same ways, except that a retry, a
deferral or an unreachable service hands the article to the chained stage's own queue,
where its own task handles it.

An item that ends ``failed`` is recorded first; then :class:`ItemFailed` is raised, the one
way a task fails on purpose, so that Celery records a failed task (Flower's failures, the
``task-failed`` event) while it acknowledges the message and does not retry it.

Every delivery is counted (:class:`workers.recovery.attempts.Attempts`): an item whose deliveries
keep ending abnormally (worker killed, hard time limit) is dead-lettered after
``SLUICE_MAX_ATTEMPTS`` instead of looping.
"""

from __future__ import annotations

import functools
import importlib
import logging
import random
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

import redis
from celery import Task
from celery.exceptions import Reject, SoftTimeLimitExceeded
from celery.exceptions import Retry as CeleryRetry
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.exc import OperationalError as DatabaseError

from sluice.shared.article import Article
from sluice.shared.errors import SluiceError
from sluice.shared.failures import record_failure
from sluice.shared.item_leases import ItemLeases, lease_key
from sluice.shared.jobs import advance_item, finish_item
from sluice.shared.metrics.host_outcomes import count_fetch_outcome
from sluice.shared.metrics.stage_outcomes import count_outcome
from sluice.shared.outcomes import Final, Forward, NewUrl, Outcome, Retry, failed, from_error
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import get_redis
from sluice.shared.settings import get_settings
from sluice.shared.states import State
from sluice.workers.dedup.keys import claimed_identities
from sluice.workers.fetching.frontier import FRONTIER_STAGE
from sluice.workers.fetching.probes import silence_of
from sluice.workers.fetching.turns import RETRIES_FIELD, Turn, take_turn
from sluice.workers.found_work import admit_found
from sluice.workers.labelled_task import retry_shown
from sluice.workers.pipeline import ends_inside, stage
from sluice.workers.recovery.attempts import Attempts
from sluice.workers.recovery.broken_process import leave_broken_process
from sluice.workers.recovery.item_failed import ItemFailed
from sluice.workers.routing import publish
from sluice.workers.stages.dedup import dedup_index

__all__ = [
    "INFRASTRUCTURE_ERRORS",
    "ItemFailed",
    "backoff",
    "body_of",
    "dead_letter",
    "run_stage",
]

log = logging.getLogger(__name__)

StageBody = Callable[[Article], Outcome]

# Failures of the services around the item, not of the item: always worth another try.
INFRASTRUCTURE_ERRORS = (DatabaseError, redis.ConnectionError, redis.TimeoutError, BrokerError)


@functools.cache
def body_of(name: str) -> StageBody:
    """Stage ``name``'s function, imported from its row of the pipeline table."""
    module, function = stage(name).body.split(":")
    body: StageBody = getattr(importlib.import_module(module), function)
    return body


def backoff(retries: int, retry_after: float | None = None) -> float:
    """Seconds before try ``retries + 1``: exponential, with jitter, at least ``retry_after``."""
    settings = get_settings()
    delay = min(settings.fetch_retry_backoff_max, settings.fetch_retry_backoff * 2.0**retries)
    delay *= random.uniform(0.5, 1.5)
    return max(delay, retry_after or 0.0)


def dead_letter(
    article: Article,
    payload: dict[str, Any],
    name: str,
    reason: Reason,
    error: str,
    attempts: int = 1,
) -> ItemFailed:
    """Record the item's failure (final state ``failed``) and free what it had claimed.

    Returns the :class:`ItemFailed` that :func:`run_stage` raises once the delivery is done
    with.
    """
    log.info("%s failed at %s: %s", article.label, name, reason)
    record_failure(
        article.job_id,
        article.item_id,
        name,
        reason,
        error,
        payload,
        attempts,
        article_id=article.id or None,
    )
    count_fetch_outcome(article, name, reason)
    _final(article)
    index = dedup_index()
    for identity in claimed_identities(article):
        index.release(identity, article.item_key)
    return ItemFailed(reason, name, article.label)


def _retry(task: Task, countdown: float, **options: object) -> Exception:
    """The exception that ends this delivery with a retry in ``countdown`` seconds.

    When the retry cannot be published (the broker is down), Celery would reject the
    delivery without requeueing it, losing the item. Here it is handed back instead (or,
    failing that too, left unacknowledged until the visibility timeout restores it).
    Callers raise it ``from None``: the ``task-retried`` event carries the traceback, and
    the error being retried may name the URL.
    """
    retry: Exception  # Celery is untyped: its retry() and Reject are Any to mypy
    try:
        retry = task.retry(countdown=countdown, throw=False, **options)
    except Reject as rejected:
        retry = Reject(rejected.reason, requeue=True)
    return retry


def _outcome(article: Article, name: str) -> Outcome:
    """Run stage ``name`` on ``article``; errors become the outcomes they stand for, except
    an unreachable service, which the caller handles."""
    try:
        return body_of(name)(article)
    except SluiceError as exc:
        return from_error(exc)
    except INFRASTRUCTURE_ERRORS:
        raise
    except SoftTimeLimitExceeded:
        return failed(Reason.TIME_LIMIT, "soft time limit exceeded")
    except ImportError:
        # The process is broken, not the item: a module whose import was cut short (a task
        # terminated mid-import when Redis went away) fails every later import the same way.
        leave_broken_process(article, name)
        raise
    except Exception as exc:
        log.exception("%s crashed in %s", article.label, name)
        return failed(Reason.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")


def _execute(
    task: Task,
    article: Article,
    payload: dict[str, Any],
    name: str,
    attempts: Attempts | None,
    chain: Collection[str],
    turn: Turn | None = None,
) -> ItemFailed | CeleryRetry | None:
    """Run stage ``name`` and act on its outcome; ``attempts`` is ``None`` for a chained
    stage, which has no delivery of its own to retry; ``turn`` is a fetch task's turn at its
    host. Returns the failure of an item it dead-lettered."""
    started = time.perf_counter()
    try:
        # A host silent to its probe: the request would fail the same way, so none is sent.
        silence = silence_of(payload) if turn is not None else None
        outcome = from_error(silence) if silence is not None else _outcome(article, name)
    except INFRASTRUCTURE_ERRORS as exc:
        if attempts is not None:
            raise
        log.info("%s: chained %s handed to its queue: %s", article.label, name, exc)
        publish(name, payload, article.label)
        return None
    count_outcome(name, outcome)
    if turn is not None:
        if not isinstance(outcome, Forward | Final):
            return _back_in_line(turn, article, payload, name, outcome)
        turn.free()  # the request is over: the host's next URL may go while this one moves on
    if isinstance(outcome, Forward | Final) and outcome.found:
        # Recorded before the item that found them moves on: a delivery cut short after
        # this runs the stage again, and the same finder records its URLs again.
        _admit_found(article, name, outcome.found)
    if isinstance(outcome, Forward):
        return _forward(task, article, name, outcome, chain, time.perf_counter() - started)
    if isinstance(outcome, Final):
        return _finish(article, payload, name, outcome)
    if attempts is None:  # a chained stage's retry or deferral is its own task's business
        log.info("%s: chained %s handed to its queue: %s", article.label, name, outcome)
        publish(name, payload, article.label)
    elif isinstance(outcome, Retry):
        tries = task.request.retries + 1
        if task.request.retries < get_settings().fetch_max_retries:
            attempts.retrying()
            countdown = backoff(task.request.retries, outcome.retry_after)
            raise _retry(task, countdown, reason=str(outcome.reason)) from None
        error = f"gave up after {tries} tries: {outcome.reason}: {outcome.detail}"
        return dead_letter(article, payload, name, outcome.reason, error, tries)
    return None


def _admit_found(article: Article, name: str, found: Sequence[NewUrl]) -> None:
    work = admit_found(article, found)
    log.info(
        "%s: %s found %d URLs: %d new items (%d in the frontier, %d waiting), %d known, %d invalid",
        article.label,
        name,
        len(found),
        work.recorded,
        work.entered,
        work.waiting,
        work.known,
        work.invalid,
    )


def _back_in_line(
    turn: Turn, article: Article, payload: dict[str, Any], name: str, outcome: Outcome
) -> ItemFailed | CeleryRetry | None:
    """A fetch item's retry or deferral: back into the frontier, or dead-lettered after the
    last retry."""
    if isinstance(outcome, Retry):
        tries = turn.retries + 1
        if turn.retries >= get_settings().fetch_max_retries:
            error = f"gave up after {tries} tries: {outcome.reason}: {outcome.detail}"
            return dead_letter(article, payload, name, outcome.reason, error, tries)
        log.info("%s: retrying %s: %s", article.label, name, outcome.reason)
        again = article.to_dict() | {RETRIES_FIELD: tries}
        delay = backoff(turn.retries, outcome.retry_after)
        turn.again(again, article.url, delay)
        # The item waits in the frontier; Flower still sees this delivery retried, and why.
        return retry_shown(str(outcome.reason), round(delay, 2))
    assert not isinstance(outcome, Forward | Final)
    again = article.to_dict() | {RETRIES_FIELD: turn.retries}
    turn.again(again, outcome.url, outcome.wait)
    return None


def _forward(
    task: Task,
    article: Article,
    name: str,
    outcome: Forward,
    chain: Collection[str],
    took: float,
) -> ItemFailed | CeleryRetry | None:
    row = stage(name)
    to = outcome.to or row.successors[0]
    if to not in row.successors:
        raise ValueError(f"{name} cannot forward to {to}: not in the pipeline table")
    # When every stage after this one runs in this task, the store records the final state
    # a moment later and a progress update on the way would be a wasted write.
    if row.progress is not None and not ends_inside(name, chain):
        # The page a fetch kept is recorded with the item: if its message is lost on the
        # way, the reconciler extracts it again from the store instead of fetching it again.
        page_id = article.page_id if name == FRONTIER_STAGE else None
        advance_item(
            article.job_id, article.item_id, row.progress, article_id=article.id, page_id=page_id
        )
    article.timings[name] = round(took, 4)
    if to in chain:
        return _execute(task, article, article.to_dict(), to, None, chain)
    publish(to, article.to_dict(), article.label)
    return None


def _finish(
    article: Article, payload: dict[str, Any], name: str, outcome: Final
) -> ItemFailed | None:
    if outcome.state is State.FAILED:
        reason = outcome.reason or Reason.INTERNAL_ERROR
        return dead_letter(article, payload, name, reason, outcome.detail)
    if not outcome.recorded:
        finish_item(
            article.job_id,
            article.item_id,
            outcome.state,
            reason=outcome.reason,
            article_id=article.id,
            duplicate_of=outcome.duplicate_of,
        )
    _final(article)
    return None


def _final(article: Article) -> None:
    """A final item needs its lease no more (one left behind lapses and is dropped)."""
    try:
        ItemLeases(get_redis(), get_settings().item_lease).drop(
            [lease_key(article.job_id, article.item_id)]
        )
    except redis.RedisError:
        log.debug("%s: lease not dropped; the reconciler will", article.label)


def run_stage(task: Task, payload: dict[str, Any], name: str, chain: Collection[str] = ()) -> None:
    """Run stage ``name`` on the article in ``payload`` as its task, at least once, and then
    the stages of ``chain`` it leads to; raises :class:`ItemFailed` for an item that ended
    ``failed``, and Celery's ``Retry`` for a fetch put back in the frontier to try again."""
    article = Article.from_dict(payload)
    turn = None
    if name == FRONTIER_STAGE:
        turn = take_turn(payload)
        if turn is None:
            return
    attempts = Attempts(article.job_id, article.item_id, name)
    try:
        started = attempts.start()
        if started > get_settings().max_attempts:
            error = attempts.last_error() or "the worker died or the task was killed"
            reason = (
                Reason.TIME_LIMIT if error.startswith("time_limit") else Reason.TOO_MANY_ATTEMPTS
            )
            failed: ItemFailed | CeleryRetry | None = dead_letter(
                article,
                payload,
                name,
                reason,
                f"{started - 1} deliveries ended abnormally; last: {error}",
                started - 1,
            )
        else:
            failed = _execute(task, article, payload, name, attempts, chain, turn)
        if turn is not None and not turn.ended:
            turn.done()
        attempts.done()
    except INFRASTRUCTURE_ERRORS as exc:
        log.warning("%s: %s unavailable, retrying: %s", article.label, name, exc)
        attempts.retrying()
        if turn is not None and _put_back(turn, payload, article, task.request.retries):
            return
        raise _retry(task, backoff(min(task.request.retries, 5)), max_retries=None) from None
    if failed is not None:
        raise failed


def _put_back(turn: Turn, payload: dict[str, Any], article: Article, retries: int) -> bool:
    """A fetch item whose stage met an unreachable service: back into the frontier after a
    backoff, if Redis takes it (else the delivery is retried, and its lease still holds)."""
    try:
        turn.again(payload, article.url, backoff(min(retries, 5)))
    except INFRASTRUCTURE_ERRORS:
        return False
    return True
