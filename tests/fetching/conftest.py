"""Fixtures for the fetch tests: servers on chosen loopback addresses, fetchers with limits."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from sluice.shared.settings import Settings
from sluice.workers.fetching.client import Fetcher
from sluice.workers.fetching.crawler import Crawler
from tests.support.web import WebServer

MakeFetcher = Callable[..., Fetcher]
MakeServer = Callable[[str], WebServer]


@pytest.fixture
def prefix() -> str:
    return f"/{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_server() -> Iterator[MakeServer]:
    """``make_server("127.0.0.2")``: a fresh web server (its own origin) on that address."""
    servers: list[WebServer] = []

    def make(host: str = "127.0.0.2") -> WebServer:
        server = WebServer(host)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def make_fetcher() -> Iterator[MakeFetcher]:
    """``make_fetcher(fetch_max_bytes=…, resolver=…)``: a Fetcher with small limits.

    Only 127.0.0.2 is allowed unless ``fetch_allow_networks`` says otherwise, so 127.0.0.1
    stands for "the operator's own network".
    """
    made: list[Fetcher] = []

    def make(resolver: Any = None, **values: Any) -> Fetcher:
        defaults: dict[str, Any] = {
            "fetch_connect_timeout": 2.0,
            "fetch_read_timeout": 2.0,
            "fetch_total_timeout": 5.0,
            "fetch_allow_networks": "127.0.0.2/32",
        }
        settings = Settings(**(defaults | values))
        fetcher = Fetcher(settings, resolver=resolver) if resolver else Fetcher(settings)
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


MakeCrawler = Callable[..., Crawler]


@pytest.fixture
def make_crawler(redis_client: redis.Redis) -> Iterator[MakeCrawler]:
    """``make_crawler(fetch_host_rate=…)``: a Crawler on the session's Redis (emptied first)."""
    made: list[Crawler] = []

    def make(**values: Any) -> Crawler:
        defaults: dict[str, Any] = {
            "fetch_connect_timeout": 1.0,
            "fetch_read_timeout": 1.0,
            "fetch_total_timeout": 3.0,
            "fetch_allow_networks": "127.0.0.2/32",
            "fetch_host_rate": 20.0,
        }
        settings = Settings(**(defaults | values))
        crawler = Crawler(Fetcher(settings), redis_client, settings)
        made.append(crawler)
        return crawler

    yield make
    for crawler in made:
        crawler.fetcher.close()
