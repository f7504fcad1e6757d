"""Which jobs a producer is submitting right now, so an interrupted submission can be told apart.

While a submission runs it holds a lease on its job in Redis (a member of a sorted set scored
with its expiry, by Redis's clock: :mod:`shared.clock`), refreshed by a background thread.
Items left ``recorded`` under a live lease are on their way; without one, their producer
stopped before sending them and ``sluice submit --resume JOB`` may send them without
doubling a running producer's work.
A producer killed outright lets its lease lapse after :data:`LEASE_SECONDS`; sooner if it
ran on this machine: a lease names its holder (:mod:`shared.lease_holders`), and one whose
process is gone no longer counts, so ``--resume`` can follow a killed producer at once.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

import redis

from sluice.shared.clock import clock_for
from sluice.shared.errors import RetryableError
from sluice.shared.lease_holders import ended_here, holder_token
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import KEY_PREFIX, as_text

__all__ = ["LEASE_SECONDS", "active_submissions", "submission_lease"]

LEASE_SECONDS = 30.0
_REFRESH_SECONDS = LEASE_SECONDS / 6
_FORGET_SECONDS = 3600  # the whole set expires once no producer has refreshed it for this long


def _key(job_id: str) -> str:
    return f"{KEY_PREFIX}submitting:{job_id}"


def active_submissions(client: redis.Redis, job_id: str, *, besides: str | None = None) -> int:
    """Producers holding a live lease on ``job_id`` (not counting the lease ``besides``);
    leases of ended processes of this machine are dropped."""
    now = clock_for(client).now()
    live = [
        as_text(member)
        for member in cast(list[bytes], client.zrangebyscore(_key(job_id), now, "+inf"))
    ]
    gone = [token for token in live if token != besides and ended_here(token)]
    if gone:
        client.zrem(_key(job_id), *gone)
    return sum(1 for token in live if token != besides and token not in gone)


@contextmanager
def submission_lease(client: redis.Redis, job_id: str, *, exclusive: bool = False) -> Iterator[str]:
    """Hold a lease on ``job_id`` for the duration of the block; yields its token.

    ``exclusive`` raises :class:`~shared.errors.RetryableError` (``submission_running``) if
    another producer holds one: ``--resume`` must not send items a running producer is about
    to send.
    """
    key = _key(job_id)
    token = f"{holder_token()}:{uuid.uuid4().hex[:8]}"
    stop = threading.Event()

    clock = clock_for(client)

    def renew() -> None:
        now = clock.now()
        with client.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {token: now + LEASE_SECONDS})
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.expire(key, _FORGET_SECONDS)
            pipe.execute()

    def keep_renewing() -> None:
        while not stop.wait(_REFRESH_SECONDS):
            # A lasting outage surfaces in the producer's own calls; this only keeps trying.
            with contextlib.suppress(redis.RedisError):
                renew()

    renew()
    if exclusive and active_submissions(client, job_id, besides=token):
        client.zrem(key, token)
        raise RetryableError(
            Reason.SUBMISSION_RUNNING, f"job {job_id} is being submitted by another producer"
        )
    thread = threading.Thread(target=keep_renewing, name=f"lease-{job_id}", daemon=True)
    thread.start()
    try:
        yield token
    finally:
        stop.set()
        thread.join()
        with contextlib.suppress(redis.RedisError):  # else it lapses on its own
            client.zrem(key, token)
