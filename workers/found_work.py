"""Work a stage created: the URLs an outcome carries become items of the job, then fetch work.

A stage's :class:`~shared.outcomes.Forward` or :class:`~shared.outcomes.Final` may carry
``found`` URLs (:class:`~shared.outcomes.NewUrl`). The runner (:mod:`workers.running`) alone
hands them here, before it hands on the item that found them, and :func:`admit_found`:

1. keeps each URL once per job: the first item to find a URL (by its canonical form) owns
   it, in a hash in Redis; the same item finding it again (its task delivered twice) still
   owns it, so a delivery cut short is made good by the next, never lost;
2. records the new URLs as items of the job, ``recorded``, with one statement that takes
   their ids, so the job's totals count them before any of them can be fetched;
3. lets in, through the frontier's door (:func:`workers.fetching.frontier.enter`) and under
   the producers' high-water mark (:meth:`workers.backpressure.Backpressure.admit_now`), as
   many as there is room for now, and marks them ``queued``. A stage does not wait for room:
   what does not fit stays ``recorded`` in the store, as a paused submission's items do, for
   ``sluice submit --resume`` to send.

A URL that is not an absolute http(s) URL is dropped and counted as such.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from sluice.shared.article import Article
from sluice.shared.identity import canonicalize_url
from sluice.shared.jobs import ItemSpec, create_job, mark_enqueued
from sluice.shared.outcomes import NewUrl
from sluice.shared.redis_state import KEY_PREFIX, get_redis
from sluice.shared.states import State
from sluice.workers.backpressure import Backpressure
from sluice.workers.fetching.frontier import arrival_of, enter

__all__ = ["FoundWork", "admit_found", "found_key"]

# KEYS[1] the job's found URLs (canonical URL -> the item that found it first). ARGV[1] the
# finder, ARGV[2] the key's TTL s, ARGV[3..] canonical URLs. Returns a 1 or 0 per URL: is it
# this finder's to record (new, or already its own)?
_CLAIM = """
local mine = {}
for i = 3, #ARGV do
  local owner = redis.call('HGET', KEYS[1], ARGV[i])
  if not owner then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
    owner = ARGV[1]
  end
  mine[#mine + 1] = owner == ARGV[1] and 1 or 0
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return mine
"""
_FOUND_TTL = 30 * 86400
_SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class FoundWork:
    """What became of a stage's found URLs: new items recorded, of which ``entered`` went
    into the frontier (the rest wait ``recorded``), ``known`` already found in the job, and
    ``invalid`` not fetchable URLs."""

    recorded: int = 0
    entered: int = 0
    known: int = 0
    invalid: int = 0

    @property
    def waiting(self) -> int:
        return self.recorded - self.entered


def found_key(job_id: str) -> str:
    """The Redis hash of the URLs found so far in ``job_id``'s items."""
    return f"{KEY_PREFIX}found:{job_id}"


@functools.cache
def _claim(client: redis.Redis) -> redis.commands.core.Script:
    return client.register_script(_CLAIM)


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
    owned = _claim(client)(
        keys=[found_key(article.job_id)],
        args=[article.item_id, _FOUND_TTL, *chosen],
    )
    mine = [new for new, flag in zip(chosen.values(), owned, strict=True) if int(flag)]
    known = len(chosen) - len(mine)
    if not mine:
        return FoundWork(known=known, invalid=invalid)
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
    return FoundWork(len(mine), entered, known, invalid)


def _enter(client: redis.Redis, items: list[Article], priorities: list[int]) -> int:
    """Let the first of ``items`` into the frontier, as many as the queues have room for
    now, and mark them ``queued``; returns how many."""
    with Backpressure.into_frontier(client).admit_now(len(items)) as room:
        admitted = list(itertools.islice(zip(items, priorities, strict=True), room))
        enter((arrival_of(item.to_dict(), priority) for item, priority in admitted), client)
    if admitted:
        mark_enqueued(items[0].job_id, [item.item_id for item, _ in admitted])
    return len(admitted)
