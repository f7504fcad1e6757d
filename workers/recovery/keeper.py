"""A worker's keeper thread: it renews the leases of the items this worker holds, keeps the
worker's name among the live ones, and runs the reconciler, at every beat
(:func:`beat_of`: a sixth of a lease, or a quarter of ``SLUICE_WORKER_DEAD_AFTER`` if
shorter).

"Holds" means what Celery's own bookkeeping in this process says: a task running in its
pool, reserved for it, or waiting out a countdown (``celery.worker.state``). Messages that
are merely listed in kombu's ``unacked`` are not held: after a Redis restart the consumer
forgets the messages it had reserved, and so does this thread, so their leases lapse and
the reconciler brings them back within a lease, not after the visibility timeout.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

import redis
from celery.worker import state
from sqlalchemy.exc import OperationalError as DatabaseError

from sluice.shared.clock import clock_for
from sluice.shared.item_leases import ItemLeases, lease_key
from sluice.shared.redis_state import KEY_PREFIX, as_text
from sluice.workers.fetching.frontier import FRONTIER_STAGE
from sluice.workers.pipeline import task_name
from sluice.workers.recovery.reconciler import Reconciler

__all__ = ["Keeper", "beat_of", "held_keys", "live_nodes", "request_key"]

log = logging.getLogger(__name__)

_NODES = f"{KEY_PREFIX}live-nodes"  # node name -> until when it counts as live (ms, Redis)
_NOT_LEASED = {task_name(FRONTIER_STAGE)}  # a fetch's item is the frontier's


def beat_of(item_lease: float, live_for: float) -> float:
    """Seconds between two beats of a keeper: several within a lease and within the time
    a worker counts as live."""
    return min(item_lease / 6, live_for / 4)


def live_nodes(client: redis.Redis) -> set[str]:
    """The node names of the workers whose keeper beat lately (``fetch@host`` …): those
    that will answer a broadcast, so ``sluice status`` waits for their replies only."""
    now = int(clock_for(client).now() * 1000)
    nodes: list[bytes] = client.zrangebyscore(_NODES, now, "+inf")  # type: ignore[assignment]
    return {as_text(node) for node in nodes}


def request_key(request: Any) -> str | None:
    """The lease member of a Celery request's item, or ``None`` (a fetch, a feed's poll)."""
    if getattr(request, "name", None) in _NOT_LEASED:
        return None
    try:
        payload = request.args[0]
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return None
    if not isinstance(payload, dict) or "job_id" not in payload:
        return None
    return lease_key(payload["job_id"], payload.get("item_id"))


def held_keys() -> set[str]:
    """The items whose tasks this worker's pool runs, has reserved or waits to run."""
    for _ in range(5):  # the consumer thread may change the sets while they are read
        try:
            requests: Iterable[Any] = (
                *tuple(state.active_requests),
                *tuple(state.reserved_requests),
                *tuple(state.scheduled_requests),
            )
            break
        except RuntimeError:
            continue
    else:
        return set()
    return {key for key in map(request_key, requests) if key is not None}


class Keeper(threading.Thread):
    """Renews this worker's leases and runs :class:`Reconciler` looks at every beat."""

    def __init__(
        self,
        node: str,
        leases: ItemLeases,
        reconciler: Reconciler,
        live_for: float,
        beat: float,
    ) -> None:
        super().__init__(name="sluice-keeper", daemon=True)
        self.node = node
        self.leases = leases
        self.reconciler = reconciler
        self.live_for = live_for
        self.beat = beat
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def beat_once(self) -> None:
        self.leases.renew(held_keys())
        until = self.leases.now_ms() + int(self.live_for * 1000)
        with self.leases.client.pipeline(transaction=False) as pipe:
            pipe.zadd(_NODES, {self.node: until})
            pipe.zremrangebyscore(_NODES, "-inf", until - 86_400_000)  # gone a day
            pipe.execute()
        self.reconciler.look()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.beat_once()
            except (redis.RedisError, DatabaseError) as exc:
                log.warning("keeper: Redis or the store unavailable: %s", exc)
            except Exception:  # a bug must not stop the worker: log it and go on
                log.exception("keeper: beat failed")
            self._stopping.wait(self.beat)
