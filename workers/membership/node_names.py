"""One node name, one worker, across the cluster: a worker whose name a live worker holds
stops at start with one line on stderr and exit status 2.

Celery only warns about two nodes of one name (``DuplicateNodenameWarning``), and then
confuses them: Flower shows one worker, control replies and ``sluice status``'s slot counts
mix them up. So every worker, ``sluice worker`` or plain ``celery -A sluice.workers worker
-n NAME``, leases its name in Redis at ``worker_init``, before its pool starts, and renews
the lease while it runs (:mod:`workers.membership.node_lease`). ``sluice worker`` also reads
the leases before it starts any worker process, so that a clash stops it before a model is
loaded.

The lease lives ``SLUICE_WORKER_DEAD_AFTER`` seconds (30 by default) past its last renewal,
about when the items a dead worker held come back through their own leases
(:mod:`workers.recovery.reconciler`, ``SLUICE_ITEM_LEASE``). A worker
restarted at once after a crash on the same machine is not refused: a lease whose process
has ended there is taken over at once.
"""

from __future__ import annotations

import atexit
import logging
import sys
import time
from typing import NoReturn

import redis

from sluice.shared.broker_url import mask_url
from sluice.shared.lease_holders import Holder
from sluice.workers.membership.node_lease import NameKeeper, NodeNameLease

__all__ = ["EXIT_NAME_TAKEN", "hold_node_name", "refuse_taken_name", "taken_line"]

log = logging.getLogger(__name__)

EXIT_NAME_TAKEN = 2  # the CLI's exit code for bad usage or configuration (cli.errors)
_RETRY_MAX_SECONDS = 10.0


def taken_line(name: str, token: str) -> str:
    """The one line a worker refused for ``name`` prints; ``token`` is the live holder's."""
    holder = Holder.parse(token)
    held_by = f" ({holder})" if holder else ""
    return (
        f"sluice: a running worker is already named {name}{held_by}; node names must be "
        "unique in a cluster: give this one another (sluice worker --name, celery worker -n)"
    )


def _refuse(name: str, token: str) -> NoReturn:
    print(taken_line(name, token), file=sys.stderr, flush=True)
    raise SystemExit(EXIT_NAME_TAKEN)


def refuse_taken_name(client: redis.Redis, name: str) -> None:
    """Exit (status 2, one line on stderr) when a live worker holds ``name``'s lease."""
    holder = NodeNameLease(client, name, ttl=1).holder()
    if holder is not None:
        _refuse(name, holder)


def _take(lease: NodeNameLease, redis_url: str) -> str | None:
    """:meth:`NodeNameLease.take`, tried again while Redis cannot be reached (a worker
    waits for its Redis at start, as Celery does for its broker)."""
    delay = 1.0
    while True:
        try:
            return lease.take()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning(
                "node name %s: Redis at %s unreachable (%s); trying again in %.0f s",
                lease.name,
                mask_url(redis_url),
                exc,
                delay,
            )
        time.sleep(delay)
        delay = min(delay * 2, _RETRY_MAX_SECONDS)


def hold_node_name(redis_url: str, name: str, ttl: float) -> NameKeeper:
    """Lease ``name`` for this process, and keep it until the process exits; exit (status
    2, one line on stderr) when a live worker holds it.

    The lease is taken with a client that is closed at once, and renewed by a thread with
    a client of its own: nothing of it is shared with Celery's connections.
    """
    with redis.Redis.from_url(redis_url, socket_timeout=10, socket_connect_timeout=10) as client:
        lease = NodeNameLease(client, name, ttl)
        holder = _take(lease, redis_url)
    if holder is not None:
        _refuse(name, holder)
    timeout = min(10.0, max(1.0, ttl / 4))
    own = redis.Redis.from_url(redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)
    keeper = NameKeeper(NodeNameLease(own, name, ttl, token=lease.token))
    keeper.start()
    atexit.register(keeper.release)  # a clean exit frees the name at once
    return keeper
