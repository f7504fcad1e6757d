"""The ``workers.feed_poll`` task: one step of one claimed feed's poll, run like a stage.

The poll runs on its host's turn in the crawl frontier (:mod:`workers.feeds.scheduler` put
it there): the task checks the turn's lease and takes one step of the poll
(:func:`workers.feeds.polling.poll_feed`: one request, never a wait for a gate). A step that
must go on later (robots.txt took the turn, a redirect to another host, a gate not open)
puts the poll back into the frontier for the next request's host; otherwise the turn ends,
which makes the host due again at its gate. As for a stage (:mod:`workers.running`), every
delivery is counted (:class:`workers.recovery.attempts.Attempts`; past ``SLUICE_MAX_ATTEMPTS``
abnormal ends the poll fails as ``too_many_attempts``) and every outcome is counted under
the stage name ``feed_poll`` (``sluice metrics``, Prometheus); Flower shows each step with
its result. A redelivered or late task whose lease or claim has lapsed does nothing, so
at-least-once delivery never polls a feed twice in one interval. When the store or Redis is
unreachable, the host is freed and the turn's lease left to lapse: the frontier gives the
poll out again after ``SLUICE_FETCH_LEASE``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from sluice.shared import feeds as registry
from sluice.shared.errors import PermanentError
from sluice.shared.metrics.stage_outcomes import count_outcome
from sluice.shared.outcomes import Defer, Final, Outcome
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import get_redis
from sluice.shared.settings import get_settings
from sluice.shared.states import State
from sluice.workers.celery import app
from sluice.workers.feeds.polling import Hop, PollDeferred, PollResult, fail_poll, poll_feed
from sluice.workers.feeds.scheduler import POLL_TASK, poll_item, poll_payload, queue_poll
from sluice.workers.fetching.frontier import Frontier
from sluice.workers.fetching.pump import lease_ms
from sluice.workers.recovery.attempts import Attempts
from sluice.workers.running import INFRASTRUCTURE_ERRORS

__all__ = ["POLL_STAGE", "poll", "poll_outcome"]

log = logging.getLogger(__name__)

#: The name polls are counted under, beside the stages of the pipeline table.
POLL_STAGE = "feed_poll"


@functools.cache
def _frontier() -> Frontier:
    return Frontier(get_redis())


def poll_outcome(result: PollResult | PollDeferred) -> Outcome:
    """The stage outcome a poll step is counted as: deferred, failed with its reason, or
    done (the feed's row is written) with its outcome."""
    if isinstance(result, PollDeferred):
        return Defer(result.wait, result.hop.url)
    return Final(State.FAILED if result.failed else State.STORED, result.outcome, result.detail)


def _step(
    feed_id: int, claim: str, hop: Hop | None, attempts: Attempts, answered: Callable[[], None]
) -> PollResult | PollDeferred | None:
    """Count this delivery, then take the poll's step (or fail it after too many abnormal
    ends); ``answered`` frees the host once the feed's answer is in."""
    started = attempts.start()
    if started > get_settings().max_attempts:
        error = attempts.last_error() or "the worker died or the task was killed"
        detail = f"{started - 1} deliveries ended abnormally; last: {error}"
        return fail_poll(feed_id, claim, PermanentError(Reason.TOO_MANY_ATTEMPTS, detail))
    return poll_feed(feed_id, claim, hop, answered=answered)


# A step must end before its turn's lease lapses, or the frontier would give it out again
# while it still runs (and the feed's claim would let the second poll through).
_LIMIT = get_settings().fetch_lease


@app.task(  # type: ignore[untyped-decorator]  # Celery ships no types
    name=POLL_TASK,
    soft_time_limit=_LIMIT * 0.8,
    time_limit=_LIMIT * 0.9,
)
def poll(
    feed_id: int, claim: str, turn: str | None = None, hop: dict[str, Any] | None = None
) -> str:
    """One step of polling feed ``feed_id`` under its ``claim``, on the frontier turn leased
    as ``turn``, from ``hop`` (where the poll got to; ``None``: the feed's URL); returns the
    outcome (for Flower). A poll sent with no turn (by an older scheduler) is put into the
    frontier to wait for its host's turn."""
    feed_id, claim = int(feed_id), str(claim)
    item, frontier = poll_item(feed_id), _frontier()
    if turn is None:
        feed = registry.find_feed(feed_id)
        if feed is not None:
            queue_poll(feed_id, feed.url, claim)
        return "queued"
    if not frontier.begin(item, str(turn), lease_ms()):
        log.info("feed %d: stale poll delivery dropped", feed_id)
        return "stale"
    attempts = Attempts(f"feed-{feed_id}", 0, POLL_STAGE)
    try:
        # The host's next item may go once the feed answered, as a page fetch frees it
        # (workers.fetching.turns): reading the document and writing the store hold no turn.
        def answered() -> None:
            frontier.finish(item, str(turn), free_only=True)

        result = _step(feed_id, claim, Hop.from_dict(hop) if hop else None, attempts, answered)
    except SoftTimeLimitExceeded:
        # Its item is done and its claim left to lapse: with no item to hold it, the feed is
        # claimed again after SLUICE_FEED_POLL_LEASE.
        log.warning("feed %d: poll cut short at %.0f s", feed_id, _LIMIT * 0.8)
        attempts.done()
        frontier.finish(item, str(turn))
        return "cut_short"
    except INFRASTRUCTURE_ERRORS as exc:
        # The host is freed for its other URLs; the poll's lease is kept, so it lapses and
        # the frontier gives the poll out again, in its place (a Celery countdown would
        # hold it in this worker's memory instead).
        log.warning(
            "feed %d: poll given out again later, a service is unavailable: %s", feed_id, exc
        )
        attempts.retrying()
        with contextlib.suppress(*INFRASTRUCTURE_ERRORS):
            frontier.finish(item, str(turn), free_only=True)
        return "retried"
    attempts.done()
    if result is None:
        frontier.finish(item, str(turn))
        return "stale"
    count_outcome(POLL_STAGE, poll_outcome(result))
    if isinstance(result, PollDeferred):
        again = poll_payload(feed_id, claim, result.hop.url, result.hop.to_dict())
        frontier.finish(item, str(turn), again=again, url=result.hop.url, delay=result.wait)
        return f"deferred: {result.why}"
    frontier.finish(item, str(turn))
    log.info("feed %d polled: %s, %d new", result.feed_id, result.outcome, result.new)
    return f"{result.outcome} new={result.new}"
