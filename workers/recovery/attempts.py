"""Counting deliveries of a stage's task for one item, to stop tasks that never finish.

A task that kills its worker (out of memory, a crash in C code) or runs into the hard time
limit is handed back to the queue by design (at-least-once). Without a count it would come
back forever. Each delivery is counted in Redis when it starts; deliveries that end
normally (success, a recorded failure, or a deliberate retry) take their count back, so
only deliveries that ended abnormally add up. Past ``SLUICE_MAX_ATTEMPTS`` the item is
dead-lettered.
"""

from __future__ import annotations

import contextlib

import redis

from sluice.shared.redis_state import KEY_PREFIX, as_text, get_redis

__all__ = ["Attempts"]

_TTL = 7 * 24 * 3600


class Attempts:
    """The delivery count (and last abnormal error) of ``stage`` for one item."""

    def __init__(
        self, job_id: str, item_id: int, stage: str, client: redis.Redis | None = None
    ) -> None:
        self.key = f"{KEY_PREFIX}attempts:{job_id}:{item_id}"
        self.stage = stage
        self.client = client or get_redis()

    def start(self) -> int:
        """Count this delivery; returns how many deliveries have started unfinished."""
        pipe = self.client.pipeline()
        pipe.hincrby(self.key, self.stage, 1)
        pipe.expire(self.key, _TTL)
        return int(pipe.execute()[0])

    def done(self) -> None:
        """This delivery ended normally: forget the count (and any abnormal error)."""
        with contextlib.suppress(redis.RedisError):
            self.client.hdel(self.key, self.stage, f"{self.stage}:error")

    def retrying(self) -> None:
        """This delivery ends in a deliberate retry: it does not count as abnormal."""
        with contextlib.suppress(redis.RedisError):
            self.client.hincrby(self.key, self.stage, -1)

    def note_abnormal_end(self, error: str) -> None:
        """Remember why the last delivery ended abnormally (time limit, lost worker)."""
        with contextlib.suppress(redis.RedisError):
            self.client.hset(self.key, f"{self.stage}:error", error)
            self.client.expire(self.key, _TTL)

    def last_error(self) -> str | None:
        value = self.client.hget(self.key, f"{self.stage}:error")
        return as_text(value) if value else None
