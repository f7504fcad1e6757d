"""A worker survives Redis going away while kombu still uses a channel it has detached.

When the broker connection drops, Celery releases it and kombu detaches the transport from
its connection (``transport.client = None``, a closed channel's ``connection`` too). Two
calls can still come after: the channel, closing, puts back the messages it had delivered
(``QoS.restore_unacked``), and a task ending then rejects its message for requeue
(``restore_by_tag``). Each builds a Redis client from the detached connection and fails
with ``AttributeError`` (on ``hostname`` or ``client``), which Celery calls an
unrecoverable error: the worker exits (kombu 5.7). Here building that client raises the
connection error it stands for instead, which Celery and kombu already handle (the close is
ignored, the reject logged): the messages stay in ``unacked``, this worker no longer holds
them, and the reconciler (:mod:`workers.recovery.reconciler`) restores them once their
leases lapse.
"""

from __future__ import annotations

import functools
from typing import Any

import redis
from kombu.transport import redis as redis_transport

__all__ = ["survive_detached_close"]


def survive_detached_close() -> None:
    """Patch kombu's Redis ``Channel._connparams`` once, for this process."""
    channel = redis_transport.Channel
    original = channel._connparams
    if getattr(original, "_sluice_patched", False):
        return

    @functools.wraps(original)
    def connparams(self: Any, asynchronous: bool = False) -> Any:
        transport = getattr(self, "connection", None)
        if transport is None or getattr(transport, "client", None) is None:
            raise redis.ConnectionError("the broker connection was closed (Redis went away)")
        return original(self, asynchronous)  # type: ignore[no-untyped-call]

    connparams._sluice_patched = True  # type: ignore[attr-defined]
    channel._connparams = connparams  # type: ignore[method-assign]
