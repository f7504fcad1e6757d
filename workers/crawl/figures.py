"""What ``sluice status JOB`` and ``sluice metrics`` show of a site crawl: pages fetched,
articles stored, hubs followed, links discovered and followed, links left per reason
(out of scope, --include/--exclude, depth, each trap rule and cap), the seen set's size,
and the URLs waiting in the store for room in the frontier."""

from __future__ import annotations

from typing import Any

import redis

from sluice.shared.jobs import job_counts
from sluice.shared.redis_state import KEY_PREFIX, as_text
from sluice.shared.states import State
from sluice.workers.crawl import seen, stats

__all__ = ["CRAWLS_KEY", "crawl_figures", "crawl_jobs", "note_crawl"]

#: The ids of the site crawls started, for the metrics exporter.
CRAWLS_KEY = f"{KEY_PREFIX}crawl:jobs"
_OUT_OF_SCOPE = ("out_of_scope", "not_included", "excluded")


def note_crawl(client: redis.Redis, job_id: str) -> None:
    client.sadd(CRAWLS_KEY, job_id)


def crawl_jobs(client: redis.Redis) -> list[str]:
    """The site crawls whose counters Redis still has (newest counters kept 30 days)."""
    members: set[bytes] = client.smembers(CRAWLS_KEY)  # type: ignore[assignment]
    jobs = sorted(as_text(m) for m in members)
    alive = [job for job in jobs if client.exists(stats.stats_key(job))]
    gone = set(jobs) - set(alive)
    if gone:
        client.srem(CRAWLS_KEY, *gone)
    return alive


def crawl_figures(
    client: redis.Redis, job_id: str, counts: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The crawl's figures (``counts``: the job's :func:`shared.jobs.job_counts`, if read)."""
    counts = counts or job_counts(job_id)
    states = counts["states"]
    counters = stats.read(client, job_id)
    dropped = {reason: counters.get(reason, 0) for reason in stats.DROP_REASONS}
    return {
        "pages_fetched": counters.get("pages_fetched", 0),
        "articles_stored": states.get(State.STORED.value, 0),
        "hubs_followed": states.get(State.FOLLOWED.value, 0),
        "links_discovered": counters.get("links_discovered", 0),
        "links_followed": counters.get("links_followed", 0),
        "links_out_of_scope": sum(dropped[r] for r in _OUT_OF_SCOPE),
        "links_dropped": dropped,
        "seen_urls": seen.seen_size(client, job_id),
        "waiting_in_store": states.get(State.RECORDED.value, 0),
    }
