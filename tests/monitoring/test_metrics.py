"""``sluice metrics`` against a real Redis and a real store: scraped, parsed, compared."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from prometheus_client.parser import text_string_to_metric_families

from sluice.shared.article import Article
from sluice.shared.db.engine import session_scope
from sluice.shared.jobs import ItemSpec, create_job, finish_item
from sluice.shared.metrics.host_outcomes import FETCHED, count_fetch_outcome, read_fetch_outcomes
from sluice.shared.settings import get_settings
from sluice.shared.states import State
from sluice.workers.fetching.frontier import Frontier
from sluice.workers.fetching.politeness import HostBudget
from sluice.workers.pipeline import STAGES
from sluice.workers.stages.store import upsert_article
from tests.monitoring.conftest import unique_text
from tests.monitoring.processes import get, running_metrics
from tests.support.binding import bind_for_tests
from tests.support.cluster import Cluster
from tests.support.services import RedisProvider
from tests.support.web import Response, WebServer

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    """Every sample of ``/metrics``, keyed by name and sorted labels."""
    status, text = get(f"{url}/metrics")
    assert status == 200, text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def with_name(samples: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


@pytest.fixture(scope="module")
def metrics_redis(redis_provider: RedisProvider) -> Iterator[str]:
    """A Redis database for this module's tests (databases are few: they share one, and give
    it back when the module is done)."""
    url = redis_provider.acquire()
    yield url
    redis_provider.release(url)


@pytest.fixture
def own_services(metrics_redis: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """An empty Redis database and store, which this process's settings point at too."""
    client = redis.Redis.from_url(metrics_redis)
    for key in client.scan_iter(count=1000):
        if not key.startswith(b"sluice-test:"):  # the provider's reservation stays
            client.delete(key)
    client.close()
    database_url = f"sqlite:///{tmp_path / 'sluice.db'}"
    bind_for_tests(metrics_redis, database_url)  # migrates it too
    env = {
        "SLUICE_REDIS_URL": metrics_redis,
        "SLUICE_DATABASE_URL": database_url,
        "SLUICE_DATA_DIR": str(tmp_path),
        "SLUICE_METRICS_TOP_HOSTS": "2",
        "SLUICE_METRICS_CACHE_SECONDS": "0",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, setting in env.items():
            patch.setenv(name, setting)
        get_settings.cache_clear()
        yield env
    get_settings.cache_clear()


def _fetched(host: str, outcome: str, times: int = 1) -> None:
    for _ in range(times):
        count_fetch_outcome(Article("job", 0, url=f"https://{host}/a.html"), "fetch", outcome)


def test_exporter_reports_what_was_put_in(own_services: dict[str, str], tmp_path: Path) -> None:
    # Queues: plain messages, and messages with a priority (kombu keeps those in other lists).
    broker = Celery(broker=own_services["SLUICE_REDIS_URL"])
    for _ in range(3):
        broker.send_task("workers.fetch", args=[{}], queue="fetch")
    broker.send_task("workers.tag", args=[{}], queue="tag", priority=6)
    broker.send_task("workers.tag", args=[{}], queue="tag", priority=9)
    broker.send_task("workers.tag", args=[{}], queue="tag")
    # The store: seven items of one job, in every kind of state.
    create_job("job1", [ItemSpec("url", f"https://a.example/{n}") for n in range(7)])
    for item in (0, 1, 2):
        finish_item("job1", item, State.STORED)
    finish_item("job1", 3, State.DUPLICATE, reason="near_duplicate")
    finish_item("job1", 4, State.FAILED, reason="http_404")
    finish_item("job1", 5, State.FAILED, reason="http_404")
    # Their articles: one English, one German stored without entities (no pipeline).
    with session_scope() as conn:
        for n, language, skipped in ((0, "en", None), (1, "de", "no_model_for_language")):
            upsert_article(
                conn,
                Article(
                    "job1",
                    n,
                    id=f"article{n}",
                    text=f"text {n}",
                    language=language,
                    language_source="detected",
                    entities_skipped=skipped,
                ),
            )
    # Fetch outcomes: hosts a and b are the busiest two; c and d are left out.
    _fetched("a.example", FETCHED, 5)
    _fetched("a.example", "http_404")
    _fetched("b.example", FETCHED, 3)
    _fetched("c.example", FETCHED)
    _fetched("d.example", "timeout", 2)
    count_fetch_outcome(Article("job", 0, url="https://a.example/"), "extract", "extract_empty")
    # The crawl frontier: 4 URLs of a.example and 2 of b.example wait; b's gate is shut.
    client = redis.Redis.from_url(own_services["SLUICE_REDIS_URL"])
    frontier = Frontier(client)
    frontier.add([(f"w:{n}", f"https://a.example/{n}", {}, 0) for n in range(4)])
    HostBudget(client, 1.0).slow_down("b.example", retry_after=60)
    frontier.add([(f"w:b{n}", f"https://b.example/{n}", {}, 0) for n in range(2)])
    (lease,), _ = frontier.release(0, 60_000, 1)  # one of a.example's is in flight

    env = {**Cluster("", "", tmp_path).env, **own_services}
    with running_metrics(env, tmp_path / "metrics.log") as url:
        samples = scrape(url)
        depths = {stage: value(samples, "sluice_queue_messages", stage=stage) for stage in STAGES}
        assert depths == {"fetch": 3, "extract": 0, "dedup": 0, "tag": 3, "store": 0}
        assert value(samples, "sluice_unacked_messages") == 0
        assert with_name(samples, "sluice_items") == {
            (("reason", ""), ("state", "stored")): 3,
            (("reason", "near_duplicate"), ("state", "duplicate")): 1,
            (("reason", "http_404"), ("state", "failed")): 2,
            (("reason", ""), ("state", "queued")): 1,
        }
        assert value(samples, "sluice_articles_stored") == 3
        assert value(samples, "sluice_duplicate_ratio") == pytest.approx(1 / 4)
        assert with_name(samples, "sluice_articles_by_language") == {
            (("language", "de"),): 1,
            (("language", "en"),): 1,
        }
        assert with_name(samples, "sluice_articles_without_entities") == {
            (("reason", "no_model_for_language"),): 1
        }
        assert with_name(samples, "sluice_fetch_outcomes_total") == {
            (("outcome", "fetched"),): 9,
            (("outcome", "http_404"),): 1,
            (("outcome", "timeout"),): 2,
        }
        assert with_name(samples, "sluice_fetch_outcomes_by_host_total") == {
            (("host", "a.example"), ("outcome", "fetched")): 5,
            (("host", "a.example"), ("outcome", "http_404")): 1,
            (("host", "b.example"), ("outcome", "fetched")): 3,
        }
        for stage in STAGES:  # every stage has its histogram, empty until tasks run
            assert value(samples, "sluice_stage_duration_seconds_count", stage=stage) == 0
        assert value(samples, "sluice_exporter_source_up", source="redis") == 1
        assert value(samples, "sluice_exporter_source_up", source="store") == 1
        assert lease.item == "w:0"
        assert value(samples, "sluice_frontier_urls") == 6
        assert value(samples, "sluice_frontier_in_flight") == 1
        assert value(samples, "sluice_frontier_hosts_due") == 0  # a busy, b not due for 60 s
        assert with_name(samples, "sluice_frontier_host_urls") == {
            (("host", "a.example"),): 3,
            (("host", "b.example"),): 2,
        }
        assert value(samples, "sluice_frontier_oldest_wait_seconds") >= 0
        # Why hosts wait: b.example for its Retry-After, with the time left.
        assert value(samples, "sluice_frontier_hosts_waiting", reason="retry-after") == 1
        assert value(samples, "sluice_frontier_hosts_waiting", reason="back-off") == 0
        left = value(
            samples, "sluice_frontier_host_wait_seconds", host="b.example", reason="retry-after"
        )
        assert 50 < left <= 60

        # Later scrapes follow the pipeline: counters only go up.
        finish_item("job1", 6, State.STORED)
        broker.send_task("workers.store", args=[{}], queue="store")
        _fetched("c.example", FETCHED, 4)  # now busier than b: it takes b's place by name
        later = scrape(url)
        assert value(later, "sluice_queue_messages", stage="store") == 1
        assert value(later, "sluice_articles_stored") == 4
        assert value(later, "sluice_duplicate_ratio") == pytest.approx(1 / 5)
        assert value(later, "sluice_fetch_outcomes_total", outcome="fetched") == 13
        by_host = with_name(later, "sluice_fetch_outcomes_by_host_total")
        assert by_host[(("host", "c.example"), ("outcome", "fetched"))] == 5
        assert (("host", "b.example"), ("outcome", "fetched")) not in by_host  # left, not folded
        frontier.finish(lease.item, lease.token)  # a.example is due again
        assert value(scrape(url), "sluice_frontier_hosts_due") == 1
    broker.close()
    client.close()


def test_exporter_keeps_serving_when_the_store_is_gone(
    own_services: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **Cluster("", "", tmp_path).env,
        **own_services,
        "SLUICE_DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'never-migrated.db'}",
    }
    with running_metrics(env, tmp_path / "metrics.log") as url:
        samples = scrape(url)
    assert value(samples, "sluice_exporter_source_up", source="store") == 0
    assert value(samples, "sluice_exporter_source_up", source="redis") == 1
    assert value(samples, "sluice_queue_messages", stage="fetch") == 0
    assert not with_name(samples, "sluice_items")


def test_host_counters_in_redis_are_capped(own_services: dict[str, str]) -> None:
    """Past the cap on (host, outcome) fields, new hosts are counted as 'other' in Redis."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLUICE_METRICS_MAX_HOST_FIELDS", "2")
        get_settings.cache_clear()
        _fetched("a.example", FETCHED)
        _fetched("b.example", FETCHED)
        _fetched("c.example", FETCHED, 2)  # the hash is full: counted as other
        _fetched("a.example", FETCHED)  # a known field still counts by name
    get_settings.cache_clear()
    client = redis.Redis.from_url(own_services["SLUICE_REDIS_URL"])
    outcomes = read_fetch_outcomes(client, top=10)
    client.close()
    assert outcomes.totals == {"fetched": 5}
    assert outcomes.by_host == {
        ("a.example", "fetched"): 2,
        ("b.example", "fetched"): 1,
        ("other", "fetched"): 2,
    }


@pytest.mark.integration
def test_stage_latency_and_fetch_outcomes_from_real_workers(
    workers: Cluster, web: WebServer, tmp_path: Path
) -> None:
    page = web.route(
        f"/{time.time_ns()}/ok.html",
        Response(body=b"<html><body>" + b"<p>" + unique_text().encode() + b"</p></body></html>"),
    )
    missing = web.url(f"/{time.time_ns()}/missing.html")
    env = workers.env | {"SLUICE_METRICS_CACHE_SECONDS": "0"}  # no stale figures after the job
    with running_metrics(env, tmp_path / "metrics.log") as url:
        deadline = time.monotonic() + 30
        while value(scrape(url), "sluice_exporter_events_connected") != 1:
            assert time.monotonic() < deadline, "the exporter never subscribed to task events"
            time.sleep(0.3)
        time.sleep(1.0)  # subscribed: let the subscription settle before the job starts
        before = scrape(url)
        result = workers.sluice("submit", page, missing, "--wait", "--timeout", "120")
        assert result.returncode == 1, result.stdout + result.stderr  # the 404 failed
        deadline = time.monotonic() + 30
        after = scrape(url)
        while (
            value(after, "sluice_stage_duration_seconds_count", stage="store")
            <= value(before, "sluice_stage_duration_seconds_count", stage="store")
            and time.monotonic() < deadline
        ):
            time.sleep(0.5)
            after = scrape(url)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - before.get((name, tuple(sorted(labels.items()))), 0.0)

    for stage in STAGES:
        assert grew("sluice_stage_duration_seconds_count", stage=stage) >= 1, stage
        assert grew("sluice_stage_duration_seconds_sum", stage=stage) > 0, stage
    assert grew("sluice_fetch_outcomes_total", outcome="fetched") == 1
    assert grew("sluice_fetch_outcomes_total", outcome="http_404") == 1
    assert grew("sluice_fetch_outcomes_by_host_total", host="127.0.0.1", outcome="http_404") == 1
    assert grew("sluice_articles_stored") == 1
    assert grew("sluice_items", state="failed", reason="http_404") == 1
    # The runner counts every stage's outcome by kind and reason.
    stage_outcome = "sluice_stage_outcomes_total"
    assert grew(stage_outcome, stage="fetch", outcome="forward", reason="") == 1
    assert grew(stage_outcome, stage="fetch", outcome="final", reason="http_404") == 1
    assert grew(stage_outcome, stage="extract", outcome="forward", reason="") == 1
    assert grew(stage_outcome, stage="dedup", outcome="forward", reason="") == 1
    assert grew(stage_outcome, stage="store", outcome="final", reason="stored") == 1


def test_exporter_reports_a_site_crawl(own_services: dict[str, str], tmp_path: Path) -> None:
    """A crawl's figures (workers.crawl.figures) are series labelled by its job."""
    from sluice.workers.crawl import seen, stats
    from sluice.workers.crawl.figures import note_crawl

    client = redis.Redis.from_url(own_services["SLUICE_REDIS_URL"])
    urls = [ItemSpec("url", f"http://site.example/{n}") for n in range(4)]
    create_job("crawl1", urls, state=State.RECORDED)
    finish_item("crawl1", 0, State.FOLLOWED, reason="crawl_hub")
    finish_item("crawl1", 1, State.STORED)
    note_crawl(client, "crawl1")
    seen.claim(client, "crawl1", 0, [seen.Claim(f"http://site.example/{n}", "h") for n in range(4)])
    stats.add(
        client,
        "crawl1",
        {"pages_fetched": 2, "links_discovered": 9, "out_of_scope": 3, "pattern_cap": 1},
    )
    env = {**Cluster("", "", tmp_path).env, **own_services}
    with running_metrics(env, tmp_path / "metrics.log") as url:
        samples = scrape(url)
    assert value(samples, "sluice_crawl_pages_fetched", job="crawl1") == 2
    assert value(samples, "sluice_crawl_hubs_followed", job="crawl1") == 1
    assert value(samples, "sluice_crawl_articles_stored", job="crawl1") == 1
    assert value(samples, "sluice_crawl_links_discovered", job="crawl1") == 9
    assert value(samples, "sluice_crawl_links_out_of_scope", job="crawl1") == 3
    assert value(samples, "sluice_crawl_links_dropped", job="crawl1", reason="pattern_cap") == 1
    assert value(samples, "sluice_crawl_seen_urls", job="crawl1") == 4
    assert value(samples, "sluice_crawl_waiting_urls", job="crawl1") == 2  # items 2 and 3
    client.close()
