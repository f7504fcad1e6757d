"""Losing task messages under continuous load, and timing their items' way back.

A consumer killed between kombu's ``BRPOP`` and its record in ``unacked`` loses the message
it took: :func:`take_messages` takes them off a queue the same way (``RPOP``, the end
``BRPOP`` reads). :class:`Feeder` keeps submitting pages so that the queues after fetch stay
busy. :func:`watch` follows the lost items in the store: when they were first written
again (sent on) and when they became final, both on the store's clock.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from sqlalchemy import Engine, func, select, tuple_

from sluice.shared.db.schema import items
from sluice.shared.queues import queue_depths
from sluice.workers.recovery.reconciler import AFTER_FETCH

__all__ = ["Feeder", "LostItem", "backlog", "store_now", "take_messages", "watch"]

FINAL = ("stored", "duplicate", "unchanged", "failed")


@dataclass
class LostItem:
    job_id: str
    item_id: int
    lost_at: datetime  # the store's clock
    updated_at: datetime | None = None  # its state's time when the message was taken
    resent_at: datetime | None = None
    final_at: datetime | None = None
    backlog_when_resent: int = -1  # messages waiting after fetch when it was seen resent

    @property
    def to_resend(self) -> float:
        assert self.resent_at is not None
        return (self.resent_at - self.lost_at).total_seconds()

    @property
    def to_final(self) -> float:
        assert self.final_at is not None
        return (self.final_at - self.lost_at).total_seconds()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def store_now(engine: Engine) -> datetime:
    with engine.connect() as conn:
        return _aware(conn.execute(select(func.now())).scalar_one())


def backlog(client: redis.Redis) -> int:
    """Messages waiting in the queues after fetch."""
    return sum(queue_depths(client, AFTER_FETCH).values())


def take_messages(client: redis.Redis, engine: Engine, stage: str, count: int) -> list[LostItem]:
    """Take ``count`` messages off ``stage``'s queue as a dying consumer would: gone."""
    lost = []
    while len(lost) < count:
        raw = client.rpop(stage)
        if raw is None:
            time.sleep(0.05)
            continue
        label = json.loads(raw)["headers"]["argsrepr"]  # "(job=J item=I id=…)"
        fields = dict(part.split("=", 1) for part in label.strip("()").split())
        lost.append(LostItem(fields["job"], int(fields["item"]), store_now(engine)))
    return lost


def watch(
    engine: Engine, client: redis.Redis, lost: list[LostItem], timeout: float
) -> list[LostItem]:
    """Follow ``lost`` until every item is final (or ``timeout``); returns those that are."""
    deadline = time.monotonic() + timeout
    keys = [(item.job_id, item.item_id) for item in lost]
    by_key = {(item.job_id, item.item_id): item for item in lost}
    query = select(items.c.job_id, items.c.item_id, items.c.state, items.c.updated_at).where(
        tuple_(items.c.job_id, items.c.item_id).in_(keys)
    )
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        for job_id, item_id, state, updated_at in rows:
            item = by_key[(job_id, item_id)]
            moment = _aware(updated_at)
            if item.updated_at is None:
                item.updated_at = moment
            elif item.resent_at is None and moment != item.updated_at:
                item.resent_at = moment
                item.backlog_when_resent = backlog(client)
            if state in FINAL and item.final_at is None:
                item.final_at = moment
                item.resent_at = item.resent_at or moment
        if all(item.final_at is not None for item in lost):
            break
        time.sleep(0.1)
    return [item for item in lost if item.final_at is not None]


class Feeder(threading.Thread):
    """Submits a batch of new pages through ``submit(batch_number)`` every ``every`` seconds
    while fewer than ``ceiling`` messages wait after fetch (``waiting()``), until stopped:
    the continuous load of feeds, kept busy but not growing past what the workers keep up
    with (a lost item sent on then waits behind that backlog, as any other)."""

    def __init__(
        self,
        submit: Callable[[int], object],
        every: float,
        waiting: Callable[[], int],
        ceiling: int,
    ) -> None:
        super().__init__(name="feeder", daemon=True)
        self.submit = submit
        self.every = every
        self.waiting = waiting
        self.ceiling = ceiling
        self.batches = 0
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=200)

    def run(self) -> None:
        while not self._stopping.is_set():
            if self.waiting() < self.ceiling:
                self.submit(self.batches)
                self.batches += 1
            self._stopping.wait(self.every)
