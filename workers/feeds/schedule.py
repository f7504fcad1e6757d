"""When to poll a feed next: an interval learned from how often its entries really appear.

A feed that published is polled about twice per gap between its recent entries (its
*pace*), so a new story waits on average a quarter of that gap. A poll that found nothing
new widens the interval by half, unless the feed's pace expected it: a feed quiet for less
than two gaps keeps its interval, so an hourly feed is not slowed down by the empty polls
between its stories; one quiet for longer is polled less and less often. The publisher's
own hints — RSS ``ttl``, ``sy:updatePeriod``/``sy:updateFrequency``, ``Cache-Control:
max-age`` and ``Retry-After`` — are floors: sluice never polls faster than a feed asks.
A section page (``feeds add --html``) lists links without dates: its pace is learned from
when polls find new article links instead (:func:`arrival_pace`). Everything is clamped
between ``SLUICE_FEED_MIN_INTERVAL`` and ``SLUICE_FEED_MAX_INTERVAL``,
and each next poll is moved by a little jitter so that feeds added together drift apart
instead of coming due together.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "Hints",
    "arrival_pace",
    "first_poll_offset",
    "hints_from",
    "jittered",
    "next_interval",
    "pace_of",
    "publisher_floor",
]

# How much a quiet poll widens the interval, and how far a busy feed's target pulls it.
_GROWTH = 1.5
_SMOOTHING = 0.5
# Polls per gap between entries: two polls per gap keep the average wait a quarter gap.
_POLLS_PER_GAP = 2.0
_RECENT_ENTRIES = 10
# A feed quiet for less than this many gaps between its entries is quiet as expected.
_EXPECTED_QUIET = 2.0
_JITTER = 0.1

_UPDATE_PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400}
_UPDATE_PERIODS |= {"monthly": 30 * 86400, "yearly": 365 * 86400}
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*(\d+)", re.I)


@dataclass(frozen=True, slots=True)
class Hints:
    """What the publisher said about its polling, in seconds (None: it said nothing)."""

    ttl: float | None = None
    update_period: float | None = None
    max_age: float | None = None
    retry_after: float | None = None


def publisher_floor(hints: Hints) -> float:
    """The shortest interval the publisher allows (0 when it gives no hint)."""
    return max((v for v in (hints.ttl, hints.update_period, hints.max_age) if v), default=0.0)


def hints_from(feed: Mapping[str, object], headers: Mapping[str, str]) -> Hints:
    """The polling hints of a parsed feed's channel (feedparser's ``feed``) and its answer."""
    ttl = _number(feed.get("ttl"))
    period = _UPDATE_PERIODS.get(str(feed.get("sy_updateperiod", "")).strip().lower())
    frequency = _number(feed.get("sy_updatefrequency")) or 1.0
    match = _MAX_AGE.search(headers.get("cache-control", ""))
    retry_after = _number(headers.get("retry-after"))
    return Hints(
        ttl=ttl * 60 if ttl else None,
        update_period=period / max(frequency, 1.0) if period else None,
        max_age=float(match.group(1)) if match else None,
        retry_after=retry_after,
    )


def next_interval(
    current: float,
    new_entries: int,
    published: Sequence[datetime],
    hints: Hints,
    *,
    minimum: float,
    maximum: float,
    pace: float | None = None,
    quiet_for: float | None = None,
) -> float:
    """The interval after a poll that found ``new_entries`` new entries.

    ``published`` holds the publication dates of the feed's entries (any order; entries
    without one are left out); ``pace`` is the gap between entries learned before (when
    this poll read no dates: a 304), ``quiet_for`` the seconds since the feed last had new
    entries. The result, in seconds, lies between ``minimum`` and ``maximum`` and never
    under the publisher's floor or a ``Retry-After``.
    """
    gap = pace_of(published) or pace
    if new_entries <= 0:
        target = current * _GROWTH
        if gap and quiet_for is not None and quiet_for < _EXPECTED_QUIET * gap:
            target = min(target, max(current, gap / _POLLS_PER_GAP))
    else:
        wanted = gap / _POLLS_PER_GAP if gap else current / _GROWTH
        target = _SMOOTHING * current + (1 - _SMOOTHING) * wanted
    floor = max(minimum, publisher_floor(hints), hints.retry_after or 0.0)
    return min(max(target, floor), max(maximum, floor))


def jittered(interval: float, rng: random.Random | None = None) -> float:
    """``interval`` moved by up to ±10 %, so polls of feeds in step drift apart."""
    uniform = rng.uniform if rng is not None else random.uniform
    return interval * (1 + uniform(-_JITTER, _JITTER))


def first_poll_offset(url: str, interval: float) -> float:
    """Seconds from registration to a feed's first poll: a stable spread over one interval,
    so that a list of 10,000 feeds imported at once is not due all at once."""
    digest = hashlib.blake2b(url.encode("utf-8"), digest_size=8).digest()
    return interval * int.from_bytes(digest, "big") / 2**64


def pace_of(published: Sequence[datetime]) -> float | None:
    """A feed's pace: the median gap in seconds between its most recent entries (None: too
    few dates)."""
    recent = sorted(published, reverse=True)[:_RECENT_ENTRIES]
    gaps = sorted((a - b).total_seconds() for a, b in itertools.pairwise(recent) if a > b)
    if not gaps:
        return None
    return gaps[len(gaps) // 2]


def arrival_pace(previous: float | None, quiet_for: float | None, found: int) -> float | None:
    """The pace of a document whose entries carry no dates (a section page's links): the
    seconds since the last poll that found new entries, shared among the ``found`` new ones,
    smoothed with the pace learned before (``previous``). Unchanged when nothing was found
    or there is no earlier finding to measure from (a first poll's backlog)."""
    if found <= 0 or quiet_for is None or quiet_for <= 0:
        return previous
    observed = quiet_for / found
    if previous is None:
        return observed
    return _SMOOTHING * previous + (1 - _SMOOTHING) * observed


def _number(value: object) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
