"""Feed polls counted in Redis by the workers: one hash field per outcome, and the new
entries they found, so ``sluice metrics`` shows polls per outcome and new entries per poll;
and the lag from an entry's published date to its article being stored, as a histogram.

Outcomes are :class:`shared.reasons.Reason` values (``feed_new_entries``,
``feed_unchanged``, a failure's reason …), so the field count stays bounded. The lag's
buckets are cumulative counts, one hash field each, as Prometheus reads them.
"""

from __future__ import annotations

import logging

import redis

from sluice.shared.redis_state import KEY_PREFIX, get_redis

__all__ = [
    "FEED_LAG_BUCKETS",
    "FEED_POLLS_KEY",
    "NEW_ENTRIES_FIELD",
    "count_poll",
    "observe_entry_lag",
    "read_entry_lag",
    "read_polls",
]

log = logging.getLogger(__name__)

FEED_POLLS_KEY = f"{KEY_PREFIX}metrics:feed_polls"  # outcome -> polls; NEW_ENTRIES_FIELD
NEW_ENTRIES_FIELD = "\tnew_entries"
FEED_LAG_KEY = f"{KEY_PREFIX}metrics:feed_entry_lag"  # bucket bound -> count; sum, count
#: From a story fetched within a minute of going out to a day's backlog found at a first poll.
FEED_LAG_BUCKETS = (60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0)


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


def observe_entry_lag(seconds: float, client: redis.Redis | None = None) -> None:
    """Count one feed entry stored ``seconds`` after its published date (a date in the
    future counts as 0); never fails the caller."""
    lag = max(0.0, seconds)
    try:
        with (client or get_redis()).pipeline(transaction=False) as pipe:
            for bound in FEED_LAG_BUCKETS:
                if lag <= bound:
                    pipe.hincrby(FEED_LAG_KEY, repr(bound), 1)
            pipe.hincrbyfloat(FEED_LAG_KEY, "sum", lag)
            pipe.hincrby(FEED_LAG_KEY, "count", 1)
            pipe.execute()
    except redis.RedisError as exc:
        log.warning("feed entry lag not counted: %s", exc)


def read_entry_lag(client: redis.Redis) -> tuple[list[tuple[str, int]], float]:
    """The lag histogram: ``([(upper bound, cumulative count)…, ("+Inf", count)], sum)``."""
    raw = {
        (k.decode() if isinstance(k, bytes) else str(k)): v
        for k, v in client.hgetall(FEED_LAG_KEY).items()
    }
    buckets = [(repr(bound), int(raw.get(repr(bound), 0))) for bound in FEED_LAG_BUCKETS]
    buckets.append(("+Inf", int(raw.get("count", 0))))
    return buckets, float(raw.get("sum", 0.0))
