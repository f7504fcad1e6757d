"""What a poll changes in its feed's row: the next poll time, counters and health.

Pure functions of the feed, the poll's result and the settings, so the rules are tested
without services. A poll that read the feed (or was told it is unchanged: a 304, or the
same body hash) resets the failure count and learns the interval
(:func:`workers.feeds.schedule.next_interval`, unless the producer fixed one with
``--every``). A failed poll keeps the interval and backs off: twice as long per failure in
a row, at most ``SLUICE_FEED_MAX_INTERVAL``, never before a ``Retry-After``; after
``SLUICE_FEED_DISABLE_AFTER`` of them the feed is ``disabled`` with the failure's reason.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sluice.shared.feeds import Feed, FeedState
from sluice.shared.reasons import Reason
from sluice.shared.settings import Settings
from sluice.workers.feeds.schedule import (
    Hints,
    jittered,
    next_interval,
    pace_of,
    publisher_floor,
)

__all__ = ["after_failure", "after_success", "backoff"]


def after_success(
    feed: Feed,
    *,
    now: float,
    outcome: Reason,
    new: int,
    published: Sequence[datetime],
    hints: Hints,
    settings: Settings,
    rng: random.Random | None = None,
    skipped: int = 0,
) -> dict[str, Any]:
    """The row's new values after a poll that read the feed or found it unchanged.
    ``skipped``: entries a "new entries only" feed's first poll marked seen without making
    items; the schedule learns from them as if they were new, the counts do not count them."""
    found = new + skipped
    if feed.every:
        interval = max(feed.every, hints.retry_after or 0.0)
    else:
        interval = next_interval(
            feed.interval,
            found,
            published,
            hints,
            minimum=settings.feed_min_interval,
            maximum=settings.feed_max_interval,
            pace=feed.pace,
            quiet_for=now - feed.last_entry_at if feed.last_entry_at is not None else None,
        )
    # Jitter spreads polls out, but never below what the publisher asked for.
    floor = max(publisher_floor(hints), hints.retry_after or 0.0)
    return {
        "interval": interval,
        "next_poll_at": now + max(jittered(interval, rng), floor),
        "polls": feed.polls + 1,
        "failures": 0,
        "entries": feed.entries + new,
        "last_poll_at": now,
        "last_outcome": outcome.value,
        "last_new": new,
        "detail": None,
        "pace": pace_of(published) or feed.pace,
        "last_entry_at": now if found else feed.last_entry_at,
    }


def backoff(feed: Feed, failures: int, retry_after: float | None, settings: Settings) -> float:
    """Seconds before the next try after ``failures`` failed polls in a row."""
    base = max(feed.every or feed.interval, settings.feed_min_interval)
    wait = min(settings.feed_max_interval, base * 2.0 ** max(0, failures - 1))
    return max(wait, retry_after or 0.0)


def after_failure(
    feed: Feed,
    *,
    now: float,
    reason: Reason,
    detail: str,
    retry_after: float | None,
    settings: Settings,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """The row's new values after a failed poll: backed off, or disabled with ``reason``."""
    failures = feed.failures + 1
    values: dict[str, Any] = {
        "next_poll_at": now
        + max(jittered(backoff(feed, failures, retry_after, settings), rng), retry_after or 0.0),
        "polls": feed.polls + 1,
        "failures": failures,
        "last_poll_at": now,
        "last_outcome": reason.value,
        "last_new": 0,
        "detail": detail[:2000] or None,
    }
    if failures >= settings.feed_disable_after:
        values |= {
            "state": FeedState.DISABLED.value,
            "reason": reason.value,
            "detail": f"{failures} failed polls in a row; last: {detail}"[:2000],
        }
    return values
