"""Items whose task message was lost in transit are sent again, instead of waiting for ever.

kombu's Redis transport takes a message off its queue (``BRPOP``) and only then records it
as unacknowledged. A worker killed between the two (SIGKILL, the OOM killer) loses that
one message: neither the visibility timeout nor :mod:`workers.recovery.held_messages` can bring it
back, and its item would stay ``fetched``, ``extracted`` or ``tagged`` for good. So a
sweeper in every worker (one at a time, through a lock in Redis) looks, every half of
``SLUICE_LOST_AFTER``, for items that are lost beyond doubt:

1. every queue after fetch is empty, so each message sent before this look has been taken
   by a worker (a look with a backlog concludes nothing and forgets its suspects);
2. the item's state is older than ``SLUICE_LOST_AFTER``, by the store's clock (the one
   that wrote it), whichever machine looks;
3. no unacknowledged message (running, reserved or waiting out a retry) carries it;
4. and all of that held at two looks in a row, with its state unchanged in between (a
   message on its way from a queue to a live worker is seen at the next look).

A lost URL item goes back into the crawl frontier and ``queued``: it is fetched again and
goes through every stage, which are idempotent. A WARC record's item is sent to extract
from its page in the store. A text's content travelled only in its message, so its item
ends ``failed`` with reason ``lost_in_transit``. Each is logged.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import redis
from kombu.transport.redis import Channel

from sluice.shared.article import Article
from sluice.shared.clock import database_now
from sluice.shared.jobs import finish_item
from sluice.shared.pages import article_for_page
from sluice.shared.queues import decode_message, queue_depths
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import KEY_PREFIX, as_text
from sluice.shared.stalled_items import StalledItem, send_back, stalled_items
from sluice.shared.states import State
from sluice.workers.fetching.frontier import FRONTIER_STAGE, arrival_of, enter
from sluice.workers.pipeline import STAGES
from sluice.workers.routing import publish

__all__ = ["LostItems", "items_held", "resent_count"]

log = logging.getLogger(__name__)

_LOCK = f"{KEY_PREFIX}lost-items:look"  # taken for half of lost_after: one look at a time
_SUSPECTS = f"{KEY_PREFIX}lost-items:suspects"  # item key -> its state's time, last look
_RESENT = f"{KEY_PREFIX}lost-items:resent"  # how many items were sent again, ever
AFTER_FETCH = tuple(stage for stage in STAGES if stage != FRONTIER_STAGE)


def resent_count(client: redis.Redis) -> int:
    """How many items the sweep has sent again (or failed), ever."""
    return int(client.get(_RESENT) or 0)


def items_held(client: redis.Redis) -> set[str]:
    """``job:item`` of every task message Redis holds as unacknowledged."""
    held: set[str] = set()
    for _tag, value in client.hscan_iter(Channel.unacked_key, count=500):
        message = _payload(value)
        if message is not None:
            held.add(message)
    return held


def _payload(value: bytes) -> str | None:
    try:
        envelope = json.loads(value)[0]
    except (ValueError, IndexError, TypeError):
        return None
    decoded = decode_message(envelope)
    if decoded is None or not decoded[1] or not isinstance(decoded[1][0], dict):
        return None
    payload = decoded[1][0]
    return f"{payload.get('job_id')}:{payload.get('item_id')}"


class LostItems:
    """The sweeper: :meth:`look` finds items lost in transit and sends them again."""

    def __init__(self, client: redis.Redis, lost_after: float) -> None:
        self.client = client
        self.lost_after = lost_after

    def look(self) -> int:
        """One look, if no other worker took one within half of ``lost_after``; returns how
        many items were sent again (or failed, for texts)."""
        if not self.client.set(_LOCK, "1", nx=True, px=int(self.lost_after * 500)):
            return 0
        if any(queue_depths(self.client, AFTER_FETCH).values()):
            self.client.delete(_SUSPECTS)
            return 0
        # Ages by the store's clock, the one that wrote updated_at, not this machine's.
        now = database_now()
        stalled = stalled_items(now - timedelta(seconds=self.lost_after))
        held = items_held(self.client) if stalled else set()
        missing = {item.key: item for item in stalled if item.key not in held}
        previous = {as_text(k): as_text(v) for k, v in self.client.hgetall(_SUSPECTS).items()}
        stamps = {key: _stamp(item) for key, item in missing.items()}
        lost = [item for key, item in missing.items() if previous.get(key) == stamps[key]]
        suspects = {key: stamp for key, stamp in stamps.items() if previous.get(key) != stamp}
        with self.client.pipeline() as pipe:
            pipe.delete(_SUSPECTS)
            for key, stamp in suspects.items():
                pipe.hset(_SUSPECTS, key, stamp)
            if suspects:
                pipe.pexpire(_SUSPECTS, int(self.lost_after * 2000))
            pipe.execute()
        for item in lost:
            self._send_again(item, now)
        if lost:
            self.client.incrby(_RESENT, len(lost))
        return len(lost)

    def _send_again(self, item: StalledItem, now: datetime) -> None:
        waited = now - _aware(item.updated_at)
        if item.kind == "url" and item.source:
            article = Article(
                job_id=item.job_id,
                item_id=item.item_id,
                url=item.source,
                found_by=item.found_by,
                depth=item.depth or 0,
            )
            enter([arrival_of(article.to_dict())])
            send_back(item)
            how = "fetched again"
        elif item.page_id:
            article = article_for_page(item.job_id, item.item_id, item.source, item.page_id)
            publish("extract", article.to_dict(), article.label)
            send_back(item)
            how = "extracted again from its stored page"
        else:
            finish_item(
                item.job_id,
                item.item_id,
                State.FAILED,
                reason=Reason.LOST_IN_TRANSIT,
                detail=f"its message was lost in transit while {item.state}, and its "
                f"{item.kind} was not kept: submit it again",
            )
            how = "failed: its content was not kept"
        log.warning(
            "item %s was %s for %.0f s with no message left anywhere (a worker died "
            "receiving it): %s",
            item.key,
            item.state,
            waited.total_seconds(),
            how,
        )


def _stamp(item: StalledItem) -> str:
    return f"{item.state}@{_aware(item.updated_at).isoformat()}"


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive UTC times; PostgreSQL aware ones."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
