"""Registering feeds, as ``sluice feeds add|import`` and Python callers do.

A URL is checked (http or https, parseable) before it is kept. A new feed starts with
``--every`` (fixed) or ``SLUICE_FEED_INTERVAL`` (learned from then on), and takes what it
lists at its first poll, unless registered ``new_only`` (``--new-only``): then only entries
that appear after that poll become items. Its first poll is due at once (the next scheduler
tick, about a second), unless a ``spread`` is asked for (``--spread``), or it is ``new_only``
(which has no backlog to hurry for: spread over ``SLUICE_FEED_MIN_INTERVAL``, or the interval
when shorter). A spread puts each first poll at a stable point within it
(:func:`workers.feeds.schedule.first_poll_offset`), so that a list of thousands imported at
once is not due all at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sluice.shared import feeds as registry
from sluice.shared.errors import SluiceError
from sluice.shared.feeds import Feed, FeedKind
from sluice.shared.settings import get_settings
from sluice.workers.feeds.lists import ListedFeed
from sluice.workers.feeds.schedule import first_poll_offset
from sluice.workers.fetching.urls import check_url

__all__ = ["Refused", "Registered", "register_feeds"]


@dataclass(frozen=True, slots=True)
class Registered:
    feed: Feed
    created: bool  # False: the URL was registered already


@dataclass(frozen=True, slots=True)
class Refused:
    url: str
    reason: str
    detail: str


def register_feeds(
    listed: Iterable[ListedFeed | str],
    kind: FeedKind = FeedKind.FEED,
    every: float | None = None,
    *,
    new_only: bool = False,
    spread: float | None = None,
) -> tuple[list[Registered], list[Refused]]:
    """Register each feed of ``listed``; ``every`` (seconds) fixes their interval. With
    ``new_only``, what a new feed lists at its first poll is marked seen, not made items:
    only entries that appear later are fetched (an import of a big list starts with no
    backlog). ``spread`` (seconds) spreads the first polls of new feeds over that long;
    by default they are due now, or spread over the minimum interval when ``new_only``."""
    settings = get_settings()
    if every is not None:
        every = max(every, 1.0)
    interval = every or settings.feed_interval
    if spread is None:
        spread = min(interval, settings.feed_min_interval) if new_only else 0.0
    now = registry.now()
    refused: list[Refused] = []
    new: list[registry.NewFeed] = []
    for item in listed:
        feed = item if isinstance(item, ListedFeed) else ListedFeed(item)
        url = feed.url.strip()
        try:
            check_url(url)
        except SluiceError as exc:
            refused.append(Refused(url, exc.reason, exc.detail))
            continue
        first_poll_at = now + first_poll_offset(url, spread)
        new.append(registry.NewFeed(url, interval, first_poll_at, feed.title))
    added = registry.add_feeds(new, kind, every, skip_listed=new_only)
    done = [Registered(row, created) for row, created in added]
    return done, refused
