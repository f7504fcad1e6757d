"""A stand-in consumer for backpressure tests: pops a stage's queue at a bounded rate.

It is a plain Redis client, not a worker: the producer is what is under test, and a fixed
drain rate (slower than the producer sends) makes the queue fill and the producer pause on
every run, whatever the machine's load. It also samples the queue's depth continuously and
keeps the item id of every message it pops, to show each item was enqueued exactly once.

For the fetch stage, whose items wait in the crawl frontier, it takes items from there as
the fetch workers would (released one host turn at a time, then finished), and the depth
is the one the producer's bound counts: the fetch queue plus the frontier.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from types import TracebackType

import redis

from sluice.shared.queues import decode_message, queue_keys
from sluice.workers.backpressure import queue_depths
from sluice.workers.fetching.frontier import FRONTIER_STAGE, Frontier

__all__ = ["QueueDrain", "item_of"]


def item_of(raw: bytes) -> tuple[str, str, int]:
    """(task name, job id, item id) of a Celery message as kombu stores it in Redis."""
    decoded = decode_message(raw)
    assert decoded is not None, raw[:200]
    headers, args = decoded
    return headers["task"], args[0]["job_id"], int(args[0]["item_id"])


class QueueDrain:
    """Pops ``stage``'s queue at up to ``per_second`` messages and samples its depth."""

    def __init__(self, url: str, stage: str, per_second: float, tick: float = 0.02) -> None:
        self.stage = stage
        self.per_tick = max(1, round(per_second * tick))
        self.tick = tick
        self.popped: Counter[tuple[str, int]] = Counter()
        self.tasks: Counter[str] = Counter()
        self.max_depth = 0
        self.samples = 0
        self._pop_client = redis.Redis.from_url(url)
        self._sample_client = redis.Redis.from_url(url)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._pop, daemon=True),
            threading.Thread(target=self._sample, daemon=True),
        ]

    def __enter__(self) -> QueueDrain:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._pop_client.close()
        self._sample_client.close()

    def depth(self) -> int:
        return queue_depths(self._sample_client, [self.stage])[self.stage]

    def until_empty(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.depth():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.stage} queue still holds {self.depth()} messages")
            time.sleep(0.05)

    def item_ids(self, job_id: str) -> list[int]:
        """Item ids of ``job_id`` popped, one entry per message (duplicates kept), sorted."""
        return sorted(
            item for (job, item), n in self.popped.items() if job == job_id for _ in range(n)
        )

    def _pop(self) -> None:
        if self.stage == FRONTIER_STAGE:
            self._take_from_frontier()
            return
        keys = queue_keys(self.stage)
        while not self._stop.is_set():
            started = time.monotonic()
            budget = self.per_tick
            for key in keys:  # kombu's order: priority 0 first
                raws = self._pop_client.rpop(key, budget) or []
                for raw in raws:
                    task, job, item = item_of(raw)
                    self.tasks[task] += 1
                    self.popped[job, item] += 1
                budget -= len(raws)
                if budget <= 0:
                    break
            self._stop.wait(max(0.0, self.tick - (time.monotonic() - started)))

    def _take_from_frontier(self) -> None:
        frontier = Frontier(self._pop_client)
        while not self._stop.is_set():
            started = time.monotonic()
            for _ in range(self.per_tick):
                leases, _ = frontier.release(0, 60_000, 1)
                if not leases:
                    break
                (lease,) = leases
                frontier.finish(lease.item, lease.token)
                self.tasks["workers.fetch"] += 1
                self.popped[lease.payload["job_id"], int(lease.payload["item_id"])] += 1
            self._stop.wait(max(0.0, self.tick - (time.monotonic() - started)))

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.max_depth = max(self.max_depth, self.depth())
            self.samples += 1
            time.sleep(0.001)
