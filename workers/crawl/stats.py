"""A site crawl's counters in Redis: pages, links found, and every reason a link was not
followed, for ``sluice status`` and ``sluice metrics``.

Links are counted each time a page is read, so a page whose task runs twice counts its
links twice; pages fetched, and the seen set's size, are exact.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis

from sluice.shared.redis_state import KEY_PREFIX, as_text

__all__ = ["DROP_REASONS", "STATS_TTL", "add", "read", "stats_key"]

#: Why a link of a crawled page was not followed, in the order status shows them.
DROP_REASONS = (
    "out_of_scope",  # another host, domain or prefix than the seeds'
    "not_included",  # matches none of --include
    "excluded",  # matches an --exclude
    "depth_limit",  # its page is at the crawl's --depth
    "repeated_path",  # a path segment three times or more (workers.crawl.traps)
    "deep_path",  # more path segments than workers.crawl.traps.MAX_SEGMENTS
    "pattern_cap",  # its calendar-like or query pattern had --max-per-pattern URLs
    "host_cap",  # its host had --max-per-host URLs
    "max_pages",  # the crawl had --max-pages URLs
    # Admitted, then robots.txt disallowed it: the item ends skipped, never requested.
    "robots_disallowed",
)
STATS_TTL = 30 * 86400


def stats_key(job_id: str) -> str:
    return f"{KEY_PREFIX}crawl:{job_id}:stats"


def add(client: redis.Redis, job_id: str, counts: Mapping[str, int]) -> None:
    """Add ``counts`` (name -> n; zeros are left out) to the job's counters."""
    nonzero = {name: n for name, n in counts.items() if n}
    if not nonzero:
        return
    pipe = client.pipeline(transaction=False)
    for name, n in nonzero.items():
        pipe.hincrby(stats_key(job_id), name, n)
    pipe.expire(stats_key(job_id), STATS_TTL)
    pipe.execute()


def read(client: redis.Redis, job_id: str) -> dict[str, int]:
    """The job's counters (absent ones are 0 and left out)."""
    raw = client.hgetall(stats_key(job_id))
    return {as_text(k): int(v) for k, v in raw.items()}
