"""A hundred feeds on one host, on a real fetch worker: a round of the host's turns takes
several times the poll lease, and polls still flow at the host's rate, one poll item per
feed, none stale, none twice.

100 feeds at 2.5 requests per second make a round of 40 s; ``SLUICE_FEED_POLL_LEASE`` is 8
s. A claim measured from when it was queued would lapse five times before its turn, and each
lapse would queue the feed again as a new item (what issue 24 saw: 42,698 stale poll items
for 5,000 feeds, and no poll at all). A turn costs, besides the host's interval, the wait
for the answer's first byte (the gap is counted from it): on two cores at a load of 20 to
30 that wait is 25 ms median, 50-65 ms mean, and page fetches and polls on one host alike
reach 61-73 % of 10 requests/s (``benchmarks/feeds_one_host.py --baseline pages``), so the
rate is kept low enough that the test measures the schedule, not the machine.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from sluice.workers.fetching.frontier import Frontier
from tests.feeds.conftest import sluice_json, wait_for
from tests.support.cluster import Cluster, sqlite_cluster
from tests.support.feed_claims import stale_poll_items
from tests.support.services import RedisProvider
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration

FEEDS = 100
HOST_RATE = 2.5  # SLUICE_FETCH_HOST_RATE: a round of every feed's turn takes 40 s
POLL_LEASE = 8  # SLUICE_FEED_POLL_LEASE: five lapses per round, were it counted from queueing
HOST = "127.0.0.7"
WATCH = 50.0  # seconds of polling watched


class _Feeds:
    """``count`` empty RSS feeds on one server, each noting when it was asked for."""

    def __init__(self, web: WebServer, count: int) -> None:
        self.urls = [web.route(f"/f{n}.xml", self._answer) for n in range(count)]
        self.polls: list[tuple[float, str]] = []  # (time.monotonic(), path)
        self._lock = threading.Lock()

    def _answer(self, handler: Any) -> Response:
        with self._lock:
            self.polls.append((time.monotonic(), handler.path))
        body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
        return Response(body=body, content_type="application/rss+xml", headers={"ETag": '"e"'})


@pytest.fixture(scope="module")
def cluster(
    redis_provider: RedisProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """One fetch worker with 4 threads; feeds due again a second or two after each poll."""
    with sqlite_cluster(
        redis_provider,
        tmp_path_factory.mktemp("one-host-feeds"),
        [("--stages", "fetch", "--concurrency", "4", "--name", "one-host")],
        {
            "SLUICE_FEED_INTERVAL": "1",
            "SLUICE_FEED_MIN_INTERVAL": "1",
            "SLUICE_FEED_MAX_INTERVAL": "2",
            "SLUICE_FEED_POLL_LEASE": str(POLL_LEASE),
            "SLUICE_FETCH_HOST_RATE": str(HOST_RATE),
            "SLUICE_FETCH_CONNECT_TIMEOUT": "2",
            "SLUICE_FETCH_READ_TIMEOUT": "2",
            "SLUICE_FETCH_TOTAL_TIMEOUT": "4",
        },
        stages=("fetch",),
        timeout=120,
        release=False,
    ) as cluster:
        yield cluster


def test_feeds_on_one_host_poll_at_its_rate_with_one_live_poll_item_each(
    cluster: Cluster, tmp_path: Path
) -> None:
    web = WebServer(HOST)
    try:
        served = _Feeds(web, FEEDS)
        listing = tmp_path / "feeds.txt"
        listing.write_text("\n".join(served.urls) + "\n")
        added = sluice_json(cluster, "feeds", "import", str(listing))
        assert len(added["registered"]) == FEEDS and added["refused"] == []
        wait_for(cluster, lambda: served.polls, "the first poll")
        start = time.monotonic()
        frontier = Frontier(redis.Redis.from_url(cluster.redis_url))
        depths: list[int] = []
        stale: list[int] = []
        while time.monotonic() - start < WATCH:
            depths.append(len(frontier.waiting_items(HOST)))
            if len(depths) % 8 == 0:
                stale.append(stale_poll_items(frontier, cluster.database_url))
            time.sleep(0.25)
        cluster.check_alive()
    finally:
        web.close()
    polls = list(served.polls)
    # The host's rate, not more, not much less (the first seconds are the start of the run).
    window = [at for at, _ in polls if start + 5 <= at < start + WATCH]
    rate = len(window) / (WATCH - 5)
    assert 0.8 * HOST_RATE <= rate <= 1.1 * HOST_RATE, rate
    # Every feed got its turn, and those polled again waited a round, never a claim's lapse.
    by_feed: dict[str, list[float]] = {}
    for at, path in polls:
        by_feed.setdefault(path, []).append(at)
    assert len(by_feed) == FEEDS
    gaps = [b - a for times in by_feed.values() for a, b in itertools.pairwise(times)]
    assert gaps and min(gaps) > 0.8 * FEEDS / HOST_RATE, sorted(gaps)[:5]
    # One poll item per feed at most, none of them stale; the host's queue never piles up.
    assert max(depths) <= FEEDS, max(depths)
    assert stale and max(stale) == 0, stale
    logs = "".join(cluster.log_of(process) for process in cluster.processes)
    assert "no longer held" not in logs and "stale poll" not in logs, cluster.logs()
