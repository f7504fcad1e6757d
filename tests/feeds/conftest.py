"""Fixtures for the feed tests: a feed server whose entries change between polls, and the
CLI and waiting helpers the feed tests share."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from tests.support.cluster import Cluster
from tests.support.pages import article_page
from tests.support.web import Response, WebServer


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
