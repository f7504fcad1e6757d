"""Feed polls against hostile servers, on real workers: polls never hold a fetch thread
waiting for a gate, a server's waits are capped, and a runaway feed can be stopped.

The fetch worker has 4 threads. 20 feeds (20 loopback hosts) redirect to one host that
answers every request ``429 Retry-After: 999999999``; a healthy host's pages, submitted
meanwhile, must still be fetched at that host's rate.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from sqlalchemy import func, select

from sluice.shared.db.engine import get_engine
from sluice.shared.db.schema import articles, feeds, items
from sluice.shared.metrics.stage_outcomes import read_outcomes
from sluice.workers.feeds.tasks import POLL_STAGE
from sluice.workers.fetching.frontier import Frontier
from tests.feeds.conftest import sluice_json, wait_for
from tests.support.cluster import Cluster, sqlite_cluster
from tests.support.pages import article_page
from tests.support.services import RedisProvider
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration

HOST_RATE = 5.0  # SLUICE_FETCH_HOST_RATE: requests per second to one host
RETRY_AFTER_MAX = 20  # SLUICE_FETCH_RETRY_AFTER_MAX
MAX_INTERVAL = 30  # SLUICE_FEED_MAX_INTERVAL
HIGH_WATER = 40  # SLUICE_QUEUE_HIGH_WATER
HOSTILE_FEEDS = 20


@pytest.fixture(scope="module")
def cluster(
    redis_provider: RedisProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """One fetch worker with 4 threads and one worker for the other stages."""
    with sqlite_cluster(
        redis_provider,
        tmp_path_factory.mktemp("hostile-polls"),
        [
            ("--stages", "fetch", "--concurrency", "4", "--name", "hostile-fetch"),
            ("--stages", "extract,dedup,tag,store", "--concurrency", "1"),
        ],
        {
            "SLUICE_FEED_INTERVAL": "1",
            "SLUICE_FEED_MIN_INTERVAL": "1",
            "SLUICE_FEED_MAX_INTERVAL": str(MAX_INTERVAL),
            "SLUICE_FEED_POLL_LEASE": "60",
            "SLUICE_FETCH_HOST_RATE": str(HOST_RATE),
            "SLUICE_FETCH_RETRY_AFTER_MAX": str(RETRY_AFTER_MAX),
            "SLUICE_FETCH_CONNECT_TIMEOUT": "1",
            "SLUICE_FETCH_READ_TIMEOUT": "1",
            "SLUICE_FETCH_TOTAL_TIMEOUT": "2",
            "SLUICE_QUEUE_HIGH_WATER": str(HIGH_WATER),
            "SLUICE_QUEUE_LOW_WATER": "20",
        },
        timeout=120,
        release=False,
    ) as cluster:
        yield cluster


def _query(cluster: Cluster, statement: Any) -> list[dict[str, Any]]:
    with get_engine(cluster.database_url).connect() as conn:
        return [dict(row._mapping) for row in conn.execute(statement)]


def _states(cluster: Cluster, job_id: str) -> dict[tuple[str, str | None], int]:
    rows = _query(
        cluster,
        select(items.c.state, items.c.reason, func.count().label("n"))
        .where(items.c.job_id == job_id)
        .group_by(items.c.state, items.c.reason),
    )
    return {(row["state"], row["reason"]): int(row["n"]) for row in rows}


class _Timed:
    """A page route that notes when it was asked for."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.at: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, handler: Any) -> Response:
        with self._lock:
            self.at.append(time.monotonic())
        return Response(body=self.body)


def test_feeds_redirecting_to_a_429_host_hold_no_thread_and_back_off_capped(
    cluster: Cluster,
) -> None:
    hostile = WebServer("127.0.0.3")
    hostile_answer = Response(
        429, b"slow down", content_type="text/plain", headers={"Retry-After": "999999999"}
    )
    feed_hosts = [WebServer(f"127.0.0.{10 + n}") for n in range(HOSTILE_FEEDS)]
    healthy = WebServer("127.0.0.4")
    try:
        urls = []
        for n, host in enumerate(feed_hosts):
            target = hostile.route(f"/feed-{n}.xml", hostile_answer)
            urls.append(host.route("/feed.xml", Response(302, headers={"Location": target})))
        added = sluice_json(cluster, "feeds", "add", *urls)
        ids = [row["id"] for row in added["registered"]]
        assert len(ids) == HOSTILE_FEEDS
        # The hostile host has answered 429 at least once: its gate is now far away.
        wait_for(cluster, lambda: any(p.startswith("/feed-") for p in hostile.hits), "a 429")
        # Each feed's poll got to its own host, and was redirected (no thread waits there).
        wait_for(cluster, lambda: all(h.hits for h in feed_hosts), "every feed's first request")

        pages = [_Timed(article_page(f"healthy-{n}")) for n in range(30)]
        page_urls = [healthy.route(f"/news/{n}.html", page) for n, page in enumerate(pages)]
        submitted = time.monotonic()
        job = sluice_json(cluster, "submit", *page_urls)["job"]

        def stored() -> bool:
            found = _query(cluster, select(func.count().label("n")).where(articles.c.job_id == job))
            return int(found[0]["n"]) == len(page_urls)

        wait_for(cluster, stored, "every healthy page stored", timeout=90)
        took = time.monotonic() - submitted
        asked = sorted(t for page in pages for t in page.at)
        assert len(asked) == len(page_urls)
        span = asked[-1] - asked[0]
        # 30 pages at 5 a second take about 6 s; the polls' waits add nothing.
        assert span <= 4 * len(page_urls) / HOST_RATE, (span, cluster.logs())
        assert took < 60, took
        gaps = [b - a for a, b in itertools.pairwise(asked)]
        assert min(gaps) >= 0.5 / HOST_RATE  # and no faster than the host's rate

        # A poll that met the 429 backs off by the capped Retry-After, within the longest
        # interval: never 999999999 seconds.
        def backed_off() -> list[dict[str, Any]]:
            rows = _query(cluster, select(feeds).where(feeds.c.id.in_(ids)))
            return [row for row in rows if row["last_outcome"] == "http_429"]

        for row in wait_for(cluster, backed_off, "a feed backed off after its 429"):
            assert row["state"] == "active"
            wait = row["next_poll_at"] - row["last_poll_at"]
            assert RETRY_AFTER_MAX - 0.5 <= wait <= MAX_INTERVAL + 0.5, wait
        # Counted as a stage's outcomes are: deferred (the redirects), failed with the reason.
        with redis.Redis.from_url(cluster.redis_url) as client:
            counted = {(k, r): n for s, k, r, n in read_outcomes(client) if s == POLL_STAGE}
        assert counted.get(("defer", ""), 0) >= HOSTILE_FEEDS, counted
        assert counted.get(("final", "http_429"), 0) >= 1, counted
        assert sluice_json(cluster, "feeds", "remove", *map(str, ids))["remove"] == ids
    finally:
        for server in (hostile, healthy, *feed_hosts):
            server.close()


class _Runaway:
    """A feed that lists 100 entries never seen before at every poll."""

    def __init__(self, web: WebServer, pages: WebServer) -> None:
        self.web = web
        self.pages = pages
        self.polls = 0
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def __call__(self, handler: Any) -> Response:
        with self._lock:
            self.polls += 1
            slugs = [next(self._counter) for _ in range(100)]
        entries = "".join(
            f"<item><title>Story {n}</title><link>{self.pages.url(f'/s/{n}.html')}</link>"
            f"<guid>runaway-{n}</guid></item>"
            for n in slugs
        )
        body = f'<?xml version="1.0"?><rss version="2.0"><channel>{entries}</channel></rss>'
        return Response(body=body.encode(), content_type="application/rss+xml")


def test_a_runaway_feed_waits_under_the_high_water_mark_and_pause_drops_it(
    cluster: Cluster,
) -> None:
    web, pages = WebServer("127.0.0.5"), WebServer("127.0.0.6")
    client = redis.Redis.from_url(cluster.redis_url)
    frontier = Frontier(client)
    try:
        feed = _Runaway(web, pages)
        added = sluice_json(cluster, "feeds", "add", web.route("/feed.xml", feed))
        row = added["registered"][0]
        sizes: list[int] = []

        def waiting() -> bool:
            sizes.append(frontier.size())
            states = _states(cluster, row["job"])
            return feed.polls >= 3 and states.get(("recorded", None), 0) >= 100

        wait_for(cluster, waiting, "entries waiting in the store")
        # Only the high-water mark went into the frontier (besides a poll or two of its
        # own); the rest waits in the store.
        assert max(sizes) <= HIGH_WATER + 2, sizes

        paused = sluice_json(cluster, "feeds", "pause", str(row["id"]))
        assert paused["pause"] == [row["id"]] and paused["dropped"] >= 100
        states = _states(cluster, row["job"])
        assert ("recorded", None) not in states, states
        assert states[("skipped", "feed_paused")] == paused["dropped"]
        polls, total = feed.polls, sum(states.values())
        time.sleep(4)  # several scheduler ticks: nothing new is polled, recorded or sent
        assert feed.polls == polls
        states = _states(cluster, row["job"])
        assert sum(states.values()) == total and ("recorded", None) not in states
    finally:
        client.close()
        web.close()
        pages.close()
