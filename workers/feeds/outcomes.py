"""What a poll changes in its feed's row: the next poll time, counters and health.

Pure functions of the feed, the poll's result and the settings, so the rules are tested
without services. A poll that read the feed (or was told it is unchanged: a 304, or the
same body hash) resets the failure count and learns the interval
(:func:`workers.feeds.schedule.next_interval`, unless the producer fixed one with
``--every``). A failed poll keeps the interval and backs off: twice as long per failure in
a row, at most ``SLUICE_FEED_MAX_INTERVAL``, never before a ``Retry-After``; after
``SLUICE_FEED_DISABLE_AFTER`` of them the feed is ``disabled`` with the failure's reason.

What a server asks for is capped as for pages: a ``Retry-After`` by
``SLUICE_FETCH_RETRY_AFTER_MAX``, and no hint (``ttl``, ``max-age``, ``Retry-After``) puts a
feed's next poll further than ``SLUICE_FEED_MAX_INTERVAL`` away (or its own ``--every``, when
that is longer), so one hostile answer cannot park an active feed for years.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sluice.shared.feeds import Feed, FeedKind, FeedState
from sluice.shared.reasons import Reason
from sluice.shared.settings import Settings
from sluice.workers.feeds.schedule import (
    Hints,
    arrival_pace,
    jittered,
    next_interval,
    pace_of,
    publisher_floor,
)

__all__ = ["after_failure", "after_success", "backoff", "longest_wait"]


def longest_wait(feed: Feed, settings: Settings) -> float:
    """The furthest away a feed's next poll may be: ``SLUICE_FEED_MAX_INTERVAL``, or the
    feed's own fixed interval when that is longer."""
    return max(settings.feed_max_interval, feed.every or 0.0)


def _asked(retry_after: float | None, settings: Settings) -> float:
    """A server's ``Retry-After`` as honoured: capped by ``SLUICE_FETCH_RETRY_AFTER_MAX``."""
    return min(retry_after or 0.0, settings.fetch_retry_after_max)


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
    items; the schedule learns from them as if they were new, the counts do not count them.
    A section page's entries have no dates: its pace is learned from when its polls find
    new links (:func:`workers.feeds.schedule.arrival_pace`)."""
    found = new + skipped
    quiet_for = now - feed.last_entry_at if feed.last_entry_at is not None else None
    if feed.kind == FeedKind.SECTION:
        pace = arrival_pace(feed.pace, quiet_for, found)
    else:
        pace = pace_of(published) or feed.pace
    longest = longest_wait(feed, settings)
    asked = _asked(hints.retry_after, settings)
    hints = Hints(
        ttl=min(hints.ttl, longest) if hints.ttl else None,
        update_period=min(hints.update_period, longest) if hints.update_period else None,
        max_age=min(hints.max_age, longest) if hints.max_age else None,
        retry_after=asked or None,
    )
    if feed.every:
        interval = max(feed.every, asked)
    else:
        interval = next_interval(
            feed.interval,
            found,
            published,
            hints,
            minimum=settings.feed_min_interval,
            maximum=settings.feed_max_interval,
            pace=pace,
            quiet_for=quiet_for,
        )
    interval = min(interval, longest)
    # Jitter spreads polls out, but never below what the publisher asked for.
    floor = max(publisher_floor(hints), asked)
    return {
        "interval": interval,
        "next_poll_at": now + min(max(jittered(interval, rng), floor), longest),
        "polls": feed.polls + 1,
        "failures": 0,
        "entries": feed.entries + new,
        "last_poll_at": now,
        "last_outcome": outcome.value,
        "last_new": new,
        "detail": None,
        "pace": pace,
        "last_entry_at": now if found else feed.last_entry_at,
    }


def backoff(feed: Feed, failures: int, retry_after: float | None, settings: Settings) -> float:
    """Seconds before the next try after ``failures`` failed polls in a row: never before
    the server's (capped) ``Retry-After``, never after :func:`longest_wait`."""
    base = max(feed.every or feed.interval, settings.feed_min_interval)
    wait = min(settings.feed_max_interval, base * 2.0 ** max(0, failures - 1))
    return min(max(wait, _asked(retry_after, settings)), longest_wait(feed, settings))


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
    wait = max(
        jittered(backoff(feed, failures, retry_after, settings), rng), _asked(retry_after, settings)
    )
    values: dict[str, Any] = {
        "next_poll_at": now + min(wait, longest_wait(feed, settings)),
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
