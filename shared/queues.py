"""What waits in each stage's queue, read straight from the broker's Redis lists.

Kombu's Redis transport keeps a queue as one list per priority step: the queue's own name
for priority 0 and ``<name>\\x06\\x16<step>`` for the others. A queue's depth is the sum of
their lengths; messages a worker has reserved but not acknowledged are not counted. Each
list element is one message: a JSON envelope around the (base64-encoded, perhaps
compressed) task body.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable
from typing import Any

import redis
from kombu.compression import decompress
from kombu.transport.redis import PRIORITY_STEPS, Channel

__all__ = ["decode_message", "queue_depths", "queue_keys"]


def queue_keys(stage: str) -> list[str]:
    """The Redis lists that hold ``stage``'s queue, one per kombu priority step."""
    return [f"{stage}{Channel.sep}{step}" if step else stage for step in PRIORITY_STEPS]


def queue_depths(client: redis.Redis, stages: Iterable[str]) -> dict[str, int]:
    """Messages waiting in each of ``stages``' queues, read in one round trip."""
    names = list(stages)
    with client.pipeline(transaction=False) as pipe:
        for stage in names:
            for key in queue_keys(stage):
                pipe.llen(key)
        lengths = pipe.execute()
    per_stage = len(PRIORITY_STEPS)
    return {
        stage: int(sum(lengths[n * per_stage : (n + 1) * per_stage]))
        for n, stage in enumerate(names)
    }


def decode_message(raw: bytes | str | dict[str, Any]) -> tuple[dict[str, Any], list[Any]] | None:
    """A queued task message's headers and positional arguments, or ``None`` if ``raw`` is
    not a Celery task message; ``raw`` is its JSON, or that JSON parsed (as kombu keeps an
    unacknowledged message)."""
    try:
        envelope = raw if isinstance(raw, dict) else json.loads(raw)
        body = envelope["body"]
        if envelope.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        headers = envelope.get("headers") or {}
        if headers.get("compression"):
            body = decompress(body, headers["compression"])
        args = json.loads(body)[0]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, zlib.error):
        return None
    return (headers, args) if isinstance(args, list) and isinstance(headers, dict) else None
