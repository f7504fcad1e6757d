"""One step of polling one registered feed: one request, or the whole poll when it is read.

The poll holds its feed's claim (:func:`shared.feeds.claim`); a stale one (the claim lapsed
and the feed was claimed again) does nothing. It runs on its host's turn in the crawl
frontier and fetches like a page (:meth:`workers.fetching.crawler.Crawler.request`:
robots.txt, the host's cluster-wide budget, one request), with the feed's ETag and
Last-Modified, so an unchanged feed costs one 304; a 200 whose body hash did not change
counts as unchanged too. It never waits for a gate: when robots.txt took the turn, the
host's gate is not open, or the feed redirects, the step ends :class:`PollDeferred` and the
poll goes back into the frontier, in the queue of the next request's host, carrying its
:class:`Hop` (where it got to). A permanent redirect chain (301, 308 only) moves the feed to
its new URL. A 429 or 503 fails the poll: the feed backs off (its ``Retry-After`` capped,
:mod:`workers.feeds.outcomes`) and the host slows down for everyone. The sitemaps of a
sitemap index are registered as feeds of their own (at most
``SLUICE_EXPAND_MAX_REQUESTS`` of them), each then polled on its own schedule.

Seen entries are bounded: keys of entries still in the document are kept fresh, and those
gone from it for ``SLUICE_FEED_SEEN_RETENTION`` are forgotten. Entries not seen before (by
canonical link or guid) become items of the feed's job, each carrying its feed, guid, title
and publication date, and go into the crawl frontier under the producers' backpressure at a
priority above ordinary submissions (:mod:`workers.feeds.admission`). They are recorded
before they are marked seen, so a poll cut short makes an entry an item twice at worst
(the fetch stage's claim then ends the second as ``duplicate``), never loses it. A feed
registered "new entries only" (``sluice feeds add --new-only``) marks what its first
successful poll finds listed as seen without making items of it. A watched section page
(``sluice feeds add --html``) is polled the same way; its entries are its links that look
like articles (:mod:`workers.feeds.section`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import asdict, dataclass
from typing import Any

from sluice.shared import feeds as registry
from sluice.shared.errors import RetryableError, SluiceError
from sluice.shared.feeds import Feed, FeedKind, FeedState
from sluice.shared.metrics.feed_polls import count_poll
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import get_redis
from sluice.shared.settings import get_settings
from sluice.workers.feeds.admission import record_entries, send_waiting
from sluice.workers.feeds.outcomes import after_failure, after_success
from sluice.workers.feeds.reader import Document, Entry, read_document
from sluice.workers.feeds.registry import register_feeds
from sluice.workers.feeds.schedule import Hints, hints_from
from sluice.workers.feeds.scheduler import poll_item
from sluice.workers.feeds.section import read_section
from sluice.workers.fetching.client import (
    ANY_CONTENT_TYPE,
    FetchedPage,
    Fetcher,
    NotModified,
    Redirect,
)
from sluice.workers.fetching.crawler import Crawler, Deferred
from sluice.workers.fetching.redirects import next_hop

__all__ = ["Hop", "PollDeferred", "PollResult", "fail_poll", "poll_feed"]

log = logging.getLogger(__name__)

_PERMANENT_REDIRECTS = (301, 308)


@dataclass(frozen=True, slots=True)
class PollResult:
    """How a poll ended: its outcome (a reason), the new entries it made items of, and
    whether it failed."""

    feed_id: int
    outcome: Reason
    new: int = 0
    detail: str = ""
    failed: bool = False


@dataclass(frozen=True, slots=True)
class Hop:
    """Where a poll's next request goes: ``url``, after ``count`` redirects; ``moved`` is
    where the feed now lives while every redirect so far was permanent."""

    url: str
    count: int = 0
    moved: str | None = None
    permanent: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Hop:
        return cls(
            str(data["url"]),
            int(data.get("count") or 0),
            data.get("moved"),
            bool(data.get("permanent", True)),
        )


@dataclass(frozen=True, slots=True)
class PollDeferred:
    """Not now: the poll goes back into the frontier for ``hop.url``'s host, due in
    ``wait`` seconds; ``why`` is for logs and Flower."""

    wait: float
    why: str
    hop: Hop


@functools.cache
def _crawler() -> Crawler:
    settings = get_settings()
    return Crawler(Fetcher(settings), get_redis(), settings)


def _request(
    crawler: Crawler, feed: Feed, token: str, hop: Hop
) -> FetchedPage | NotModified | PollDeferred:
    """One polite request of the poll: the document (or 304), or where to go on from."""
    headers = {}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    # The body says what it is (workers.feeds.reader), whatever its content type.
    result = crawler.request(
        hop.url, poll_item(feed.id, token), headers=headers or None, content_types=ANY_CONTENT_TYPE
    )
    if isinstance(result, Deferred):
        return PollDeferred(
            result.wait, result.why, Hop(result.url, hop.count, hop.moved, hop.permanent)
        )
    if not isinstance(result, Redirect):
        return result
    location = next_hop(result, hop.count, get_settings().fetch_max_redirects)
    permanent = hop.permanent and result.status in _PERMANENT_REDIRECTS
    moved = location if permanent else hop.moved
    return PollDeferred(0.0, "redirected", Hop(location, hop.count + 1, moved, permanent))


def _read(feed: Feed, page: FetchedPage) -> Document:
    """The polled document: a feed or sitemap, or a section page's article links."""
    if feed.kind == FeedKind.SECTION:
        return read_section(page.body, page.url)
    return read_document(feed.kind, page.body, page.url)


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
    """Record the new entries as items of the feed's job, send what there is room for into
    the frontier, and mark them seen."""
    record_entries(
        feed,
        [
            {
                "link": entry.link,
                "guid": entry.guid,
                "title": entry.title,
                "published": entry.published.isoformat() if entry.published else None,
            }
            for entry, _ in fresh
        ],
    )
    send_waiting(feed)
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
    return PollResult(feed.id, reason, 0, exc.detail, failed=True)


def fail_poll(feed_id: int, token: str, error: SluiceError) -> PollResult | None:
    """End the poll under claim ``token`` as failed with ``error``'s reason (the feed backs
    off as after any failed poll); ``None`` for a stale claim."""
    now = registry.now()
    feed = registry.claimed_feed(feed_id, token, now)
    return None if feed is None else _failed(feed, token, now, error)


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


def poll_feed(
    feed_id: int, token: str, hop: Hop | None = None, crawler: Crawler | None = None
) -> PollResult | PollDeferred | None:
    """One step of polling the feed ``feed_id`` under the claim ``token``, from ``hop``
    (``None``: the feed's own URL): its result, :class:`PollDeferred` to go on later, or
    ``None`` for a stale claim."""
    settings = get_settings()
    now = registry.now()
    feed = registry.claimed_feed(feed_id, token, now)
    if feed is None:
        log.info("feed %d: stale poll dropped", feed_id)
        return None
    hop = hop or Hop(feed.url)
    try:
        answer = _request(crawler or _crawler(), feed, token, hop)
    except SluiceError as exc:
        return _failed(feed, token, now, exc)
    if isinstance(answer, PollDeferred):
        return answer
    moved = hop.moved
    if moved is not None and moved != feed.url:
        followed = _moved(feed, token, moved)
        if followed is None:
            count_poll(Reason.FEED_MOVED_TO_KNOWN.value, 0)
            return PollResult(feed_id, Reason.FEED_MOVED_TO_KNOWN, 0, moved)
        feed = followed
    validators: dict[str, str | bool | None] = {}
    document_damage: str | None = None
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
            document = _read(feed, answer)
        except SluiceError as exc:
            return _failed(feed, token, now, exc)
        document_damage = document.damage
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
    if document_damage:  # read in part: the feed shows why (feeds show), the log too
        values["detail"] = f"{Reason.PARTIAL_DOCUMENT}: {document_damage}"
        log.warning("feed %d read in part: %s", feed.id, document_damage)
    elif outcome == Reason.FEED_UNCHANGED and (feed.detail or "").startswith(
        Reason.PARTIAL_DOCUMENT
    ):
        values["detail"] = feed.detail  # the same document, so the same damage
    if not registry.finish_poll(feed.id, token, **values, **validators):
        log.warning("feed %d: claim lost before the poll was recorded", feed.id)
    count_poll(outcome.value, new)
    return PollResult(feed.id, outcome, new)
