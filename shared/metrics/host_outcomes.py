"""Fetch outcomes per host, counted in Redis by the workers and read by the exporter.

Each fetch that ends (a page kept, a 304, or a final failure with its reason) adds one to
two Redis hashes with a single script call: the total per outcome, and the count per
``(host, outcome)``. The second is capped at ``SLUICE_METRICS_MAX_HOST_FIELDS`` fields, so
a crawl over millions of hosts cannot grow it without bound: once full, new hosts are
counted under ``other``. The exporter shows only the busiest hosts by name, and that
``other`` (:func:`read_fetch_outcomes`), which bounds the metric's cardinality. The rest are
left out rather than folded into ``other``: each series then only ever grows, a counter.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from dataclasses import dataclass

import redis

from sluice.shared.article import Article
from sluice.shared.hosts import host_of
from sluice.shared.redis_state import KEY_PREFIX, get_redis
from sluice.shared.settings import get_settings

__all__ = [
    "FETCHED",
    "HOSTS_KEY",
    "NOT_MODIFIED",
    "OTHER",
    "TOTALS_KEY",
    "FetchOutcomes",
    "count_fetch_outcome",
    "read_fetch_outcomes",
]

log = logging.getLogger(__name__)

HOSTS_KEY = f"{KEY_PREFIX}metrics:fetch:hosts"  # "<host>\t<outcome>" -> count
TOTALS_KEY = f"{KEY_PREFIX}metrics:fetch:totals"  # "<outcome>" -> count
OTHER = "other"
FETCHED = "fetched"  # the page was downloaded and kept
NOT_MODIFIED = "not_modified"  # a re-fetch answered 304
_SEPARATOR = "\t"

# KEYS: hosts, totals; ARGV: host, outcome, cap on the hosts hash's fields.
_COUNT = """
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
local field = ARGV[1] .. '\\t' .. ARGV[2]
if redis.call('HEXISTS', KEYS[1], field) == 1
    or redis.call('HLEN', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('HINCRBY', KEYS[1], field, 1)
else
  redis.call('HINCRBY', KEYS[1], 'other\\t' .. ARGV[2], 1)
end
"""


@functools.cache
def _script(client: redis.Redis) -> redis.commands.core.Script:
    return client.register_script(_COUNT)


def count_fetch_outcome(article: Article, stage: str, outcome: str) -> None:
    """Count how a fetch of ``article`` ended; other stages are not counted.

    Never raises: a metric that cannot be written must not change how the item ends.
    """
    if stage != "fetch":
        return
    client = get_redis()
    try:
        _script(client)(
            keys=[HOSTS_KEY, TOTALS_KEY],
            args=[
                host_of(article.url) or "unknown",
                outcome,
                get_settings().metrics_max_host_fields,
            ],
        )
    except redis.RedisError as exc:
        log.debug("fetch outcome not counted: %s", exc)


@dataclass(frozen=True, slots=True)
class FetchOutcomes:
    """Counts since the keys were created: per outcome, and per (host, outcome)."""

    totals: dict[str, int]
    by_host: dict[tuple[str, str], int]


def read_fetch_outcomes(client: redis.Redis, top: int) -> FetchOutcomes:
    """The counts, per (host, outcome) only for the ``top`` busiest hosts and Redis's own
    ``other``; every value only grows as fetches end."""
    with client.pipeline(transaction=False) as pipe:
        pipe.hgetall(TOTALS_KEY)
        pipe.hgetall(HOSTS_KEY)
        raw_totals, raw_hosts = pipe.execute()
    totals = {key.decode(): int(value) for key, value in raw_totals.items()}
    counts: dict[tuple[str, str], int] = {}
    volume: Counter[str] = Counter()
    for field, value in raw_hosts.items():
        host, _, outcome = field.decode().partition(_SEPARATOR)
        counts[(host, outcome)] = int(value)
        if host != OTHER:
            volume[host] += int(value)
    busiest = sorted(volume, key=lambda host: (-volume[host], host))
    named = set(busiest[:top])
    by_host = {
        (host, outcome): value
        for (host, outcome), value in counts.items()
        if host in named or host == OTHER
    }
    return FetchOutcomes(totals=totals, by_host=by_host)
