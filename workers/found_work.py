"""Work a stage created: the URLs an outcome carries become items of the job, then fetch work.

A stage's :class:`~shared.outcomes.Forward` or :class:`~shared.outcomes.Final` may carry
``found`` URLs (:class:`~shared.outcomes.NewUrl`). The runner (:mod:`workers.running`) alone
hands them here, before it hands on the item that found them, and :func:`admit_found`:

1. keeps each URL once per job: the first item to find a URL (by its canonical form) owns
   it, in the job's seen set in Redis (:mod:`workers.crawl.seen`, where a site crawl's
   caps apply too); the same item finding it again (its task delivered twice) still owns
   it, and records those of its URLs the store does not have yet, so a delivery cut short
   is made good by the next, never lost and never recorded twice (two deliveries of one
   finder running at once, as at-least-once delivery allows, take turns: a lock per
   finder in Redis, held from the claim until its URLs are recorded);
2. records the new URLs as items of the job, ``recorded``, with one statement that takes
   their ids, so the job's totals count them before any of them can be fetched;
3. lets in, through the frontier's door (:func:`workers.fetching.frontier.enter`) and under
   the producers' high-water mark (:meth:`workers.backpressure.Backpressure.admit_now`), as
   many as there is room for now, and marks them ``queued``. A stage does not wait for room:
   what does not fit stays ``recorded`` in the store, as a paused submission's items do,
   and the job is noted as waiting: the fetch workers send it as room frees
   (:mod:`workers.crawl.waiting`), and ``sluice submit --resume`` can too.

A URL that is not an absolute http(s) URL is dropped and counted as such.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis
from redis.exceptions import LockError

from sluice.shared.article import Article
from sluice.shared.identity import canonicalize_url
from sluice.shared.jobs import ItemSpec, create_job, mark_enqueued, sources_found_by
from sluice.shared.outcomes import NewUrl
from sluice.shared.redis_state import KEY_PREFIX, get_redis
from sluice.shared.states import State
from sluice.workers.backpressure import Backpressure
from sluice.workers.crawl import seen, stats
from sluice.workers.crawl.crawls import crawl_of
from sluice.workers.crawl.traps import pattern_of
from sluice.workers.crawl.waiting import note_waiting, sending_lock
from sluice.workers.fetching.frontier import arrival_of, enter

__all__ = ["FoundWork", "admit_found", "found_key"]

# Seconds a stage waits for its job's sending lock before it leaves its URLs to the sender.
_LOCK_WAIT = 2.0
# Seconds one delivery of a finder may hold the finder's lock (a killed one frees it then).
_FINDER_HOLD = 30.0
_CAPPED = {
    seen.Verdict.MAX_PAGES: "max_pages",
    seen.Verdict.HOST_CAP: "host_cap",
    seen.Verdict.PATTERN_CAP: "pattern_cap",
}

_SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class FoundWork:
    """What became of a stage's found URLs: new items recorded, of which ``entered`` went
    into the frontier (the rest wait ``recorded``), ``known`` already found in the job, and
    ``invalid`` not fetchable URLs, ``capped`` dropped by a crawl's caps."""

    recorded: int = 0
    entered: int = 0
    known: int = 0
    invalid: int = 0
    capped: int = 0

    @property
    def waiting(self) -> int:
        return self.recorded - self.entered


def found_key(job_id: str) -> str:
    """The Redis hash counting the URLs found so far in ``job_id``'s items (the seen set's
    buckets are beside it: :func:`workers.crawl.seen.forget` deletes them all)."""
    return seen.caps_key(job_id)


def _canonical(url: str) -> str | None:
    try:
        canonical = canonicalize_url(url)
    except ValueError:
        return None
    return canonical if canonical.split(":", 1)[0] in _SCHEMES else None


def admit_found(article: Article, found: Sequence[NewUrl]) -> FoundWork:
    """Record the URLs ``article``'s stage found as items of its job and let into the
    frontier as many as the queues have room for; see the module's docstring."""
    if not found:
        return FoundWork()
    for new in found:
        if new.job_id != article.job_id or new.found_by != article.item_id:
            raise ValueError(f"{article.label} returned work found by {new.job_id}:{new.found_by}")
    chosen: dict[str, NewUrl] = {}
    invalid = 0
    for new in found:
        canonical = _canonical(new.url)
        if canonical is None:
            invalid += 1
        elif canonical not in chosen or new.priority > chosen[canonical].priority:
            chosen[canonical] = new
    if not chosen:
        return FoundWork(invalid=invalid)
    client = get_redis()
    finder = client.lock(_finder_lock(article), timeout=_FINDER_HOLD)
    if not finder.acquire(blocking_timeout=_FINDER_HOLD + 5):
        raise TimeoutError(f"{article.label}: another delivery keeps recording its found URLs")
    try:
        return _admit(client, article, chosen, invalid)
    finally:
        with contextlib.suppress(LockError):
            finder.release()


def _finder_lock(article: Article) -> str:
    """The lock one finder's deliveries take in turn while they record its URLs."""
    return f"{KEY_PREFIX}found:finder:{article.job_id}:{article.item_id}"


def _admit(
    client: redis.Redis, article: Article, chosen: dict[str, NewUrl], invalid: int
) -> FoundWork:
    verdicts = _claim(client, article, chosen)
    mine = [new for new, v in zip(chosen.values(), verdicts, strict=True) if v.is_mine]
    known = sum(1 for v in verdicts if v is seen.Verdict.KNOWN)
    capped = {name: sum(1 for v in verdicts if v is verdict) for verdict, name in _CAPPED.items()}
    if capped:
        stats.add(client, article.job_id, capped)
    if any(v is seen.Verdict.AGAIN for v in verdicts):
        # This finder's task ran before: what the store already has of its URLs is known.
        recorded = sources_found_by(article.job_id, article.item_id)
        known += sum(1 for new in mine if new.url in recorded)
        mine = [new for new in mine if new.url not in recorded]
        note_waiting(client, article.job_id)  # any it recorded but never sent go out
    dropped = sum(capped.values())
    if not mine:
        return FoundWork(known=known, invalid=invalid, capped=dropped)
    first = create_job(
        article.job_id,
        [ItemSpec("url", new.url, found_by=new.found_by, depth=new.depth) for new in mine],
        state=State.RECORDED,
    )
    items = [
        Article(
            article.job_id,
            first + n,
            url=new.url,
            found_by=new.found_by,
            depth=new.depth,
            languages=list(article.languages),
            refetch=article.refetch,
        )
        for n, new in enumerate(mine)
    ]
    entered = _enter(client, items, [new.priority for new in mine])
    if entered < len(items):
        note_waiting(client, article.job_id)
    return FoundWork(len(mine), entered, known, invalid, dropped)


def _claim(client: redis.Redis, article: Article, chosen: dict[str, NewUrl]) -> list[seen.Verdict]:
    """Offer the canonical URLs in ``chosen`` to the job's seen set, with its crawl's caps."""
    crawl = crawl_of(article.job_id)
    claims = [
        seen.Claim(url, urlsplit(url).hostname or "", pattern_of(url) if crawl else None)
        for url in chosen
    ]
    if crawl is None:
        return seen.claim(client, article.job_id, article.item_id, claims)
    return seen.claim(
        client,
        article.job_id,
        article.item_id,
        claims,
        buckets=seen.buckets_for(crawl.max_pages),
        max_pages=crawl.max_pages,
        host_cap=crawl.host_cap,
        pattern_cap=crawl.max_per_pattern,
    )


def _enter(client: redis.Redis, items: list[Article], priorities: list[int]) -> int:
    """Let the first of ``items`` into the frontier, as many as the queues have room for
    now, and mark them ``queued``; returns how many.

    Done under the job's sending lock (:func:`workers.crawl.waiting.sending_lock`): the
    sender of waiting work must not see these items ``recorded`` between their entering
    and their marking, or a page fetched in between would be sent again. When the lock is
    busy none go now: they wait with the rest, and the sender sends them."""
    lock = sending_lock(client, items[0].job_id)
    if not lock.acquire(blocking_timeout=_LOCK_WAIT):
        return 0
    try:
        with Backpressure.into_frontier(client).admit_now(len(items)) as room:
            admitted = list(itertools.islice(zip(items, priorities, strict=True), room))
            enter((arrival_of(item.to_dict(), priority) for item, priority in admitted), client)
        if admitted:
            mark_enqueued(items[0].job_id, [item.item_id for item, _ in admitted])
    finally:
        with contextlib.suppress(LockError):
            lock.release()
    return len(admitted)
