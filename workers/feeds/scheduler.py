"""The feed scheduler: a thread in each fetch worker that turns due feeds into polls.

Once a second it reads the active feeds due now from the store and claims each with one
compare-and-set statement (:func:`shared.feeds.claim`): of several schedulers, in workers on
several machines, exactly one wins a feed's claim, so no feed is polled twice in one
interval. Each claim goes into the crawl frontier (:mod:`workers.fetching.frontier`) as the
feed's one poll item (``feed-<id>``), ahead of that host's pages, so a poll waits for its
host's turn like any fetch: never two requests to a host at once, never faster than its
budget. When the turn comes, the pump sends it as a ``workers.feed_poll`` task on the fetch
queue (Flower shows it; its arguments are the feed id and tokens, never the URL). A poll
that must go on later (a redirect, a gate not open) comes back into the frontier as the same
item with where it got to (``feed_hop``). Each tick the scheduler also sends entries that
feeds' polls left waiting in the store for room in the frontier
(:mod:`workers.feeds.admission`).

The claim is held by its poll item, on the frontier's clock: however long the item waits for
its host's turn (5,000 feeds on one host at one request a second wait well over an hour),
its claim does not lapse. A claim whose ``SLUICE_FEED_POLL_LEASE`` ran out while its item is
still in the frontier (waiting, or in flight under the frontier's own lease, which brings a
killed worker's poll back) is renewed, not taken again, and a poll checks only that its
claim is still the feed's (:func:`shared.feeds.holding_feed`). Only a claim whose item is
gone (Redis lost it) lapses, and the feed is claimed again. The item's key is the feed's, so
the frontier holds at most one poll of a feed, and a poll item cannot outlive its claim:
there is no stale poll to drop. The schedule is in the store, so a restart forgets nothing.

Why in the fetch workers: they exist wherever sluice fetches (``sluice up``, the compose
file, Kubernetes), so no new process must be deployed, and polls are fetches.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
from sqlalchemy.exc import OperationalError

from sluice.shared import feeds as registry
from sluice.shared.redis_state import get_redis
from sluice.shared.settings import get_settings
from sluice.workers.feeds import admission
from sluice.workers.fetching.frontier import MAX_PRIORITY, Arrival, Frontier, enter

__all__ = [
    "CLAIM_FIELD",
    "HOP_FIELD",
    "POLL_FIELD",
    "POLL_TASK",
    "FeedScheduler",
    "poll_item",
    "poll_now",
    "poll_payload",
    "polls_alive",
    "send_poll",
]

log = logging.getLogger(__name__)

#: The Celery task that polls one feed (:mod:`workers.feeds.tasks`), on the fetch queue.
POLL_TASK = "workers.feed_poll"
POLL_QUEUE = "fetch"
#: The frontier payload field naming the feed a frontier item polls (with its claim token).
POLL_FIELD = "feed_poll"
CLAIM_FIELD = "feed_claim"
#: The frontier payload field carrying where a poll got to (:class:`workers.feeds.polling.Hop`).
HOP_FIELD = "feed_hop"
_TICK = 1.0
_BATCH = 200


def poll_item(feed_id: int) -> str:
    """The frontier item of a feed's poll: one per feed, whatever its claim, so the frontier
    never holds two polls of one feed."""
    return f"feed-{feed_id}"


def poll_payload(
    feed_id: int, claim: str, url: str, hop: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The frontier payload of a claimed poll whose next request goes to ``url``."""
    payload: dict[str, Any] = {POLL_FIELD: feed_id, CLAIM_FIELD: claim, "url": url}
    if hop is not None:
        payload[HOP_FIELD] = hop
    return payload


def queue_poll(feed_id: int, url: str, claim: str) -> None:
    """Put a claimed poll into the frontier, first in line at its host."""
    payload = poll_payload(feed_id, claim, url)
    enter([Arrival(poll_item(feed_id), url, payload, MAX_PRIORITY)])


def polls_alive(feed_ids: list[int], frontier: Frontier | None = None) -> dict[int, str]:
    """Of ``feed_ids``, those whose poll item is in the frontier (waiting for its host's
    turn, or in flight), with the claim it carries."""
    if not feed_ids:
        return {}
    payloads = (frontier or Frontier(get_redis())).payloads([poll_item(f) for f in feed_ids])
    return {
        feed_id: str(payload[CLAIM_FIELD])
        for feed_id, payload in zip(feed_ids, payloads, strict=True)
        if payload is not None
    }


def poll_now(feed_id: int, url: str) -> bool:
    """Poll an active feed now, as the scheduler would (``sluice feeds poll``): make it due,
    claim it and put its poll into the frontier, where it goes on its host's next turn.
    False when it was not claimed: a poll of it is already running or queued, or it is not
    active."""
    now = registry.now()
    if polls_alive([feed_id]) or not registry.bring_forward(feed_id, now):
        return False
    token = registry.claim(feed_id, now, get_settings().feed_poll_lease)
    if token is None:
        return False
    queue_poll(feed_id, url, token)
    return True


def send_poll(payload: dict[str, Any], turn: str) -> None:
    """Send the poll task of a claimed feed whose frontier turn (lease ``turn``) has come."""
    from sluice.workers.celery import app

    feed_id = int(payload[POLL_FIELD])
    app.send_task(
        POLL_TASK,
        args=[feed_id, str(payload[CLAIM_FIELD]), turn, payload.get(HOP_FIELD)],
        queue=POLL_QUEUE,
        argsrepr=f"(feed={feed_id})",
        kwargsrepr="{}",
    )


class FeedScheduler(threading.Thread):
    """Claims due feeds and sends their polls until :meth:`stop`."""

    def __init__(self) -> None:
        super().__init__(name="sluice-feed-scheduler", daemon=True)
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        log.info("feed scheduler started")
        while not self._stopping.is_set():
            try:
                queued = self.step()
            except (OperationalError, redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("feed scheduler: store or Redis unavailable: %s", exc)
                queued = 0
            except Exception:  # a bug must not stop the schedule: log it and go on
                log.exception("feed scheduler failed")
                queued = 0
            if queued < _BATCH:
                self._stopping.wait(_TICK)

    def step(self) -> int:
        """Renew the lapsed claims whose polls are still in the frontier, claim the rest of
        what is due now and queue their polls, and send waiting entries while there is room;
        returns how many feeds were seen to (polls queued and claims renewed)."""
        self.send_waiting()
        lease = get_settings().feed_poll_lease
        now = registry.now()
        due = registry.due_claims(now, _BATCH)
        lapsed = {f: token for f, _, token in due if token is not None}
        alive = polls_alive(list(lapsed))
        registry.renew_claims({f: (lapsed[f], poll) for f, poll in alive.items()}, now, lease)
        queued = 0
        for feed_id, url, _ in due:
            if feed_id in alive:
                continue
            token = registry.claim(feed_id, now, lease)
            if token is not None:
                queue_poll(feed_id, url, token)
                queued += 1
        return queued + len(alive)

    @staticmethod
    def send_waiting() -> int:
        """Send the entries feeds' polls left waiting in the store, while there is room in
        the frontier; a paused feed's were dropped. Returns how many went."""
        sent = 0
        for feed_id in admission.feeds_waiting():
            feed = registry.find_feed(feed_id)
            if feed is not None and feed.state != registry.FeedState.PAUSED:
                sent += admission.send_waiting(feed)
        return sent
