"""One poll of one registered feed: download it, keep its new entries, schedule the next.

The poll holds its feed's claim (:func:`shared.feeds.claim`); a stale one (the claim lapsed
and the feed was claimed again) does nothing. The document is fetched one polite hop at a
time (:class:`producers.polite.PoliteFetcher`: robots.txt and the host's cluster-wide
budget, the same gate the crawl frontier schedules pages by) with the feed's ETag and
Last-Modified, so an unchanged feed costs one 304; a 200 whose body hash did not change
counts as unchanged too. A permanent redirect (301, 308) moves the feed to its new URL. The
sitemaps of a sitemap index are registered as feeds of their own (at most
``SLUICE_EXPAND_MAX_REQUESTS`` of them), each then polled on its own schedule.

Seen entries are bounded: keys of entries still in the document are kept fresh, and those
gone from it for ``SLUICE_FEED_SEEN_RETENTION`` are forgotten. Entries not seen before (by
canonical link or guid) become items of the feed's job, each
carrying its feed, guid, title and publication date, and go into the crawl frontier at a
priority above ordinary submissions (feed entries above sitemap URLs). They are recorded
before they are marked seen, so a poll cut short makes an entry an item twice at worst
(the fetch stage's claim then ends the second as ``duplicate``), never loses it. A feed
registered "new entries only" (``sluice feeds add --new-only``) marks what its first
successful poll finds listed as seen without making items of it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass

from sluice.producers.feed_entries import Entry, read_document
from sluice.producers.feed_outcomes import after_failure, after_success
from sluice.producers.feed_registry import register_feeds
from sluice.producers.feed_schedule import Hints, hints_from
from sluice.producers.feeds import FEED_TYPES, SITEMAP_TYPES
from sluice.producers.polite import PoliteFetcher
from sluice.shared import feeds as registry
from sluice.shared.article import Article
from sluice.shared.errors import PermanentError, RetryableError, SluiceError
from sluice.shared.feeds import Feed, FeedKind, FeedState
from sluice.shared.jobs import ItemSpec, create_job, mark_enqueued
from sluice.shared.metrics.feed_polls import count_poll
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import get_redis
from sluice.shared.settings import get_settings
from sluice.shared.states import State
from sluice.workers.fetching.client import FetchedPage, Fetcher, NotModified, Redirect
from sluice.workers.fetching.frontier import arrival_of, enter

__all__ = ["FEED_PRIORITY", "SITEMAP_PRIORITY", "PollResult", "poll_feed"]

log = logging.getLogger(__name__)

#: Frontier priorities: a feed's new entries are news; a sitemap's URLs are backfill.
FEED_PRIORITY = 6
SITEMAP_PRIORITY = 3
_PERMANENT_REDIRECTS = (301, 308)
_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class PollResult:
    """How a poll ended: its outcome (a reason), the new entries it made items of."""

    feed_id: int
    outcome: Reason
    new: int = 0
    detail: str = ""


@functools.cache
def _polite() -> PoliteFetcher:
    settings = get_settings()
    return PoliteFetcher(Fetcher(settings), get_redis(), settings)


def _download(polite: PoliteFetcher, feed: Feed) -> tuple[FetchedPage | NotModified, str | None]:
    """The feed's document (or 304) and, after permanent redirects only, its new URL."""
    headers = {}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    types = FEED_TYPES if feed.kind == FeedKind.FEED else (*SITEMAP_TYPES, "text/html")
    url, moved, permanent = feed.url, None, True
    for _ in range(get_settings().fetch_max_redirects + 1):
        result = polite.hop(url, types, headers or None)
        if not isinstance(result, Redirect):
            return result, moved
        permanent = permanent and result.status in _PERMANENT_REDIRECTS
        url = result.location
        moved = url if permanent else moved
    raise PermanentError(
        Reason.TOO_MANY_REDIRECTS, f"more than {get_settings().fetch_max_redirects}"
    )


def _new_entries(
    feed: Feed, keyed: list[tuple[Entry, list[str]]], cap: int
) -> list[tuple[Entry, list[str]]]:
    """The entries (with their seen-entry keys) the feed has not seen, each once, at most
    ``cap``."""
    seen = registry.seen_keys(feed.id, (k for _, keys in keyed for k in keys))
    fresh: list[tuple[Entry, list[str]]] = []
    for entry, keys in keyed:
        if not seen.intersection(keys):
            fresh.append((entry, keys))
            seen.update(keys)
            if len(fresh) >= cap:
                break
    return fresh


def _make_items(feed: Feed, fresh: list[tuple[Entry, list[str]]], now: float) -> None:
    """Record the new entries as items of the feed's job, put them into the frontier, and
    mark them seen."""
    entries = [entry for entry, _ in fresh]
    first = create_job(
        feed.job_id, [ItemSpec("url", e.link) for e in entries], state=State.RECORDED
    )
    payloads = [
        Article(
            feed.job_id,
            first + n,
            url=entry.link,
            feed_id=feed.id,
            entry_guid=entry.guid,
            entry_title=entry.title,
            entry_published=entry.published.isoformat() if entry.published else None,
        ).to_dict()
        for n, entry in enumerate(entries)
    ]
    priority = FEED_PRIORITY if feed.kind == FeedKind.FEED else SITEMAP_PRIORITY
    for start in range(0, len(payloads), _CHUNK):
        enter(arrival_of(payload, priority) for payload in payloads[start : start + _CHUNK])
    mark_enqueued(feed.job_id, range(first, first + len(entries)))
    registry.remember_entries(feed.id, [k for _, keys in fresh for k in keys], now)


def _failed(feed: Feed, token: str, now: float, exc: SluiceError) -> PollResult:
    reason = Reason(exc.reason)
    retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
    values = after_failure(
        feed,
        now=now,
        reason=reason,
        detail=exc.detail,
        retry_after=retry_after,
        settings=get_settings(),
    )
    registry.finish_poll(feed.id, token, **values)
    count_poll(reason.value, 0)
    if values.get("state") == FeedState.DISABLED:
        log.warning("feed %d disabled: %s", feed.id, reason)
    return PollResult(feed.id, reason, 0, exc.detail)


def _moved(feed: Feed, token: str, url: str) -> Feed | None:
    """Follow a permanent redirect; ``None`` when the new URL is another registered feed
    (this one is then disabled as ``feed_moved_to_known``)."""
    if registry.move_feed(feed.id, url):
        log.info("feed %d moved permanently", feed.id)
        return registry.find_feed(feed.id)
    registry.finish_poll(
        feed.id,
        token,
        state=FeedState.DISABLED.value,
        reason=Reason.FEED_MOVED_TO_KNOWN.value,
        detail=f"moved permanently to {url[:1000]}",
        last_outcome=Reason.FEED_MOVED_TO_KNOWN.value,
    )
    return None


def poll_feed(feed_id: int, token: str, polite: PoliteFetcher | None = None) -> PollResult | None:
    """Poll the feed ``feed_id`` under the claim ``token``; ``None`` for a stale claim."""
    settings = get_settings()
    now = registry.now()
    feed = registry.claimed_feed(feed_id, token, now)
    if feed is None:
        log.info("feed %d: stale poll dropped", feed_id)
        return None
    try:
        answer, moved = _download(polite or _polite(), feed)
    except SluiceError as exc:
        return _failed(feed, token, now, exc)
    if moved is not None and moved != feed.url:
        followed = _moved(feed, token, moved)
        if followed is None:
            count_poll(Reason.FEED_MOVED_TO_KNOWN.value, 0)
            return PollResult(feed_id, Reason.FEED_MOVED_TO_KNOWN, 0, moved)
        feed = followed
    validators: dict[str, str | bool | None] = {}
    skipped = 0  # entries a "new entries only" feed's first poll took as history
    if (
        isinstance(answer, NotModified)
        or (body_hash := hashlib.sha256(answer.body).hexdigest()) == feed.body_hash
    ):
        outcome, new, published, hints = Reason.FEED_UNCHANGED, 0, [], Hints()
        if isinstance(answer, FetchedPage):
            hints = hints_from({}, {"cache-control": answer.cache_control})
    else:
        try:
            document = read_document(feed.kind, answer.body, answer.url, answer.content_type)
        except SluiceError as exc:
            return _failed(feed, token, now, exc)
        keyed = [(entry, entry.seen_keys()) for entry in document.entries]
        listed = [k for _, keys in keyed for k in keys]
        if feed.skip_listed:  # registered "new entries only": what is listed now is history
            registry.remember_entries(feed.id, listed, now)
            fresh, skipped = [], len(keyed)
        else:
            fresh = _new_entries(feed, keyed, settings.feed_max_new_entries)
        if fresh:
            _make_items(feed, fresh, now)
        registry.keep_seen(feed.id, listed, now, settings.feed_seen_retention)
        if document.children:  # a sitemap index: its sitemaps are polled as feeds of their own
            children = document.children[: settings.expand_max_requests]
            # Sitemaps listed at a "new entries only" index's first poll are history too.
            register_feeds(
                children,
                FeedKind.SITEMAP,
                feed.every,
                new_only=feed.skip_listed,
                spread=settings.feed_min_interval,  # an index may list thousands
            )
        outcome = Reason.FEED_NEW_ENTRIES if fresh else Reason.FEED_NO_NEW_ENTRIES
        new = len(fresh)
        published = [e.published for e in document.entries if e.published is not None]
        hints = hints_from(document.channel, {"cache-control": answer.cache_control})
        validators = {
            "etag": answer.headers.get("etag"),
            "last_modified": answer.headers.get("last-modified"),
            "body_hash": body_hash,
            "skip_listed": False,  # from now on, what appears is new
        }
    values = after_success(
        feed,
        now=now,
        outcome=outcome,
        new=new,
        published=published,
        hints=hints,
        settings=settings,
        skipped=skipped,
    )
    if not registry.finish_poll(feed.id, token, **values, **validators):
        log.warning("feed %d: claim lost before the poll was recorded", feed.id)
    count_poll(outcome.value, new)
    return PollResult(feed.id, outcome, new)
