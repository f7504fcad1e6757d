"""A job's recorded items into the crawl frontier, as many as the producers' high-water
mark has room for now: what a crawl's found work (:mod:`workers.crawl.waiting`) and a
feed's new entries (:mod:`workers.feeds.admission`) both do, each under its own lock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from sluice.shared.jobs import mark_enqueued
from sluice.workers.backpressure import Backpressure
from sluice.workers.fetching.frontier import Arrival, enter

__all__ = ["send_recorded"]

Row = dict[str, Any]


def send_recorded(
    client: redis.Redis,
    job_id: str,
    chunk: int,
    rows: Callable[[int], list[Row]],
    arrival: Callable[[Row], Arrival],
) -> tuple[int, bool]:
    """Send ``rows(room)`` (``job_id``'s recorded items, oldest first) into the frontier as
    ``arrival(row)`` and mark them enqueued, ``chunk`` at a time, without waiting for room;
    returns how many went and whether more may wait (the last chunk came full)."""
    gate = Backpressure.into_frontier(client)
    sent, more = 0, True
    while more:
        with gate.admit_now(chunk) as room:
            if room <= 0:
                break
            batch = rows(room)
            if batch:
                enter((arrival(row) for row in batch), client)
                mark_enqueued(job_id, [int(row["item_id"]) for row in batch])
            sent += len(batch)
            more = len(batch) == room
    return sent, more
