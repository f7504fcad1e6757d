"""A feed's new entries into the crawl frontier, under the producers' backpressure.

A poll records its new entries as items of the feed's job, ``recorded``, each keeping its
entry (guid, title, date), and then sends as many of the job's recorded items as the queues
have room for now, oldest first: the same high-water mark as submissions
(``SLUICE_QUEUE_HIGH_WATER``, :class:`workers.backpressure.Backpressure`), except that a
fetch thread never waits for room. What does not fit waits in the store, as a submission's
items do, and the feed is noted as having entries waiting: the feed scheduler sends more as
room appears (older entries before newer ones, whoever sends). Pausing a feed drops them
(:func:`drop_waiting`), which is how an operator stops a runaway feed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sluice.shared.article import Article
from sluice.shared.feeds import Feed, FeedKind
from sluice.shared.jobs import ItemSpec, create_job, skip_recorded, waiting_items
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import KEY_PREFIX, as_text, get_redis
from sluice.shared.states import State
from sluice.workers.fetching.frontier import arrival_of
from sluice.workers.recorded import send_recorded

__all__ = [
    "FEED_PRIORITY",
    "SITEMAP_PRIORITY",
    "WAITING_KEY",
    "drop_waiting",
    "feeds_waiting",
    "record_entries",
    "send_waiting",
]

#: Frontier priorities: a feed's (or a section page's) new entries are news; a sitemap's
#: URLs are backfill.
FEED_PRIORITY = 6
SITEMAP_PRIORITY = 3
#: The ids of feeds with entries waiting in the store for room in the frontier.
WAITING_KEY = f"{KEY_PREFIX}feeds:waiting"
_CHUNK = 5000
_SENDING_LOCK = 60.0  # seconds; a sender holds a feed's lock at most this long


def record_entries(feed: Feed, entries: Sequence[dict[str, Any]]) -> int:
    """Record new entries (``link``, ``guid``, ``title``, ``published``) as ``recorded``
    items of the feed's job; returns the first item id."""
    specs = [ItemSpec("url", entry["link"], entry=entry) for entry in entries]
    return create_job(feed.job_id, specs, state=State.RECORDED)


def _payload(feed: Feed, row: dict[str, Any]) -> dict[str, Any]:
    entry = row["entry"] or {}
    return Article(
        feed.job_id,
        int(row["item_id"]),
        url=row["source"],
        feed_id=feed.id,
        entry_guid=entry.get("guid"),
        entry_title=entry.get("title"),
        entry_published=entry.get("published"),
    ).to_dict()


def send_waiting(feed: Feed) -> int:
    """Put as many of the feed's waiting entries into the frontier as there is room for now,
    oldest first, without waiting; returns how many went. Two senders of one feed never
    overlap (the second sends nothing)."""
    client = get_redis()
    lock = client.lock(f"{KEY_PREFIX}feeds:sending:{feed.id}", timeout=_SENDING_LOCK)
    if not lock.acquire(blocking=False):
        return 0
    priority = SITEMAP_PRIORITY if feed.kind == FeedKind.SITEMAP else FEED_PRIORITY
    try:
        sent, more = send_recorded(
            client,
            feed.job_id,
            _CHUNK,
            lambda room: waiting_items(feed.job_id, room),
            lambda row: arrival_of(_payload(feed, row), priority),
        )
        if more:
            client.sadd(WAITING_KEY, feed.id)
        else:
            client.srem(WAITING_KEY, feed.id)
    finally:
        lock.release()
    return sent


def feeds_waiting(limit: int = 100) -> list[int]:
    """Ids of feeds noted as having entries waiting in the store (at most ``limit``)."""
    members = list(get_redis().sscan_iter(WAITING_KEY, count=limit))[:limit]
    return [int(as_text(member)) for member in members]


def drop_waiting(feed: Feed) -> int:
    """End the feed's entries still waiting in the store as ``skipped`` (``feed_paused``):
    a paused runaway feed adds no more work. Returns how many were dropped."""
    dropped = skip_recorded(
        feed.job_id, Reason.FEED_PAUSED.value, "its feed was paused before it was queued"
    )
    get_redis().srem(WAITING_KEY, feed.id)
    return dropped
