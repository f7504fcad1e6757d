"""The pipeline's Prometheus exporter: what Flower does not show.

* ``sluice_queue_messages{stage}``: messages waiting in each stage's queue (Redis lists);
  ``sluice_unacked_messages``: messages workers hold (running or reserved);
  ``sluice_lost_items_resent_total``: items whose message was lost in transit (a worker
  died taking it) and that the sweep sent again (:mod:`workers.recovery.lost_items`).
* ``sluice_items{state,reason}``: items per state, and per reason for final ones;
  ``sluice_articles_stored``: items stored as articles, a level read from the store (a row
  count, not a counter: ``deriv()`` it for articles stored per second);
  ``sluice_duplicate_ratio``: duplicates among the items that ended with an article;
  ``sluice_articles_by_language{language}``: stored articles per language;
  ``sluice_articles_without_entities{reason}``: those stored without entities, per reason
  (``no_model_for_language``: no pipeline is set for their language).
* ``sluice_fetch_outcomes_total{outcome}``: fetches ended per outcome, over all hosts;
  ``sluice_fetch_outcomes_by_host_total{host,outcome}``: the same for the busiest hosts
  only, each a true counter; a host leaving the top loses its series, so these do not sum
  to the totals (host ``other`` counts only the hosts past the Redis cap).
* ``sluice_frontier_urls``: URLs in the crawl frontier (waiting, in flight, waiting to
  retry); ``sluice_frontier_host_urls{host}``: those waiting, for the busiest hosts only;
  ``sluice_frontier_hosts_due``: hosts whose turn has come (no task released yet);
  ``sluice_frontier_in_flight``: URLs released to the fetch workers;
  ``sluice_frontier_oldest_wait_seconds``: age of the oldest URL in it;
  ``sluice_frontier_hosts_waiting{reason}``: hosts waiting for their turn, by why (rate,
  crawl-delay, slow-down, retry-after, back-off, retry: :mod:`workers.fetching.waits`);
  ``sluice_frontier_host_wait_seconds{host,reason}``: time left, for the longest waits.
* ``sluice_stage_duration_seconds{stage}``: task runtimes per stage (:mod:`.latency`).
* ``sluice_feeds{state}``, ``sluice_feeds_disabled{reason}``,
  ``sluice_feed_polls_total{outcome}``, ``sluice_feed_new_entries_total`` and
  ``sluice_feed_entry_lag_seconds`` (a histogram: a feed entry's published date to its
  article stored) for registered feeds.
* ``sluice_crawl_pages_fetched{job}``, ``sluice_crawl_articles_stored{job}``,
  ``sluice_crawl_hubs_followed{job}``, ``sluice_crawl_links_discovered{job}``,
  ``sluice_crawl_links_followed{job}``, ``sluice_crawl_links_out_of_scope{job}``,
  ``sluice_crawl_links_dropped{job,reason}`` (every reason a link was not followed),
  ``sluice_crawl_seen_urls{job}`` and ``sluice_crawl_waiting_urls{job}`` for each site
  crawl whose counters Redis keeps (:mod:`workers.crawl.figures`).
* ``sluice_exporter_source_up{source}``: whether Redis and the store answered this scrape.

Queue depths are read at every scrape; store and host figures are reused for a few seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import redis
from kombu.transport.redis import Channel
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from sluice.shared.metrics.feed_polls import read_entry_lag, read_polls
from sluice.shared.metrics.host_outcomes import FetchOutcomes, read_fetch_outcomes
from sluice.shared.metrics.stage_outcomes import read_outcomes
from sluice.shared.metrics.store_figures import CachedStoreFigures, StoreFigures
from sluice.shared.queues import queue_depths
from sluice.shared.states import State
from sluice.workers.crawl.figures import crawl_figures, crawl_jobs
from sluice.workers.fetching.frontier import Frontier, FrontierStats
from sluice.workers.fetching.waits import HostWaits, host_waits
from sluice.workers.recovery.lost_items import resent_count

__all__ = ["PipelineCollector", "build_registry"]

log = logging.getLogger(__name__)


class _Cached:
    """A value recomputed at most every ``ttl`` seconds."""

    def __init__(self, ttl: float, compute: Callable[[], Any]) -> None:
        self._ttl, self._compute = ttl, compute
        self._value: Any = None
        self._at = 0.0

    def get(self) -> Any:
        if self._value is None or time.monotonic() - self._at >= self._ttl:
            self._value = self._compute()
            self._at = time.monotonic()
        return self._value


class PipelineCollector(Collector):
    """Reads queue depths, store figures and fetch outcomes at scrape time."""

    def __init__(
        self,
        client: redis.Redis,
        stages: Iterable[str],
        store: CachedStoreFigures,
        top_hosts: int,
        cache_seconds: float,
    ) -> None:
        self._client = client
        self._stages = list(stages)
        self._store = store
        self._top_hosts = top_hosts
        self._hosts = _Cached(cache_seconds, lambda: read_fetch_outcomes(client, top_hosts))
        self._crawls = _Cached(cache_seconds, lambda: _crawl_figures(client))

    def describe(self) -> Iterator[Metric]:
        return iter(())  # collected at scrape time only: no scrape at registration

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "sluice_exporter_source_up",
            "1 if the source answered during this scrape.",
            labels=["source"],
        )
        redis_ok = True
        try:
            yield from self._queues()
            yield from self._frontier(Frontier(self._client).stats(self._top_hosts))
            yield from self._host_waits(host_waits(self._client, top=self._top_hosts))
            yield from self._fetch_outcomes(self._hosts.get())
            yield self._stage_outcomes()
            yield from self._feed_polls()
        except redis.RedisError as exc:
            log.warning("redis unavailable for metrics: %s", exc)
            redis_ok = False
        up.add_metric(["redis"], 1.0 if redis_ok else 0.0)
        store_ok = True
        try:
            yield from self._store_metrics(self._store.get())
            yield from self._crawl_metrics(self._crawls.get())
        except Exception as exc:  # any database error: report it, keep serving the rest
            log.warning("store unavailable for metrics: %s", str(exc).splitlines()[0])
            store_ok = False
        up.add_metric(["store"], 1.0 if store_ok else 0.0)
        yield up

    def _queues(self) -> Iterator[Metric]:
        depths = queue_depths(self._client, self._stages)
        unacked = int(self._client.hlen(Channel.unacked_key))
        queued = GaugeMetricFamily(
            "sluice_queue_messages", "Messages waiting in a stage's queue.", labels=["stage"]
        )
        for stage in self._stages:
            queued.add_metric([stage], depths[stage])
        yield queued
        yield GaugeMetricFamily(
            "sluice_unacked_messages",
            "Messages reserved by workers and not yet acknowledged (running or reserved).",
            value=unacked,
        )
        yield CounterMetricFamily(
            "sluice_lost_items_resent",
            "Items found with no message anywhere (a worker died taking it off its queue) "
            "and sent again, or failed for a text.",
            value=resent_count(self._client),
        )

    @staticmethod
    def _frontier(stats: FrontierStats) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "sluice_frontier_urls",
            "URLs in the crawl frontier: waiting for their host, in flight, or to retry.",
            value=stats.items,
        )
        per_host = GaugeMetricFamily(
            "sluice_frontier_host_urls",
            "URLs waiting in the crawl frontier, for the hosts with the most.",
            labels=["host"],
        )
        for host, waiting in stats.top_hosts:
            per_host.add_metric([host], waiting)
        yield per_host
        yield GaugeMetricFamily(
            "sluice_frontier_hosts_due",
            "Hosts whose turn has come and whose next URL is not released yet.",
            value=stats.due_now,
        )
        yield GaugeMetricFamily(
            "sluice_frontier_in_flight",
            "URLs released from the frontier to the fetch workers and not finished.",
            value=stats.in_flight,
        )
        yield GaugeMetricFamily(
            "sluice_frontier_oldest_wait_seconds",
            "Age of the oldest URL in the crawl frontier (0 when it is empty).",
            value=stats.oldest_wait or 0.0,
        )

    @staticmethod
    def _host_waits(waits: HostWaits) -> Iterator[Metric]:
        per_reason = GaugeMetricFamily(
            "sluice_frontier_hosts_waiting",
            "Hosts with URLs in the frontier waiting for their turn, by why they wait.",
            labels=["reason"],
        )
        for reason, hosts in waits.reasons.items():
            per_reason.add_metric([reason], hosts)
        yield per_reason
        longest = GaugeMetricFamily(
            "sluice_frontier_host_wait_seconds",
            "Seconds until a waiting host's turn, for the longest waits, with why.",
            labels=["host", "reason"],
        )
        for host, reason, left in waits.longest:
            longest.add_metric([host, reason], left)
        yield longest

    def _stage_outcomes(self) -> Metric:
        counted = CounterMetricFamily(
            "sluice_stage_outcomes",
            "Stage runs by how they ended: outcome forward (reason: the stage forwarded to, or "
            "empty for the next), final (reason: the item's reason or state), retry or defer.",
            labels=["stage", "outcome", "reason"],
        )
        for stage, kind, reason, count in sorted(read_outcomes(self._client)):
            counted.add_metric([stage, kind, reason], count)
        return counted

    def _feed_polls(self) -> Iterator[Metric]:
        polls, new = read_polls(self._client)
        counted = CounterMetricFamily(
            "sluice_feed_polls",
            "Polls of registered feeds per outcome (feed_new_entries, feed_no_new_entries, "
            "feed_unchanged, or the failure's reason).",
            labels=["outcome"],
        )
        for outcome, count in sorted(polls.items()):
            counted.add_metric([outcome], count)
        yield counted
        yield CounterMetricFamily(
            "sluice_feed_new_entries",
            "Entries of registered feeds found new and made items (per poll: divide by "
            "sluice_feed_polls_total).",
            value=new,
        )
        buckets, total = read_entry_lag(self._client)
        lag = HistogramMetricFamily(
            "sluice_feed_entry_lag_seconds",
            "Seconds from a feed entry's published date to its article being stored.",
        )
        lag.add_metric([], buckets, total)
        yield lag

    @staticmethod
    def _fetch_outcomes(outcomes: FetchOutcomes) -> Iterator[Metric]:
        totals = CounterMetricFamily(
            "sluice_fetch_outcomes",
            "Fetches that ended, per outcome (fetched, not_modified or a failure reason).",
            labels=["outcome"],
        )
        for outcome, count in sorted(outcomes.totals.items()):
            totals.add_metric([outcome], count)
        yield totals
        by_host = CounterMetricFamily(
            "sluice_fetch_outcomes_by_host",
            "Fetches that ended per outcome, for the busiest hosts only (and host 'other': "
            "hosts past the cap on hosts counted).",
            labels=["host", "outcome"],
        )
        for (host, outcome), count in sorted(outcomes.by_host.items()):
            by_host.add_metric([host, outcome], count)
        yield by_host

    @staticmethod
    def _crawl_metrics(crawls: dict[str, dict[str, Any]]) -> Iterator[Metric]:
        for name, doc in _CRAWL_GAUGES.items():
            suffix = "waiting_urls" if name == "waiting_in_store" else name
            gauge = GaugeMetricFamily(f"sluice_crawl_{suffix}", doc, labels=["job"])
            for job, figures in crawls.items():
                gauge.add_metric([job], float(figures[name]))
            yield gauge
        dropped = GaugeMetricFamily(
            "sluice_crawl_links_dropped",
            "Links of a site crawl not followed, per reason (scope, depth, trap rule, cap).",
            labels=["job", "reason"],
        )
        for job, figures in crawls.items():
            for reason, n in figures["links_dropped"].items():
                dropped.add_metric([job, reason], float(n))
        yield dropped

    @staticmethod
    def _store_metrics(figures: StoreFigures) -> Iterator[Metric]:
        per_state = GaugeMetricFamily(
            "sluice_items",
            "Submitted items per state, and per reason for final ones (reason '' if none).",
            labels=["state", "reason"],
        )
        for (state, reason), count in sorted(figures.items.items()):
            per_state.add_metric([state, reason], count)
        yield per_state
        yield GaugeMetricFamily(
            "sluice_articles_stored",
            "Items stored as articles (not duplicates), counted in the store.",
            value=figures.in_state(State.STORED),
        )
        feeds = GaugeMetricFamily(
            "sluice_feeds",
            "Registered feeds per state (active, paused, disabled).",
            labels=["state"],
        )
        for state in ("active", "paused", "disabled"):
            feeds.add_metric([state], figures.feeds.get(state, 0))
        yield feeds
        disabled = GaugeMetricFamily(
            "sluice_feeds_disabled",
            "Disabled feeds per the reason they were disabled for (their last failure).",
            labels=["reason"],
        )
        for reason, count in sorted(figures.disabled_feeds.items()):
            disabled.add_metric([reason], count)
        yield disabled
        yield GaugeMetricFamily(
            "sluice_duplicate_ratio",
            "Duplicates among the items that ended with an article (stored or duplicate).",
            value=figures.duplicate_ratio,
        )
        by_language = GaugeMetricFamily(
            "sluice_articles_by_language",
            "Stored articles (not duplicates) per language, declared or detected.",
            labels=["language"],
        )
        for language, count in sorted(figures.languages.items()):
            by_language.add_metric([language], count)
        yield by_language
        without = GaugeMetricFamily(
            "sluice_articles_without_entities",
            "Stored articles (not duplicates) left untagged, per reason.",
            labels=["reason"],
        )
        for reason, count in sorted(figures.entities_skipped.items()):
            without.add_metric([reason], count)
        yield without


def _crawl_figures(client: redis.Redis) -> dict[str, dict[str, Any]]:
    return {job: crawl_figures(client, job) for job in crawl_jobs(client)}


_CRAWL_GAUGES = {
    "pages_fetched": "Pages of a site crawl read (fetched and handed to extract).",
    "articles_stored": "Items of a site crawl stored as articles.",
    "hubs_followed": "Hub pages of a site crawl: followed, not stored (state followed).",
    "links_discovered": "Links found on a site crawl's pages (each time a page is read).",
    "links_followed": "Links in scope and past the trap rules, offered to the seen set.",
    "links_out_of_scope": "Links out of scope, not --include'd or --exclude'd.",
    "seen_urls": "URLs in a site crawl's seen set (each fetched at most once).",
    "waiting_in_store": "Found URLs waiting in the store for room in the frontier.",
}


def build_registry(
    client: redis.Redis,
    stages: Iterable[str],
    store: CachedStoreFigures,
    top_hosts: int,
    cache_seconds: float,
) -> CollectorRegistry:
    """A registry with the pipeline's collector and the exporter's own process metrics."""
    registry = CollectorRegistry()
    registry.register(PipelineCollector(client, stages, store, top_hosts, cache_seconds))
    ProcessCollector(registry=registry)
    return registry
