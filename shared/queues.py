"""How many messages wait in each stage's queue, read straight from the broker's Redis lists.

Kombu's Redis transport keeps a queue as one list per priority step: the queue's own name
for priority 0 and ``<name>\\x06\\x16<step>`` for the others. A queue's depth is the sum of
their lengths; messages a worker has reserved but not acknowledged are not counted.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis
from kombu.transport.redis import PRIORITY_STEPS, Channel

__all__ = ["queue_depths", "queue_keys"]


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
