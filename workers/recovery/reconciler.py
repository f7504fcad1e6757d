"""The one reconciler: items whose lease expired are sent on from their state in the store.

Every item past its fetch has one lease (:mod:`shared.item_leases`), renewed by the worker
that runs or holds its task (:mod:`workers.recovery.keeper`). A lease that expired means
nobody has shown a sign of life for the item for ``SLUICE_ITEM_LEASE`` seconds: its worker
died (pool process, whole worker, a consumer killed between taking the message and
recording it), or Redis restarted under a live worker that no longer knows the message it
held. One worker at a time (a lock in Redis), at every beat of its keeper, looks at the
expired leases, with no condition on the queues:

1. an item the store records final, or waiting in the crawl frontier, loses its lease (and
   any copy of its message left in kombu's ``unacked``);
2. an item whose message is still queued (found by its label in the queues after fetch,
   read inside Redis: they are bounded by the producers' high-water mark) is renewed;
3. any other is a suspect: its lease is given one more beat, in case its message is on its
   way from a queue to a live worker that has not yet renewed it (never shortening a lease a
   worker gave it meanwhile). Still expired, unchanged, at the next look, it is taken (its
   lease renewed only if still the one judged, in one step inside Redis) and sent on: a copy
   left in ``unacked`` goes back to the head of its queue (kombu's restore, which removes it
   from ``unacked``, so it is delivered once), else, from the store, an item whose page the
   store keeps (a WARC record's, or the page its fetch kept) to extract, a URL item not
   fetched yet back into the frontier, and a text (whose content only its message carried)
   ends ``failed lost_in_transit``.

Redis can lose a lease with the last second of its AOF: items the store records in transit
for longer than a lease, with no lease, are adopted with one already expired.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import redis
from kombu.transport.redis import Channel

from sluice.shared.article import Article
from sluice.shared.clock import database_now
from sluice.shared.item_leases import LEASES, ItemLeases
from sluice.shared.jobs import finish_item, job_options
from sluice.shared.pages import article_for_page
from sluice.shared.queues import decode_message, queue_keys
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import KEY_PREFIX, as_text
from sluice.shared.stalled_items import StalledItem, items_by_key, send_back, stalled_items
from sluice.shared.states import FINAL_STATES, State
from sluice.workers.fetching.frontier import FRONTIER_STAGE, arrival_of, enter
from sluice.workers.pipeline import STAGES
from sluice.workers.routing import publish

__all__ = ["AFTER_FETCH", "Reconciler", "resent_count", "unacked_copies"]

log = logging.getLogger(__name__)

_LOCK = f"{KEY_PREFIX}reconciler:look"  # one look at a time, cluster-wide
_SUSPECTS = f"{KEY_PREFIX}reconciler:suspects"  # member -> the deadline it was given
_RESENT = f"{KEY_PREFIX}reconciler:resent"  # how many items were sent on, ever
_FINAL = {state.value for state in FINAL_STATES}
AFTER_FETCH = tuple(stage for stage in STAGES if stage != FRONTIER_STAGE)

# Which of ARGV (item labels) the messages in the lists of KEYS carry: read inside Redis, a
# chunk at a time, one pattern match and one table look-up per message.
_QUEUED = """
local want, found, left = {}, {}, #ARGV
for i, label in ipairs(ARGV) do want[label] = i end
for _, key in ipairs(KEYS) do
  local length, start = redis.call('LLEN', key), 0
  while start < length and left > 0 do
    for _, message in ipairs(redis.call('LRANGE', key, start, start + 499)) do
      local label = string.match(message, '"argsrepr": "%((job=[^ ]+ item=[^ ]+) ')
      local i = label and want[label]
      if i then
        found[#found + 1] = i
        want[label] = nil
        left = left - 1
      end
    end
    start = start + 500
  end
end
return found
"""

# Which of ARGV[2..] ("deadline member") still have that deadline in KEYS[1]: those are
# given ARGV[1] and their positions returned, in one step no renewal can come between.
_TAKE = """
local taken = {}
for i = 2, #ARGV do
  local deadline, member = string.match(ARGV[i], '^(%S+) (.+)$')
  local score = redis.call('ZSCORE', KEYS[1], member)
  if score and tonumber(score) == tonumber(deadline) then
    redis.call('ZADD', KEYS[1], ARGV[1], member)
    taken[#taken + 1] = i - 1
  end
end
return taken
"""


def resent_count(client: redis.Redis) -> int:
    """How many items the reconciler has sent on (or failed, for texts), ever."""
    return int(client.get(_RESENT) or 0)


def _label(key: str) -> str:
    """How a queued message of item ``job:item`` names it in its label (``argsrepr``,
    :func:`shared.article.label_of`)."""
    job_id, _, item_id = key.rpartition(":")
    return f"job={job_id} item={item_id}"


def unacked_copies(client: redis.Redis) -> dict[str, list[str]]:
    """``job:item`` -> delivery tags of its messages kombu holds as unacknowledged."""
    copies: dict[str, list[str]] = {}
    for tag, value in client.hscan_iter(Channel.unacked_key, count=500):
        key = _payload_key(value)
        if key is not None:
            copies.setdefault(key, []).append(as_text(tag))
    return copies


def _payload_key(value: bytes) -> str | None:
    try:
        envelope = json.loads(value)[0]
    except (ValueError, IndexError, TypeError, KeyError):
        return None
    decoded = decode_message(envelope)
    if decoded is None or not decoded[1] or not isinstance(decoded[1][0], dict):
        return None
    payload = decoded[1][0]
    if "job_id" not in payload:
        return None
    return f"{payload.get('job_id')}:{payload.get('item_id')}"


class Reconciler:
    """:meth:`look` sends on the items whose lease expired; ``restore(tags)`` puts messages
    left in ``unacked`` back at the head of their queues (kombu's restore by tag)."""

    def __init__(
        self,
        client: redis.Redis,
        leases: ItemLeases,
        restore: Callable[[list[str]], None],
        beat: float,
    ) -> None:
        self.client = client
        self.leases = leases
        self.restore = restore
        self.beat = beat
        self._queued = client.register_script(_QUEUED)
        self._take_script = client.register_script(_TAKE)

    def look(self) -> int:
        """One look, unless another worker took one within this beat; returns how many
        items were sent on."""
        if not self.client.set(_LOCK, "1", nx=True, px=max(1, int(self.beat * 900))):
            return 0
        self._adopt()
        self._drop_stale_copies()
        expired = self.leases.expired()
        if not expired:
            return 0
        store = items_by_key(expired)
        done = [key for key in expired if key not in store or not store[key].in_transit]
        waiting = [key for key in expired if key not in done]
        # The queues first, then unacked: a message moves from the one to the other as a
        # worker takes it, so read in this order it is seen in one of them.
        queued = self._still_queued(waiting)
        copies = unacked_copies(self.client)
        self._forget(done, copies)
        if queued:
            self.leases.renew(queued)
        suspects = [key for key in waiting if key not in queued]
        return self._judge(suspects, expired, store, copies)

    def _adopt(self) -> None:
        now = database_now()
        stalled = stalled_items(now - timedelta(seconds=self.leases.length))
        adopted = self.leases.adopt(item.key for item in stalled)
        if adopted:
            log.warning("%d items in transit had no lease (lost with Redis?): adopted", adopted)

    def _drop_stale_copies(self) -> None:
        """Drop the copies in ``unacked`` older than a lease whose item is final: a worker
        killed after its task had handed the item on, before acknowledging it, leaves one,
        which kombu would deliver again after the visibility timeout."""
        # kombu scores a delivery with its consumer's time.time(): only a first filter here,
        # what decides is the store's final state.
        older = time.time() - self.leases.length
        tags: list[bytes] = self.client.zrangebyscore(  # type: ignore[assignment]
            Channel.unacked_index_key, "-inf", older, 0, 500
        )
        if not tags:
            return
        values: list[bytes | None] = self.client.hmget(Channel.unacked_key, tags)  # type: ignore[assignment]
        keys = {tag: _payload_key(value) for tag, value in zip(tags, values, strict=True) if value}
        store = items_by_key(key for key in keys.values() if key)
        stale = [
            tag
            for tag, key in keys.items()
            if key in store and store[key].state in _FINAL and self.leases.deadline(key) is None
        ]
        if stale:
            with self.client.pipeline() as pipe:
                pipe.hdel(Channel.unacked_key, *stale)
                pipe.zrem(Channel.unacked_index_key, *stale)
                pipe.execute()
            log.info("%d unacknowledged copies of final items dropped", len(stale))

    def _forget(self, done: list[str], copies: dict[str, list[str]]) -> None:
        """Items final (or back in the frontier): no lease, no stale copy to redeliver."""
        if not done:
            return
        stale = [tag for key in done for tag in copies.get(key, [])]
        with self.client.pipeline() as pipe:
            for tag in stale:
                pipe.hdel(Channel.unacked_key, tag)
                pipe.zrem(Channel.unacked_index_key, tag)
            pipe.zrem(LEASES, *done)
            pipe.hdel(_SUSPECTS, *done)
            pipe.execute()

    def _still_queued(self, keys: list[str]) -> list[str]:
        if not keys:
            return []
        lists = [name for stage in AFTER_FETCH for name in queue_keys(stage)]
        found = self._queued(keys=lists, args=[_label(key) for key in keys])
        return [keys[int(i) - 1] for i in found]

    def _judge(
        self,
        suspects: list[str],
        expired: dict[str, int],
        store: dict[str, StalledItem],
        copies: dict[str, list[str]],
    ) -> int:
        previous = {as_text(k): int(v) for k, v in self.client.hgetall(_SUSPECTS).items()}
        lost = [key for key in suspects if previous.get(key) == expired[key]]
        fresh = [key for key in suspects if key not in lost]
        grace = self.leases.now_ms() + int(self.beat * 1000)
        # A suspect whose grace has not run out yet stays one; one renewed since is not.
        waiting = [key for key in previous if key not in expired]
        with self.client.pipeline(transaction=False) as pipe:
            for key in waiting:
                pipe.zscore(LEASES, key)
            scores = pipe.execute()
        cleared = [
            key
            for key, score in zip(waiting, scores, strict=True)
            if score is None or int(score) != previous[key]
        ]
        with self.client.pipeline() as pipe:
            handled = [key for key in previous if key in expired] + cleared
            if handled:
                pipe.hdel(_SUSPECTS, *handled)
            for key in fresh:  # one more beat, then sent on if nothing renewed it
                # GT: a worker that took the item since this look read its lease keeps the
                # longer lease it just gave it.
                pipe.zadd(LEASES, {key: grace}, gt=True)
                pipe.hset(_SUSPECTS, key, grace)
            pipe.execute()
        lost = self._take(lost, expired)
        now = database_now()
        for key in lost:
            self._send_on(store[key], copies.get(key, []), now)
        if lost:
            self.client.incrby(_RESENT, len(lost))
        return len(lost)

    def _take(self, keys: list[str], expired: dict[str, int]) -> list[str]:
        """Those of ``keys`` whose lease is still the expired one this look judged, each
        renewed at once for the sending on: one renewed by a worker meanwhile is its."""
        if not keys:
            return []
        until = self.leases.now_ms() + int(self.leases.length * 1000)
        taken = self._take_script(keys=[LEASES], args=[until, *(f"{expired[k]} {k}" for k in keys)])
        return [keys[int(i) - 1] for i in taken]

    def _send_on(self, item: StalledItem, tags: list[str], now: datetime) -> None:
        waited = (now - _aware(item.updated_at)).total_seconds()
        if tags:
            # Its message is still in unacked, held by no live worker: back to its queue,
            # once; any further copy is dropped.
            self.restore(tags[:1])
            with self.client.pipeline() as pipe:
                for tag in tags[1:]:
                    pipe.hdel(Channel.unacked_key, tag)
                    pipe.zrem(Channel.unacked_index_key, tag)
                pipe.execute()
            how = "its unacknowledged message is back in its queue"
        elif item.page_id:  # a WARC record's, or the page its fetch kept
            options = job_options(item.job_id)
            article = article_for_page(
                item.job_id, item.item_id, item.source, item.page_id, options.languages
            )
            publish("extract", article.to_dict(), article.label)  # renews its lease
            # A fetched URL stays past its fetch (in transit); a WARC record's is queued.
            send_back(item, State(item.state) if item.kind == "url" else State.QUEUED)
            how = "no message left anywhere: extracted again from its stored page"
        elif item.kind == "url" and item.source:
            options = job_options(item.job_id)
            article = Article(
                job_id=item.job_id,
                item_id=item.item_id,
                url=item.source,
                found_by=item.found_by,
                depth=item.depth or 0,
                languages=list(options.languages),
                refetch=options.refetch,
            )
            enter([arrival_of(article.to_dict())])
            send_back(item)
            self.leases.drop([item.key])  # the frontier's lease holds it now
            how = "no message left anywhere: fetched again"
        else:
            finish_item(
                item.job_id,
                item.item_id,
                State.FAILED,
                reason=Reason.LOST_IN_TRANSIT,
                detail=f"its message was lost in transit while {item.state}, and its "
                f"{item.kind} was not kept: submit it again",
            )
            self.leases.drop([item.key])
            how = "no message left anywhere: failed, its content was not kept"
        log.warning(
            "item %s was %s for %.0f s and its lease expired: %s",
            item.key,
            item.state,
            waited,
            how,
        )


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive UTC times; PostgreSQL aware ones."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
