"""Feeds and sitemaps expanded by the producer obey robots.txt and the host budget, as pages
do: a disallowed sitemap is a problem with its reason, the documents of one host are spaced
by its interval, and a 429 slows the host down for the workers too."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest
import redis

from sluice.producers.expansion import expand_sources
from sluice.producers.turn_fetcher import TurnFetcher
from sluice.shared.settings import Settings
from sluice.workers.fetching.client import Fetcher
from tests.fetching.conftest import MakeServer
from tests.support.web import Response


def _urlset(*locs: str) -> bytes:
    entries = "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
    return (
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'.encode()
    )


def _index(*locs: str) -> bytes:
    entries = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    body = f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}'
    return (body + "</sitemapindex>").encode()


@pytest.fixture
def settings() -> Settings:
    return Settings(fetch_allow_networks="127.0.0.2/32", fetch_host_rate=5.0)


@pytest.fixture
def polite(redis_client: redis.Redis, settings: Settings) -> Iterator[TurnFetcher]:
    fetcher = TurnFetcher(Fetcher(settings), redis_client, settings)
    yield fetcher
    fetcher.close()


def test_sitemaps_of_one_host_are_spaced_by_its_budget(
    make_server: MakeServer, polite: TurnFetcher, settings: Settings, prefix: str
) -> None:
    server = make_server("127.0.0.2")
    seen: list[float] = []

    def timed(body: bytes):  # type: ignore[no-untyped-def]
        def route(_handler) -> Response:  # type: ignore[no-untyped-def]
            seen.append(time.monotonic())
            return Response(body=body, content_type="application/xml")

        return route

    children = [
        server.route(f"{prefix}/s{n}.xml", timed(_urlset(f"https://x.test/{n}"))) for n in range(3)
    ]
    index = server.route(f"{prefix}/index.xml", timed(_index(*children)))
    found = expand_sources([], [index], polite, settings)
    assert found.problems == []
    assert found.urls == [f"https://x.test/{n}" for n in range(3)]
    assert server.hits[0] == "/robots.txt"
    gaps = [b - a for a, b in itertools.pairwise(seen)]
    assert len(seen) == 4 and min(gaps) >= 0.19, gaps  # 5 requests/s: 200 ms apart


def test_a_sitemap_disallowed_by_robots_is_a_problem_with_its_reason(
    make_server: MakeServer, polite: TurnFetcher, settings: Settings, prefix: str
) -> None:
    server = make_server("127.0.0.2")
    server.route("/robots.txt", Response(body=f"User-agent: *\nDisallow: {prefix}/\n".encode()))
    sitemap = server.route(f"{prefix}/sitemap.xml", Response(body=_urlset("https://x.test/a")))
    found = expand_sources([], [sitemap], polite, settings)
    assert found.urls == []
    assert [(p.source, p.reason) for p in found.problems] == [(sitemap, "robots_disallowed")]
    assert f"{prefix}/sitemap.xml" not in server.hits


def test_a_429_on_a_feed_slows_the_host_for_everyone(
    make_server: MakeServer, polite: TurnFetcher, settings: Settings, prefix: str
) -> None:
    server = make_server("127.0.0.2")
    feed = server.route(f"{prefix}/feed.xml", Response(429, b"", headers={"Retry-After": "2"}))
    found = expand_sources([feed], [], polite, settings)
    assert [p.reason for p in found.problems] == ["http_429"]
    assert 1.5 <= polite.crawler.budget.start("127.0.0.2") <= 2.0  # the workers' gate is shut too
