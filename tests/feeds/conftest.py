"""Fixtures for the feed tests: a cluster whose feeds are polled about every second, a feed
server whose entries change between polls, a section page that gains article links, and
the CLI and waiting helpers the feed tests share."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from sqlalchemy import select

from sluice.shared.db.engine import get_engine
from sluice.shared.db.schema import feeds
from tests.support.cluster import Cluster, sqlite_cluster
from tests.support.pages import article_page
from tests.support.services import RedisProvider
from tests.support.web import Response, WebServer

DISABLE_AFTER = 3
MAX_NEW = 300  # SLUICE_FEED_MAX_NEW_ENTRIES of the test cluster


@pytest.fixture(scope="module")
def feed_cluster(
    redis_provider: RedisProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Two fetch workers (two feed schedulers) and one worker for the other stages, with
    feed intervals of about a second."""
    with sqlite_cluster(
        redis_provider,
        tmp_path_factory.mktemp("feed-cluster"),
        [
            ("--stages", "fetch", "--concurrency", "4", "--name", "feeds-a"),
            ("--stages", "fetch", "--concurrency", "4", "--name", "feeds-b"),
            ("--stages", "extract,dedup,tag,store", "--concurrency", "1"),
        ],
        {
            "SLUICE_FEED_INTERVAL": "1",
            "SLUICE_FEED_MIN_INTERVAL": "1",
            "SLUICE_FEED_MAX_INTERVAL": "2",
            "SLUICE_FEED_DISABLE_AFTER": str(DISABLE_AFTER),
            "SLUICE_FEED_POLL_LEASE": "60",
            "SLUICE_FEED_MAX_NEW_ENTRIES": str(MAX_NEW),
            "SLUICE_FETCH_HOST_RATE": "50",
            "SLUICE_FETCH_CONNECT_TIMEOUT": "1",
            "SLUICE_FETCH_READ_TIMEOUT": "1",
            "SLUICE_FETCH_TOTAL_TIMEOUT": "2",
            "SLUICE_ROBOTS_ERROR_TTL": "1",
        },
        timeout=120,
        release=False,
    ) as cluster:
        yield cluster


@pytest.fixture
def web() -> Iterator[WebServer]:
    server = WebServer("127.0.0.2")
    yield server
    server.close()


def sluice_json(cluster: Cluster, *args: str) -> Any:
    """What ``sluice ARGS --json`` prints, once it succeeded."""
    done = cluster.sluice(*args, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def wait_for(cluster: Cluster, check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """``check()``'s first true value, looked for until ``timeout``; fails with the logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}\n{cluster.logs()}")


def feed_row(cluster: Cluster, feed_id: int) -> dict[str, Any]:
    """The feed's row, read straight from the store (quicker than the CLI, for waiting)."""
    with get_engine(cluster.database_url).connect() as conn:
        return dict(conn.execute(select(feeds).where(feeds.c.id == feed_id)).one()._mapping)


def wait_for_polls(cluster: Cluster, feed_id: int, more: int) -> None:
    """Wait until the store counts ``more`` polls of the feed than it does now."""
    then = feed_row(cluster, feed_id)["polls"]
    wait_for(
        cluster, lambda: feed_row(cluster, feed_id)["polls"] >= then + more, f"{more} more polls"
    )


@dataclass
class FeedServer:
    """An RSS feed at ``prefix/feed.xml`` on ``web`` whose entries the test changes; it
    answers If-None-Match with 304 while they have not changed, and counts its answers
    (and notes when each was given)."""

    web: WebServer
    prefix: str = field(default_factory=lambda: f"/{uuid.uuid4().hex[:8]}")
    entries: list[str] = field(default_factory=list)  # slugs, newest first
    answers: list[int] = field(default_factory=list)
    polled_at: list[float] = field(default_factory=list)  # time.monotonic() of each answer
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.web.route(f"{self.prefix}/feed.xml", self._feed)

    @property
    def url(self) -> str:
        return self.web.url(f"{self.prefix}/feed.xml")

    def article_url(self, slug: str) -> str:
        return self.web.url(f"{self.prefix}/news/{slug}.html")

    def publish(self, *slugs: str) -> None:
        """New entries on top (their article pages served); the feed keeps the latest 3."""
        for slug in slugs:
            self.web.route(f"{self.prefix}/news/{slug}.html", Response(body=article_page(slug)))
        with self._lock:
            self.entries = [*reversed(slugs), *self.entries][:3]

    def _etag(self) -> str:
        return '"' + "-".join(self.entries) + '"'

    def _feed(self, handler) -> Response:  # type: ignore[no-untyped-def]
        with self._lock:
            self.polled_at.append(time.monotonic())
            etag = self._etag()
            if handler.headers.get("If-None-Match") == etag:
                self.answers.append(304)
                return Response(304, b"", headers={"ETag": etag})
            self.answers.append(200)
            now = datetime(2026, 12, 1, 12, tzinfo=UTC)
            items = "".join(
                f"<item><title>Story {slug}</title><link>{self.article_url(slug)}</link>"
                f'<guid isPermaLink="false">guid-{slug}</guid>'
                f"<pubDate>{format_datetime(now - timedelta(minutes=10 * n))}</pubDate></item>"
                for n, slug in enumerate(self.entries)
            )
            body = (
                '<?xml version="1.0"?><rss version="2.0"><channel><title>Test news</title>'
                f"<link>{self.web.base_url}</link>{items}</channel></rss>"
            ).encode()
            return Response(body=body, content_type="application/rss+xml", headers={"ETag": etag})


def _letters(text: str) -> str:
    return text.translate(str.maketrans("0123456789", "ghijklmnop"))


@dataclass
class SectionServer:
    """An HTML section page at ``prefix/section/world/`` on ``web`` listing its latest
    stories (``prefix/YYYY/MM/DD/slug-N.html``) among navigation, tag, author and
    pagination links and a link to ``elsewhere`` (another host); it answers If-None-Match
    with 304 while its stories have not changed, and counts its answers."""

    web: WebServer
    elsewhere: str  # an article URL on another host: out of scope
    # Letters only: a random hex segment with digits in it reads as an article id to the
    # URL-shape rules, which made navigation links look like stories in some runs.
    prefix: str = field(default_factory=lambda: f"/{_letters(uuid.uuid4().hex[:8])}")
    stories: list[str] = field(default_factory=list)  # slugs, newest first
    answers: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.web.route(f"{self.prefix}/section/world/", self._page)

    @property
    def url(self) -> str:
        return self.web.url(f"{self.prefix}/section/world/")

    def story_path(self, slug: str) -> str:
        return f"{self.prefix}/2026/12/01/{slug}-{len(slug)}.html"

    def hub_paths(self) -> list[str]:
        """The paths of the page's links that are not stories."""
        p = self.prefix
        return [
            f"{p}/",
            f"{p}/world",
            f"{p}/politics/",
            f"{p}/tag/harbour-council-budget/",
            f"{p}/author/jane-doe-smith/",
            f"{p}/section/world/page/2/",
            f"{p}/archive/2026/12/01/",
        ]

    def publish(self, *slugs: str) -> None:
        """New stories on top (their pages served); the page keeps the latest 4."""
        for slug in slugs:
            self.web.route(self.story_path(slug), Response(body=article_page(slug)))
        with self._lock:
            self.stories = [*reversed(slugs), *self.stories][:4]

    def _page(self, handler) -> Response:  # type: ignore[no-untyped-def]
        with self._lock:
            etag = '"' + "-".join(self.stories) + '"'
            if handler.headers.get("If-None-Match") == etag:
                self.answers.append(304)
                return Response(304, b"", headers={"ETag": etag})
            self.answers.append(200)
            nav = "".join(f'<a href="{path}">{path}</a>' for path in self.hub_paths())
            stories = "".join(
                f'<li><a href="{self.story_path(s)}">Story {s}</a> '
                f'<a href="{self.story_path(s)}#comments">comments</a></li>'
                for s in self.stories
            )
            body = (
                f"<!doctype html><html><head><title>World</title></head><body><nav>{nav}</nav>"
                f'<ul>{stories}</ul><a href="{self.elsewhere}">Partner story</a>'
                f"<footer>Rendered {time.monotonic()}</footer></body></html>"
            ).encode()
            return Response(body=body, headers={"ETag": etag})
