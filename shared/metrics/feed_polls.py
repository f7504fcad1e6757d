"""Feed polls counted in Redis by the workers: one hash field per outcome, and the new
entries they found, so ``sluice metrics`` shows polls per outcome and new entries per poll.

Outcomes are :class:`shared.reasons.Reason` values (``feed_new_entries``,
``feed_unchanged``, a failure's reason …), so the field count stays bounded.
"""

from __future__ import annotations

import logging

import redis

from sluice.shared.redis_state import KEY_PREFIX, get_redis

__all__ = ["FEED_POLLS_KEY", "NEW_ENTRIES_FIELD", "count_poll", "read_polls"]

log = logging.getLogger(__name__)

FEED_POLLS_KEY = f"{KEY_PREFIX}metrics:feed_polls"  # outcome -> polls; NEW_ENTRIES_FIELD
NEW_ENTRIES_FIELD = "\tnew_entries"


def count_poll(outcome: str, new: int, client: redis.Redis | None = None) -> None:
    """Count one poll that ended with ``outcome`` and found ``new`` new entries (never
    fails the poll: a count that cannot be written is logged and dropped)."""
    try:
        with (client or get_redis()).pipeline(transaction=False) as pipe:
            pipe.hincrby(FEED_POLLS_KEY, outcome, 1)
            if new:
                pipe.hincrby(FEED_POLLS_KEY, NEW_ENTRIES_FIELD, new)
            pipe.execute()
    except redis.RedisError as exc:
        log.warning("feed poll not counted: %s", exc)


def read_polls(client: redis.Redis) -> tuple[dict[str, int], int]:
    """``({outcome: polls}, new entries)`` counted so far."""
    counts = {
        (k.decode() if isinstance(k, bytes) else str(k)): int(v)
        for k, v in client.hgetall(FEED_POLLS_KEY).items()
    }
    new = counts.pop(NEW_ENTRIES_FIELD, 0)
    return counts, new
