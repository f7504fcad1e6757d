"""Found work that waits in the store goes out as the queues make room, without an operator.

What a stage found beyond the producers' high-water mark stays ``recorded``
(:mod:`workers.found_work`), and its job is noted in a Redis set. Every fetch worker's
frontier pump (:mod:`workers.fetching.pump`) calls :func:`send_all_waiting` about once a
second: each noted job's oldest recorded items enter the frontier, as many as there is room
for, under a per-job lock so that two senders never send one item twice, each with the
job's kept ``--language`` and ``--refetch`` (:func:`shared.jobs.job_options`) as its found
work sent at once has them; a job with nothing left is no longer noted. ``sluice submit
--resume JOB``, and a stage entering the work it has just found, take the same lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import redis
from redis.exceptions import LockError

from sluice.shared.article import Article
from sluice.shared.jobs import JobOptions, job_options, waiting_items
from sluice.shared.redis_state import KEY_PREFIX, as_text, get_redis
from sluice.workers.fetching.frontier import arrival_of
from sluice.workers.recorded import send_recorded

__all__ = [
    "WAITING_KEY",
    "note_waiting",
    "send_all_waiting",
    "send_waiting",
    "sending",
    "sending_lock",
]

#: The jobs with found work waiting in the store for room in the frontier.
WAITING_KEY = f"{KEY_PREFIX}found:waiting"
_CHUNK = 2000
_LOCK_SECONDS = 60.0


def note_waiting(client: redis.Redis, job_id: str) -> None:
    """``job_id`` has found work recorded but not sent."""
    client.sadd(WAITING_KEY, job_id)


def sending_lock(client: redis.Redis, job_id: str, timeout: float = _LOCK_SECONDS) -> Any:
    """The lock a sender of ``job_id``'s recorded items holds (a redis-py ``Lock``)."""
    return client.lock(f"{KEY_PREFIX}found:sending:{job_id}", timeout=timeout)


@contextlib.contextmanager
def sending(client: redis.Redis, job_id: str, timeout: float = 3600.0) -> Iterator[None]:
    """Hold ``job_id``'s sending lock for a long send (``submit --resume``), for at most
    ``timeout`` seconds (a killed holder frees it then)."""
    lock = sending_lock(client, job_id, timeout)
    lock.acquire(blocking=True)
    try:
        yield
    finally:
        with contextlib.suppress(LockError):
            lock.release()


def _payload(job_id: str, row: dict[str, Any], options: JobOptions) -> dict[str, Any]:
    """The fetch message of a waiting item: its URL and provenance from its row, and what
    its job asked of every item from ``options``."""
    return Article(
        job_id,
        int(row["item_id"]),
        url=row["source"],
        found_by=row["found_by"],
        depth=row["depth"] or 0,
        languages=list(options.languages),
        refetch=options.refetch,
    ).to_dict()


def send_waiting(client: redis.Redis, job_id: str) -> int:
    """Put as many of ``job_id``'s recorded items into the frontier as there is room for
    now, oldest first; returns how many went (0 if another sender holds the job)."""
    lock = sending_lock(client, job_id)
    if not lock.acquire(blocking=False):
        return 0
    try:
        options = job_options(job_id)
        sent, more = send_recorded(
            client,
            job_id,
            _CHUNK,
            lambda room: [row for row in waiting_items(job_id, room) if row["source"]],
            lambda row: arrival_of(_payload(job_id, row, options)),
        )
        if not more:
            client.srem(WAITING_KEY, job_id)
    finally:
        with contextlib.suppress(LockError):
            lock.release()
    return sent


def send_all_waiting(limit: int = 100) -> int:
    """One round over the jobs noted as waiting; returns the items sent."""
    client = get_redis()
    members: list[bytes] = client.srandmember(WAITING_KEY, limit) or []  # type: ignore[assignment]
    jobs = [as_text(j) for j in members]
    return sum(send_waiting(client, job_id) for job_id in jobs)
