"""A producer's requests hold their host's turn: while real fetch workers download pages of
one slow host, the expansion of ``sluice submit --feed --sitemap``
(:func:`producers.intake.expand`, on the cluster's Redis) reads a redirected feed and two
sitemaps on that same host, and the server, which records when each request starts and
ends, never sees two at once."""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from sluice.producers.intake import expand
from sluice.producers.turn_fetcher import TurnFetcher
from sluice.shared.settings import Settings
from sluice.workers.fetching.client import Fetcher
from tests.support.cluster import Cluster, sqlite_cluster
from tests.support.pages import article_page
from tests.support.services import RedisProvider
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration

HOST = "127.0.0.4"
SLOW = 0.15  # seconds each answer takes: far longer than the host's interval
PAGES = 24


@pytest.fixture(scope="module")
def turn_cluster(
    redis_provider: RedisProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """A fetch worker with many threads, and one for the other stages. The host rate is so
    high that only the host's turn, not its gate, keeps two requests apart."""
    with sqlite_cluster(
        redis_provider,
        tmp_path_factory.mktemp("turn-cluster"),
        [
            ("--stages", "fetch", "--concurrency", "16", "--name", "turn-fetch"),
            ("--stages", "extract,dedup,tag,store", "--concurrency", "2"),
        ],
        {
            "SLUICE_FETCH_ALLOW_NETWORKS": f"{HOST}/32",
            "SLUICE_FETCH_HOST_RATE": "100",
            "SLUICE_FETCH_READ_TIMEOUT": "5",
            "SLUICE_FETCH_TOTAL_TIMEOUT": "10",
        },
        timeout=120,
    ) as cluster:
        yield cluster


class Timeline:
    """When each request to the server started and ended, by path."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: list[tuple[float, float, str]] = []

    def slow(self, response: Response) -> Callable[[object], Response]:
        def route(handler: object) -> Response:
            began = time.monotonic()
            time.sleep(SLOW)
            with self.lock:
                self.spans.append((began, time.monotonic(), handler.path))  # type: ignore[attr-defined]
            return response

        return route

    def overlaps(self) -> list[tuple[str, str]]:
        ordered = sorted(self.spans)
        return [(a[2], b[2]) for a, b in itertools.pairwise(ordered) if b[0] < a[1]]


def _urlset(*locs: str) -> bytes:
    entries = "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
    return (
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'.encode()
    )


def _feed(*links: str) -> bytes:
    items = "".join(f"<item><title>{n}</title><link>{u}</link></item>" for n, u in enumerate(links))
    channel = f"<channel><title>t</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def _wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _final(cluster: Cluster, job_id: str, timeout: float) -> dict:
    """The job's status once every item is final."""
    deadline = time.monotonic() + timeout
    while True:
        status = json.loads(cluster.sluice("status", job_id, "--json").stdout)
        if status["final"] == status["submitted"] or time.monotonic() > deadline:
            return status
        time.sleep(0.5)


def test_a_producers_expansion_never_overlaps_a_workers_fetch_at_one_host(
    turn_cluster: Cluster,
) -> None:
    server = WebServer(HOST)
    timeline = Timeline()
    prefix = f"/{uuid.uuid4().hex[:8]}"
    try:
        server.route("/robots.txt", timeline.slow(Response(body=b"User-agent: *\nAllow: /\n")))
        pages = [
            server.route(f"{prefix}/p{n}.html", timeline.slow(Response(body=article_page(f"t{n}"))))
            for n in range(PAGES)
        ]
        listed = [
            server.route(f"{prefix}/f{n}.html", timeline.slow(Response(body=article_page(f"f{n}"))))
            for n in range(4)
        ]
        feed = server.route(
            f"{prefix}/feed.xml",
            timeline.slow(Response(body=_feed(*listed[:2]), content_type="application/rss+xml")),
        )
        moved = server.route(
            f"{prefix}/old-feed.xml", timeline.slow(Response(301, b"", headers={"Location": feed}))
        )
        sitemaps = [
            server.route(
                f"{prefix}/s{n}.xml",
                timeline.slow(
                    Response(body=_urlset(listed[2 + n]), content_type="application/xml")
                ),
            )
            for n in range(2)
        ]
        pages_job = turn_cluster.sluice("submit", *pages)
        assert pages_job.returncode == 0, pages_job.stdout + pages_job.stderr
        _wait_for(lambda: any("/p" in path for path in server.hits), 60)
        # The workers are into the pages: expand as `submit --feed --sitemap` does, on the
        # cluster's Redis, in this process (a CLI's start-up time would make the overlap
        # with the pages a matter of luck).
        settings = Settings(
            fetch_allow_networks=f"{HOST}/32", fetch_host_rate=100.0, fetch_read_timeout=5.0
        )
        client = redis.Redis.from_url(turn_cluster.redis_url)
        fetcher = TurnFetcher(Fetcher(settings), client, settings)
        try:
            found = expand([moved], sitemaps, fetcher=fetcher)
        finally:
            fetcher.close()
            client.close()
        assert found.problems == []
        assert sorted(found.urls) == sorted(listed)
        pages_status = _final(turn_cluster, pages_job.stdout.split()[0], 120)
        assert pages_status["states"] == {"stored": PAGES}, pages_status
    finally:
        server.close()
    paths = [path for _, _, path in sorted(timeline.spans)]
    producer = [
        paths.index(f"{prefix}/{name}") for name in ("old-feed.xml", "feed.xml", "s0.xml", "s1.xml")
    ]
    page_times = [i for i, path in enumerate(paths) if "/p" in path]
    # The producer's documents were fetched while the workers' pages were still going.
    assert min(page_times) < min(producer) and max(producer) < max(page_times), paths
    assert timeline.overlaps() == [], timeline.overlaps()
